"""/v1/webhook_deliveries: the outbox as a delivery log (admin), and the secret that signs webhooks."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from loyalty.api.auth import ADMIN
from loyalty.api.commands import run_query
from loyalty.api.envelope import Page, Success, errors, success
from loyalty.api.models.badges import WebhookDeliveryOut, WebhookSecretOut
from loyalty.api.models.common import Pagination, pagination
from loyalty.api.paths import path_id
from loyalty.domain.errors import NotFound
from loyalty.domain.tenancy import Principal
from loyalty.services import webhooks as webhook_service
from loyalty.storage.database import Tx

router = APIRouter(prefix="/v1", tags=["Webhooks"])


@router.get("/webhook_deliveries", response_model=Page[WebhookDeliveryOut], responses=errors(400, 401, 403))
async def list_deliveries(
    request: Request,
    page: Pagination = Depends(pagination),
    status: Annotated[Literal["PENDING", "DELIVERED", "FAILED"] | None, Query()] = None,
    event_id: Annotated[uuid.UUID | None, Query(alias="eventId")] = None,
    principal: Principal = Depends(ADMIN),
) -> Response:
    """Every webhook message with its state: attempts, last status code or error, delivery time."""

    async def query(tx: Tx) -> Response:
        found, total = await webhook_service.list_deliveries(
            tx, principal.tenant.tenant_id, status=status, event_id=event_id, limit=page.limit, skip=page.skip
        )
        return success([WebhookDeliveryOut.of(d) for d in found], meta=page.meta(total))

    return await run_query(request, query)


@router.get("/webhook_deliveries/{id}", response_model=Success[WebhookDeliveryOut], responses=errors(401, 403, 404))
async def get_delivery(request: Request, id: str, principal: Principal = Depends(ADMIN)) -> Response:
    delivery_id = path_id(id, NotFound("No such webhook delivery.", code="WEBHOOK_DELIVERY_NOT_FOUND"))

    async def query(tx: Tx) -> Response:
        delivery = await webhook_service.get_delivery(tx, principal.tenant.tenant_id, delivery_id)
        return success(WebhookDeliveryOut.of(delivery))

    return await run_query(request, query)


@router.get("/webhook_secret", response_model=Success[WebhookSecretOut], responses=errors(401, 403))
async def get_webhook_secret(request: Request, principal: Principal = Depends(ADMIN)) -> Response:
    """The tenant's webhook signing secret."""

    async def query(tx: Tx) -> Response:
        return success(WebhookSecretOut(secret=await webhook_service.webhook_secret(tx, principal.tenant.tenant_id)))

    return await run_query(request, query)

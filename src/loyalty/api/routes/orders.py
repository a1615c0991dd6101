"""/v1/orders: sales reported by tills, and their refunds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime

from loyalty.api.auth import ADMIN, ADMIN_POS
from loyalty.api.commands import run_command, run_query
from loyalty.api.envelope import Page, Success, errors, success
from loyalty.api.models.common import Pagination, pagination
from loyalty.api.models.orders import OrderDefinition, OrderOut, PlacedOrderOut, RefundDefinition, RefundOut
from loyalty.domain.tenancy import Principal
from loyalty.services import members as member_service
from loyalty.services import orders as order_service
from loyalty.services import venues as venue_service
from loyalty.storage.database import Tx

router = APIRouter(prefix="/v1", tags=["Orders"])


@router.post("/orders", response_model=Success[PlacedOrderOut], responses=errors(400, 401, 403, 404, 409, 422))
async def place_order(request: Request, body: OrderDefinition, principal: Principal = Depends(ADMIN_POS)) -> Response:
    """Report a sale. Lines and totals must add up exactly (400 `ORDER_TOTALS_MISMATCH` naming the field and the
    value expected). For a member sale `ORDER_PLACED` is emitted and its reactors run in the same transaction; the
    answer carries the event's reactions and `pointsEarned`. The same `externalId` with the same body answers the
    stored order with `"replayed": true`; with another body, 409 `ORDER_CONFLICT`."""
    draft = body.draft()

    async def effect(tx: Tx) -> PlacedOrderOut:
        placed = await order_service.place_order(tx, principal.tenant.tenant_id, draft, actor=principal.credential)
        return PlacedOrderOut.placed(placed)

    return await run_command(request, principal, effect)


@router.get("/orders", response_model=Page[OrderOut], responses=errors(400, 401, 403, 404))
async def list_orders(
    request: Request,
    page: Pagination = Depends(pagination),
    user: Annotated[str | None, Query(max_length=512, description="Any member identifier.")] = None,
    venue: Annotated[str | None, Query(max_length=512, description="The venue's id or externalIdentifier.")] = None,
    occurred_from: Annotated[AwareDatetime | None, Query(alias="from", description="Sold at or after.")] = None,
    occurred_to: Annotated[AwareDatetime | None, Query(alias="to", description="Sold before.")] = None,
    principal: Principal = Depends(ADMIN),
) -> Response:
    """Orders by creation time, filtered by member, venue and the time of the sale (`occurredAt`)."""

    async def query(tx: Tx) -> Response:
        tenant_id = principal.tenant.tenant_id
        where = order_service.OrderFilter(
            member_id=(await member_service.resolve_member(tx, tenant_id, user)).member_id if user else None,
            venue_id=(await venue_service.resolve_venue(tx, tenant_id, venue)).venue_id if venue else None,
            occurred_from=occurred_from,
            occurred_to=occurred_to,
        )
        found, total = await order_service.list_orders(
            tx, tenant_id, where, limit=page.limit, skip=page.skip, ascending=page.order == "ASC"
        )
        return success([OrderOut.of(o) for o in found], meta=page.meta(total))

    return await run_query(request, query)


@router.get("/orders/{id}", response_model=Success[OrderOut], responses=errors(401, 403, 404))
async def get_order(request: Request, id: str, principal: Principal = Depends(ADMIN_POS)) -> Response:
    """An order by its id or its externalId, with its refunds and the reactions of its `ORDER_PLACED` event."""

    async def query(tx: Tx) -> Response:
        return success(OrderOut.of(await order_service.get_order(tx, principal.tenant.tenant_id, id)))

    return await run_query(request, query)


@router.post("/orders/{id}/refunds", response_model=Success[RefundOut], responses=errors(400, 401, 403, 404, 409, 422))
async def refund_order(
    request: Request, id: str, body: RefundDefinition, principal: Principal = Depends(ADMIN_POS)
) -> Response:
    """Refund quantities of the order's lines (omit `lineItems` to refund everything that remains). The value comes
    from the order's own lines; the points the order earned are reversed in proportion (the balance may go
    negative), points spent on it come back, and `ORDER_REFUNDED` is emitted. Refunding more than remains is 422
    `REFUND_EXCEEDS_ORDER`. The same `externalId` again answers the stored refund with `"replayed": true`."""
    draft = body.draft()

    async def effect(tx: Tx) -> RefundOut:
        refund = await order_service.refund_order(tx, principal.tenant.tenant_id, id, draft, actor=principal.credential)
        return RefundOut.of(refund)

    return await run_command(request, principal, effect)

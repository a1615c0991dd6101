"""/v1/audit_log: the trail of admin clients' changes (admin)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime

from loyalty.api.auth import ADMIN
from loyalty.api.commands import run_query
from loyalty.api.envelope import Page, Success, errors, success
from loyalty.api.models.audit import AuditEntryOut
from loyalty.api.models.common import Pagination, pagination
from loyalty.api.paths import path_id
from loyalty.domain.errors import NotFound
from loyalty.domain.tenancy import Principal
from loyalty.services import audit as audit_service
from loyalty.storage.database import Tx

router = APIRouter(prefix="/v1", tags=["Audit"])


@router.get("/audit_log", response_model=Page[AuditEntryOut], responses=errors(400, 401, 403))
async def list_audit_entries(
    request: Request,
    page: Pagination = Depends(pagination),
    occurred_from: Annotated[AwareDatetime | None, Query(alias="from", description="At or after.")] = None,
    occurred_to: Annotated[AwareDatetime | None, Query(alias="to", description="Before.")] = None,
    action: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=255,
            description="A route template or its start, case-sensitive: `/v1/users/{id}` matches that route and "
            "the routes below it (`/v1/users/{id}/points`…), `/v1/commands/` every command.",
        ),
    ] = None,
    method: Annotated[Literal["POST", "PATCH", "DELETE"] | None, Query(description="The HTTP method.")] = None,
    actor: Annotated[uuid.UUID | None, Query(description="The client id that acted.")] = None,
    target: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=512,
            description="A value of one of the path parameters (an id as written in the path), any case.",
        ),
    ] = None,
    principal: Principal = Depends(ADMIN),
) -> Response:
    """(ext) Every successful change made by an admin client, recorded in the change's own transaction: newest
    first by default (`order=ASC` for oldest first). Pos clients' and members' requests, reads, dry runs and
    idempotent replays are not recorded."""
    where = audit_service.AuditFilter(
        occurred_from=occurred_from,
        occurred_to=occurred_to,
        action=action,
        method=method,
        actor=actor,
        target=target,
    )

    async def query(tx: Tx) -> Response:
        found, total = await audit_service.list_entries(
            tx, principal.tenant.tenant_id, where, limit=page.limit, skip=page.skip, ascending=page.order == "ASC"
        )
        return success([AuditEntryOut.of(e) for e in found], meta=page.meta(total))

    return await run_query(request, query)


@router.get("/audit_log/{id}", response_model=Success[AuditEntryOut], responses=errors(401, 403, 404))
async def get_audit_entry(request: Request, id: str, principal: Principal = Depends(ADMIN)) -> Response:
    audit_id = path_id(id, NotFound("No such audit entry.", code="AUDIT_ENTRY_NOT_FOUND"))

    async def query(tx: Tx) -> Response:
        return success(AuditEntryOut.of(await audit_service.get_entry(tx, principal.tenant.tenant_id, audit_id)))

    return await run_query(request, query)

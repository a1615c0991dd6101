"""/v1/event_reactors: the rules (admin). Editing makes a new version; deleting ends the reactor."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from loyalty.api.auth import ADMIN
from loyalty.api.commands import run_command, run_query
from loyalty.api.envelope import Page, Success, errors, success
from loyalty.api.models.common import Pagination, pagination
from loyalty.api.models.events import EventReactorDefinition, EventReactorPatch, ReactorOut
from loyalty.api.paths import path_id
from loyalty.domain.errors import NotFound
from loyalty.domain.tenancy import Principal
from loyalty.services import reactors as reactor_service
from loyalty.storage.database import Tx

router = APIRouter(prefix="/v1", tags=["Reactors"])


def _reactor_id(raw: str) -> uuid.UUID:
    return path_id(raw, NotFound("No such reactor.", code="REACTOR_NOT_FOUND"))


@router.post("/event_reactors", response_model=Success[ReactorOut], responses=errors(400, 401, 403, 409, 422))
async def create_reactor(
    request: Request, body: EventReactorDefinition, principal: Principal = Depends(ADMIN)
) -> Response:
    """Create a reactor. Everything is checked now: the constraint schema, derivations, JSONPaths, badges."""
    draft = reactor_service.ReactorDraft(
        **{name: getattr(body, name) for name in body.model_fields_set}  # only what was sent
    )

    async def effect(tx: Tx) -> ReactorOut:
        return ReactorOut.of(await reactor_service.create_reactor(tx, principal.tenant.tenant_id, draft))

    return await run_command(request, principal, effect)


@router.get("/event_reactors", response_model=Page[ReactorOut], responses=errors(400, 401, 403))
async def list_reactors(
    request: Request,
    page: Pagination = Depends(pagination),
    event_type: Annotated[str | None, Query(alias="eventType", max_length=64)] = None,
    include_ended: Annotated[bool, Query(alias="includeEnded", description="Also ended versions.")] = False,
    principal: Principal = Depends(ADMIN),
) -> Response:
    async def query(tx: Tx) -> Response:
        found, total = await reactor_service.list_reactors(
            tx,
            principal.tenant.tenant_id,
            include_ended=include_ended,
            event_type=event_type,
            limit=page.limit,
            skip=page.skip,
        )
        return success([ReactorOut.of(r) for r in found], meta=page.meta(total))

    return await run_query(request, query)


@router.get("/event_reactors/{id}", response_model=Success[ReactorOut], responses=errors(401, 403, 404))
async def get_reactor(request: Request, id: str, principal: Principal = Depends(ADMIN)) -> Response:
    reactor_id = _reactor_id(id)

    async def query(tx: Tx) -> Response:
        return success(ReactorOut.of(await reactor_service.get_reactor(tx, principal.tenant.tenant_id, reactor_id)))

    return await run_query(request, query)


@router.get("/event_reactors/{id}/versions", response_model=Success[list[ReactorOut]], responses=errors(401, 403, 404))
async def reactor_versions(request: Request, id: str, principal: Principal = Depends(ADMIN)) -> Response:
    """(ext) Every version of the reactor that `id` names (any of its versions), oldest first: each edit ended the
    one before it (`effectivity.end`) and points back to it (`previousVersionId`)."""
    reactor_id = _reactor_id(id)

    async def query(tx: Tx) -> Response:
        found = await reactor_service.versions(tx, principal.tenant.tenant_id, reactor_id)
        return success([ReactorOut.of(r) for r in found])

    return await run_query(request, query)


@router.patch(
    "/event_reactors/{id}", response_model=Success[ReactorOut], responses=errors(400, 401, 403, 404, 409, 422)
)
async def update_reactor(
    request: Request, id: str, body: EventReactorPatch, principal: Principal = Depends(ADMIN)
) -> Response:
    """End this version now and answer with its successor (`previousVersionId` points back; activation counts
    start again)."""
    reactor_id = _reactor_id(id)
    patch = reactor_service.ReactorDraft(**{name: getattr(body, name) for name in body.model_fields_set})

    async def effect(tx: Tx) -> ReactorOut:
        return ReactorOut.of(await reactor_service.update_reactor(tx, principal.tenant.tenant_id, reactor_id, patch))

    return await run_command(request, principal, effect)


@router.delete(
    "/event_reactors/{id}", response_model=Success[ReactorOut], responses=errors(400, 401, 403, 404, 409, 422)
)
async def end_reactor(request: Request, id: str, principal: Principal = Depends(ADMIN)) -> Response:
    """End the reactor now. It stays readable; reactors are never hard-deleted."""
    reactor_id = _reactor_id(id)

    async def effect(tx: Tx) -> ReactorOut:
        return ReactorOut.of(await reactor_service.end_reactor(tx, principal.tenant.tenant_id, reactor_id))

    return await run_command(request, principal, effect)

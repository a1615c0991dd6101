"""/v1/venues: the tenant's stores; `externalIdentifier` is the store number the POS sends."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from loyalty.api.auth import ADMIN, ADMIN_POS
from loyalty.api.commands import run_command, run_query
from loyalty.api.envelope import Page, Success, errors, success
from loyalty.api.models.common import Pagination, pagination
from loyalty.api.models.venues import VenueDefinition, VenueOut, VenuePatch
from loyalty.domain.tenancy import Principal
from loyalty.services import venues as venue_service
from loyalty.storage.database import Tx

router = APIRouter(prefix="/v1", tags=["Venues"])

VenueIdentifier = Annotated[str, Path(description="The venue's id or its externalIdentifier (store number).")]


@router.post("/venues", response_model=Success[VenueOut], responses=errors(400, 401, 403, 409, 422))
async def create_venue(request: Request, body: VenueDefinition, principal: Principal = Depends(ADMIN)) -> Response:
    """Create a venue. A taken `externalIdentifier` is 409 `VENUE_ALREADY_EXISTS`."""
    values = body.model_dump()

    async def effect(tx: Tx) -> VenueOut:
        return VenueOut.of(await venue_service.create_venue(tx, principal.tenant.tenant_id, values))

    return await run_command(request, principal, effect)


@router.get("/venues", response_model=Page[VenueOut], responses=errors(400, 401, 403))
async def list_venues(
    request: Request, page: Pagination = Depends(pagination), principal: Principal = Depends(ADMIN_POS)
) -> Response:
    async def query(tx: Tx) -> Response:
        found, total = await venue_service.list_venues(
            tx, principal.tenant.tenant_id, limit=page.limit, skip=page.skip, order=page.order
        )
        return success([VenueOut.of(v) for v in found], meta=page.meta(total))

    return await run_query(request, query)


@router.get("/venues/{id}", response_model=Success[VenueOut], responses=errors(401, 403, 404))
async def get_venue(request: Request, id: VenueIdentifier, principal: Principal = Depends(ADMIN_POS)) -> Response:
    async def query(tx: Tx) -> Response:
        return success(VenueOut.of(await venue_service.resolve_venue(tx, principal.tenant.tenant_id, id)))

    return await run_query(request, query)


@router.patch("/venues/{id}", response_model=Success[VenueOut], responses=errors(400, 401, 403, 404, 409, 422))
async def update_venue(
    request: Request, id: VenueIdentifier, body: VenuePatch, principal: Principal = Depends(ADMIN)
) -> Response:
    """Change the fields given; `null` clears an optional one."""
    changes = body.model_dump(exclude_unset=True)

    async def effect(tx: Tx) -> VenueOut:
        return VenueOut.of(await venue_service.update_venue(tx, principal.tenant.tenant_id, id, changes))

    return await run_command(request, principal, effect)


@router.delete("/venues/{id}", response_model=Success[VenueOut], responses=errors(400, 401, 403, 404, 409, 422))
async def delete_venue(request: Request, id: VenueIdentifier, principal: Principal = Depends(ADMIN)) -> Response:
    """Delete a venue (kept for history, no longer found); its externalIdentifier is free again."""

    async def effect(tx: Tx) -> VenueOut:
        return VenueOut.of(await venue_service.delete_venue(tx, principal.tenant.tenant_id, id))

    return await run_command(request, principal, effect)

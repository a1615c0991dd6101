"""/v1/audiences: segments of members by JSON Schema criteria, their members, and refreshing them."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from loyalty.api.auth import ADMIN, ADMIN_POS
from loyalty.api.commands import run_command, run_query
from loyalty.api.envelope import Page, Success, errors, success
from loyalty.api.members_access import member_named
from loyalty.api.models.audiences import (
    AudienceCountOut,
    AudienceDefinition,
    AudienceMemberOut,
    AudienceOut,
    AudiencePatch,
    MemberAudienceOut,
    RefreshOut,
)
from loyalty.api.models.common import Pagination, pagination
from loyalty.api.paths import path_id
from loyalty.domain.errors import NotFound
from loyalty.domain.tenancy import Principal
from loyalty.services import audiences as audience_service
from loyalty.storage.database import Tx

router = APIRouter(prefix="/v1", tags=["Audiences"])


def _audience_id(raw: str) -> uuid.UUID:
    return path_id(raw, NotFound("No such audience.", code="AUDIENCE_NOT_FOUND"))


def _draft(body: AudienceDefinition) -> audience_service.AudienceDraft:
    criteria = body.criteria_definition
    return audience_service.AudienceDraft(
        name=body.name,
        description=body.description,
        is_active=body.is_active,
        criteria_format=criteria.criteria_format,
        criteria=criteria.criteria,
        trigger_frequency=criteria.trigger_frequency,
        send_joined_event=body.send_audience_joined_event,
        send_left_event=body.send_audience_left_event,
    )


@router.post("/audiences", response_model=Success[AudienceOut], responses=errors(400, 401, 403, 409, 422))
async def create_audience(
    request: Request, body: AudienceDefinition, principal: Principal = Depends(ADMIN)
) -> Response:
    """Create an audience; an active one assesses every member at once. Criteria must be `JSON_SCHEMA`
    (WLL's `QUERY_TREE` and `JSONATA`: 400 `UNSUPPORTED_FIELD`); an invalid schema is 400 `INVALID_SCHEMA`."""
    draft = _draft(body)

    async def effect(tx: Tx) -> AudienceOut:
        return AudienceOut.of(await audience_service.create_audience(tx, principal.tenant.tenant_id, draft))

    return await run_command(request, principal, effect)


@router.post("/audiences/count", response_model=Success[AudienceCountOut], responses=errors(400, 401, 403))
async def count_audience(request: Request, body: AudienceDefinition, principal: Principal = Depends(ADMIN)) -> Response:
    """(ext) A dry run of `POST /v1/audiences`: how many open members the definition's criteria admit now, out of
    how many assessed. Nothing is written (a read, so `Idempotency-Key` is not needed and not kept)."""
    draft = _draft(body)

    async def query(tx: Tx) -> Response:
        return success(
            AudienceCountOut.of(await audience_service.count_matching(tx, principal.tenant.tenant_id, draft))
        )

    return await run_query(request, query)


@router.get("/audiences", response_model=Page[AudienceOut], responses=errors(400, 401, 403))
async def list_audiences(
    request: Request, page: Pagination = Depends(pagination), principal: Principal = Depends(ADMIN_POS)
) -> Response:
    async def query(tx: Tx) -> Response:
        found, total = await audience_service.list_audiences(
            tx, principal.tenant.tenant_id, limit=page.limit, skip=page.skip, order=page.order
        )
        return success([AudienceOut.of(a) for a in found], meta=page.meta(total))

    return await run_query(request, query)


@router.get("/audiences/{id}", response_model=Success[AudienceOut], responses=errors(401, 403, 404))
async def get_audience(request: Request, id: str, principal: Principal = Depends(ADMIN_POS)) -> Response:
    audience_id = _audience_id(id)

    async def query(tx: Tx) -> Response:
        return success(AudienceOut.of(await audience_service.get_audience(tx, principal.tenant.tenant_id, audience_id)))

    return await run_query(request, query)


@router.patch("/audiences/{id}", response_model=Success[AudienceOut], responses=errors(400, 401, 403, 404, 409, 422))
async def update_audience(
    request: Request, id: str, body: AudiencePatch, principal: Principal = Depends(ADMIN)
) -> Response:
    """Change an audience (`criteriaDefinition` or WLL's `criteriaPatch`). New criteria, or switching it on,
    reassess every member; switching it off keeps its members, but it no longer counts."""
    audience_id = _audience_id(id)
    criteria = body.criteria_changes
    patch = audience_service.AudienceDraft(
        name=body.name,
        description=body.description,
        is_active=body.is_active,
        criteria_format=criteria.criteria_format,
        criteria=criteria.criteria,
        trigger_frequency=criteria.trigger_frequency,
        send_joined_event=body.send_audience_joined_event,
        send_left_event=body.send_audience_left_event,
    )

    async def effect(tx: Tx) -> AudienceOut:
        tenant_id = principal.tenant.tenant_id
        return AudienceOut.of(await audience_service.update_audience(tx, tenant_id, audience_id, patch))

    return await run_command(request, principal, effect)


@router.delete("/audiences/{id}", response_model=Success[AudienceOut], responses=errors(400, 401, 403, 404, 409, 422))
async def delete_audience(request: Request, id: str, principal: Principal = Depends(ADMIN)) -> Response:
    """Delete an audience (kept for history); its memberships are dropped without AUDIENCE_LEFT events."""
    audience_id = _audience_id(id)

    async def effect(tx: Tx) -> AudienceOut:
        return AudienceOut.of(await audience_service.delete_audience(tx, principal.tenant.tenant_id, audience_id))

    return await run_command(request, principal, effect)


@router.get("/audiences/{id}/results", response_model=Page[AudienceMemberOut], responses=errors(400, 401, 403, 404))
async def audience_results(
    request: Request, id: str, page: Pagination = Depends(pagination), principal: Principal = Depends(ADMIN)
) -> Response:
    """The audience's members with the time each joined (`order` by that time)."""
    audience_id = _audience_id(id)

    async def query(tx: Tx) -> Response:
        found, total = await audience_service.audience_results(
            tx, principal.tenant.tenant_id, audience_id, limit=page.limit, skip=page.skip, order=page.order
        )
        return success([AudienceMemberOut.of_membership(m) for m in found], meta=page.meta(total))

    return await run_query(request, query)


@router.post(
    "/audiences/{id}/refresh", response_model=Success[RefreshOut], responses=errors(400, 401, 403, 404, 409, 422)
)
async def refresh_audience(request: Request, id: str, principal: Principal = Depends(ADMIN)) -> Response:
    """(ext) Reassess every member against the audience now, whatever its trigger frequency."""
    audience_id = _audience_id(id)

    async def effect(tx: Tx) -> RefreshOut:
        return RefreshOut.of(await audience_service.refresh_audience(tx, principal.tenant.tenant_id, audience_id))

    return await run_command(request, principal, effect)


@router.get("/users/{id}/audiences", response_model=Success[list[MemberAudienceOut]], responses=errors(401, 403, 404))
async def member_audiences(request: Request, id: str, principal: Principal = Depends(ADMIN)) -> Response:
    """(ext) The active audiences the member (any identifier) is in, with when they joined, oldest first."""

    async def query(tx: Tx) -> Response:
        member = await member_named(tx, principal, id)
        found = await audience_service.memberships(tx, principal.tenant.tenant_id, member.member_id)
        return success([MemberAudienceOut.of(m) for m in found])

    return await run_query(request, query)

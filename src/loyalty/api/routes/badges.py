"""/v1/badges: what members can earn; awards; the award_badge command."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from loyalty.api.auth import ADMIN, ADMIN_POS_USER
from loyalty.api.commands import run_command, run_query
from loyalty.api.envelope import Page, Success, errors, success
from loyalty.api.members_access import current_member
from loyalty.api.models.badges import AwardBadge, BadgeAwardOut, BadgeDefinition, BadgeOut, BadgePatch
from loyalty.api.models.common import Pagination, pagination
from loyalty.api.paths import path_id
from loyalty.api.routes.members import ImpersonatedUser
from loyalty.domain.errors import NotFound
from loyalty.domain.tenancy import Principal
from loyalty.services import badges as badge_service
from loyalty.services import members as member_service
from loyalty.storage.database import Tx

router = APIRouter(prefix="/v1", tags=["Badges"])


def _badge_id(raw: str) -> uuid.UUID:
    return path_id(raw, NotFound("No such badge.", code="BADGE_NOT_FOUND"))


@router.post("/badges", response_model=Success[BadgeOut], responses=errors(400, 401, 403, 409, 422))
async def create_badge(request: Request, body: BadgeDefinition, principal: Principal = Depends(ADMIN)) -> Response:
    draft = badge_service.BadgeDraft(
        internal_name=body.internal_name,
        internal_description=body.internal_description,
        details=[d.model_dump(by_alias=True, exclude_none=True) for d in body.details],
        priority=body.priority,
    )

    async def effect(tx: Tx) -> BadgeOut:
        return BadgeOut.of(await badge_service.create_badge(tx, principal.tenant.tenant_id, draft))

    return await run_command(request, principal, effect)


@router.get("/badges", response_model=Page[BadgeOut], responses=errors(400, 401, 403))
async def list_badges(
    request: Request, page: Pagination = Depends(pagination), principal: Principal = Depends(ADMIN_POS_USER)
) -> Response:
    async def query(tx: Tx) -> Response:
        found, total = await badge_service.list_badges(tx, principal.tenant.tenant_id, limit=page.limit, skip=page.skip)
        return success([BadgeOut.of(b) for b in found], meta=page.meta(total))

    return await run_query(request, query)


@router.get("/badges/earned", response_model=Page[BadgeAwardOut], responses=errors(400, 401, 403, 404))
async def earned_badges(
    request: Request,
    page: Pagination = Depends(pagination),
    x_user_id: ImpersonatedUser = None,
    principal: Principal = Depends(ADMIN_POS_USER),
) -> Response:
    """The badges a member has earned, newest first: a member token's own, or the member in `X-User-Id`."""

    async def query(tx: Tx) -> Response:
        member = await current_member(tx, principal, x_user_id)
        found, total = await badge_service.earned_badges(
            tx, principal.tenant.tenant_id, member.member_id, limit=page.limit, skip=page.skip
        )
        return success([BadgeAwardOut.of(a) for a in found], meta=page.meta(total))

    return await run_query(request, query)


@router.get("/badges/{id}", response_model=Success[BadgeOut], responses=errors(401, 403, 404))
async def get_badge(request: Request, id: str, principal: Principal = Depends(ADMIN_POS_USER)) -> Response:
    badge_id = _badge_id(id)

    async def query(tx: Tx) -> Response:
        return success(BadgeOut.of(await badge_service.get_badge(tx, principal.tenant.tenant_id, badge_id)))

    return await run_query(request, query)


@router.patch("/badges/{id}", response_model=Success[BadgeOut], responses=errors(400, 401, 403, 404, 409, 422))
async def update_badge(request: Request, id: str, body: BadgePatch, principal: Principal = Depends(ADMIN)) -> Response:
    """Change a badge, or its status (`ACTIVE`, `INACTIVE`, `ARCHIVED`): badges are never deleted."""
    badge_id = _badge_id(id)
    patch = badge_service.BadgeDraft(
        internal_name=body.internal_name,
        internal_description=body.internal_description,
        details=[d.model_dump(by_alias=True, exclude_none=True) for d in body.details]
        if body.details is not None
        else None,
        priority=body.priority,
        status=badge_service.BadgeStatus(body.status) if body.status else None,
    )

    async def effect(tx: Tx) -> BadgeOut:
        return BadgeOut.of(await badge_service.update_badge(tx, principal.tenant.tenant_id, badge_id, patch))

    return await run_command(request, principal, effect)


@router.post(
    "/commands/award_badge", response_model=Success[BadgeAwardOut], responses=errors(400, 401, 403, 404, 409, 422)
)
async def award_badge(request: Request, body: AwardBadge, principal: Principal = Depends(ADMIN)) -> Response:
    """Award a badge to a member. Emits `BADGE_AWARDED`, which reactors may react to."""

    async def effect(tx: Tx) -> BadgeAwardOut:
        tenant_id = principal.tenant.tenant_id
        member = await member_service.resolve_member(tx, tenant_id, body.beneficiary_id)
        award = await badge_service.award_badge(
            tx, tenant_id, body.badge_id, member, comment=body.comment, actor=principal.credential
        )
        return BadgeAwardOut.of(award)

    return await run_command(request, principal, effect)

"""/v1/tiers: tier definitions, and — for a member — their progress with each."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from loyalty.api.auth import ADMIN, ADMIN_POS_USER
from loyalty.api.commands import run_command, run_query
from loyalty.api.envelope import Page, Success, errors, success
from loyalty.api.members_access import current_member
from loyalty.api.models.common import Pagination, pagination
from loyalty.api.models.tiers import TierDefinition, TierOut, TierPatch, details_document
from loyalty.api.paths import path_id
from loyalty.api.routes.members import ImpersonatedUser
from loyalty.domain.errors import NotFound
from loyalty.domain.tenancy import Principal
from loyalty.domain.tiers import AccumulationPeriod, Calculation, TierProgress
from loyalty.services import tiers as tier_service
from loyalty.storage.database import Tx

router = APIRouter(prefix="/v1", tags=["Tiers"])

LocaleQuery = Annotated[
    str | None, Query(max_length=8, description="Show name and description in this locale (default locale otherwise).")
]


def _tier_id(raw: str) -> uuid.UUID:
    return path_id(raw, NotFound("No such tier.", code="TIER_NOT_FOUND"))


def _draft(body: TierDefinition | TierPatch) -> tier_service.TierDraft:
    return tier_service.TierDraft(
        name=body.name,
        details=details_document(body.details),
        default_locale=body.default_locale,
        points_requirement=body.points_requirement,
        calculation=Calculation(body.calculation) if body.calculation else None,
        accumulation_period=AccumulationPeriod(body.accumulation_period) if body.accumulation_period else None,
        priority=body.priority,
    )


async def _progress(tx: Tx, principal: Principal, impersonated: str | None) -> dict[uuid.UUID, TierProgress]:
    """A member token's own progress, or that of the member an admin or pos client names in X-User-Id."""
    if not principal.is_user and not impersonated:
        return {}
    member = await current_member(tx, principal, impersonated)
    return await tier_service.tier_progress(tx, principal.tenant.tenant_id, member)


@router.post("/tiers", response_model=Success[TierOut], responses=errors(400, 401, 403, 409, 422))
async def create_tier(request: Request, body: TierDefinition, principal: Principal = Depends(ADMIN)) -> Response:
    """Create a tier. Every member is reassessed at once (`TIER_CHANGED` for those who move)."""
    draft = _draft(body)

    async def effect(tx: Tx) -> TierOut:
        return TierOut.of(await tier_service.create_tier(tx, principal.tenant.tenant_id, draft))

    return await run_command(request, principal, effect)


@router.get("/tiers", response_model=Page[TierOut], responses=errors(400, 401, 403, 404))
async def list_tiers(
    request: Request,
    page: Pagination = Depends(pagination),
    locale: LocaleQuery = None,
    x_user_id: ImpersonatedUser = None,
    principal: Principal = Depends(ADMIN_POS_USER),
) -> Response:
    """The tiers, by priority (`order=ASC`: lowest first). A member sees their `earnedPoints` and `attained`."""

    async def query(tx: Tx) -> Response:
        found = await tier_service.list_tiers(tx, principal.tenant.tenant_id)
        progress = await _progress(tx, principal, x_user_id)
        if page.order == "DESC":
            found = found[::-1]
        shown = found[page.skip : page.skip + page.limit]
        return success(
            [TierOut.of(t, locale=locale, progress=progress.get(t.tier_id)) for t in shown], meta=page.meta(len(found))
        )

    return await run_query(request, query)


@router.get("/tiers/{id}", response_model=Success[TierOut], responses=errors(400, 401, 403, 404))
async def get_tier(
    request: Request,
    id: str,
    locale: LocaleQuery = None,
    x_user_id: ImpersonatedUser = None,
    principal: Principal = Depends(ADMIN_POS_USER),
) -> Response:
    tier_id = _tier_id(id)

    async def query(tx: Tx) -> Response:
        tier = await tier_service.get_tier(tx, principal.tenant.tenant_id, tier_id)
        progress = await _progress(tx, principal, x_user_id)
        return success(TierOut.of(tier, locale=locale, progress=progress.get(tier.tier_id)))

    return await run_query(request, query)


@router.patch("/tiers/{id}", response_model=Success[TierOut], responses=errors(400, 401, 403, 404, 409, 422))
async def update_tier(request: Request, id: str, body: TierPatch, principal: Principal = Depends(ADMIN)) -> Response:
    """Change a tier. A new requirement, priority or calculation reassesses every member."""
    tier_id = _tier_id(id)
    patch = _draft(body)

    async def effect(tx: Tx) -> TierOut:
        return TierOut.of(await tier_service.update_tier(tx, principal.tenant.tenant_id, tier_id, patch))

    return await run_command(request, principal, effect)


@router.delete("/tiers/{id}", response_model=Success[TierOut], responses=errors(400, 401, 403, 404, 409, 422))
async def delete_tier(request: Request, id: str, principal: Principal = Depends(ADMIN)) -> Response:
    """Retire a tier; its holders move to the tier their points now give them (`TIER_CHANGED`)."""
    tier_id = _tier_id(id)

    async def effect(tx: Tx) -> TierOut:
        return TierOut.of(await tier_service.delete_tier(tx, principal.tenant.tenant_id, tier_id))

    return await run_command(request, principal, effect)

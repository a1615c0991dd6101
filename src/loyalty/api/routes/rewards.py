"""/v1/rewards: the catalogue (vouchers and offers) and each reward's discounts."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from loyalty.api.auth import ADMIN, ADMIN_POS, ADMIN_POS_USER
from loyalty.api.commands import run_command, run_query
from loyalty.api.envelope import Page, Success, errors, success
from loyalty.api.members_access import current_member, member_named
from loyalty.api.models.common import Pagination, pagination
from loyalty.api.models.rewards import (
    DiscountDefinition,
    DiscountOut,
    DiscountPatch,
    RewardDefinition,
    RewardOut,
    RewardPatch,
)
from loyalty.api.paths import path_id
from loyalty.api.routes.members import ImpersonatedUser
from loyalty.domain.rewards import RewardType
from loyalty.domain.tenancy import Principal
from loyalty.services import members as member_service
from loyalty.services import rewards as reward_service
from loyalty.services.rewards import DiscountNotFound, RewardNotFound, RewardView, Viewer
from loyalty.storage.database import Tx

router = APIRouter(prefix="/v1", tags=["Rewards"])

UserIdQuery = Annotated[
    str | None,
    Query(alias="userId", max_length=512, description="Admin or pos clients: list as this member (any identifier)."),
]
TypeQuery = Annotated[
    Literal["VOUCHER", "GENERIC_OFFER"] | None,
    Query(alias="type", description="`GENERIC_OFFER`: the offers a till applies for the member."),
]
RewardIdPath = Annotated[str, Path(alias="rewardId")]


async def viewer_for(tx: Tx, principal: Principal, identifier: str | None) -> Viewer:
    """Who the catalogue is shown to: a member token's member; the member an admin or pos client names
    (`X-User-Id` or `?userId=`); otherwise the client itself."""
    if principal.is_user:
        named = await member_named(tx, principal, identifier) if identifier else None
        return Viewer.of(named or await current_member(tx, principal, None))
    if identifier:
        return Viewer.of(await member_service.resolve_member(tx, principal.tenant.tenant_id, identifier))
    return Viewer.admin() if principal.is_admin else Viewer.client()


def reward_out(principal: Principal, view: RewardView) -> RewardOut:
    return RewardOut.of(view, show_static_code=principal.is_admin)


def reward_page(principal: Principal, page: Pagination, found: list[RewardView], total: int) -> Response:
    return success([reward_out(principal, view) for view in found], meta=page.meta(total))


async def catalogue_page(
    request: Request,
    principal: Principal,
    page: Pagination,
    member: str | None,
    reward_type: str | None,
    *,
    category_id: uuid.UUID | None = None,
    include_archived: bool = False,
) -> Response:
    """A page of the catalogue as the caller (or the member they name) may see it."""

    async def query(tx: Tx) -> Response:
        viewer = await viewer_for(tx, principal, member)
        found, total = await reward_service.list_rewards(
            tx,
            principal.tenant.tenant_id,
            viewer,
            reward_type=RewardType(reward_type) if reward_type else None,
            category_id=category_id,
            include_archived=include_archived,
            limit=page.limit,
            skip=page.skip,
            descending=page.order == "DESC",
        )
        return reward_page(principal, page, found, total)

    return await run_query(request, query)


@router.get("/rewards", response_model=Page[RewardOut], responses=errors(400, 401, 403, 404))
async def list_rewards(
    request: Request,
    page: Pagination = Depends(pagination),
    reward_type: TypeQuery = None,
    include_archived: Annotated[
        bool, Query(alias="includeArchived", description="Admins without a member: archived rewards too.")
    ] = False,
    user_id: UserIdQuery = None,
    x_user_id: ImpersonatedUser = None,
    principal: Principal = Depends(ADMIN_POS_USER),
) -> Response:
    """The catalogue, by priority (highest first) then creation time.

    As a member (a member token, or a client naming one in `X-User-Id` or `?userId=`): only what that member may
    see now, each with `purchasableNow` and `reason`. Without a member: everything for admins, the public
    catalogue (no tier or audience restriction) for pos."""

    return await catalogue_page(
        request, principal, page, x_user_id or user_id, reward_type, include_archived=include_archived
    )


@router.post("/rewards", response_model=Success[RewardOut], responses=errors(400, 401, 403, 409, 422))
async def create_reward(request: Request, body: RewardDefinition, principal: Principal = Depends(ADMIN)) -> Response:
    """Create a reward. Its references (category, tier, venues, audiences, code pool) must exist; a STATIC code
    must be free (409 `CODE_ALREADY_EXISTS`)."""
    draft = body.draft()

    async def effect(tx: Tx) -> RewardOut:
        return reward_out(principal, await reward_service.create_reward(tx, principal.tenant.tenant_id, draft))

    return await run_command(request, principal, effect)


@router.get("/rewards/{id}", response_model=Success[RewardOut], responses=errors(400, 401, 403, 404))
async def get_reward(
    request: Request,
    id: str,
    user_id: UserIdQuery = None,
    x_user_id: ImpersonatedUser = None,
    principal: Principal = Depends(ADMIN_POS_USER),
) -> Response:
    """A reward. A member (or a client acting as one) gets 404 for a reward they may not see now."""
    reward_id = path_id(id, RewardNotFound())

    async def query(tx: Tx) -> Response:
        viewer = await viewer_for(tx, principal, x_user_id or user_id)
        view = await reward_service.show_reward(tx, principal.tenant.tenant_id, reward_id, viewer)
        return success(reward_out(principal, view))

    return await run_query(request, query)


@router.patch("/rewards/{id}", response_model=Success[RewardOut], responses=errors(400, 401, 403, 404, 409, 422))
async def update_reward(
    request: Request, id: str, body: RewardPatch, principal: Principal = Depends(ADMIN)
) -> Response:
    """Change the fields sent; null clears an optional one. `type`, `codeType` and `codePool` are fixed."""
    reward_id = path_id(id, RewardNotFound())
    patch = body.draft()

    async def effect(tx: Tx) -> RewardOut:
        updated = await reward_service.update_reward(tx, principal.tenant.tenant_id, reward_id, patch)
        return reward_out(principal, updated)

    return await run_command(request, principal, effect)


@router.delete("/rewards/{id}", response_model=Success[RewardOut], responses=errors(400, 401, 403, 404, 409, 422))
async def archive_reward(request: Request, id: str, principal: Principal = Depends(ADMIN)) -> Response:
    """Archive the reward (`archivedAt`): members no longer see it and it cannot be bought; benefits already
    issued keep working. Rewards are never deleted."""
    reward_id = path_id(id, RewardNotFound())

    async def effect(tx: Tx) -> RewardOut:
        return reward_out(principal, await reward_service.archive_reward(tx, principal.tenant.tenant_id, reward_id))

    return await run_command(request, principal, effect)


# ---- discounts ----


@router.get("/rewards/{rewardId}/discounts", response_model=Page[DiscountOut], responses=errors(400, 401, 403, 404))
async def list_discounts(
    request: Request,
    raw_reward_id: RewardIdPath,
    page: Pagination = Depends(pagination),
    principal: Principal = Depends(ADMIN_POS),
) -> Response:
    """A reward's discounts, oldest first."""
    reward_id = path_id(raw_reward_id, RewardNotFound())

    async def query(tx: Tx) -> Response:
        found = await reward_service.list_discounts(tx, principal.tenant.tenant_id, reward_id)
        shown = found[page.skip : page.skip + page.limit]
        return success([DiscountOut.of(d) for d in shown], meta=page.meta(len(found)))

    return await run_query(request, query)


@router.post(
    "/rewards/{rewardId}/discounts",
    status_code=201,
    response_model=Success[DiscountOut],
    responses=errors(400, 401, 403, 404, 409, 422),
)
async def create_discount(
    request: Request, raw_reward_id: RewardIdPath, body: DiscountDefinition, principal: Principal = Depends(ADMIN)
) -> Response:
    """Add a discount to a reward (201, as WLL). Checked now: the value suits the type (`INVALID_DISCOUNT`)."""
    reward_id = path_id(raw_reward_id, RewardNotFound())
    draft = body.draft()

    async def effect(tx: Tx) -> DiscountOut:
        return DiscountOut.of(await reward_service.create_discount(tx, principal.tenant.tenant_id, reward_id, draft))

    return await run_command(request, principal, effect, status_code=201)


@router.get("/rewards/{rewardId}/discounts/{id}", response_model=Success[DiscountOut], responses=errors(401, 403, 404))
async def get_discount(
    request: Request, raw_reward_id: RewardIdPath, id: str, principal: Principal = Depends(ADMIN_POS)
) -> Response:
    reward_id = path_id(raw_reward_id, RewardNotFound())
    discount_id = path_id(id, DiscountNotFound())

    async def query(tx: Tx) -> Response:
        found = await reward_service.get_discount(tx, principal.tenant.tenant_id, reward_id, discount_id)
        return success(DiscountOut.of(found))

    return await run_query(request, query)


@router.patch(
    "/rewards/{rewardId}/discounts/{id}",
    response_model=Success[DiscountOut],
    responses=errors(400, 401, 403, 404, 409, 422),
)
async def update_discount(
    request: Request, raw_reward_id: RewardIdPath, id: str, body: DiscountPatch, principal: Principal = Depends(ADMIN)
) -> Response:
    reward_id = path_id(raw_reward_id, RewardNotFound())
    discount_id = path_id(id, DiscountNotFound())
    patch = body.draft()

    async def effect(tx: Tx) -> DiscountOut:
        updated = await reward_service.update_discount(tx, principal.tenant.tenant_id, reward_id, discount_id, patch)
        return DiscountOut.of(updated)

    return await run_command(request, principal, effect)


@router.delete(
    "/rewards/{rewardId}/discounts/{id}",
    response_model=Success[DiscountOut],
    responses=errors(400, 401, 403, 404, 409, 422),
)
async def delete_discount(
    request: Request, raw_reward_id: RewardIdPath, id: str, principal: Principal = Depends(ADMIN)
) -> Response:
    """Remove a discount; the answer is the discount as it was."""
    reward_id = path_id(raw_reward_id, RewardNotFound())
    discount_id = path_id(id, DiscountNotFound())

    async def effect(tx: Tx) -> DiscountOut:
        removed = await reward_service.delete_discount(tx, principal.tenant.tenant_id, reward_id, discount_id)
        return DiscountOut.of(removed)

    return await run_command(request, principal, effect)

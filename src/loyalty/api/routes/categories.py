"""/v1/reward_categories: how the catalogue is grouped, and each category's rewards."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from loyalty.api.auth import ADMIN, ADMIN_POS_USER
from loyalty.api.commands import run_command, run_query
from loyalty.api.envelope import Page, Success, errors, success
from loyalty.api.models.common import Pagination, pagination
from loyalty.api.models.rewards import CategoryDefinition, CategoryOut, RewardOut
from loyalty.api.paths import path_id
from loyalty.api.routes.members import ImpersonatedUser
from loyalty.api.routes.rewards import TypeQuery, UserIdQuery, catalogue_page
from loyalty.domain.tenancy import Principal
from loyalty.services import categories as category_service
from loyalty.services.categories import CategoryNotFound
from loyalty.storage.database import Tx

router = APIRouter(prefix="/v1", tags=["Reward categories"])


@router.post("/reward_categories", response_model=Success[CategoryOut], responses=errors(400, 401, 403, 409, 422))
async def create_category(
    request: Request, body: CategoryDefinition, principal: Principal = Depends(ADMIN)
) -> Response:
    async def effect(tx: Tx) -> CategoryOut:
        created = await category_service.create_category(
            tx, principal.tenant.tenant_id, name=body.name, description=body.description
        )
        return CategoryOut.of(created)

    return await run_command(request, principal, effect)


@router.get("/reward_categories", response_model=Page[CategoryOut], responses=errors(400, 401, 403))
async def list_categories(
    request: Request, page: Pagination = Depends(pagination), principal: Principal = Depends(ADMIN_POS_USER)
) -> Response:
    async def query(tx: Tx) -> Response:
        found, total = await category_service.list_categories(
            tx, principal.tenant.tenant_id, limit=page.limit, skip=page.skip, descending=page.order == "DESC"
        )
        return success([CategoryOut.of(c) for c in found], meta=page.meta(total))

    return await run_query(request, query)


@router.get("/reward_categories/{id}", response_model=Success[CategoryOut], responses=errors(401, 403, 404))
async def get_category(request: Request, id: str, principal: Principal = Depends(ADMIN_POS_USER)) -> Response:
    category_id = path_id(id, CategoryNotFound())

    async def query(tx: Tx) -> Response:
        return success(CategoryOut.of(await category_service.get_category(tx, principal.tenant.tenant_id, category_id)))

    return await run_query(request, query)


@router.get("/reward_categories/{id}/rewards", response_model=Page[RewardOut], responses=errors(400, 401, 403, 404))
async def list_category_rewards(
    request: Request,
    id: str,
    page: Pagination = Depends(pagination),
    reward_type: TypeQuery = None,
    user_id: UserIdQuery = None,
    x_user_id: ImpersonatedUser = None,
    principal: Principal = Depends(ADMIN_POS_USER),
) -> Response:
    """The category's rewards as the caller may see them (the same rules as `GET /v1/rewards`)."""
    category_id = path_id(id, CategoryNotFound())

    return await catalogue_page(request, principal, page, x_user_id or user_id, reward_type, category_id=category_id)

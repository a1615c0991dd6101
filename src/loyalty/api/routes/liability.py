"""/v1/points_liability_criteria: points caps (enforced) and expiry (stored, not yet applied), and the
on-demand run of the daily jobs."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from loyalty.api.auth import ADMIN
from loyalty.api.commands import run_command, run_query
from loyalty.api.envelope import Page, Success, errors, success
from loyalty.api.models.common import Pagination, pagination
from loyalty.api.models.liability import CriterionDefinition, CriterionOut, CriterionPatch, DailyJobsOut
from loyalty.api.paths import path_id
from loyalty.domain.errors import NotFound
from loyalty.domain.tenancy import Principal
from loyalty.services import daily as daily_service
from loyalty.services import liability as liability_service
from loyalty.storage.database import Tx

router = APIRouter(prefix="/v1", tags=["Points configuration"])

ENFORCEMENT = (
    "Earn, spend and balance caps are enforced on every balance change (unless bypassCaps); points expiry "
    "(SIMPLE_EXPIRY) dates each credit as it is made and the worker's points jobs expire what is due."
)


def _criterion_id(raw: str) -> uuid.UUID:
    return path_id(raw, NotFound("No such points liability criterion.", code="CRITERIA_NOT_FOUND"))


def _draft(body: CriterionDefinition | CriterionPatch) -> liability_service.CriterionDraft:
    return liability_service.CriterionDraft(
        name=body.name,
        type=body.type,
        liability_type=body.liability_type,
        config=body.config,
        is_active=body.is_active if isinstance(body, CriterionPatch) else None,
    )


@router.get(
    "/points_liability_criteria",
    response_model=Page[CriterionOut],
    responses=errors(400, 401, 403),
    description=ENFORCEMENT,
)
async def list_criteria(
    request: Request, page: Pagination = Depends(pagination), principal: Principal = Depends(ADMIN)
) -> Response:
    async def query(tx: Tx) -> Response:
        found, total = await liability_service.list_criteria(
            tx, principal.tenant.tenant_id, limit=page.limit, skip=page.skip
        )
        return success([CriterionOut.of(c) for c in found], meta=page.meta(total))

    return await run_query(request, query)


@router.post(
    "/points_liability_criteria",
    response_model=Success[CriterionOut],
    responses=errors(400, 401, 403, 409),
    description="Create a criterion; at most one SIMPLE_EXPIRY per tenant (409 `CRITERIA_ALREADY_EXISTS`). "
    + ENFORCEMENT,
)
async def create_criterion(
    request: Request, body: CriterionDefinition, principal: Principal = Depends(ADMIN)
) -> Response:
    draft = _draft(body)

    async def effect(tx: Tx) -> CriterionOut:
        return CriterionOut.of(await liability_service.create_criterion(tx, principal.tenant.tenant_id, draft))

    return await run_command(request, principal, effect)


@router.post(
    "/points_liability_criteria/trigger_daily_cron",
    response_model=Success[DailyJobsOut],
    responses=errors(400, 401, 403, 409),
)
async def trigger_daily_cron(request: Request, principal: Principal = Depends(ADMIN)) -> Response:
    """Run the caller's tenant's daily jobs now: activation of pending points, points expiry, CALENDAR_PERIOD tier
    review, DAILY audience refresh, and reaping idempotency keys past the retention window. Idempotent: a second
    run changes nothing."""
    retention = timedelta(hours=request.app.state.settings.idempotency_ttl_hours)

    async def effect(tx: Tx) -> DailyJobsOut:
        report = await daily_service.run_tenant_daily_jobs(tx, principal.tenant.tenant_id, retention=retention)
        return DailyJobsOut.of(report)

    return await run_command(request, principal, effect)


@router.get(
    "/points_liability_criteria/{id}",
    response_model=Success[CriterionOut],
    responses=errors(401, 403, 404),
    description=ENFORCEMENT,
)
async def get_criterion(request: Request, id: str, principal: Principal = Depends(ADMIN)) -> Response:
    criterion_id = _criterion_id(id)

    async def query(tx: Tx) -> Response:
        return success(
            CriterionOut.of(await liability_service.get_criterion(tx, principal.tenant.tenant_id, criterion_id))
        )

    return await run_query(request, query)


@router.patch(
    "/points_liability_criteria/{id}",
    response_model=Success[CriterionOut],
    responses=errors(400, 401, 403, 404, 409),
    description="Change a criterion (the result is validated as a whole), or switch it off with `isActive: false`. "
    + ENFORCEMENT,
)
async def update_criterion(
    request: Request, id: str, body: CriterionPatch, principal: Principal = Depends(ADMIN)
) -> Response:
    criterion_id = _criterion_id(id)
    patch = _draft(body)

    async def effect(tx: Tx) -> CriterionOut:
        return CriterionOut.of(
            await liability_service.update_criterion(tx, principal.tenant.tenant_id, criterion_id, patch)
        )

    return await run_command(request, principal, effect)


@router.delete(
    "/points_liability_criteria/{id}",
    response_model=Success[CriterionOut],
    responses=errors(401, 403, 404),
    description="Remove a criterion for good (a hard delete: nothing refers to criteria yet); answers it as it was. "
    + ENFORCEMENT,
)
async def delete_criterion(request: Request, id: str, principal: Principal = Depends(ADMIN)) -> Response:
    criterion_id = _criterion_id(id)

    async def effect(tx: Tx) -> CriterionOut:
        return CriterionOut.of(await liability_service.delete_criterion(tx, principal.tenant.tenant_id, criterion_id))

    return await run_command(request, principal, effect)

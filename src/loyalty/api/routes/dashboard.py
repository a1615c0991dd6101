"""/v1/dashboard: the operator's figures over a period (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime

from loyalty.api.auth import ADMIN
from loyalty.api.commands import run_query
from loyalty.api.envelope import Success, errors, success
from loyalty.api.models.dashboard import DashboardOut
from loyalty.domain import dashboard as dashboard_rules
from loyalty.domain.lots import Period
from loyalty.domain.tenancy import Principal
from loyalty.services import dashboard as dashboard_service
from loyalty.services.clock import now
from loyalty.storage.database import Tx

router = APIRouter(prefix="/v1", tags=["Dashboard"])


@router.get("/dashboard", response_model=Success[DashboardOut], responses=errors(400, 401, 403))
async def get_dashboard(
    request: Request,
    period_from: Annotated[
        AwareDatetime | None, Query(alias="from", description="Start (default: `to` − 30 days).")
    ] = None,
    period_to: Annotated[AwareDatetime | None, Query(alias="to", description="End, excluded (default: now).")] = None,
    interval: Annotated[Period, Query(description="Bucket size: DAY (the default), WEEK or MONTH.")] = Period.DAY,
    principal: Principal = Depends(ADMIN),
) -> Response:
    """(ext) Members, points, benefits, orders and refunds over `[from, to)`, in total and per calendar day, ISO
    week or month in the tenant's time zone (the first and last buckets are clipped to the period). At most 400
    buckets (400 `TOO_MANY_BUCKETS`); `from` must be before `to` and both between 1900 and 9000 (400
    `INVALID_PERIOD`). Points are counted by ledger entry kind, as docs/api.md describes."""
    start, end = dashboard_rules.period(period_from, period_to, now())

    async def query(tx: Tx) -> Response:
        found = await dashboard_service.dashboard(tx, principal.tenant.tenant_id, start, end, interval)
        return success(DashboardOut.of(found))

    return await run_query(request, query)

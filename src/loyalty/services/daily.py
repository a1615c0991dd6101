"""The daily jobs: activation of pending points, points expiry, CALENDAR_PERIOD tier review, DAILY audience
refresh, and reaping old idempotency keys.

Every job is idempotent: activation and expiry claim one member at a time and read what is due only once the
member is claimed (``services/expiry.py``); tier and audience reassessment write only real changes, with
conditional updates and ``INSERT … ON CONFLICT DO NOTHING`` (so a move is made and announced once even when two
workers run at the same time), and reaping deletes what is past the retention window. Running the jobs twice
changes nothing the second time. ``loyalty worker`` runs the points jobs every few minutes and all of them once a
day; ``loyalty daily`` and ``POST /v1/points_liability_criteria/trigger_daily_cron`` run them on demand.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol, TypeVar

from loyalty.domain.audiences import TriggerFrequency, compile_audience
from loyalty.domain.errors import NotFound
from loyalty.services import audiences as audience_service
from loyalty.services import expiry, idempotency, member_state
from loyalty.services import tenants as tenant_service
from loyalty.services.clock import now
from loyalty.storage.database import Tx

T = TypeVar("T")


class TxRunner(Protocol):
    """Runs one unit of work in its own (retried) transaction, as ``Database.run`` does."""

    def __call__(self, work: Callable[[Tx], Awaitable[T]], /) -> Awaitable[T]: ...


@dataclass(frozen=True)
class DailyReport:
    tenants: int = 0
    tier_moves: int = 0
    audiences_refreshed: int = 0
    audience_joins: int = 0
    audience_leaves: int = 0
    idempotency_keys_reaped: int = 0
    points_activated: int = 0
    points_expired: int = 0
    members_expired: int = 0

    def __add__(self, other: DailyReport) -> DailyReport:
        return DailyReport(
            tenants=self.tenants + other.tenants,
            tier_moves=self.tier_moves + other.tier_moves,
            audiences_refreshed=self.audiences_refreshed + other.audiences_refreshed,
            audience_joins=self.audience_joins + other.audience_joins,
            audience_leaves=self.audience_leaves + other.audience_leaves,
            idempotency_keys_reaped=self.idempotency_keys_reaped + other.idempotency_keys_reaped,
            points_activated=self.points_activated + other.points_activated,
            points_expired=self.points_expired + other.points_expired,
            members_expired=self.members_expired + other.members_expired,
        )


async def review_tiers(tx: Tx, tenant_id: uuid.UUID) -> DailyReport:
    return DailyReport(tier_moves=await member_state.review_tiers(tx, tenant_id))


async def daily_audience_ids(tx: Tx, tenant_id: uuid.UUID) -> list[uuid.UUID]:
    return [
        a.audience_id
        for a in await audience_service.live_audiences(tx, tenant_id)
        if a.is_active and a.trigger_frequency is TriggerFrequency.DAILY
    ]


async def refresh_daily_audience(tx: Tx, tenant_id: uuid.UUID, audience_id: uuid.UUID) -> DailyReport:
    """Reassess every open member against one DAILY audience (skipped if it was changed or deleted meanwhile)."""
    try:
        audience = await audience_service.get_audience(tx, tenant_id, audience_id)
    except NotFound:  # deleted since the list was read
        return DailyReport()
    if not audience.is_active or audience.trigger_frequency is not TriggerFrequency.DAILY:
        return DailyReport()
    joined, left = await member_state.reassess_everyone(tx, tenant_id, audience=compile_audience(audience))
    return DailyReport(audiences_refreshed=1, audience_joins=joined, audience_leaves=left)


async def reap_idempotency_keys(tx: Tx, tenant_id: uuid.UUID, retention: timedelta) -> DailyReport:
    return DailyReport(idempotency_keys_reaped=await idempotency.reap(tx, retention, tenant_id=tenant_id))


async def activate_member(tx: Tx, tenant_id: uuid.UUID, member_id: uuid.UUID, moment: datetime) -> DailyReport:
    result = await expiry.activate_member(tx, tenant_id, member_id, moment)
    return DailyReport(points_activated=result.points)


async def expire_member(tx: Tx, tenant_id: uuid.UUID, member_id: uuid.UUID, moment: datetime) -> DailyReport:
    result = await expiry.expire_member(tx, tenant_id, member_id, moment)
    return DailyReport(points_expired=result.points, members_expired=1 if result.points else 0)


_BATCH = 500
_POINTS_JOBS = (
    (expiry.members_due_activation, activate_member),
    (expiry.members_due_expiry, expire_member),
)


async def run_points_jobs(run: TxRunner, tenant_id: uuid.UUID, moment: datetime | None = None) -> DailyReport:
    """Activation, then expiry, of everything due at ``moment`` (default now): the members due are read in
    batches, and each member is handled in a transaction of its own."""
    moment = moment or now()
    report = DailyReport()
    for due, job in _POINTS_JOBS:
        after: uuid.UUID | None = None
        while True:
            batch = await run(partial(due, tenant_id=tenant_id, moment=moment, after=after, limit=_BATCH))
            for member_id in batch:
                report += await run(partial(job, tenant_id=tenant_id, member_id=member_id, moment=moment))
            if len(batch) < _BATCH:
                break
            after = batch[-1]
    return report


async def run_tenant_daily_jobs(tx: Tx, tenant_id: uuid.UUID, *, retention: timedelta) -> DailyReport:
    """All of one tenant's daily jobs in the caller's transaction (the on-demand trigger)."""

    async def in_this_transaction(work: Callable[[Tx], Awaitable[T]]) -> T:
        return await work(tx)

    report = DailyReport(tenants=1) + await run_points_jobs(in_this_transaction, tenant_id)
    report += await review_tiers(tx, tenant_id)
    for audience_id in await daily_audience_ids(tx, tenant_id):
        report += await refresh_daily_audience(tx, tenant_id, audience_id)
    return report + await reap_idempotency_keys(tx, tenant_id, retention)


async def run_daily_jobs(
    run: TxRunner,
    tenant_ids: list[uuid.UUID],
    *,
    retention: timedelta,
    on_tenant_done: Callable[[uuid.UUID, DailyReport], None] | None = None,
) -> DailyReport:
    """Every tenant's daily jobs, each job in its own transaction (run by ``run``), so one tenant's long review
    holds no lock over another's and a failure loses only the job that failed."""
    total = DailyReport()
    for tenant_id in tenant_ids:
        report = DailyReport(tenants=1) + await run_points_jobs(run, tenant_id)
        report += await run(partial(review_tiers, tenant_id=tenant_id))
        audience_ids = await run(partial(daily_audience_ids, tenant_id=tenant_id))
        for audience_id in audience_ids:
            report += await run(partial(refresh_daily_audience, tenant_id=tenant_id, audience_id=audience_id))
        report += await run(partial(reap_idempotency_keys, tenant_id=tenant_id, retention=retention))
        if on_tenant_done is not None:
            on_tenant_done(tenant_id, report)
        total += report
    return total


async def tenant_ids(tx: Tx) -> list[uuid.UUID]:
    return [t.tenant_id for t in await tenant_service.list_tenants(tx)]

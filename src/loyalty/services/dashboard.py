"""The operator's dashboard: members, points, benefits, orders and refunds over a period, per calendar bucket.

Each metric is one aggregate statement that reads its table once: every row gets the index of its bucket from a
searched ``CASE WHEN ts < :b0 THEN -1 WHEN ts < :b1 THEN 0 … END`` (the bounds computed in Python, in the tenant's
time zone), and the statement sums per index. Nothing is read row by row and nothing is queried per bucket.

Points held at the end of each bucket are the sum of the balances now, minus what the ledger moved since.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, literal, select

from loyalty.domain.dashboard import Bucket, Flows, Stocks, bucket_bounds, series, whole
from loyalty.domain.ledger import EntryKind
from loyalty.domain.lots import Period
from loyalty.services import settings as settings_service
from loyalty.storage.database import Tx
from loyalty.storage.tables import benefits, members, orders, point_accounts, point_entries, refunds

BEFORE = -1  # the bucket index of what happened before the period
ONE = literal(1)  # summed, a count


@dataclass(frozen=True)
class Dashboard:
    interval: Period
    timezone: str
    currency: str
    totals: Bucket
    buckets: list[Bucket]


def bucket_index(moment: ColumnElement[datetime], bounds: Sequence[datetime]) -> ColumnElement[int]:
    """``BEFORE`` before ``bounds[0]``, ``i`` within ``[bounds[i], bounds[i + 1])``, ``len(bounds) - 1`` from the
    last bound on."""
    whens = [(moment < bound, BEFORE + index) for index, bound in enumerate(bounds)]
    return case(*whens, else_=len(bounds) - 1)


async def _sums(
    tx: Tx,
    moment: ColumnElement[datetime],
    bounds: Sequence[datetime],
    where: ColumnElement[bool],
    values: Mapping[str, ColumnElement[Any]],
) -> dict[int, dict[str, int]]:
    """Each of ``values`` summed per bucket of ``moment`` over the rows ``where`` selects: one statement. The bucket
    is grouped on in an outer query: PostgreSQL cannot tell that a GROUP BY repeating the CASE, with parameters of
    its own, is the same expression as the one selected."""
    rows = select(bucket_index(moment, bounds).label("bucket"), *(v.label(k) for k, v in values.items()))
    per_row = rows.where(where).subquery()
    totals = [func.coalesce(func.sum(per_row.c[name]), 0).label(name) for name in values]
    found = await tx.execute(select(per_row.c.bucket, *totals).group_by(per_row.c.bucket))
    return {row.bucket: {name: int(row._mapping[name]) for name in values} for row in found}


async def _members(tx: Tx, tenant_id: uuid.UUID, bounds: Sequence[datetime]) -> list[dict[int, dict[str, int]]]:
    """Accounts opened and closed per bucket, from the first account on (so ``BEFORE`` holds the opening count)."""
    m = members.c
    end = bounds[-1]
    opened = await _sums(
        tx, m.created_at, bounds, (m.tenant_id == tenant_id) & (m.created_at < end), {"new_members": ONE}
    )
    closed = await _sums(
        tx,
        m.closed_at,
        bounds,
        (m.tenant_id == tenant_id) & m.closed_at.is_not(None) & (m.closed_at < end),
        {"closed_members": ONE},
    )
    return [opened, closed]


def _when(condition: ColumnElement[bool], value: ColumnElement[int]) -> ColumnElement[int]:
    return case((condition, value), else_=0)


async def _points(tx: Tx, tenant_id: uuid.UUID, bounds: Sequence[datetime]) -> dict[int, dict[str, int]]:
    """The ledger from the start of the period on, by kind (the mapping is in docs/api.md, "Dashboard"); what came
    after the period is the last index, kept to work the stocks back from the balances held now."""
    e = point_entries.c
    kind, delta = e.kind, e.delta
    values = {
        "points_issued": _when(
            kind.in_([EntryKind.EARN.value, EntryKind.ACTIVATE.value, EntryKind.ADJUST.value]) & (delta > 0), delta
        ),
        "points_spent": _when(kind == EntryKind.SPEND.value, -delta),
        "points_expired": _when(kind == EntryKind.EXPIRE.value, -delta),
        "points_debited": _when((kind == EntryKind.ADJUST.value) & (delta < 0), -delta),
        "points_reversed": _when((kind == EntryKind.REVERSAL.value) & (delta < 0), -delta),
        "points_returned": _when((kind == EntryKind.REVERSAL.value) & (delta > 0), delta),
        "points_net": delta,
        "pending_net": e.pending_delta,
    }
    where = (e.tenant_id == tenant_id) & (e.created_at >= bounds[0])
    return await _sums(tx, e.created_at, bounds, where, values)


async def _held(tx: Tx, tenant_id: uuid.UUID) -> tuple[int, int]:
    """Points and pending points held now, over every account."""
    a = point_accounts.c
    query = select(func.coalesce(func.sum(a.balance), 0), func.coalesce(func.sum(a.pending), 0))
    balance, pending = (await tx.execute(query.where(a.tenant_id == tenant_id))).one()
    return int(balance), int(pending)


def _within(moment: ColumnElement[datetime], bounds: Sequence[datetime]) -> ColumnElement[bool]:
    return (moment >= bounds[0]) & (moment < bounds[-1])


async def _activity(tx: Tx, tenant_id: uuid.UUID, bounds: Sequence[datetime]) -> list[dict[int, dict[str, int]]]:
    """Benefits issued and burned, orders by the time of sale, refunds by the time they were made."""
    b, o, r = benefits.c, orders.c, refunds.c
    issued = await _sums(
        tx, b.created_at, bounds, (b.tenant_id == tenant_id) & _within(b.created_at, bounds), {"benefits_issued": ONE}
    )
    burned = await _sums(
        tx, b.burned_at, bounds, (b.tenant_id == tenant_id) & _within(b.burned_at, bounds), {"benefits_burned": ONE}
    )
    sold = await _sums(
        tx,
        o.occurred_at,
        bounds,
        (o.tenant_id == tenant_id) & _within(o.occurred_at, bounds),
        {"orders": ONE, "order_value": o.total},
    )
    refunded = await _sums(
        tx,
        r.created_at,
        bounds,
        (r.tenant_id == tenant_id) & _within(r.created_at, bounds),
        {"refunds": ONE, "refund_value": r.value},
    )
    return [issued, burned, sold, refunded]


def _flows(parts: Sequence[Mapping[int, Mapping[str, int]]], index: int) -> Flows:
    found: dict[str, int] = {}
    for part in parts:
        found.update(part.get(index, {}))
    return Flows(**found)


async def dashboard(tx: Tx, tenant_id: uuid.UUID, start: datetime, end: datetime, interval: Period) -> Dashboard:
    """The period ``[start, end)`` cut into ``interval`` buckets in the tenant's time zone (400
    ``TOO_MANY_BUCKETS`` past ``MAX_BUCKETS``)."""
    settings = await settings_service.get_settings(tx, tenant_id)
    bounds = bucket_bounds(start, end, interval, settings.zone)
    count = len(bounds) - 1
    points = await _points(tx, tenant_id, bounds)
    parts = [*await _members(tx, tenant_id, bounds), points, *await _activity(tx, tenant_id, bounds)]
    flows = [_flows(parts, index) for index in range(count)]
    # Stocks at the start: accounts opened minus closed before it; points held now minus all the ledger moved since.
    before = _flows(parts, BEFORE)
    since = sum((_flows([points], index) for index in range(count + 1)), Flows())
    balance, pending = await _held(tx, tenant_id)
    opening = Stocks(
        members=before.new_members - before.closed_members,
        points=balance - since.points_net,
        pending=pending - since.pending_net,
    )
    buckets = series(bounds, opening, flows)
    return Dashboard(
        interval=interval,
        timezone=settings.timezone,
        currency=settings.base_currency,
        totals=whole(buckets),
        buckets=buckets,
    )

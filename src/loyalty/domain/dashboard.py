"""The operator's dashboard: the period asked for, cut into calendar buckets, and the arithmetic that turns what
happened in each bucket (flows) into what there was at its end (stocks). Pure: the services run the aggregates.

Buckets are calendar days, ISO weeks or months in the tenant's time zone (the wallet predictions' periods), clipped
to the period: the first starts at ``from`` and the last ends at ``to``, so the buckets add up to the totals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from loyalty.domain.errors import InvalidInput
from loyalty.domain.lots import Period, period_of

MAX_BUCKETS = 400
DEFAULT_SPAN = timedelta(days=30)
# Far enough from the calendar's ends that zone conversions and period arithmetic cannot overflow.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def period(start: datetime | None, end: datetime | None, moment: datetime) -> tuple[datetime, datetime]:
    """``[start, end)`` with the defaults filled in: up to ``moment``, and 30 days long."""
    for name, value in (("from", start), ("to", end)):
        if value is not None and not EARLIEST <= value < LATEST:
            raise InvalidInput(f"{name} must be between 1900 and 9000.", code="INVALID_PERIOD", field=name)
    end = end or (moment if start is None or start < moment else start + DEFAULT_SPAN)
    start = start or max(end - DEFAULT_SPAN, EARLIEST)
    if start >= end:
        raise InvalidInput("from must be before to.", code="INVALID_PERIOD", field="from")
    return start, end


def next_boundary(moment: datetime, interval: Period, zone: ZoneInfo) -> datetime:
    """The first start of a calendar period after ``moment``."""
    _, end = period_of(moment, interval, zone)
    if end > moment:
        return end
    # A clock set back across midnight can put the wall-clock end of the period before ``moment`` in UTC: the
    # period an hour later is past the change.
    later_start, later_end = period_of(moment + timedelta(hours=1), interval, zone)
    return later_start if later_start > moment else later_end


def bucket_bounds(
    start: datetime, end: datetime, interval: Period, zone: ZoneInfo, limit: int = MAX_BUCKETS
) -> list[datetime]:
    """``[start, b1, …, end]``: bucket ``i`` is ``[bounds[i], bounds[i + 1])``. More than ``limit`` buckets is 400
    ``TOO_MANY_BUCKETS``."""
    bounds = [start]
    while bounds[-1] < end:
        if len(bounds) > limit:
            raise InvalidInput(
                f"At most {limit} buckets: choose a shorter period or a longer interval.",
                code="TOO_MANY_BUCKETS",
                field="interval",
            )
        bounds.append(min(next_boundary(bounds[-1], interval, zone), end))
    return bounds


@dataclass(frozen=True)
class Flows:
    """What happened within one bucket. Points are counted by ledger entry kind (docs/api.md, "Dashboard"):
    ``points_net`` and ``pending_net`` are the sums of all the entries' deltas and pending deltas."""

    new_members: int = 0
    closed_members: int = 0
    points_issued: int = 0
    points_spent: int = 0
    points_expired: int = 0
    points_debited: int = 0
    points_reversed: int = 0
    points_returned: int = 0
    points_net: int = 0
    pending_net: int = 0
    benefits_issued: int = 0
    benefits_burned: int = 0
    orders: int = 0
    order_value: int = 0
    refunds: int = 0
    refund_value: int = 0

    def __add__(self, other: Flows) -> Flows:
        return Flows(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})


FLOW_NAMES = frozenset(f.name for f in fields(Flows))


@dataclass(frozen=True)
class Stocks:
    """What there was at one moment: open accounts, points held (the sum of balances) and pending points."""

    members: int
    points: int
    pending: int

    def after(self, flows: Flows) -> Stocks:
        return Stocks(
            members=self.members + flows.new_members - flows.closed_members,
            points=self.points + flows.points_net,
            pending=self.pending + flows.pending_net,
        )


@dataclass(frozen=True)
class Bucket:
    starts_at: datetime
    ends_at: datetime
    flows: Flows
    closing: Stocks  # at ends_at


def series(bounds: Sequence[datetime], opening: Stocks, flows: Sequence[Flows]) -> list[Bucket]:
    """The buckets between ``bounds``, each with its flows and the stocks at its end."""
    buckets: list[Bucket] = []
    stocks = opening
    for index, happened in enumerate(flows):
        stocks = stocks.after(happened)
        buckets.append(Bucket(bounds[index], bounds[index + 1], happened, stocks))
    return buckets


def whole(buckets: Sequence[Bucket]) -> Bucket:
    """The whole period as one bucket: every flow summed, the stocks at its end."""
    total = Flows()
    for bucket in buckets:
        total = total + bucket.flows
    return Bucket(buckets[0].starts_at, buckets[-1].ends_at, total, buckets[-1].closing)

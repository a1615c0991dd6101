"""Point lots: what each credit added, and the arithmetic of taking points from them.

Spends and debits take from the soonest-expiring lots first (FEFO); lots without an expiry date come last, and
among equals the oldest goes first. A credit made while the balance is negative first pays off the debt, so only
what is left of it becomes a lot: the lots' remainders always add up to the balance when it is positive, and to
zero otherwise. Pure: the services read and write the rows.
"""

from __future__ import annotations

import calendar
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from loyalty.domain.liability import CriterionType

_DURATION = re.compile(
    r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$",
)
_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)
# The most a calendar month can be clipped by: 31 January + 1 month = 28 February.
_MONTH_CLIP = timedelta(days=3)


@dataclass(frozen=True)
class Lot:
    lot_id: uuid.UUID
    remaining: int
    created_at: datetime
    expires_at: datetime | None


def fefo(lots: Iterable[Lot]) -> list[Lot]:
    """Lots in the order debits consume them: soonest expiry first, no expiry last, then oldest first."""
    return sorted(lots, key=lambda lot: (lot.expires_at or _FAR_FUTURE, lot.created_at, lot.lot_id))


def allocate(lots: Iterable[Lot], points: int) -> list[tuple[uuid.UUID, int]]:
    """Take ``points`` from the lots in FEFO order: (lot, points taken) for each lot touched. Takes at most what
    the lots hold; the rest of a debit that overdraws is debt, which no lot backs."""
    taken: list[tuple[uuid.UUID, int]] = []
    left = points
    for lot in fefo(lots):
        if left <= 0:
            break
        take = min(lot.remaining, left)
        if take > 0:
            taken.append((lot.lot_id, take))
            left -= take
    return taken


def lot_size(credit: int, balance_after: int) -> int:
    """What a credit leaves in its lot once any debt is paid off."""
    return max(0, min(credit, balance_after))


class ExpiryBasis(StrEnum):
    EARN_DATE = "EARN_DATE"
    LAST_ACTIVITY = "LAST_ACTIVITY"


@dataclass(frozen=True)
class ExpiryPolicy:
    """SIMPLE_EXPIRY: each lot expires ``period`` after it was earned (EARN_DATE), or the whole balance expires
    after ``period`` without an earn or a spend (LAST_ACTIVITY)."""

    basis: ExpiryBasis
    period: str

    def lot_expiry(self, earned_at: datetime) -> datetime | None:
        return add_duration(earned_at, self.period) if self.basis is ExpiryBasis.EARN_DATE else None

    def inactivity_deadline(self, last_activity: datetime) -> datetime:
        """When a balance left alone since ``last_activity`` expires (LAST_ACTIVITY)."""
        return add_duration(last_activity, self.period)

    def is_inactive(self, last_activity: datetime, moment: datetime) -> bool:
        """Whether a balance left alone since ``last_activity`` has expired by ``moment``: the very deadline the
        member is shown."""
        return self.inactivity_deadline(last_activity) <= moment

    def inactivity_search_bound(self, moment: datetime) -> datetime:
        """Every account inactive by ``moment`` was last active at or before this bound (a query's filter; each
        candidate is then checked with ``is_inactive``). Calendar months clip (31 January + 1 month is 28
        February), so one period back from ``moment`` can miss up to three days: the bound allows for them."""
        return subtract_duration(moment, self.period) + _MONTH_CLIP


def expiry_of(criterion_type: CriterionType, config: dict[str, Any]) -> ExpiryPolicy | None:
    if criterion_type is not CriterionType.SIMPLE_EXPIRY:
        return None
    return ExpiryPolicy(ExpiryBasis(config["expiryBasedOn"]), str(config["dateModifier"]))


def _parts(duration: str) -> tuple[int, int, timedelta]:
    found = _DURATION.match(duration)
    if found is None:
        raise ValueError(f"not an ISO 8601 duration: {duration!r}")
    years, months, weeks, days, hours, minutes, seconds = (int(p) if p else 0 for p in found.groups())
    return years, months, timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)


def _shift_months(moment: datetime, months: int) -> datetime:
    """Calendar months: 31 January plus one month is the last day of February."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def add_duration(moment: datetime, duration: str) -> datetime:
    """``moment`` plus an ISO 8601 duration; years and months are calendar ones, the rest exact."""
    years, months, rest = _parts(duration)
    return _shift_months(moment, years * 12 + months) + rest


def subtract_duration(moment: datetime, duration: str) -> datetime:
    years, months, rest = _parts(duration)
    return _shift_months(moment - rest, -(years * 12 + months))


@dataclass(frozen=True)
class Expiring:
    points: int
    expires_at: datetime


def expiring(lots: Iterable[Lot]) -> list[Expiring]:
    """What the lots will lose and when, soonest first, one line per expiry moment."""
    by_moment: dict[datetime, int] = {}
    for lot in lots:
        if lot.expires_at is not None and lot.remaining > 0:
            by_moment[lot.expires_at] = by_moment.get(lot.expires_at, 0) + lot.remaining
    return [Expiring(points, moment) for moment, points in sorted(by_moment.items())]


class Period(StrEnum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"


@dataclass(frozen=True)
class PeriodTotal:
    starts_at: datetime
    ends_at: datetime
    points: int


def period_of(moment: datetime, period: Period, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The calendar day, ISO week (from Monday) or month holding ``moment`` in ``zone``, as UTC bounds."""
    local = moment.astimezone(zone)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if period is Period.WEEK:
        start -= timedelta(days=start.weekday())
    elif period is Period.MONTH:
        start = start.replace(day=1)
    if period is Period.DAY:
        end = start + timedelta(days=1)
    elif period is Period.WEEK:
        end = start + timedelta(days=7)
    else:
        end = _shift_months(start, 1)
    # Wall-clock arithmetic in the zone: a day across a clock change keeps its real length.
    return start.astimezone(UTC), end.astimezone(UTC)


def per_period(items: Sequence[Expiring], period: Period, zone: ZoneInfo) -> list[PeriodTotal]:
    """Expiring points summed per calendar period in the tenant's zone, earliest first (empty periods omitted)."""
    totals: dict[tuple[datetime, datetime], int] = {}
    for item in items:
        bounds = period_of(item.expires_at, period, zone)
        totals[bounds] = totals.get(bounds, 0) + item.points
    return [PeriodTotal(start, end, points) for (start, end), points in sorted(totals.items())]

"""Earn, spend and balance caps: how much of a change a member's recent history allows.

Earn caps forfeit the excess (the member gets what fits; the rest is recorded as forfeited on the ledger entry);
spend caps refuse. Windows are a calendar week starting on a given weekday in the tenant's time zone, or the last
``n`` hours or days. Pure: the caller passes the time, the zone and what the member used in the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from loyalty.domain.liability import WEEKDAYS, CriterionType


class CapKind(StrEnum):
    EARN = "EARN"
    SPEND = "SPEND"
    BALANCE = "BALANCE"


@dataclass(frozen=True)
class Cap:
    kind: CapKind
    maximum: int
    interval: str | None = None  # CALENDAR_WEEK, RUNNING_HOURS, RUNNING_DAYS (earn and spend caps)
    start_of_week: str | None = None
    n: int | None = None
    per_member: bool = True  # balance caps: ACTOR (True) or TENANT (False)

    def window_start(self, moment: datetime, zone: ZoneInfo) -> datetime:
        """Where the cap's window begins for ``moment``."""
        if self.interval == "RUNNING_HOURS":
            return moment - timedelta(hours=self.n or 0)
        if self.interval == "RUNNING_DAYS":
            return moment - timedelta(days=self.n or 0)
        local = moment.astimezone(zone)
        back = (local.weekday() - WEEKDAYS.index(self.start_of_week or "MON")) % 7
        start = (local - timedelta(days=back)).replace(hour=0, minute=0, second=0, microsecond=0)
        return start.astimezone(moment.tzinfo)


def cap_of(criterion_type: CriterionType, config: dict[str, Any]) -> Cap | None:
    """The cap a stored criterion describes (None for expiry, which is not a cap)."""
    if criterion_type is CriterionType.MAXIMUM_POINTS_BALANCE_CAP:
        return Cap(
            CapKind.BALANCE,
            int(config["maxPointsInCirculation"]),
            per_member=config.get("liabilityEntity", "ACTOR") == "ACTOR",
        )
    kinds = {
        CriterionType.MAXIMUM_POINTS_EARN_CAP: CapKind.EARN,
        CriterionType.MAXIMUM_POINTS_SPEND_CAP: CapKind.SPEND,
    }
    if criterion_type not in kinds:
        return None
    argument = config.get("arg") or {}
    return Cap(
        kinds[criterion_type],
        int(config["maximumPoints"]),
        interval=config["intervalType"],
        start_of_week=argument.get("startOfWeek"),
        n=argument.get("n"),
    )


def allowed_earn(requested: int, used: int, maximum: int) -> int:
    """What may still be earned: the request, cut to what is left under the cap (never below zero)."""
    return max(0, min(requested, maximum - used))


def spend_fits(requested: int, used: int, maximum: int) -> bool:
    return used + requested <= maximum

"""Tiers: which tier a member holds, from the points they have earned (never from their balance).

A tier's qualifying points are the member's lifetime earn (``LIFETIME_EARN``: once reached, kept), or what they
earned in the current and the previous calendar period (``CALENDAR_PERIOD``, a year or a month in the tenant's
time zone: a tier reached in September 2023 on a yearly period holds through December 2024). The current tier is
the highest-priority tier whose requirement its qualifying points meet. Time is always passed in.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from typing import Any

from loyalty.domain.errors import InvalidInput


class Calculation(StrEnum):
    LIFETIME_EARN = "LIFETIME_EARN"
    CALENDAR_PERIOD = "CALENDAR_PERIOD"


class AccumulationPeriod(StrEnum):
    P1Y = "P1Y"
    P1M = "P1M"


@dataclass(frozen=True)
class Tier:
    tier_id: uuid.UUID
    name: str
    priority: int
    points_requirement: int
    calculation: Calculation
    accumulation_period: AccumulationPeriod | None
    details: dict[str, dict[str, Any]] = field(default_factory=dict)
    default_locale: str = "en"
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def localized(self, locale: str | None = None) -> dict[str, Any]:
        """The details in ``locale``, falling back to the default locale."""
        chosen = self.details.get(locale or self.default_locale) or self.details.get(self.default_locale) or {}
        return {"name": self.name, **chosen} if "name" not in chosen else dict(chosen)


def check_calculation(calculation: Calculation, period: AccumulationPeriod | None) -> None:
    if calculation is Calculation.CALENDAR_PERIOD and period is None:
        raise InvalidInput(
            "A CALENDAR_PERIOD tier needs an accumulationPeriod (P1Y or P1M).",
            code="ACCUMULATION_PERIOD_REQUIRED",
            field="accumulationPeriod",
        )


def naming(
    name: str | None, details: Mapping[str, Mapping[str, Any]], default_locale: str
) -> tuple[str, dict[str, dict[str, Any]]]:
    """A tier's name and details: ``name`` (when given) is the default locale's name; otherwise the default
    locale's entry of ``details`` must carry one."""
    merged = {locale: dict(entry) for locale, entry in details.items()}
    for locale, entry in merged.items():
        if entry.pop("locale", locale) != locale:
            raise InvalidInput(
                f"details.{locale}.locale names another locale.", code="INVALID_TIER_DETAILS", field="details"
            )
    if name is not None:
        merged.setdefault(default_locale, {})["name"] = name
    chosen = merged.get(default_locale, {}).get("name")
    if not chosen:
        raise InvalidInput(
            f"A tier needs a name: give `name`, or `details.{default_locale}.name` for the default locale.",
            code="TIER_NAME_REQUIRED",
            field="name",
        )
    return str(chosen), merged


def qualifying_since(moment: datetime, zone: tzinfo, period: AccumulationPeriod) -> datetime:
    """Start (UTC) of the previous calendar period in ``zone``: points earned from then on qualify."""
    local = moment.astimezone(zone)
    if period is AccumulationPeriod.P1Y:
        start = datetime(local.year - 1, 1, 1, tzinfo=zone)
    elif local.month == 1:
        start = datetime(local.year - 1, 12, 1, tzinfo=zone)
    else:
        start = datetime(local.year, local.month - 1, 1, tzinfo=zone)
    return start.astimezone(UTC)


def periods_used(tiers: Iterable[Tier]) -> frozenset[AccumulationPeriod]:
    return frozenset(
        t.accumulation_period
        for t in tiers
        if t.calculation is Calculation.CALENDAR_PERIOD and t.accumulation_period is not None
    )


@dataclass(frozen=True)
class Earnings:
    """What a member has earned: in total, and since the start of each period's qualifying window."""

    lifetime: int
    since_window: Mapping[AccumulationPeriod, int] = field(default_factory=dict)

    def qualifying(self, tier: Tier) -> int:
        if tier.calculation is Calculation.CALENDAR_PERIOD and tier.accumulation_period is not None:
            return self.since_window.get(tier.accumulation_period, 0)
        return self.lifetime


def current_tier(tiers: Iterable[Tier], earnings: Earnings) -> Tier | None:
    """The highest-priority tier whose requirement is met by its own qualifying points."""
    met = [t for t in tiers if earnings.qualifying(t) >= t.points_requirement]
    return max(met, key=lambda t: t.priority, default=None)


@dataclass(frozen=True)
class TierProgress:
    tier_id: uuid.UUID
    name: str
    priority: int
    points_requirement: int
    earned_points: int
    attained: bool


def progress(tier: Tier, earnings: Earnings, held: Tier | None) -> TierProgress:
    """How far a member is with ``tier``; a tier is attained when it is the held tier or below it."""
    return TierProgress(
        tier_id=tier.tier_id,
        name=tier.name,
        priority=tier.priority,
        points_requirement=tier.points_requirement,
        earned_points=earnings.qualifying(tier),
        attained=held is not None and tier.priority <= held.priority,
    )


def wallet_tier(tiers: Iterable[Tier], held: Tier | None) -> Tier | None:
    """The tier a wallet shows: the one held, or — before any is reached — the first one to reach."""
    if held is not None:
        return held
    return min(tiers, key=lambda t: t.priority, default=None)

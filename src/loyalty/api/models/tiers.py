"""Tiers on the wire (after WLL's TierDefinition, TierPatch and TierType)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, StringConstraints

from loyalty.api.models.badges import Locale
from loyalty.api.models.common import RequestModel, ResponseModel, Timestamp
from loyalty.domain.tiers import Tier, TierProgress

TierName = Annotated[str, StringConstraints(min_length=2, max_length=200)]
Calculation = Literal["LIFETIME_EARN", "CALENDAR_PERIOD"]
AccumulationPeriod = Literal["P1Y", "P1M"]
Requirement = Annotated[int, Field(ge=0, le=10**12)]
Priority = Annotated[int, Field(ge=0, le=1_000_000)]

# WLL fields this engine does not implement.
_UNSUPPORTED = frozenset({"effectivity"})


class TierDetails(RequestModel):
    name: TierName | None = None
    description: Annotated[str, StringConstraints(min_length=2, max_length=1000)] | None = None
    artwork_url: Annotated[str, StringConstraints(max_length=2048, pattern=r"^https?://")] | None = None
    locale: Locale | None = Field(default=None, description="Optional; when given it must be the entry's key.")


class TierDefinition(RequestModel):
    unsupported: ClassVar[frozenset[str]] = _UNSUPPORTED

    points_requirement: Requirement = Field(description="Points earned (not the balance) that reach this tier.")
    calculation: Calculation
    accumulation_period: AccumulationPeriod | None = Field(
        default=None, description="Required for CALENDAR_PERIOD: the current plus the previous year or month count."
    )
    priority: Priority = Field(description="Higher is better; unique among the tenant's tiers.")
    details: dict[Locale, TierDetails] | None = Field(
        default=None, description="Per locale: name, description, artworkUrl. Or give a plain `name`."
    )
    default_locale: Locale = "en"
    name: TierName | None = Field(default=None, description="The default locale's name (instead of `details`).")


class TierPatch(RequestModel):
    unsupported: ClassVar[frozenset[str]] = _UNSUPPORTED

    points_requirement: Requirement | None = None
    calculation: Calculation | None = None
    accumulation_period: AccumulationPeriod | None = None
    priority: Priority | None = None
    details: dict[Locale, TierDetails] | None = None
    default_locale: Locale | None = None
    name: TierName | None = None


def details_document(details: dict[Locale, TierDetails] | None) -> dict[str, dict[str, Any]] | None:
    if details is None:
        return None
    return {locale: entry.model_dump(by_alias=True, exclude_none=True) for locale, entry in details.items()}


class TierOut(ResponseModel):
    id: str
    name: str
    description: str | None
    artwork_url: str | None
    details: dict[str, dict[str, Any]]
    default_locale: str
    priority: int
    points_requirement: int
    calculation: str
    accumulation_period: str | None
    created_at: Timestamp | None
    updated_at: Timestamp | None
    earned_points: int | None = Field(
        default=None, description="For a member (token or X-User-Id): the points that count towards this tier now."
    )
    attained: bool | None = Field(
        default=None, description="For a member: whether they hold this tier or a higher one."
    )

    @classmethod
    def of(cls, tier: Tier, *, locale: str | None = None, progress: TierProgress | None = None) -> TierOut:
        shown = tier.localized(locale)
        return cls(
            id=str(tier.tier_id),
            name=str(shown.get("name") or tier.name),
            description=shown.get("description"),
            artwork_url=shown.get("artworkUrl"),
            details=tier.details,
            default_locale=tier.default_locale,
            priority=tier.priority,
            points_requirement=tier.points_requirement,
            calculation=tier.calculation.value,
            accumulation_period=tier.accumulation_period.value if tier.accumulation_period else None,
            created_at=tier.created_at,
            updated_at=tier.updated_at,
            earned_points=progress.earned_points if progress else None,
            attained=progress.attained if progress else None,
        )

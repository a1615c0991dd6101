"""Points liability criteria and the daily jobs report on the wire."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from loyalty.api.models.common import JsonObject, RequestModel, ResponseModel, Timestamp
from loyalty.services.daily import DailyReport
from loyalty.services.liability import LiabilityCriterion

Name = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Word = Annotated[str, StringConstraints(min_length=1, max_length=64)]

TYPE_HELP = (
    "SIMPLE_EXPIRY, MAXIMUM_POINTS_EARN_CAP, MAXIMUM_POINTS_SPEND_CAP or MAXIMUM_POINTS_BALANCE_CAP "
    "(PURCHASE_REWARDS is not supported)."
)
LIABILITY_HELP = (
    "EXPIRY (SIMPLE_EXPIRY), EARNING_CAP (MAXIMUM_POINTS_EARN_CAP and MAXIMUM_POINTS_BALANCE_CAP) or "
    "SPENDING_CAP (MAXIMUM_POINTS_SPEND_CAP)."
)
CONFIG_HELP = (
    "SIMPLE_EXPIRY: {expiryBasedOn: EARN_DATE | LAST_ACTIVITY, dateModifier: ISO 8601 duration such as P12M}. "
    "Earn and spend caps: {intervalType: CALENDAR_WEEK, arg: {startOfWeek: MON…SUN}, maximumPoints} or "
    "{intervalType: RUNNING_HOURS | RUNNING_DAYS, arg: {n}, maximumPoints}. "
    "Balance cap: {maxPointsInCirculation, liabilityEntity: ACTOR | TENANT}."
)


class CriterionDefinition(RequestModel):
    name: Name
    type: Word = Field(description=TYPE_HELP)
    liability_type: Word = Field(description=LIABILITY_HELP)
    config: JsonObject = Field(description=CONFIG_HELP)


class CriterionPatch(RequestModel):
    name: Name | None = None
    type: Word | None = Field(default=None, description=TYPE_HELP)
    liability_type: Word | None = Field(default=None, description=LIABILITY_HELP)
    config: JsonObject | None = Field(default=None, description=CONFIG_HELP)
    is_active: bool | None = None


class CriterionOut(ResponseModel):
    id: str
    name: str
    type: str
    liability_type: str
    config: dict[str, object]
    is_active: bool
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(cls, criterion: LiabilityCriterion) -> CriterionOut:
        return cls(
            id=str(criterion.criterion_id),
            name=criterion.name,
            type=criterion.type.value,
            liability_type=criterion.liability_type.value,
            config=criterion.config,
            is_active=criterion.is_active,
            created_at=criterion.created_at,
            updated_at=criterion.updated_at,
        )


class DailyJobsOut(ResponseModel):
    tier_moves: int = Field(description="Members whose tier changed (CALENDAR_PERIOD review).")
    audiences_refreshed: int = Field(description="DAILY audiences reassessed.")
    audience_joins: int
    audience_leaves: int
    idempotency_keys_reaped: int = Field(description="Idempotency keys past the retention window, removed.")
    points_activated: int = Field(description="Pending points that became spendable.")
    points_expired: int = Field(description="Points expired (SIMPLE_EXPIRY).")
    members_expired: int = Field(description="Members who lost points to expiry.")

    @classmethod
    def of(cls, report: DailyReport) -> DailyJobsOut:
        return cls(
            tier_moves=report.tier_moves,
            audiences_refreshed=report.audiences_refreshed,
            audience_joins=report.audience_joins,
            audience_leaves=report.audience_leaves,
            idempotency_keys_reaped=report.idempotency_keys_reaped,
            points_activated=report.points_activated,
            points_expired=report.points_expired,
            members_expired=report.members_expired,
        )

"""Audiences: segments of members defined by a JSON Schema over a member document.

The criteria speak the same condition language as reactor constraints. They are evaluated over

    {profile, flags, attributes, points: {balance, lifetimeEarn}, tier: {priority, name} | null,
     badges: [badge ids], rewardsPurchased: [reward ids]}

so, for example, staff are ``{"properties": {"flags": {"properties": {"staff": {"const": true}},
"required": ["staff"]}}, "required": ["flags"]}``.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import jsonschema_rs

from loyalty.domain.errors import InvalidInput
from loyalty.domain.schemas import compile_schema

CRITERIA_FORMAT = "JSON_SCHEMA"
# WLL's own criteria formats and refresh rates that this engine does not implement.
_WLL_FORMATS = frozenset({"QUERY_TREE", "JSONATA"})
_WLL_FREQUENCIES = frozenset({"HOURLY", "DAILY_REACTIVE", "DAILY_POST_POINTS_LIABILITY"})
CRITERIA_FIELD = "criteriaDefinition.criteria"


class TriggerFrequency(StrEnum):
    REACTIVE = "REACTIVE"  # after every change to a member, in the same transaction
    DAILY = "DAILY"  # by the worker's daily refresh, and on demand
    MANUAL = "MANUAL"  # only on demand (POST /v1/audiences/{id}/refresh)


def check_criteria_format(value: str) -> None:
    if value == CRITERIA_FORMAT:
        return
    if value in _WLL_FORMATS:
        raise InvalidInput(
            f"criteriaFormat {value} is not supported by this engine; use JSON_SCHEMA.",
            code="UNSUPPORTED_FIELD",
            field="criteriaDefinition.criteriaFormat",
        )
    raise InvalidInput(
        "criteriaFormat must be JSON_SCHEMA.", code="VALIDATION_ERROR", field="criteriaDefinition.criteriaFormat"
    )


def trigger_frequency(value: str) -> TriggerFrequency:
    try:
        return TriggerFrequency(value)
    except ValueError:
        unsupported = value in _WLL_FREQUENCIES
        raise InvalidInput(
            f"triggerFrequency {value} is not supported by this engine; use REACTIVE, DAILY or MANUAL."
            if unsupported
            else "triggerFrequency must be REACTIVE, DAILY or MANUAL.",
            code="UNSUPPORTED_FIELD" if unsupported else "VALIDATION_ERROR",
            field="criteriaDefinition.triggerFrequency",
        ) from None


def compile_criteria(criteria: Any) -> jsonschema_rs.Validator:
    """Compile the criteria or raise 400 ``INVALID_SCHEMA``."""
    return compile_schema(criteria, field=CRITERIA_FIELD)


@dataclass(frozen=True)
class Audience:
    audience_id: uuid.UUID
    name: str
    description: str | None
    is_active: bool
    criteria: dict[str, Any]
    trigger_frequency: TriggerFrequency
    send_joined_event: bool
    send_left_event: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class CompiledAudience:
    audience: Audience
    validator: jsonschema_rs.Validator

    @property
    def audience_id(self) -> uuid.UUID:
        return self.audience.audience_id

    @property
    def is_reactive(self) -> bool:
        return self.audience.is_active and self.audience.trigger_frequency is TriggerFrequency.REACTIVE

    def admits(self, document: dict[str, Any]) -> bool:
        return bool(self.validator.is_valid(document))


def compile_audience(audience: Audience) -> CompiledAudience:
    return CompiledAudience(audience=audience, validator=compile_criteria(audience.criteria))


@dataclass(frozen=True)
class MemberFacts:
    """What the criteria may look at, as read from storage."""

    profile: dict[str, Any]
    flags: dict[str, Any]
    balance: int
    lifetime_earn: int
    tier_name: str | None
    tier_priority: int | None
    badge_ids: Collection[uuid.UUID]
    purchased_reward_ids: Collection[uuid.UUID]


def member_document(facts: MemberFacts) -> dict[str, Any]:
    profile = {"gender": "UNKNOWN", "attributes": {}, **facts.profile}
    return {
        "profile": profile,
        "flags": dict(facts.flags),
        "attributes": dict(profile.get("attributes") or {}),
        "points": {"balance": facts.balance, "lifetimeEarn": facts.lifetime_earn},
        "tier": None if facts.tier_priority is None else {"priority": facts.tier_priority, "name": facts.tier_name},
        "badges": sorted(str(b) for b in facts.badge_ids),
        "rewardsPurchased": sorted(str(r) for r in facts.purchased_reward_ids),
    }


@dataclass(frozen=True)
class MembershipChange:
    joined: tuple[CompiledAudience, ...]
    left: tuple[CompiledAudience, ...]


def membership_change(
    audiences: Iterable[CompiledAudience], document: dict[str, Any], current: Collection[uuid.UUID]
) -> MembershipChange:
    """Which of ``audiences`` the member joins and leaves, given the ids of those they are in now."""
    joined: list[CompiledAudience] = []
    left: list[CompiledAudience] = []
    for audience in audiences:
        admitted = audience.admits(document)
        if admitted and audience.audience_id not in current:
            joined.append(audience)
        elif not admitted and audience.audience_id in current:
            left.append(audience)
    return MembershipChange(joined=tuple(joined), left=tuple(left))

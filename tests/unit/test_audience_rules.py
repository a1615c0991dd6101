"""Audience rules: criteria over the member document, and who joins or leaves."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from loyalty.domain.audiences import (
    Audience,
    CompiledAudience,
    MemberFacts,
    TriggerFrequency,
    check_criteria_format,
    compile_audience,
    member_document,
    membership_change,
    trigger_frequency,
)
from loyalty.domain.errors import InvalidInput

STAFF = {
    "properties": {"flags": {"properties": {"staff": {"const": True}}, "required": ["staff"]}},
    "required": ["flags"],
}
MOMENT = datetime(2025, 1, 1, tzinfo=UTC)


def audience(criteria: dict[str, Any], *, active: bool = True, frequency: str = "REACTIVE") -> CompiledAudience:
    return compile_audience(
        Audience(uuid.uuid4(), "A", None, active, criteria, TriggerFrequency(frequency), True, True, MOMENT, MOMENT)
    )


def facts(**overrides: Any) -> MemberFacts:
    values: dict[str, Any] = {
        "profile": {"givenName": "Ada", "attributes": {"store": "372"}},
        "flags": {},
        "balance": 0,
        "lifetime_earn": 0,
        "tier_name": None,
        "tier_priority": None,
        "badge_ids": (),
        "purchased_reward_ids": (),
    }
    values.update(overrides)
    return MemberFacts(**values)


def test_the_document_has_every_field_the_criteria_may_use():
    badge, reward = uuid.uuid4(), uuid.uuid4()
    document = member_document(
        facts(
            flags={"staff": True},
            balance=40,
            lifetime_earn=90,
            tier_name="Silver",
            tier_priority=2,
            badge_ids={badge},
            purchased_reward_ids=[reward],
        )
    )
    assert document == {
        "profile": {"givenName": "Ada", "gender": "UNKNOWN", "attributes": {"store": "372"}},
        "flags": {"staff": True},
        "attributes": {"store": "372"},
        "points": {"balance": 40, "lifetimeEarn": 90},
        "tier": {"priority": 2, "name": "Silver"},
        "badges": [str(badge)],
        "rewardsPurchased": [str(reward)],
    }
    assert member_document(facts())["tier"] is None


def test_the_staff_criteria_admit_only_members_flagged_staff():
    staff = audience(STAFF)
    assert staff.admits(member_document(facts(flags={"staff": True})))
    assert not staff.admits(member_document(facts(flags={"staff": False})))
    assert not staff.admits(member_document(facts()))


def test_criteria_can_look_at_points_tier_badges_and_purchases():
    badge = uuid.uuid4()
    rich_gold_badger = audience(
        {
            "properties": {
                "points": {"properties": {"lifetimeEarn": {"minimum": 1000}}},
                "tier": {"type": "object", "properties": {"priority": {"minimum": 3}}},
                "badges": {"contains": {"const": str(badge)}},
            }
        }
    )
    assert rich_gold_badger.admits(
        member_document(facts(lifetime_earn=1000, tier_name="Gold", tier_priority=3, badge_ids=[badge]))
    )
    assert not rich_gold_badger.admits(member_document(facts(lifetime_earn=1000, tier_priority=3, badge_ids=[])))
    assert not rich_gold_badger.admits(member_document(facts(lifetime_earn=1000, badge_ids=[badge])))


def test_a_member_joins_what_admits_them_and_leaves_what_no_longer_does():
    staff, everyone, nobody = audience(STAFF), audience({}), audience({"not": {}})
    document = member_document(facts(flags={"staff": True}))
    change = membership_change([staff, everyone, nobody], document, {everyone.audience_id, nobody.audience_id})
    assert [a.audience_id for a in change.joined] == [staff.audience_id]
    assert [a.audience_id for a in change.left] == [nobody.audience_id]


def test_an_unchanged_member_neither_joins_nor_leaves():
    staff = audience(STAFF)
    document = member_document(facts(flags={"staff": True}))
    change = membership_change([staff], document, {staff.audience_id})
    assert change.joined == ()
    assert change.left == ()


def test_only_active_reactive_audiences_are_reassessed_on_a_change():
    assert audience(STAFF).is_reactive
    assert not audience(STAFF, active=False).is_reactive
    assert not audience(STAFF, frequency="DAILY").is_reactive
    assert not audience(STAFF, frequency="MANUAL").is_reactive


@pytest.mark.parametrize(
    ("value", "code"),
    [("QUERY_TREE", "UNSUPPORTED_FIELD"), ("JSONATA", "UNSUPPORTED_FIELD"), ("SQL", "VALIDATION_ERROR")],
)
def test_only_json_schema_criteria_are_accepted(value: str, code: str):
    check_criteria_format("JSON_SCHEMA")
    with pytest.raises(InvalidInput) as caught:
        check_criteria_format(value)
    assert caught.value.code == code


@pytest.mark.parametrize(("value", "code"), [("HOURLY", "UNSUPPORTED_FIELD"), ("WEEKLY", "VALIDATION_ERROR")])
def test_unknown_trigger_frequencies_are_refused(value: str, code: str):
    assert trigger_frequency("DAILY") is TriggerFrequency.DAILY
    with pytest.raises(InvalidInput) as caught:
        trigger_frequency(value)
    assert caught.value.code == code


def test_invalid_criteria_are_400_invalid_schema():
    with pytest.raises(InvalidInput) as caught:
        audience({"type": "no-such-type"})
    assert caught.value.code == "INVALID_SCHEMA"
    assert caught.value.details["field"] == "criteriaDefinition.criteria"

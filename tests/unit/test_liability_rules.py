"""Points liability criteria rules (contract §6): types, liability types and the config of each type."""

from __future__ import annotations

from typing import Any

import pytest

from loyalty.domain.errors import InvalidInput
from loyalty.domain.liability import CriterionType, LiabilityType, check_criterion, check_duration

EXPIRY = {"expiryBasedOn": "EARN_DATE", "dateModifier": "P12M"}
WEEK = {"intervalType": "CALENDAR_WEEK", "arg": {"startOfWeek": "MON"}, "maximumPoints": 1000}
RUNNING = {"intervalType": "RUNNING_DAYS", "arg": {"n": 7}, "maximumPoints": 500}
BALANCE = {"maxPointsInCirculation": 100000, "liabilityEntity": "ACTOR"}


def fails(type_: Any, liability: Any, config: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        check_criterion(type_, liability, config)
    return caught.value


def invalid(type_: Any, liability: Any, config: Any, field: str) -> None:
    error = fails(type_, liability, config)
    assert error.code == "INVALID_CRITERIA"
    assert error.details["field"] == field


@pytest.mark.parametrize(
    ("type_", "liability", "config"),
    [
        ("SIMPLE_EXPIRY", "EXPIRY", EXPIRY),
        ("SIMPLE_EXPIRY", "EXPIRY", {"expiryBasedOn": "LAST_ACTIVITY", "dateModifier": "P30D"}),
        ("MAXIMUM_POINTS_EARN_CAP", "EARNING_CAP", WEEK),
        ("MAXIMUM_POINTS_EARN_CAP", "EARNING_CAP", {**RUNNING, "intervalType": "RUNNING_HOURS"}),
        ("MAXIMUM_POINTS_SPEND_CAP", "SPENDING_CAP", RUNNING),
        ("MAXIMUM_POINTS_SPEND_CAP", "SPENDING_CAP", {**WEEK, "arg": {"startOfWeek": "SUN"}}),
        ("MAXIMUM_POINTS_BALANCE_CAP", "EARNING_CAP", BALANCE),
        ("MAXIMUM_POINTS_BALANCE_CAP", "EARNING_CAP", {**BALANCE, "liabilityEntity": "TENANT"}),
    ],
)
def test_valid_criteria_are_accepted(type_: str, liability: str, config: dict[str, Any]):
    criterion = check_criterion(type_, liability, config)
    assert criterion.type is CriterionType(type_)
    assert criterion.liability_type is LiabilityType(liability)
    assert criterion.config == config


def test_whole_floats_are_normalised_to_integers():
    criterion = check_criterion("MAXIMUM_POINTS_EARN_CAP", "EARNING_CAP", {**RUNNING, "maximumPoints": 500.0})
    assert criterion.config["maximumPoints"] == 500
    assert isinstance(criterion.config["maximumPoints"], int)


@pytest.mark.parametrize("field", ["type", "liabilityType"])
def test_purchase_rewards_is_unsupported(field: str):
    args = {"type": "SIMPLE_EXPIRY", "liabilityType": "EXPIRY", field: "PURCHASE_REWARDS"}
    error = fails(args["type"], args["liabilityType"], EXPIRY)
    assert (error.code, error.details["field"]) == ("UNSUPPORTED_FIELD", field)


def test_unknown_type_and_liability_type():
    invalid("MONTHLY_THING", "EXPIRY", EXPIRY, "type")
    invalid("SIMPLE_EXPIRY", "BALANCE_CAP", EXPIRY, "liabilityType")


@pytest.mark.parametrize(
    ("type_", "liability"),
    [
        ("SIMPLE_EXPIRY", "EARNING_CAP"),
        ("MAXIMUM_POINTS_EARN_CAP", "SPENDING_CAP"),
        ("MAXIMUM_POINTS_SPEND_CAP", "EARNING_CAP"),
        ("MAXIMUM_POINTS_BALANCE_CAP", "SPENDING_CAP"),
        ("MAXIMUM_POINTS_BALANCE_CAP", "EXPIRY"),
    ],
)
def test_liability_type_must_match_the_type(type_: str, liability: str):
    config = {"SIMPLE_EXPIRY": EXPIRY, "MAXIMUM_POINTS_BALANCE_CAP": BALANCE}.get(type_, WEEK)
    invalid(type_, liability, config, "liabilityType")


def test_config_must_be_an_object():
    invalid("SIMPLE_EXPIRY", "EXPIRY", ["P12M"], "config")
    invalid("SIMPLE_EXPIRY", "EXPIRY", None, "config")


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"dateModifier": "P12M"}, "config.expiryBasedOn"),
        ({**EXPIRY, "expiryBasedOn": "FIRST_EARN"}, "config.expiryBasedOn"),
        ({"expiryBasedOn": "EARN_DATE"}, "config.dateModifier"),
        ({**EXPIRY, "dateModifier": 12}, "config.dateModifier"),
        ({**EXPIRY, "dateModifier": "12 months"}, "config.dateModifier"),
        ({**EXPIRY, "dateModifier": "P"}, "config.dateModifier"),
        ({**EXPIRY, "dateModifier": "P1DT"}, "config.dateModifier"),
        ({**EXPIRY, "dateModifier": "P0D"}, "config.dateModifier"),
        ({**EXPIRY, "dateModifier": "P-3D"}, "config.dateModifier"),
        ({**EXPIRY, "dateModifier": "P99999Y"}, "config.dateModifier"),
        ({**EXPIRY, "extra": 1}, "config.extra"),
    ],
)
def test_simple_expiry_config(config: dict[str, Any], field: str):
    invalid("SIMPLE_EXPIRY", "EXPIRY", config, field)


@pytest.mark.parametrize("text", ["P12M", "P30D", "P1Y6M", "P2W", "PT36H", "P1DT12H", "PT90M", "PT3600S"])
def test_durations_accepted(text: str):
    assert check_duration(text, "config.dateModifier") == text


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({**WEEK, "intervalType": "CALENDAR_MONTH"}, "config.intervalType"),
        ({"arg": {"n": 1}, "maximumPoints": 5}, "config.intervalType"),
        ({**WEEK, "arg": {"startOfWeek": "MONDAY"}}, "config.arg.startOfWeek"),
        ({**WEEK, "arg": {}}, "config.arg.startOfWeek"),
        ({**WEEK, "arg": {"n": 3}}, "config.arg.n"),
        ({**WEEK, "arg": "MON"}, "config.arg"),
        ({**RUNNING, "arg": {"n": 0}}, "config.arg.n"),
        ({**RUNNING, "arg": {"n": 1.5}}, "config.arg.n"),
        ({**RUNNING, "arg": {"n": True}}, "config.arg.n"),
        ({**RUNNING, "arg": {"startOfWeek": "MON"}}, "config.arg.startOfWeek"),
        ({**RUNNING, "maximumPoints": 0}, "config.maximumPoints"),
        ({**RUNNING, "maximumPoints": -5}, "config.maximumPoints"),
        ({**RUNNING, "maximumPoints": "100"}, "config.maximumPoints"),
        ({"intervalType": "RUNNING_DAYS", "arg": {"n": 7}}, "config.maximumPoints"),
        ({**RUNNING, "liabilityEntity": "ACTOR"}, "config.liabilityEntity"),
    ],
)
@pytest.mark.parametrize(
    ("type_", "liability"), [("MAXIMUM_POINTS_EARN_CAP", "EARNING_CAP"), ("MAXIMUM_POINTS_SPEND_CAP", "SPENDING_CAP")]
)
def test_cap_restriction_config(type_: str, liability: str, config: dict[str, Any], field: str):
    invalid(type_, liability, config, field)


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"liabilityEntity": "ACTOR"}, "config.maxPointsInCirculation"),
        ({**BALANCE, "maxPointsInCirculation": 0}, "config.maxPointsInCirculation"),
        ({**BALANCE, "maxPointsInCirculation": 10.5}, "config.maxPointsInCirculation"),
        ({"maxPointsInCirculation": 10}, "config.liabilityEntity"),
        ({**BALANCE, "liabilityEntity": "STORE"}, "config.liabilityEntity"),
        ({**BALANCE, "maximumPoints": 10}, "config.maximumPoints"),
    ],
)
def test_balance_cap_config(config: dict[str, Any], field: str):
    invalid("MAXIMUM_POINTS_BALANCE_CAP", "EARNING_CAP", config, field)

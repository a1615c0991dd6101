"""Tier rules: which tier earned points give, and the calendar windows they are counted in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from loyalty.domain.errors import InvalidInput
from loyalty.domain.tiers import (
    AccumulationPeriod,
    Calculation,
    Earnings,
    Tier,
    check_calculation,
    current_tier,
    naming,
    periods_used,
    progress,
    qualifying_since,
    wallet_tier,
)


def tier(
    name: str, priority: int, requirement: int, period: AccumulationPeriod | None = AccumulationPeriod.P1Y
) -> Tier:
    calculation = Calculation.CALENDAR_PERIOD if period else Calculation.LIFETIME_EARN
    return Tier(uuid.uuid4(), name, priority, requirement, calculation, period)


BRONZE = tier("Bronze", 1, 1000)
SILVER = tier("Silver", 2, 2000)
GOLD = tier("Gold", 3, 5000)
LADDER = (GOLD, BRONZE, SILVER)  # order does not matter


def yearly(points: int, lifetime: int = 0) -> Earnings:
    return Earnings(lifetime=lifetime, since_window={AccumulationPeriod.P1Y: points})


@pytest.mark.parametrize(
    ("earned", "expected"),
    [(0, None), (999, None), (1000, BRONZE), (1999, BRONZE), (2000, SILVER), (4999, SILVER), (5000, GOLD)],
)
def test_the_highest_tier_whose_requirement_is_met_is_held(earned: int, expected: Tier | None):
    assert current_tier(LADDER, yearly(earned)) == expected


def test_calendar_tiers_count_the_window_not_the_lifetime():
    assert current_tier(LADDER, yearly(500, lifetime=100_000)) is None


def test_lifetime_tiers_count_lifetime_earn():
    lifetime_gold = tier("Gold", 3, 5000, period=None)
    assert current_tier([BRONZE, lifetime_gold], yearly(1200, lifetime=6000)) == lifetime_gold
    assert current_tier([BRONZE, lifetime_gold], yearly(1200, lifetime=4999)) == BRONZE


def test_each_tier_is_judged_by_its_own_calculation():
    monthly_vip = tier("VIP", 9, 300, period=AccumulationPeriod.P1M)
    earnings = Earnings(lifetime=0, since_window={AccumulationPeriod.P1Y: 2500, AccumulationPeriod.P1M: 299})
    assert current_tier([BRONZE, SILVER, monthly_vip], earnings) == SILVER
    richer = Earnings(lifetime=0, since_window={AccumulationPeriod.P1Y: 2500, AccumulationPeriod.P1M: 300})
    assert current_tier([BRONZE, SILVER, monthly_vip], richer) == monthly_vip


def test_a_yearly_window_starts_on_the_first_of_january_of_the_previous_year():
    assert qualifying_since(datetime(2024, 6, 1, 12, tzinfo=UTC), UTC, AccumulationPeriod.P1Y) == datetime(
        2023, 1, 1, tzinfo=UTC
    )
    # Points earned on 22 September 2023 still count on 31 December 2024, and no longer on 1 January 2025.
    assert qualifying_since(datetime(2024, 12, 31, 23, 59, tzinfo=UTC), UTC, AccumulationPeriod.P1Y).year == 2023
    assert qualifying_since(datetime(2025, 1, 1, tzinfo=UTC), UTC, AccumulationPeriod.P1Y) == datetime(
        2024, 1, 1, tzinfo=UTC
    )


def test_a_monthly_window_starts_on_the_first_of_the_previous_month():
    assert qualifying_since(datetime(2024, 3, 15, tzinfo=UTC), UTC, AccumulationPeriod.P1M) == datetime(
        2024, 2, 1, tzinfo=UTC
    )
    assert qualifying_since(datetime(2024, 1, 15, tzinfo=UTC), UTC, AccumulationPeriod.P1M) == datetime(
        2023, 12, 1, tzinfo=UTC
    )


def test_windows_follow_the_tenant_time_zone():
    tokyo = ZoneInfo("Asia/Tokyo")  # UTC+9
    # 31 Dec 2024 20:00 UTC is already 1 Jan 2025 in Tokyo: the window there starts on 1 Jan 2024, Tokyo time.
    moment = datetime(2024, 12, 31, 20, tzinfo=UTC)
    assert qualifying_since(moment, tokyo, AccumulationPeriod.P1Y) == datetime(2023, 12, 31, 15, tzinfo=UTC)
    assert qualifying_since(moment, UTC, AccumulationPeriod.P1Y) == datetime(2023, 1, 1, tzinfo=UTC)
    london = ZoneInfo("Europe/London")  # BST (UTC+1) in summer
    assert qualifying_since(datetime(2024, 8, 10, tzinfo=UTC), london, AccumulationPeriod.P1M) == datetime(
        2024, 6, 30, 23, tzinfo=UTC
    )


def test_only_the_periods_calendar_tiers_use_are_queried():
    assert periods_used([BRONZE, tier("L", 5, 1, period=None)]) == {AccumulationPeriod.P1Y}
    assert periods_used([tier("L", 5, 1, period=None)]) == frozenset()


def test_a_calendar_tier_needs_an_accumulation_period():
    with pytest.raises(InvalidInput) as caught:
        check_calculation(Calculation.CALENDAR_PERIOD, None)
    assert caught.value.code == "ACCUMULATION_PERIOD_REQUIRED"
    check_calculation(Calculation.LIFETIME_EARN, None)


def test_a_plain_name_becomes_the_default_locale_name():
    name, details = naming("Gold", {}, "en")
    assert (name, details) == ("Gold", {"en": {"name": "Gold"}})


def test_details_name_the_tier_in_the_default_locale():
    name, details = naming(None, {"fr": {"name": "Or"}, "en": {"name": "Gold", "locale": "en"}}, "fr")
    assert name == "Or"
    assert details == {"fr": {"name": "Or"}, "en": {"name": "Gold"}}


def test_a_tier_without_a_name_for_its_default_locale_is_refused():
    with pytest.raises(InvalidInput) as caught:
        naming(None, {"fr": {"name": "Or"}}, "en")
    assert caught.value.code == "TIER_NAME_REQUIRED"
    with pytest.raises(InvalidInput) as mismatch:
        naming(None, {"en": {"name": "Gold", "locale": "fr"}}, "en")
    assert mismatch.value.code == "INVALID_TIER_DETAILS"


def test_progress_reports_earned_points_and_attained_up_to_the_held_tier():
    earnings = yearly(2100)
    assert progress(SILVER, earnings, SILVER).attained
    assert progress(BRONZE, earnings, SILVER).attained
    gold = progress(GOLD, earnings, SILVER)
    assert (gold.attained, gold.earned_points, gold.points_requirement) == (False, 2100, 5000)
    assert not progress(BRONZE, yearly(10), None).attained


def test_the_wallet_shows_the_held_tier_or_the_first_to_reach():
    assert wallet_tier(LADDER, SILVER) == SILVER
    assert wallet_tier(LADDER, None) == BRONZE
    assert wallet_tier([], None) is None

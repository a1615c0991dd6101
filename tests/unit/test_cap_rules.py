"""Cap windows and arithmetic."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from loyalty.domain.caps import Cap, CapKind, allowed_earn, cap_of, spend_fits
from loyalty.domain.liability import CriterionType

UTC_ZONE = ZoneInfo("UTC")


@pytest.mark.parametrize(
    ("moment", "start_of_week", "expected"),
    [
        (datetime(2026, 11, 27, 15, 0, tzinfo=UTC), "MON", datetime(2026, 11, 23, tzinfo=UTC)),  # a Friday
        (datetime(2026, 11, 23, 0, 0, tzinfo=UTC), "MON", datetime(2026, 11, 23, tzinfo=UTC)),  # Monday midnight
        (datetime(2026, 11, 22, 23, 59, tzinfo=UTC), "MON", datetime(2026, 11, 16, tzinfo=UTC)),  # Sunday night
        (datetime(2026, 11, 27, 15, 0, tzinfo=UTC), "SUN", datetime(2026, 11, 22, tzinfo=UTC)),
    ],
)
def test_a_calendar_week_starts_on_its_weekday_at_midnight(moment, start_of_week, expected):
    cap = Cap(CapKind.EARN, 1000, interval="CALENDAR_WEEK", start_of_week=start_of_week)
    assert cap.window_start(moment, UTC_ZONE) == expected


def test_a_calendar_week_follows_the_tenant_time_zone():
    # 23:30 UTC on Sunday is already Monday 00:30 in Madrid (UTC+1 in November): a new week there.
    moment = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    cap = Cap(CapKind.EARN, 1000, interval="CALENDAR_WEEK", start_of_week="MON")
    assert cap.window_start(moment, ZoneInfo("Europe/Madrid")) == datetime(2026, 11, 22, 23, 0, tzinfo=UTC)


def test_running_windows_reach_back_n_hours_or_days():
    moment = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
    hours = Cap(CapKind.SPEND, 100, interval="RUNNING_HOURS", n=6)
    days = Cap(CapKind.SPEND, 100, interval="RUNNING_DAYS", n=7)
    assert hours.window_start(moment, UTC_ZONE) == moment - timedelta(hours=6)
    assert days.window_start(moment, UTC_ZONE) == moment - timedelta(days=7)


@pytest.mark.parametrize(
    ("requested", "used", "maximum", "allowed"),
    [(200, 900, 1000, 100), (50, 900, 1000, 50), (10, 1000, 1000, 0), (10, 1200, 1000, 0), (0, 0, 10, 0)],
)
def test_an_earn_is_cut_to_what_fits_under_the_cap(requested, used, maximum, allowed):
    assert allowed_earn(requested, used, maximum) == allowed


def test_a_spend_fits_only_up_to_the_cap():
    assert spend_fits(30, 70, 100)
    assert not spend_fits(31, 70, 100)


def test_caps_are_read_from_stored_criteria():
    earn = cap_of(
        CriterionType.MAXIMUM_POINTS_EARN_CAP,
        {"intervalType": "CALENDAR_WEEK", "arg": {"startOfWeek": "TUE"}, "maximumPoints": 500},
    )
    assert earn == Cap(CapKind.EARN, 500, interval="CALENDAR_WEEK", start_of_week="TUE")
    balance = cap_of(
        CriterionType.MAXIMUM_POINTS_BALANCE_CAP, {"maxPointsInCirculation": 9000, "liabilityEntity": "TENANT"}
    )
    assert balance == Cap(CapKind.BALANCE, 9000, per_member=False)
    assert cap_of(CriterionType.SIMPLE_EXPIRY, {"expiryBasedOn": "EARN_DATE", "dateModifier": "P12M"}) is None

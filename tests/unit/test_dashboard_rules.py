"""The dashboard's period and buckets (calendar periods of the tenant's zone, clipped to the period) and the stocks
worked out from flows. Expected bounds are worked out by hand from the calendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty.domain.dashboard import (
    DEFAULT_SPAN,
    MAX_BUCKETS,
    Flows,
    Stocks,
    bucket_bounds,
    next_boundary,
    period,
    series,
    whole,
)
from loyalty.domain.errors import InvalidInput
from loyalty.domain.lots import Period

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
UTC_ZONE = ZoneInfo("UTC")
NOW = datetime(2031, 3, 20, 15, 30, tzinfo=UTC)


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# ---- the period ----


def test_the_default_period_is_the_last_30_days():
    assert period(None, None, NOW) == (NOW - DEFAULT_SPAN, NOW)


def test_one_bound_given():
    start = at(2031, 3, 1)
    assert period(start, None, NOW) == (start, NOW)
    assert period(None, start, NOW) == (start - DEFAULT_SPAN, start)
    # A start after now still gets a period of the default length.
    later = at(2031, 5, 1)
    assert period(later, None, NOW) == (later, later + DEFAULT_SPAN)


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (at(2031, 3, 2), at(2031, 3, 1), "from"),
        (at(2031, 3, 1), at(2031, 3, 1), "from"),
        (datetime(1, 1, 1, tzinfo=UTC), None, "from"),
        (None, datetime(9999, 12, 31, tzinfo=UTC), "to"),
        (None, datetime(1900, 1, 1, tzinfo=UTC), "from"),
    ],
)
def test_a_period_that_is_empty_or_off_the_calendar_is_refused(
    start: datetime | None, end: datetime | None, field: str
):
    with pytest.raises(InvalidInput) as refused:
        period(start, end, NOW)
    assert refused.value.code == "INVALID_PERIOD"
    assert refused.value.details["field"] == field


# ---- buckets ----


def test_days_in_the_tenants_zone_clipped_to_the_period():
    # New York is UTC−5 in early March: its days start at 05:00Z.
    bounds = bucket_bounds(at(2031, 3, 3, 12), at(2031, 3, 5, 3), Period.DAY, NEW_YORK)
    assert bounds == [at(2031, 3, 3, 12), at(2031, 3, 4, 5), at(2031, 3, 5, 3)]


def test_a_day_across_the_spring_clock_change_is_23_hours():
    # 9 March 2031: New York moves from UTC−5 to UTC−4 at 02:00 local.
    bounds = bucket_bounds(at(2031, 3, 9, 5), at(2031, 3, 11, 4), Period.DAY, NEW_YORK)
    assert bounds == [at(2031, 3, 9, 5), at(2031, 3, 10, 4), at(2031, 3, 11, 4)]


def test_iso_weeks_start_on_monday():
    # 5 March 2031 is a Wednesday; London is on UTC until 30 March.
    bounds = bucket_bounds(at(2031, 3, 5), at(2031, 3, 20), Period.WEEK, LONDON)
    assert bounds == [at(2031, 3, 5), at(2031, 3, 10), at(2031, 3, 17), at(2031, 3, 20)]


def test_months_have_their_calendar_lengths():
    bounds = bucket_bounds(at(2031, 1, 15), at(2031, 4, 1), Period.MONTH, UTC_ZONE)
    assert bounds == [at(2031, 1, 15), at(2031, 2, 1), at(2031, 3, 1), at(2031, 4, 1)]


def test_an_aligned_period_has_whole_buckets():
    assert bucket_bounds(at(2031, 3, 1), at(2031, 3, 3), Period.DAY, UTC_ZONE) == [
        at(2031, 3, 1),
        at(2031, 3, 2),
        at(2031, 3, 3),
    ]


def test_at_most_400_buckets():
    start = at(2030, 1, 1)
    assert len(bucket_bounds(start, start + timedelta(days=MAX_BUCKETS), Period.DAY, UTC_ZONE)) == MAX_BUCKETS + 1
    with pytest.raises(InvalidInput) as refused:
        bucket_bounds(start, start + timedelta(days=MAX_BUCKETS + 1), Period.DAY, UTC_ZONE)
    assert refused.value.code == "TOO_MANY_BUCKETS"


def test_a_clock_set_back_at_midnight_gives_a_25_hour_day():
    # Santiago sets its clocks back from 00:00 (UTC−3) to 23:00 (UTC−4) on 6 April 2031: 23:30 on the 5th happens
    # twice, and both times belong to the 5th, which ends at 04:00Z.
    santiago = ZoneInfo("America/Santiago")
    for fold in (0, 1):
        moment = datetime(2031, 4, 5, 23, 30, tzinfo=santiago).replace(fold=fold).astimezone(UTC)
        assert next_boundary(moment, Period.DAY, santiago) == at(2031, 4, 6, 4)
    assert bucket_bounds(at(2031, 4, 5, 3), at(2031, 4, 7, 4), Period.DAY, santiago) == [
        at(2031, 4, 5, 3),
        at(2031, 4, 6, 4),
        at(2031, 4, 7, 4),
    ]


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2060, 1, 1), timezones=st.just(UTC)),
    hours=st.integers(min_value=1, max_value=24 * 120),
    interval=st.sampled_from(list(Period)),
    zone=st.sampled_from(
        ["UTC", "Europe/London", "America/New_York", "America/Santiago", "Australia/Lord_Howe", "Asia/Kolkata"]
    ),
)
def test_bounds_always_increase_and_cover_the_period(start: datetime, hours: int, interval: Period, zone: str) -> None:
    end = start + timedelta(hours=hours)
    bounds = bucket_bounds(start, end, interval, ZoneInfo(zone))
    assert bounds[0] == start
    assert bounds[-1] == end
    assert all(a < b for a, b in pairwise(bounds))


# ---- flows and stocks ----


def test_stocks_follow_the_flows_and_the_totals_add_them_up():
    bounds = [at(2031, 3, 1), at(2031, 3, 2), at(2031, 3, 3)]
    flows = [
        Flows(new_members=3, closed_members=1, points_issued=500, points_net=400, pending_net=50, orders=2),
        Flows(new_members=1, points_spent=100, points_net=-100, pending_net=-50, orders=1, order_value=700),
    ]
    buckets = series(bounds, Stocks(members=10, points=1000, pending=0), flows)
    assert [b.closing for b in buckets] == [Stocks(12, 1400, 50), Stocks(13, 1300, 0)]
    assert [(b.starts_at, b.ends_at) for b in buckets] == [(bounds[0], bounds[1]), (bounds[1], bounds[2])]
    total = whole(buckets)
    assert (total.starts_at, total.ends_at) == (bounds[0], bounds[-1])
    assert total.closing == Stocks(13, 1300, 0)
    assert total.flows == Flows(
        new_members=4,
        closed_members=1,
        points_issued=500,
        points_spent=100,
        points_net=300,
        pending_net=0,
        orders=3,
        order_value=700,
    )

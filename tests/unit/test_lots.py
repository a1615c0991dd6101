"""Point lots: FEFO order and allocation, lot sizes, ISO 8601 durations, expiry policies and expiry calendars.

Every expected value below is worked out by hand from the calendar, not read back from the code.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty.domain.liability import CriterionType
from loyalty.domain.lots import (
    Expiring,
    ExpiryBasis,
    ExpiryPolicy,
    Lot,
    Period,
    PeriodTotal,
    add_duration,
    allocate,
    expiring,
    expiry_of,
    fefo,
    lot_size,
    per_period,
    period_of,
    subtract_duration,
)

LONDON = ZoneInfo("Europe/London")
UTC_ZONE = ZoneInfo("UTC")
DAY0 = datetime(2026, 1, 1, tzinfo=UTC)


def day(n: int) -> datetime:
    return DAY0 + timedelta(days=n)


def at(text: str) -> datetime:
    """A UTC moment from "YYYY-MM-DD" or "YYYY-MM-DD HH:MM[:SS]"."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def lid(n: int) -> uuid.UUID:
    return uuid.UUID(int=n)


def lot(n: int, remaining: int, expires: int | None, created: int = 0) -> Lot:
    """Lot ``n`` holding ``remaining`` points, created on ``day(created)``, expiring on ``day(expires)`` (or never)."""
    return Lot(lid(n), remaining, day(created), None if expires is None else day(expires))


def ids(lots: list[Lot]) -> list[int]:
    return [item.lot_id.int for item in lots]


# --- fefo ---------------------------------------------------------------------------------------------------------


def test_fefo_puts_the_soonest_expiry_first_and_undated_lots_last() -> None:
    lots = [lot(1, 10, 60), lot(2, 10, None), lot(3, 10, 30), lot(4, 10, 45)]
    assert ids(fefo(lots)) == [3, 4, 1, 2]


def test_fefo_expiry_wins_over_age() -> None:
    # Lot 1 is the oldest but expires last among the dated ones; the undated lot is oldest of all and still last.
    lots = [lot(1, 10, 90, created=1), lot(2, 10, 30, created=20), lot(3, 10, None, created=0)]
    assert ids(fefo(lots)) == [2, 1, 3]


def test_fefo_breaks_an_expiry_tie_by_creation_then_lot_id() -> None:
    lots = [lot(4, 10, 30, created=5), lot(3, 10, 30, created=2), lot(2, 10, 30, created=5), lot(1, 10, 10, created=9)]
    assert ids(fefo(lots)) == [1, 3, 2, 4]


def test_fefo_orders_undated_lots_oldest_first_then_by_lot_id() -> None:
    lots = [lot(7, 10, None, created=3), lot(9, 10, None, created=1), lot(8, 10, None, created=3)]
    assert ids(fefo(lots)) == [9, 7, 8]


def test_fefo_compares_expiry_instants_across_time_zones() -> None:
    # 00:30 at UTC+1 on the 31st is 23:30 UTC on the 30th: sooner than 23:45 UTC on the 30th.
    plus_one = datetime(2026, 1, 31, 0, 30, tzinfo=ZoneInfo("Europe/Paris"))
    late = Lot(lid(1), 10, day(0), at("2026-01-30 23:45"))
    early = Lot(lid(2), 10, day(0), plus_one)
    assert ids(fefo([late, early])) == [2, 1]


def test_fefo_of_nothing_is_empty_and_the_input_is_left_alone() -> None:
    assert fefo([]) == []
    lots = [lot(1, 10, 60), lot(2, 10, 30)]
    ordered = fefo(lots)
    assert ids(ordered) == [2, 1]
    assert ids(lots) == [1, 2]


# --- allocate -----------------------------------------------------------------------------------------------------


def test_allocate_golden_fefo_case() -> None:
    a = lot(1, 100, 30)
    b = lot(2, 100, 60)
    # Given in the "wrong" order on purpose: allocation must follow expiry, not input order.
    assert allocate([b, a], 150) == [(lid(1), 100), (lid(2), 50)]


def test_allocate_stops_as_soon_as_the_amount_is_covered() -> None:
    lots = [lot(1, 100, 30), lot(2, 100, 60), lot(3, 100, 90)]
    assert allocate(lots, 100) == [(lid(1), 100)]
    assert allocate(lots, 101) == [(lid(1), 100), (lid(2), 1)]


def test_allocate_takes_no_more_than_the_lots_hold() -> None:
    lots = [lot(1, 100, 30), lot(2, 50, 60)]
    assert allocate(lots, 400) == [(lid(1), 100), (lid(2), 50)]
    assert allocate(lots, 150) == [(lid(1), 100), (lid(2), 50)]


def test_allocate_skips_empty_lots() -> None:
    lots = [lot(1, 0, 10), lot(2, 80, 30), lot(3, 0, 40), lot(4, 20, 50)]
    assert allocate(lots, 50) == [(lid(2), 50)]
    assert allocate(lots, 90) == [(lid(2), 80), (lid(4), 10)]


def test_allocate_takes_undated_lots_last() -> None:
    lots = [lot(1, 100, None, created=0), lot(2, 100, 90, created=50)]
    assert allocate(lots, 120) == [(lid(2), 100), (lid(1), 20)]


@pytest.mark.parametrize("points", [0, -5])
def test_allocate_nothing_takes_nothing(points: int) -> None:
    assert allocate([lot(1, 100, 30)], points) == []


def test_allocate_from_no_lots_takes_nothing() -> None:
    assert allocate([], 100) == []


# --- lot_size -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("credit", "balance_after", "size"),
    [
        (100, 250, 100),  # balance was 150: the whole credit is a lot
        (100, 100, 100),  # balance was 0
        (100, 30, 30),  # balance was -70: 70 pay off the debt, 30 are left
        (100, 1, 1),  # balance was -99
        (100, 0, 0),  # balance was -100: the credit exactly clears the debt
        (100, -20, 0),  # balance was -120: still in debt afterwards
        (0, 50, 0),
    ],
)
def test_lot_size_is_what_is_left_after_the_debt(credit: int, balance_after: int, size: int) -> None:
    assert lot_size(credit, balance_after) == size


# --- durations ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        ("2026-01-01", "P30D", "2026-01-31"),
        ("2026-01-15 08:00", "P30D", "2026-02-14 08:00"),
        ("2026-02-10", "P30D", "2026-03-12"),  # February 2026 has 28 days
        ("2024-02-10", "P30D", "2024-03-11"),  # February 2024 has 29
        ("2024-01-31 15:45", "P1M", "2024-02-29 15:45"),  # leap year: last day of February is the 29th
        ("2025-01-31 15:45", "P1M", "2025-02-28 15:45"),
        ("2025-03-31", "P1M", "2025-04-30"),
        ("2025-11-30", "P1M", "2025-12-30"),
        ("2025-12-15", "P1M", "2026-01-15"),
        ("2025-12-31", "P2M", "2026-02-28"),
        ("2024-03-31", "P12M", "2025-03-31"),
        ("2023-02-28", "P12M", "2024-02-28"),  # the 28th stays the 28th, even into a leap year
        ("2024-02-29", "P12M", "2025-02-28"),
        ("2024-02-29", "P1Y", "2025-02-28"),
        ("2024-02-29", "P4Y", "2028-02-29"),
        ("2025-08-31", "P1Y6M", "2027-02-28"),
        ("2026-08-31", "P1Y6M", "2028-02-29"),
        ("2026-03-01 10:00", "PT36H", "2026-03-02 22:00"),
        ("2026-02-28 23:30", "PT45M", "2026-03-01 00:15"),
        ("2026-01-01 00:00", "PT90S", "2026-01-01 00:01:30"),
        ("2026-01-01", "P1W3D", "2026-01-11"),
        ("2026-01-20", "P1M2W", "2026-03-06"),  # months first (20 Feb), then 14 days
        ("2026-01-31 12:00", "P1M1WT12H", "2026-03-08 00:00"),  # 28 Feb 12:00, +7 days, +12 hours
        ("2026-05-17 09:30", "P0D", "2026-05-17 09:30"),
    ],
)
def test_add_duration(start: str, duration: str, expected: str) -> None:
    assert add_duration(at(start), duration) == at(expected)


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        ("2026-01-31", "P30D", "2026-01-01"),
        ("2026-03-01", "P30D", "2026-01-30"),
        ("2024-03-31", "P1M", "2024-02-29"),
        ("2025-03-31", "P1M", "2025-02-28"),
        ("2026-01-15", "P1M", "2025-12-15"),
        ("2025-02-28", "P1Y", "2024-02-28"),
        ("2028-02-29", "P1Y", "2027-02-28"),
        ("2027-02-28", "P1Y6M", "2025-08-28"),
        ("2026-03-02 22:00", "PT36H", "2026-03-01 10:00"),
        ("2026-01-05", "P1W", "2025-12-29"),
        ("2026-03-06", "P1M2W", "2026-01-20"),  # 14 days first (20 Feb), then the month
    ],
)
def test_subtract_duration(start: str, duration: str, expected: str) -> None:
    assert subtract_duration(at(start), duration) == at(expected)


def test_calendar_months_do_not_round_trip_from_a_clipped_day() -> None:
    # Documented calendar behaviour, not a bug: 31 March minus a month is 28 February, plus a month is 28 March.
    back = subtract_duration(at("2025-03-31"), "P1M")
    assert back == at("2025-02-28")
    assert add_duration(back, "P1M") == at("2025-03-28")


_moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).map(
    lambda moment: moment.replace(tzinfo=UTC)
)


@st.composite
def _exact_durations(draw: st.DrawFn) -> str:
    weeks, days, hours, minutes, seconds = (draw(st.integers(min_value=0, max_value=500)) for _ in range(5))
    return f"P{weeks}W{days}DT{hours}H{minutes}M{seconds}S"


@settings(max_examples=200, deadline=None)
@given(_moments, _exact_durations())
def test_subtract_undoes_add_for_day_exact_durations(moment: datetime, duration: str) -> None:
    assert subtract_duration(add_duration(moment, duration), duration) == moment
    assert add_duration(subtract_duration(moment, duration), duration) == moment


@settings(max_examples=200, deadline=None)
@given(
    _moments.filter(lambda moment: moment.day <= 28),
    st.integers(min_value=0, max_value=30),
    st.integers(min_value=0, max_value=30),
    st.integers(min_value=0, max_value=60),
)
def test_subtract_undoes_add_for_months_when_no_day_is_clipped(
    moment: datetime, years: int, months: int, days: int
) -> None:
    duration = f"P{years}Y{months}M{days}D"
    assert subtract_duration(add_duration(moment, duration), duration) == moment


def test_exact_parts_are_added_exactly() -> None:
    moment = at("2026-07-04 06:07:08")
    assert add_duration(moment, "P2W3DT4H5M6S") == moment + timedelta(weeks=2, days=3, hours=4, minutes=5, seconds=6)


@pytest.mark.parametrize("bad", ["", "30D", "P1.5M", "p1d", "-P1D", "P1H", "PT1D", "P1D2Y", "P 1D"])
def test_a_malformed_duration_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        add_duration(DAY0, bad)
    with pytest.raises(ValueError, match="ISO 8601"):
        subtract_duration(DAY0, bad)


# --- expiry policy ------------------------------------------------------------------------------------------------


def test_earn_date_lots_expire_a_period_after_they_were_earned() -> None:
    assert ExpiryPolicy(ExpiryBasis.EARN_DATE, "P12M").lot_expiry(at("2025-03-31 10:00")) == at("2026-03-31 10:00")
    assert ExpiryPolicy(ExpiryBasis.EARN_DATE, "P1M").lot_expiry(at("2026-01-31 09:00")) == at("2026-02-28 09:00")
    assert ExpiryPolicy(ExpiryBasis.EARN_DATE, "P30D").lot_expiry(at("2026-02-10")) == at("2026-03-12")


def test_last_activity_lots_have_no_expiry_of_their_own() -> None:
    assert ExpiryPolicy(ExpiryBasis.LAST_ACTIVITY, "P12M").lot_expiry(at("2025-03-31 10:00")) is None


def test_the_search_bound_reaches_back_one_period_plus_the_longest_clip() -> None:
    assert ExpiryPolicy(ExpiryBasis.LAST_ACTIVITY, "P30D").inactivity_search_bound(at("2026-03-01")) == at("2026-02-02")
    assert ExpiryPolicy(ExpiryBasis.LAST_ACTIVITY, "P1M").inactivity_search_bound(at("2026-02-28 12:00")) == at(
        "2026-01-31 12:00"
    )


def test_inactivity_deadline_is_one_period_after_the_last_activity() -> None:
    assert ExpiryPolicy(ExpiryBasis.LAST_ACTIVITY, "P1M").inactivity_deadline(at("2026-01-31 12:00")) == at(
        "2026-02-28 12:00"
    )
    assert ExpiryPolicy(ExpiryBasis.LAST_ACTIVITY, "P30D").inactivity_deadline(at("2026-01-30")) == at("2026-03-01")
    assert ExpiryPolicy(ExpiryBasis.LAST_ACTIVITY, "P12M").inactivity_deadline(at("2024-02-29")) == at("2025-02-28")


@pytest.mark.parametrize(
    ("period", "last_activity"),
    [
        ("P30D", "2026-01-30 12:00"),
        ("PT36H", "2026-02-28 18:00"),
        ("P1M", "2026-01-15 12:00"),
        ("P1M", "2026-01-31 12:00"),  # clipped to 28 February
        ("P1M", "2026-03-31 12:00"),  # clipped to 30 April
        ("P12M", "2024-02-29 09:00"),  # clipped to 28 February 2025
    ],
)
def test_a_balance_counts_as_inactive_exactly_at_its_deadline(period: str, last_activity: str) -> None:
    policy = ExpiryPolicy(ExpiryBasis.LAST_ACTIVITY, period)
    last = at(last_activity)
    deadline = policy.inactivity_deadline(last)
    assert policy.is_inactive(last, deadline)
    assert not policy.is_inactive(last, deadline - timedelta(seconds=1))
    # The job's query finds the account from the deadline on.
    assert last <= policy.inactivity_search_bound(deadline)


@pytest.mark.parametrize("basis", [ExpiryBasis.EARN_DATE, ExpiryBasis.LAST_ACTIVITY])
def test_expiry_of_reads_a_simple_expiry_criterion(basis: ExpiryBasis) -> None:
    policy = expiry_of(CriterionType.SIMPLE_EXPIRY, {"expiryBasedOn": basis.value, "dateModifier": "P12M"})
    assert policy == ExpiryPolicy(basis, "P12M")


@pytest.mark.parametrize(
    "criterion",
    [
        CriterionType.MAXIMUM_POINTS_EARN_CAP,
        CriterionType.MAXIMUM_POINTS_SPEND_CAP,
        CriterionType.MAXIMUM_POINTS_BALANCE_CAP,
    ],
)
def test_expiry_of_ignores_other_criteria(criterion: CriterionType) -> None:
    assert expiry_of(criterion, {"expiryBasedOn": "EARN_DATE", "dateModifier": "P12M"}) is None


def test_expiry_of_refuses_an_unknown_basis() -> None:
    with pytest.raises(ValueError, match="NEVER"):
        expiry_of(CriterionType.SIMPLE_EXPIRY, {"expiryBasedOn": "NEVER", "dateModifier": "P12M"})


# --- expiring -----------------------------------------------------------------------------------------------------


def test_expiring_groups_lots_by_moment_soonest_first() -> None:
    lots = [
        lot(1, 100, 60, created=1),
        lot(2, 40, 30),
        lot(3, 25, 60, created=7),
        lot(4, 70, None),  # undated: never expires
        lot(5, 0, 10),  # empty: nothing to lose
        lot(6, 10, 45),
    ]
    assert expiring(lots) == [Expiring(40, day(30)), Expiring(10, day(45)), Expiring(125, day(60))]


def test_expiring_treats_the_same_instant_in_two_zones_as_one_moment() -> None:
    paris = datetime(2026, 2, 1, 1, 0, tzinfo=ZoneInfo("Europe/Paris"))  # 00:00 UTC
    lots = [Lot(lid(1), 5, DAY0, paris), Lot(lid(2), 7, DAY0, at("2026-02-01"))]
    assert expiring(lots) == [Expiring(12, at("2026-02-01"))]


def test_expiring_of_nothing_is_empty() -> None:
    assert expiring([]) == []
    assert expiring([lot(1, 50, None), lot(2, 0, 30)]) == []


# --- calendar periods ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "period", "zone", "start", "end"),
    [
        # UTC
        ("2026-10-25 13:45", Period.DAY, UTC_ZONE, "2026-10-25", "2026-10-26"),
        ("2026-10-25 00:00", Period.DAY, UTC_ZONE, "2026-10-25", "2026-10-26"),
        ("2026-10-25 23:59:59", Period.DAY, UTC_ZONE, "2026-10-25", "2026-10-26"),
        ("2026-11-27 15:00", Period.WEEK, UTC_ZONE, "2026-11-23", "2026-11-30"),  # Friday
        ("2026-11-23 00:00", Period.WEEK, UTC_ZONE, "2026-11-23", "2026-11-30"),  # Monday midnight
        ("2026-11-22 23:59", Period.WEEK, UTC_ZONE, "2026-11-16", "2026-11-23"),  # Sunday night
        ("2026-12-31 12:00", Period.WEEK, UTC_ZONE, "2026-12-28", "2027-01-04"),  # across the new year
        ("2024-02-29 23:59:59", Period.MONTH, UTC_ZONE, "2024-02-01", "2024-03-01"),
        ("2026-12-31 12:00", Period.MONTH, UTC_ZONE, "2026-12-01", "2027-01-01"),
        # London, the day British Summer Time ends (2026-10-25, 25 hours long)
        ("2026-10-25 12:00", Period.DAY, LONDON, "2026-10-24 23:00", "2026-10-26 00:00"),
        ("2026-10-24 23:30", Period.DAY, LONDON, "2026-10-24 23:00", "2026-10-26 00:00"),  # 00:30 BST on the 25th
        ("2026-10-25 00:30", Period.DAY, LONDON, "2026-10-24 23:00", "2026-10-26 00:00"),  # 01:30 BST
        ("2026-10-25 01:30", Period.DAY, LONDON, "2026-10-24 23:00", "2026-10-26 00:00"),  # 01:30 GMT, again
        ("2026-10-25 23:59", Period.DAY, LONDON, "2026-10-24 23:00", "2026-10-26 00:00"),
        ("2026-10-24 22:59", Period.DAY, LONDON, "2026-10-23 23:00", "2026-10-24 23:00"),  # 23:59 BST on the 24th
        ("2026-10-26 00:00", Period.DAY, LONDON, "2026-10-26 00:00", "2026-10-27 00:00"),
        # London, the day British Summer Time starts (2026-03-29, 23 hours long)
        ("2026-03-29 12:00", Period.DAY, LONDON, "2026-03-29 00:00", "2026-03-29 23:00"),
        # London weeks: Monday 19 October 00:00 BST to Monday 26 October 00:00 GMT
        ("2026-10-25 12:00", Period.WEEK, LONDON, "2026-10-18 23:00", "2026-10-26 00:00"),  # Sunday
        ("2026-10-18 23:30", Period.WEEK, LONDON, "2026-10-18 23:00", "2026-10-26 00:00"),  # Monday 00:30 BST
        ("2026-10-18 22:30", Period.WEEK, LONDON, "2026-10-11 23:00", "2026-10-18 23:00"),  # Sunday 23:30 BST
        ("2026-10-26 00:00", Period.WEEK, LONDON, "2026-10-26 00:00", "2026-11-02 00:00"),
        # London months
        ("2026-10-15 12:00", Period.MONTH, LONDON, "2026-09-30 23:00", "2026-11-01 00:00"),
        ("2026-09-30 23:30", Period.MONTH, LONDON, "2026-09-30 23:00", "2026-11-01 00:00"),  # 1 Oct 00:30 BST
        ("2026-03-15 12:00", Period.MONTH, LONDON, "2026-03-01 00:00", "2026-03-31 23:00"),
        ("2026-01-20 12:00", Period.MONTH, LONDON, "2026-01-01 00:00", "2026-02-01 00:00"),
    ],
)
def test_period_of(moment: str, period: Period, zone: ZoneInfo, start: str, end: str) -> None:
    bounds = period_of(at(moment), period, zone)
    assert bounds == (at(start), at(end))
    assert all(bound.utcoffset() == timedelta(0) for bound in bounds)


def test_the_day_british_summer_time_ends_is_25_hours_long() -> None:
    start, end = period_of(at("2026-10-25 12:00"), Period.DAY, LONDON)
    assert end - start == timedelta(hours=25)
    start, end = period_of(at("2026-03-29 12:00"), Period.DAY, LONDON)
    assert end - start == timedelta(hours=23)


def test_period_of_accepts_a_moment_in_any_zone() -> None:
    # 20:30 in New York on 24 October (EDT, UTC-4) is 01:30 BST on 25 October in London.
    moment = datetime(2026, 10, 24, 21, 30, tzinfo=ZoneInfo("America/New_York"))
    assert period_of(moment, Period.DAY, LONDON) == (at("2026-10-24 23:00"), at("2026-10-26 00:00"))


# 23:30 BST on Saturday 24th, 00:30 BST on Sunday 25th, 23:30 GMT on Sunday 25th, 00:30 GMT on Monday 26th.
_AROUND_BST_END = [
    Expiring(30, at("2026-10-25 23:30")),
    Expiring(5, at("2026-10-26 00:30")),
    Expiring(10, at("2026-10-24 22:30")),
    Expiring(20, at("2026-10-24 23:30")),
]


def test_per_period_days_in_london() -> None:
    assert per_period(_AROUND_BST_END, Period.DAY, LONDON) == [
        PeriodTotal(at("2026-10-23 23:00"), at("2026-10-24 23:00"), 10),
        PeriodTotal(at("2026-10-24 23:00"), at("2026-10-26 00:00"), 50),
        PeriodTotal(at("2026-10-26 00:00"), at("2026-10-27 00:00"), 5),
    ]


def test_per_period_days_in_utc() -> None:
    assert per_period(_AROUND_BST_END, Period.DAY, UTC_ZONE) == [
        PeriodTotal(at("2026-10-24"), at("2026-10-25"), 30),
        PeriodTotal(at("2026-10-25"), at("2026-10-26"), 30),
        PeriodTotal(at("2026-10-26"), at("2026-10-27"), 5),
    ]


def test_per_period_weeks() -> None:
    assert per_period(_AROUND_BST_END, Period.WEEK, LONDON) == [
        PeriodTotal(at("2026-10-18 23:00"), at("2026-10-26 00:00"), 60),
        PeriodTotal(at("2026-10-26 00:00"), at("2026-11-02 00:00"), 5),
    ]
    assert per_period(_AROUND_BST_END, Period.WEEK, UTC_ZONE) == [
        PeriodTotal(at("2026-10-19"), at("2026-10-26"), 60),
        PeriodTotal(at("2026-10-26"), at("2026-11-02"), 5),
    ]


def test_per_period_months() -> None:
    items = [
        Expiring(5, at("2026-11-01 00:30")),  # November in both zones
        Expiring(7, at("2026-09-30 23:30")),  # 1 October 00:30 BST in London, still September in UTC
        Expiring(20, at("2026-10-15 12:00")),
    ]
    assert per_period(items, Period.MONTH, LONDON) == [
        PeriodTotal(at("2026-09-30 23:00"), at("2026-11-01 00:00"), 27),
        PeriodTotal(at("2026-11-01 00:00"), at("2026-12-01 00:00"), 5),
    ]
    assert per_period(items, Period.MONTH, UTC_ZONE) == [
        PeriodTotal(at("2026-09-01"), at("2026-10-01"), 7),
        PeriodTotal(at("2026-10-01"), at("2026-11-01"), 20),
        PeriodTotal(at("2026-11-01"), at("2026-12-01"), 5),
    ]


def test_per_period_of_nothing_is_empty() -> None:
    assert per_period([], Period.MONTH, LONDON) == []


# --- allocation properties ----------------------------------------------------------------------------------------


@st.composite
def _lots(draw: st.DrawFn) -> list[Lot]:
    # Few distinct days, so that expiry and creation ties are common.
    lot_ids = draw(st.lists(st.integers(min_value=1, max_value=10_000), unique=True, max_size=12))
    return [
        Lot(
            lid(n),
            draw(st.integers(min_value=0, max_value=200)),
            day(draw(st.integers(min_value=0, max_value=5))),
            draw(st.none() | st.integers(min_value=10, max_value=15).map(day)),
        )
        for n in lot_ids
    ]


def _fefo_key(item: Lot) -> tuple[bool, datetime, datetime, uuid.UUID]:
    # An independent statement of the order: dated before undated, then expiry, creation and id.
    return (item.expires_at is None, item.expires_at or DAY0, item.created_at, item.lot_id)


@settings(max_examples=500, deadline=None)
@given(_lots(), st.data())
def test_allocate_properties(lots: list[Lot], data: st.DataObject) -> None:
    total = sum(item.remaining for item in lots)
    points = data.draw(st.integers(min_value=0, max_value=total + 50))
    result = allocate(lots, points)

    taken = dict(result)
    assert len(taken) == len(result), "a lot is touched at most once"
    assert all(amount > 0 for amount in taken.values())
    by_id = {item.lot_id: item for item in lots}
    assert all(amount <= by_id[lot_id].remaining for lot_id, amount in taken.items())
    assert sum(taken.values()) == min(points, total)

    ordered = sorted(lots, key=_fefo_key)
    assert [lot_id for lot_id, _ in result] == [item.lot_id for item in ordered if item.lot_id in taken]
    for index, item in enumerate(ordered):
        if item.lot_id in taken:
            assert all(taken.get(before.lot_id, 0) == before.remaining for before in ordered[:index])

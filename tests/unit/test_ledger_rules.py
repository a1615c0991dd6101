import pytest

from loyalty.domain.errors import InsufficientPoints, InvalidInput, Refused
from loyalty.domain.ledger import (
    MAX_POINTS_CHANGE,
    BalanceChange,
    Impact,
    LiabilityPolicy,
    adjustment,
    check_overdraw,
)


def test_a_credit_defaults_to_earn_and_a_debit_to_spend():
    credit = adjustment(100, None, None)
    assert credit == BalanceChange(delta=100, impact=Impact.EARN, policy=LiabilityPolicy.BYPASS)
    debit = adjustment(-30, None, None)
    assert debit == BalanceChange(delta=-30, impact=Impact.SPEND, policy=LiabilityPolicy.BYPASS)


def test_an_explicit_impact_and_policy_are_kept():
    change = adjustment(-5, Impact.NONE, LiabilityPolicy.REJECT_EVENT)
    assert change.impact is Impact.NONE
    assert change.policy is LiabilityPolicy.REJECT_EVENT
    assert adjustment(5, Impact.SPEND, None).impact is Impact.SPEND


def test_zero_points_is_refused():
    with pytest.raises(InvalidInput) as caught:
        adjustment(0, None, None)
    assert caught.value.code == "INVALID_POINTS"
    assert caught.value.details == {"field": "points"}


@pytest.mark.parametrize("points", [MAX_POINTS_CHANGE + 1, -MAX_POINTS_CHANGE - 1, 10**18])
def test_more_than_the_maximum_is_refused(points: int):
    with pytest.raises(InvalidInput) as caught:
        adjustment(points, None, None)
    assert caught.value.code == "INVALID_POINTS"


@pytest.mark.parametrize("points", [MAX_POINTS_CHANGE, -MAX_POINTS_CHANGE, 1, -1])
def test_up_to_the_maximum_is_accepted(points: int):
    assert adjustment(points, None, None).delta == points


def test_bypass_may_overdraw():
    change = adjustment(-50, None, LiabilityPolicy.BYPASS)
    assert change.may_overdraw
    check_overdraw(change, 10)  # no exception: the balance may go to -40
    check_overdraw(adjustment(-50, None, None), 0)  # BYPASS is the default


def test_reject_event_refuses_an_overdraw_with_balance_and_request():
    change = adjustment(-50, None, LiabilityPolicy.REJECT_EVENT)
    assert not change.may_overdraw
    with pytest.raises(InsufficientPoints) as caught:
        check_overdraw(change, 49)
    assert isinstance(caught.value, Refused)
    assert caught.value.code == "INSUFFICIENT_POINTS"
    assert caught.value.details == {"balance": 49, "requested": 50}


def test_reject_event_allows_a_debit_down_to_exactly_zero():
    change = adjustment(-50, None, LiabilityPolicy.REJECT_EVENT)
    check_overdraw(change, 50)
    check_overdraw(change, 51)


def test_reject_event_never_refuses_a_credit_even_from_a_debt():
    change = adjustment(10, None, LiabilityPolicy.REJECT_EVENT)
    assert change.may_overdraw
    check_overdraw(change, -100)


def test_lifetime_earn_moves_only_for_earn_impact():
    assert adjustment(100, None, None).lifetime_earn_delta == 100
    assert adjustment(-30, None, None).lifetime_earn_delta == 0
    assert adjustment(-30, Impact.EARN, None).lifetime_earn_delta == -30
    assert adjustment(30, Impact.SPEND, None).lifetime_earn_delta == 0
    assert adjustment(30, Impact.NONE, None).lifetime_earn_delta == 0

"""Who may see a reward and who may buy it now: the pure rules, time passed in."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty.domain.eligibility import Eligibility, Reason, Standing, evaluate, is_visible
from loyalty.domain.rewards import CodeType, Reward, RewardType, Stacking

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
STAFF = uuid.uuid4()
STUDENTS = uuid.uuid4()
GOLD = uuid.uuid4()


def reward(**changes: Any) -> Reward:
    base = Reward(
        reward_id=uuid.uuid4(),
        type=RewardType.VOUCHER,
        name="Free coffee",
        summary=None,
        description=None,
        picture_url=None,
        price=100,
        value=None,
        currency=None,
        available_from=NOW - timedelta(days=1),
        available_until=None,
        purchasable=True,
        priority=0,
        category_id=None,
        tier_id=None,
        venue_ids=(),
        redemption_channels=(),
        purchasable_for_audiences=(),
        visible_to_audiences=(),
        reactor_only=False,
        code_type=CodeType.HUMAN,
        code=None,
        code_pool_id=None,
        hide_code=False,
        purchase_expiration=None,
        stock_capacity=None,
        stock_consumed=0,
        redeem_on_purchase=False,
        min_transaction_amount=None,
        max_transaction_amount=None,
        stacking=Stacking.STACKABLE,
        details={},
        default_locale="en",
        created_at=NOW - timedelta(days=2),
        updated_at=NOW - timedelta(days=2),
        archived_at=None,
    )
    return dataclasses.replace(base, **changes)


def member(tier_priority: int | None = None, audiences: tuple[uuid.UUID, ...] = (), balance: int = 1000) -> Standing:
    return Standing(tier_priority=tier_priority, audience_ids=frozenset(audiences), balance=balance)


def judge(subject: Reward, standing: Standing | None, required_tier_priority: int | None = None) -> Eligibility:
    return evaluate(subject, standing, required_tier_priority=required_tier_priority, now=NOW)


def test_a_plain_voucher_the_member_can_afford_is_purchasable_now():
    assert judge(reward(), member()) == Eligibility(visible=True, purchasable_now=True, reason=None)


def test_without_a_member_a_public_reward_is_visible_but_not_purchasable_and_has_no_reason():
    assert judge(reward(), None) == Eligibility(visible=True, purchasable_now=False, reason=None)


@pytest.mark.parametrize(
    "changes",
    [
        {"archived_at": NOW - timedelta(hours=1)},
        {"available_from": NOW + timedelta(seconds=1)},
        {"available_until": NOW},
        {"available_until": NOW - timedelta(days=1), "available_from": NOW - timedelta(days=3)},
        {"reactor_only": True},
    ],
)
def test_archived_out_of_window_and_reactor_only_rewards_are_hidden_as_not_available(changes: dict[str, Any]):
    subject = reward(**changes)
    for standing in (member(), None):
        assert judge(subject, standing) == Eligibility(False, False, Reason.NOT_AVAILABLE)


def test_the_window_includes_its_start_and_excludes_its_end():
    assert judge(reward(available_from=NOW), member()).visible
    assert judge(reward(available_until=NOW + timedelta(microseconds=1)), member()).visible
    assert not judge(reward(available_until=NOW), member()).visible


@pytest.mark.parametrize(
    ("member_priority", "visible"),
    [(None, False), (0, False), (1, False), (2, True), (3, True)],
)
def test_a_tier_reward_shows_to_that_tier_or_higher(member_priority: int | None, visible: bool):
    mark = judge(reward(tier_id=GOLD), member(tier_priority=member_priority), required_tier_priority=2)
    assert mark.visible is visible
    assert mark.reason is (None if visible else Reason.TIER_REQUIRED)


def test_a_tier_reward_is_not_public_and_a_tier_that_cannot_be_read_admits_no_one():
    assert judge(reward(tier_id=GOLD), None, required_tier_priority=0) == Eligibility(
        False, False, Reason.TIER_REQUIRED
    )
    assert not judge(reward(tier_id=GOLD), member(tier_priority=99), required_tier_priority=None).visible


def test_visibility_audiences_admit_members_of_any_of_them():
    subject = reward(visible_to_audiences=(STAFF, STUDENTS))
    assert judge(subject, member(audiences=(STUDENTS,))).visible
    assert judge(subject, member(audiences=(STAFF, STUDENTS))).visible
    assert judge(subject, member(audiences=(uuid.uuid4(),))) == Eligibility(False, False, Reason.NOT_IN_AUDIENCE)
    assert judge(subject, None) == Eligibility(False, False, Reason.NOT_IN_AUDIENCE)


@pytest.mark.parametrize(
    ("changes", "standing", "reason"),
    [
        ({"purchasable": False}, member(), Reason.NOT_PURCHASABLE),
        ({"type": RewardType.GENERIC_OFFER}, member(), Reason.NOT_PURCHASABLE),
        ({"stock_capacity": 0}, member(), Reason.OUT_OF_STOCK),
        ({"stock_capacity": 5, "stock_consumed": 5}, member(), Reason.OUT_OF_STOCK),
        ({"purchasable_for_audiences": (STAFF,)}, member(audiences=(STUDENTS,)), Reason.NOT_IN_AUDIENCE),
        ({"price": 1001}, member(balance=1000), Reason.INSUFFICIENT_POINTS),
        ({"price": 1}, member(balance=-5), Reason.INSUFFICIENT_POINTS),
    ],
)
def test_a_visible_reward_that_cannot_be_bought_now_says_why(
    changes: dict[str, Any], standing: Standing, reason: Reason
):
    assert judge(reward(**changes), standing) == Eligibility(visible=True, purchasable_now=False, reason=reason)


@pytest.mark.parametrize(
    ("changes", "standing"),
    [
        ({"price": 1000}, member(balance=1000)),
        ({"price": 0}, member(balance=0)),
        ({"stock_capacity": 5, "stock_consumed": 4}, member()),
        ({"purchasable_for_audiences": (STAFF, STUDENTS)}, member(audiences=(STAFF,))),
    ],
)
def test_the_edges_that_still_allow_a_purchase(changes: dict[str, Any], standing: Standing):
    assert judge(reward(**changes), standing) == Eligibility(True, True, None)


def test_purchase_audiences_restrict_buying_but_not_seeing():
    subject = reward(purchasable_for_audiences=(STAFF,))
    assert judge(subject, member()) == Eligibility(True, False, Reason.NOT_IN_AUDIENCE)
    assert judge(subject, None) == Eligibility(True, False, None)


def test_reasons_come_in_a_fixed_order():
    everything_wrong = reward(purchasable=False, stock_capacity=0, purchasable_for_audiences=(STAFF,), price=10_000)
    assert judge(everything_wrong, member(balance=0)).reason is Reason.NOT_PURCHASABLE
    assert (
        judge(dataclasses.replace(everything_wrong, purchasable=True), member(balance=0)).reason is Reason.OUT_OF_STOCK
    )
    in_stock = dataclasses.replace(everything_wrong, purchasable=True, stock_capacity=None)
    assert judge(in_stock, member(balance=0)).reason is Reason.NOT_IN_AUDIENCE
    assert judge(in_stock, member(audiences=(STAFF,), balance=0)).reason is Reason.INSUFFICIENT_POINTS
    hidden_and_dear = reward(reactor_only=True, tier_id=GOLD, price=10_000)
    assert judge(hidden_and_dear, member(balance=0), required_tier_priority=1).reason is Reason.NOT_AVAILABLE
    assert judge(reward(tier_id=GOLD, visible_to_audiences=(STAFF,)), member(), 1).reason is Reason.TIER_REQUIRED


@given(
    price=st.integers(min_value=0, max_value=10_000_000),
    balance=st.integers(min_value=-1000, max_value=10_000_000),
    capacity=st.none() | st.integers(min_value=0, max_value=10),
    consumed=st.integers(min_value=0, max_value=10),
    purchasable=st.booleans(),
)
def test_purchasable_now_exactly_when_every_condition_holds(
    price: int, balance: int, capacity: int | None, consumed: int, purchasable: bool
):
    subject = reward(price=price, stock_capacity=capacity, stock_consumed=consumed, purchasable=purchasable)
    mark = judge(subject, member(balance=balance))
    expected = purchasable and (capacity is None or consumed < capacity) and balance >= price
    assert mark.purchasable_now is expected
    assert (mark.reason is None) is expected
    assert mark.visible


def test_is_visible_agrees_with_evaluate():
    for subject in (reward(), reward(reactor_only=True), reward(visible_to_audiences=(STAFF,))):
        for standing in (member(), member(audiences=(STAFF,)), None):
            assert (
                is_visible(subject, standing, required_tier_priority=None, now=NOW) is judge(subject, standing).visible
            )

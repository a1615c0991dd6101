"""Order and refund rules: exact arithmetic checks, what a refund is worth, and the cumulative allocation that
reverses an order's points (golden cases: inputs → exact outputs)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty.domain.errors import InvalidInput
from loyalty.domain.orders import (
    AppliedDiscount,
    MemberField,
    MemberReference,
    OrderDraft,
    OrderLine,
    OrderTotals,
    OrderTotalsMismatch,
    RefundableLine,
    RefundExceedsOrder,
    RefundPoints,
    RefundRequestLine,
    allocate_refund,
    check_order,
    cumulative_share,
    json_number,
    line_value,
    major_units,
    minor_unit_exponent,
    order_fingerprint,
    part_of,
    quantity_units,
    refund_fingerprint,
    refund_points,
    round_half_up,
)


def draft(*lines: OrderLine, totals: OrderTotals | None = None, **extra: object) -> OrderDraft:
    if totals is None:
        subtotal = sum(line_value(x.quantity, x.unit_price) for x in lines)
        discount = sum(x.discount for x in lines)
        totals = OrderTotals(subtotal=subtotal, discount=discount, total=subtotal - discount)
    return OrderDraft(external_id="T-1", currency="GBP", lines=lines, totals=totals, **extra)  # type: ignore[arg-type]


LATTE = OrderLine(sku="LATTE-M", quantity=Decimal(2), unit_price=350, discount=100, total=600)
CAKE = OrderLine(sku="CAKE", quantity=Decimal(1), unit_price=750, total=750)


# ---- arithmetic ----


@pytest.mark.parametrize(
    ("quantity", "unit_price", "value"),
    [
        ("2", 350, 700),
        ("0.455", 299, 136),  # 136.045
        ("1.5", 3, 5),  # 4.5 rounds half up
        ("0.125", 4, 1),  # 0.5 rounds half up
        ("0.001", 499, 0),  # 0.499
        ("0.001", 500, 1),  # 0.5
        ("2.5", 1, 3),
        ("1000000", 9007199254, 9007199254000000),
    ],
)
def test_a_line_is_worth_quantity_times_unit_price_rounded_half_up(quantity: str, unit_price: int, value: int):
    assert line_value(Decimal(quantity), unit_price) == value


def test_round_half_up_rounds_halves_away_from_zero():
    assert [round_half_up(Decimal(v)) for v in ("0.5", "1.5", "2.5", "2.4999", "-0.5")] == [1, 2, 3, 2, -1]


def test_an_order_that_adds_up_passes():
    check_order(draft(LATTE, CAKE, applied_discounts=(AppliedDiscount(source="VOUCHER", amount=100),)))


def test_every_mismatch_is_reported_with_the_expected_value():
    wrong = OrderLine(sku="CAKE", quantity=Decimal(1), unit_price=750, total=751)
    totals = OrderTotals(subtotal=1400, discount=0, total=1350, tax=99)
    with pytest.raises(OrderTotalsMismatch) as caught:
        check_order(draft(LATTE, wrong, totals=totals))
    error = caught.value
    assert error.code == "ORDER_TOTALS_MISMATCH"
    assert [(e["field"], e["expected"], e["given"]) for e in error.details["errors"]] == [
        ("lineItems[1].total", 750, 751),
        ("totals.subtotal", 1450, 1400),
        ("totals.discount", 100, 0),
    ]
    assert (error.details["field"], error.details["expected"]) == ("lineItems[1].total", 750)
    assert "lineItems[1].total" in error.message


def test_a_discount_larger_than_its_line_is_refused():
    line = OrderLine(sku="CAKE", quantity=Decimal(1), unit_price=750, discount=800, total=0)
    with pytest.raises(OrderTotalsMismatch) as caught:
        check_order(draft(line, totals=OrderTotals(subtotal=750, discount=800, total=0)))
    assert caught.value.details["field"] == "lineItems[0].discount"
    assert caught.value.details["expected"] == 750


def test_total_is_subtotal_minus_discount():
    with pytest.raises(OrderTotalsMismatch) as caught:
        check_order(draft(LATTE, totals=OrderTotals(subtotal=700, discount=100, total=700)))
    assert [e["field"] for e in caught.value.details["errors"]] == ["totals.total"]


def test_applied_discounts_may_not_exceed_the_order_discount():
    applied = (AppliedDiscount(source="VOUCHER", amount=60), AppliedDiscount(source="OFFER", amount=41))
    with pytest.raises(OrderTotalsMismatch) as caught:
        check_order(draft(LATTE, applied_discounts=applied))
    assert (caught.value.details["field"], caught.value.details["expected"], caught.value.details["given"]) == (
        "appliedDiscounts",
        100,
        101,
    )
    check_order(draft(LATTE, applied_discounts=applied[:1]))  # less than the discount is fine (e.g. a manual one)


@pytest.mark.parametrize("quantity", ["0", "-1", "0.0001", "1.2345"])
def test_a_quantity_is_positive_with_at_most_three_decimals(quantity: str):
    with pytest.raises(InvalidInput) as caught:
        quantity_units(Decimal(quantity), "lineItems[0].quantity")
    assert caught.value.details["field"] == "lineItems[0].quantity"


def test_quantities_are_held_as_thousandths():
    assert [quantity_units(Decimal(q)) for q in ("1", "0.455", "2.000", "1000000")] == [1000, 455, 2000, 10**9]


@pytest.mark.parametrize(
    ("currency", "amount", "major"),
    [("GBP", 1250, 12.5), ("GBP", 1200, 12), ("JPY", 1250, 1250), ("KWD", 1250, 1.25), ("EUR", 1, 0.01)],
)
def test_total_spend_is_in_major_units(currency: str, amount: int, major: float):
    value = json_number(major_units(amount, currency))
    assert value == major
    assert type(value) is type(major)


def test_minor_units_follow_iso_4217():
    assert [minor_unit_exponent(c) for c in ("GBP", "USD", "JPY", "KRW", "BHD", "CLF")] == [2, 2, 0, 0, 3, 4]


def test_the_fingerprint_ignores_spelling_but_not_values():
    base = draft(
        LATTE, CAKE, submitter=MemberReference(MemberField.AUTH_IDENTIFIER, "idp-1"), metadata={"a": 1, "b": 2}
    )
    same = draft(
        OrderLine(sku="LATTE-M", quantity=Decimal("2.000"), unit_price=350, discount=100, total=600),
        CAKE,
        submitter=MemberReference(MemberField.AUTH_IDENTIFIER, "idp-1"),
        metadata={"b": 2, "a": 1},
    )
    assert order_fingerprint(base) == order_fingerprint(same)
    for other in (
        draft(
            LATTE, CAKE, submitter=MemberReference(MemberField.EXTERNAL_IDENTIFIER, "idp-1"), metadata={"a": 1, "b": 2}
        ),
        draft(LATTE, CAKE, submitter=MemberReference(MemberField.AUTH_IDENTIFIER, "idp-1"), metadata={"a": 1}),
        draft(CAKE, LATTE, submitter=MemberReference(MemberField.AUTH_IDENTIFIER, "idp-1"), metadata={"a": 1, "b": 2}),
        draft(
            LATTE,
            CAKE,
            submitter=MemberReference(MemberField.AUTH_IDENTIFIER, "idp-1"),
            metadata={"a": 1, "b": 2},
            points_spent=10,
        ),
    ):
        assert order_fingerprint(other) != order_fingerprint(base)
    assert refund_fingerprint(None, None) != refund_fingerprint((RefundRequestLine("CAKE", 1000),), None)
    assert refund_fingerprint(None, "x") == refund_fingerprint(None, "x")


# ---- refund value: golden cases ----


def lines(*specs: tuple[str, int, int, int]) -> list[RefundableLine]:
    """(sku, quantity in thousandths, already refunded, total); value before discount = total."""
    return [
        RefundableLine(index=i, sku=sku, quantity=q, refunded=r, total=t, value=t)
        for i, (sku, q, r, t) in enumerate(specs)
    ]


# Each case: the line's total and quantity (thousandths), the quantities refunded one after the other, and the
# value of each refund.
LINE_GOLDEN = [
    (1000, 3000, [1000, 1000, 1000], [333, 333, 334]),
    (1001, 1500, [500, 500, 500], [333, 334, 334]),
    (100, 3000, [2000, 1000], [66, 34]),
    (1, 3000, [1000, 1000, 1000], [0, 0, 1]),
    (0, 2000, [1000, 1000], [0, 0]),
    (999, 7000, [1000] * 7, [142, 143, 143, 142, 143, 143, 143]),
    (250, 455, [100, 355], [54, 196]),
]


@pytest.mark.parametrize(("total", "quantity", "steps", "values"), LINE_GOLDEN)
def test_a_line_refunded_in_parts_golden(total: int, quantity: int, steps: list[int], values: list[int]):
    refunded = 0
    found = []
    for step in steps:
        (part,) = allocate_refund(lines(("SKU", quantity, refunded, total)), [RefundRequestLine("SKU", step)])
        found.append(part.value)
        refunded += step
    assert found == values
    assert sum(found) == total


def test_a_full_refund_takes_what_remains_of_every_line():
    parts = allocate_refund(lines(("A", 2000, 1000, 600), ("B", 1000, 0, 750), ("C", 1000, 1000, 10)), None)
    assert [(p.index, p.sku, p.quantity, p.value) for p in parts] == [(0, "A", 1000, 300), (1, "B", 1000, 750)]


def test_nothing_left_is_refused():
    with pytest.raises(RefundExceedsOrder) as caught:
        allocate_refund(lines(("A", 2000, 2000, 600)), None)
    assert caught.value.code == "REFUND_EXCEEDS_ORDER"


def test_a_sku_on_several_lines_is_taken_in_line_order_and_repeats_add_up():
    order = lines(("A", 2000, 0, 600), ("B", 1000, 0, 750), ("A", 3000, 0, 900))
    parts = allocate_refund(order, [RefundRequestLine("A", 1000), RefundRequestLine("A", 2000)])
    assert [(p.index, p.quantity, p.value) for p in parts] == [(0, 2000, 600), (2, 1000, 300)]


def test_more_than_remains_is_refused_naming_the_request_line():
    order = lines(("A", 2000, 1500, 600), ("B", 1000, 0, 750))
    with pytest.raises(RefundExceedsOrder) as caught:
        allocate_refund(order, [RefundRequestLine("B", 1000), RefundRequestLine("A", 1000)])
    assert caught.value.details == {"field": "lineItems[1].quantity", "sku": "A", "remaining": 0.5, "requested": 1}


def test_an_unknown_sku_is_refused():
    with pytest.raises(InvalidInput) as caught:
        allocate_refund(lines(("A", 1000, 0, 100)), [RefundRequestLine("Z", 1000)])
    assert (caught.value.code, caught.value.details["field"]) == ("SKU_NOT_IN_ORDER", "lineItems[0].sku")


# ---- points: the cumulative proportional reversal, golden cases ----

# Each case: points earned, the order's total, the value of each refund, and the points each one reverses.
REVERSAL_GOLDEN = [
    (10, 1000, [333, 333, 334], [3, 3, 4]),  # a third three times: 10 in all
    (10, 1000, [1000], [10]),
    (10, 1000, [500, 500], [5, 5]),
    (7, 300, [100, 100, 100], [2, 2, 3]),
    (1, 1000, [999, 1], [0, 1]),
    (12, 1250, [300, 300, 300, 350], [2, 3, 3, 4]),
    (100, 3, [1, 1, 1], [33, 33, 34]),
    (0, 1000, [400, 600], [0, 0]),
    (5, 1000, [250, 250], [1, 1]),  # half refunded: 2 of 5, never more than the share
]


@pytest.mark.parametrize(("earned", "total", "refunds", "reversals"), REVERSAL_GOLDEN)
def test_points_are_reversed_cumulatively_golden(earned: int, total: int, refunds: list[int], reversals: list[int]):
    refunded = 0
    reversed_so_far = 0
    found = []
    for value in refunds:
        refunded += value
        moved = refund_points(
            total=total,
            subtotal=total,
            earned=earned,
            already_reversed=reversed_so_far,
            refunded_value=refunded,
            spent=0,
            already_returned=0,
            refunded_gross=refunded,
            fully_refunded=refunded == total,
        )
        found.append(moved.reversed)
        reversed_so_far += moved.reversed
    assert found == reversals
    assert reversed_so_far == (earned if refunded == total else earned * refunded // total)


def test_an_order_without_a_total_reverses_nothing():
    moved = refund_points(
        total=0,
        subtotal=500,
        earned=50,
        already_reversed=0,
        refunded_value=0,
        spent=0,
        already_returned=0,
        refunded_gross=500,
        fully_refunded=True,
    )
    assert moved == RefundPoints(reversed=0, returned=0)


def test_spent_points_come_back_in_the_same_proportion():
    half = refund_points(
        total=1000,
        subtotal=1200,
        earned=10,
        already_reversed=0,
        refunded_value=500,
        spent=201,
        already_returned=0,
        refunded_gross=600,
        fully_refunded=False,
    )
    assert half == RefundPoints(reversed=5, returned=100)
    rest = refund_points(
        total=1000,
        subtotal=1200,
        earned=10,
        already_reversed=5,
        refunded_value=1000,
        spent=201,
        already_returned=100,
        refunded_gross=1200,
        fully_refunded=True,
    )
    assert rest == RefundPoints(reversed=5, returned=101)


def test_an_order_paid_entirely_with_points_gives_them_back_by_value_before_discount():
    third = refund_points(
        total=0,
        subtotal=900,
        earned=0,
        already_reversed=0,
        refunded_value=0,
        spent=90,
        already_returned=0,
        refunded_gross=300,
        fully_refunded=False,
    )
    assert third == RefundPoints(reversed=0, returned=30)


@given(
    earned=st.integers(0, 10**6),
    quantities=st.lists(st.integers(1, 5), min_size=1, max_size=6),
    unit_total=st.integers(0, 10**5),
)
def test_any_sequence_of_partial_refunds_reverses_at_most_the_share_and_a_full_one_all(
    earned: int, quantities: list[int], unit_total: int
):
    whole = sum(quantities)
    total = unit_total * whole + 7
    refunded_quantity = refunded_value = reversed_so_far = 0
    for quantity in quantities:
        (part,) = allocate_refund(
            [RefundableLine(0, "X", whole * 1000, refunded_quantity, total, total)],
            [RefundRequestLine("X", quantity * 1000)],
        )
        refunded_quantity += part.quantity
        refunded_value += part.value
        moved = refund_points(
            total=total,
            subtotal=total,
            earned=earned,
            already_reversed=reversed_so_far,
            refunded_value=refunded_value,
            spent=0,
            already_returned=0,
            refunded_gross=refunded_value,
            fully_refunded=refunded_quantity == whole * 1000,
        )
        reversed_so_far += moved.reversed
        assert refunded_value <= total
        assert reversed_so_far == cumulative_share(earned, refunded_value, total) or refunded_quantity == whole * 1000
        assert reversed_so_far <= earned
    assert refunded_value == total
    assert reversed_so_far == earned


def test_part_of_is_the_difference_of_cumulative_shares():
    assert [part_of(10, 3, before, before + 1) for before in range(3)] == [3, 3, 4]
    assert cumulative_share(10, 5, 0) == 0

"""The reference discount calculator (contract §5.4): golden files pin the arithmetic, properties pin the invariants.

Each ``golden/pricing/*.json`` holds a request and the exact expected result. Rewards, discounts and venues are
named by short labels in the files; the loader turns each label into a stable UUID and back, so a case reads like
the receipt it describes.
"""

from __future__ import annotations

import ast
import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty.domain import pricing
from loyalty.domain.errors import InvalidInput
from loyalty.domain.pricing import (
    AppliedDiscount,
    BasketLine,
    Candidate,
    PricingRequest,
    PricingResult,
    RejectionReason,
    Source,
    allocate,
    line_subtotal,
    price_basket,
    round_half_up,
)
from loyalty.domain.rewards import Discount, DiscountType, Stacking
from loyalty.domain.settings import DiscountStacking

GOLDEN = sorted((Path(__file__).parent / "golden" / "pricing").glob("*.json"))
_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
_NAMESPACE = uuid.UUID("5d1f5a52-3c0e-4b8e-9d1e-6b7f2f0c8a11")


# ---- the golden-file loader ----


class _Names:
    """Labels of the golden files ↔ UUIDs."""

    def __init__(self) -> None:
        self._back: dict[uuid.UUID, str] = {}

    def id(self, label: str) -> uuid.UUID:
        value = uuid.uuid5(_NAMESPACE, label)
        self._back[value] = label
        return value

    def label(self, value: uuid.UUID | None) -> str | None:
        return None if value is None else self._back[value]


def _discount(document: dict[str, Any], reward_id: uuid.UUID, names: _Names) -> Discount:
    return Discount(
        discount_id=names.id(document["id"]),
        reward_id=reward_id,
        type=DiscountType(document["type"]),
        value=Decimal(str(document["value"])),
        product_sku=document.get("productSku"),
        sku=document.get("sku"),
        venue_ids=tuple(names.id(venue) for venue in document.get("venues", [])),
        created_at=_EPOCH,
        updated_at=_EPOCH,
    )


def _candidate(document: dict[str, Any], names: _Names) -> Candidate:
    reward_id = names.id(document["reward"])
    return Candidate(
        reward_id=reward_id,
        source=Source(document["source"]),
        benefit_id=document.get("benefitId"),
        code=document.get("code"),
        stacking=Stacking(document.get("stacking", "STACKABLE")),
        min_transaction_amount=document.get("minTransactionAmount"),
        venue_ids=tuple(names.id(venue) for venue in document.get("venues", [])),
        discounts=tuple(_discount(discount, reward_id, names) for discount in document["discounts"]),
    )


def load_request(document: dict[str, Any], names: _Names) -> PricingRequest:
    venue = document.get("venue")
    return PricingRequest(
        lines=tuple(
            BasketLine(line["sku"], line.get("category"), Decimal(str(line["quantity"])), line["unitPrice"])
            for line in document["lines"]
        ),
        candidates=tuple(_candidate(candidate, names) for candidate in document["candidates"]),
        venue_id=None if venue is None else names.id(venue),
        stacking_mode=DiscountStacking(document.get("stackingMode", "STACK")),
        points_to_spend=document.get("pointsToSpend", 0),
        points_currency_value=Decimal(str(document.get("pointsCurrencyValue", "0.01"))),
        currency_minor_digits=document.get("currencyMinorDigits", 2),
        add_item_prices=document.get("addItemPrices", {}),
    )


def dump_result(result: PricingResult, names: _Names) -> dict[str, Any]:
    return {
        "lines": [
            {
                "index": line.index,
                "sku": line.sku,
                "quantity": str(line.quantity),
                "unitPrice": line.unit_price,
                "subtotal": line.subtotal,
                "discount": line.discount,
                "total": line.total,
            }
            for line in result.lines
        ],
        "applied": [
            {
                "source": entry.source.value,
                "reward": names.label(entry.reward_id),
                "discount": names.label(entry.discount_id),
                "benefitId": entry.benefit_id,
                "code": entry.code,
                "amount": entry.amount,
                "allocations": [[index, amount] for index, amount in entry.allocations],
            }
            for entry in result.applied
        ],
        "rejected": [
            {
                "reward": names.label(rejection.reward_id),
                "benefitId": rejection.benefit_id,
                "code": rejection.code,
                "reason": rejection.reason.value,
            }
            for rejection in result.rejected
        ],
        "subtotal": result.subtotal,
        "discount": result.discount,
        "total": result.total,
        "pointsSpent": result.points_spent,
        "pointsValue": result.points_value,
    }


_NULL_APPLIED: dict[str, Any] = {"reward": None, "discount": None, "benefitId": None, "code": None}


def normalise_expected(expected: dict[str, Any]) -> dict[str, Any]:
    """The files leave out what is null (a points entry's reward, a benefit id, a code); fill it in."""
    return {
        **expected,
        "applied": [{**_NULL_APPLIED, **entry} for entry in expected["applied"]],
        "rejected": [{"benefitId": None, "code": None, **entry} for entry in expected["rejected"]],
    }


def check_invariants(request: PricingRequest, result: PricingResult) -> None:
    for entry in result.applied:
        assert entry.amount > 0
        assert sum(amount for _, amount in entry.allocations) == entry.amount
        assert all(amount > 0 for _, amount in entry.allocations)
        assert [index for index, _ in entry.allocations] == sorted({index for index, _ in entry.allocations})
    per_line = [0] * len(result.lines)
    for entry in result.applied:
        for index, amount in entry.allocations:
            per_line[index] += amount
    for line in result.lines:
        assert line.discount == per_line[line.index]
        assert line.total == line.subtotal - line.discount
        assert line.total >= 0
    assert [line.index for line in result.lines] == list(range(len(result.lines)))
    assert [line.sku for line in result.lines[: len(request.lines)]] == [line.sku for line in request.lines]
    assert result.subtotal == sum(line.subtotal for line in result.lines)
    assert result.discount == sum(entry.amount for entry in result.applied) == sum(per_line)
    assert result.total == result.subtotal - result.discount >= 0
    points = [entry for entry in result.applied if entry.source is Source.POINTS]
    assert sum(entry.amount for entry in points) == result.points_value
    assert 0 <= result.points_spent <= request.points_to_spend
    # exact value: the points spent are worth exactly what they pay for
    per_point = request.points_currency_value.scaleb(request.currency_minor_digits)
    assert result.points_spent * per_point == result.points_value


# ---- golden files ----


def test_there_are_enough_golden_cases() -> None:
    assert len(GOLDEN) >= 25


@pytest.mark.parametrize("path", GOLDEN, ids=[path.stem for path in GOLDEN])
def test_golden(path: Path) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    names = _Names()
    request = load_request(document["request"], names)
    result = price_basket(request)
    assert dump_result(result, names) == normalise_expected(document["expected"]), document["description"]
    check_invariants(request, result)
    assert price_basket(request) == result


# ---- the arithmetic helpers ----


def test_round_half_up_rounds_halves_away_from_zero() -> None:
    assert [round_half_up(Decimal(text)) for text in ("0.5", "1.5", "2.5", "0.49", "124.875", "0")] == [
        1,
        2,
        3,
        0,
        125,
        0,
    ]


def test_line_subtotal_of_weighed_goods_rounds_per_line() -> None:
    assert line_subtotal(Decimal("0.345"), 1299) == 448
    assert line_subtotal(Decimal("1.25"), 230) == 288
    assert line_subtotal(Decimal("0.001"), 499) == 0
    assert line_subtotal(Decimal(3), 350) == 1050


def test_allocate_splits_evenly_with_the_remainder_to_the_earliest() -> None:
    assert allocate(100, [100, 100, 100]) == (34, 33, 33)
    assert allocate(200, [100, 100, 100]) == (67, 67, 66)
    assert allocate(1, [5, 5, 5, 5]) == (1, 0, 0, 0)


def test_allocate_gives_leftovers_to_the_largest_remainders() -> None:
    assert allocate(167, [999, 333]) == (125, 42)
    assert allocate(10, [1, 2, 7]) == (1, 2, 7)
    assert allocate(5, [0, 3, 0, 3]) == (0, 3, 0, 2)


def test_allocate_never_exceeds_a_weight_and_always_sums() -> None:
    assert allocate(0, [4, 5]) == (0, 0)
    assert allocate(9, [4, 5]) == (4, 5)
    assert allocate(0, []) == ()
    with pytest.raises(ValueError, match="zero weights"):
        allocate(1, [0, 0])
    with pytest.raises(ValueError, match="negative"):
        allocate(-1, [1])


@given(st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=12), st.data())
def test_allocate_properties(weights: list[int], data: st.DataObject) -> None:
    total = sum(weights)
    amount = data.draw(st.integers(min_value=0, max_value=total)) if total else 0
    shares = allocate(amount, weights)
    assert sum(shares) == amount
    assert all(0 <= share <= weight for share, weight in zip(shares, weights, strict=True))
    for share, weight in zip(shares, weights, strict=True):
        exact = Decimal(amount * weight) / total if total else Decimal(0)
        assert abs(share - exact) < 1


# ---- targeted rules not worth a file ----


def _line(sku: str, price: int, quantity: str = "1", category: str | None = None) -> BasketLine:
    return BasketLine(sku, category, Decimal(quantity), price)


def _offer(
    *discounts: tuple[str, str] | tuple[str, str, str | None, str | None],
    stacking: Stacking = Stacking.STACKABLE,
    source: Source = Source.OFFER,
) -> Candidate:
    reward_id = uuid.uuid4()
    built = tuple(
        Discount(
            discount_id=uuid.uuid4(),
            reward_id=reward_id,
            type=DiscountType(spec[0]),
            value=Decimal(spec[1]),
            product_sku=spec[2] if len(spec) > 2 else None,
            sku=spec[3] if len(spec) > 3 else None,
            venue_ids=(),
            created_at=_EPOCH,
            updated_at=_EPOCH,
        )
        for spec in discounts
    )
    return Candidate(reward_id, source, None, None, stacking, None, (), built)


def test_the_added_line_is_indexed_after_the_basket_and_named_once() -> None:
    coffee = _offer(("FIXED", "0", None, "COFFEE"), ("PERCENTAGE", "50", None, "COFFEE"))
    result = price_basket(
        PricingRequest(lines=(_line("LATTE", 350),), candidates=(coffee,), add_item_prices={"COFFEE": 300})
    )
    assert [(line.index, line.sku, line.total) for line in result.lines] == [(0, "LATTE", 350), (1, "COFFEE", 0)]
    assert [entry.amount for entry in result.applied] == [300]


def test_a_string_source_and_stacking_are_accepted_like_the_enums() -> None:
    offer = _offer(("ABSOLUTE", "100"))
    loose = replace(offer, source="VOUCHER", stacking="EXCLUSIVE")  # type: ignore[arg-type]
    result = price_basket(PricingRequest(lines=(_line("A", 500),), candidates=(loose,)))
    assert result.applied[0].source is Source.VOUCHER
    assert result.total == 400


def test_rejections_follow_the_candidate_order() -> None:
    result = price_basket(
        PricingRequest(
            lines=(_line("A", 1000),),
            candidates=(
                _offer(("ABSOLUTE", "100", "NOPE", None)),
                _offer(("ABSOLUTE", "300"), stacking=Stacking.EXCLUSIVE),
                _offer(("ABSOLUTE", "400")),
            ),
        )
    )
    assert [rejection.reason for rejection in result.rejected] == [
        RejectionReason.NO_APPLICABLE_DISCOUNT,
        RejectionReason.NOT_COMBINABLE,
    ]
    assert result.total == 600


def test_points_at_zero_value_spend_nothing() -> None:
    result = price_basket(
        PricingRequest(lines=(_line("A", 1000),), candidates=(), points_to_spend=50, points_currency_value=Decimal(0))
    )
    assert (result.points_spent, result.points_value, result.total, result.applied) == (0, 0, 1000, ())


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lines": (_line("A", 100, quantity="0"),)}, "quantity"),
        ({"lines": (_line("A", 100, quantity="-1"),)}, "quantity"),
        ({"lines": (BasketLine("A", None, Decimal("NaN"), 100),)}, "quantity"),
        ({"lines": (_line("A", -1),)}, "unitPrice"),
        ({"points_to_spend": -1}, "pointsToSpend"),
        ({"points_currency_value": Decimal("-0.01")}, "pointsCurrencyValue"),
        ({"currency_minor_digits": -1}, "currencyMinorDigits"),
        ({"add_item_prices": {"COFFEE": -5}}, "addItems"),
    ],
)
def test_malformed_requests_are_refused(change: dict[str, Any], field: str) -> None:
    request = replace(PricingRequest(lines=(_line("A", 100),), candidates=()), **change)
    with pytest.raises(InvalidInput) as caught:
        price_basket(request)
    assert caught.value.details["field"] == field


@pytest.mark.parametrize(
    ("kind", "value"),
    [("PERCENTAGE", "0"), ("PERCENTAGE", "100.5"), ("ABSOLUTE", "0"), ("ABSOLUTE", "12.5"), ("FIXED", "-1")],
)
def test_invalid_discount_values_are_refused(kind: str, value: str) -> None:
    request = PricingRequest(lines=(_line("A", 100),), candidates=(_offer((kind, value)),))
    with pytest.raises(InvalidInput) as caught:
        price_basket(request)
    assert caught.value.code == "INVALID_DISCOUNT"


def test_the_module_is_pure() -> None:
    tree = ast.parse(Path(pricing.__file__).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    allowed_stdlib = {"__future__", "uuid", "collections.abc", "dataclasses", "decimal", "enum"}
    assert {name for name in imported if not name.startswith("loyalty.domain.")} <= allowed_stdlib


# ---- properties ----

_SKUS = ("A", "B", "C", "D")
_CATEGORIES = (None, "FOOD", "DRINKS")
_VENUES = (uuid.UUID(int=1), uuid.UUID(int=2))


@st.composite
def _lines(draw: st.DrawFn) -> tuple[BasketLine, ...]:
    count = draw(st.integers(min_value=0, max_value=5))
    lines = []
    for _ in range(count):
        quantity = draw(
            st.one_of(
                st.integers(min_value=1, max_value=5).map(Decimal),
                st.integers(min_value=1, max_value=5000).map(lambda grams: Decimal(grams) / 1000),
            )
        )
        lines.append(
            BasketLine(
                draw(st.sampled_from(_SKUS)),
                draw(st.sampled_from(_CATEGORIES)),
                quantity,
                draw(st.integers(min_value=0, max_value=5000)),
            )
        )
    return tuple(lines)


@st.composite
def _discounts(draw: st.DrawFn, reward_id: uuid.UUID) -> Discount:
    kind = draw(st.sampled_from(list(DiscountType)))
    if kind is DiscountType.PERCENTAGE:
        value = Decimal(draw(st.integers(min_value=1, max_value=10_000))) / 100
    elif kind is DiscountType.ABSOLUTE:
        value = Decimal(draw(st.integers(min_value=1, max_value=6000)))
    else:
        value = Decimal(draw(st.integers(min_value=0, max_value=6000)))
    product_sku = draw(st.one_of(st.none(), st.sampled_from(["A", "B,C", "FOOD", "D, DRINKS", "E"])))
    return Discount(
        discount_id=uuid.UUID(int=draw(st.integers(min_value=1, max_value=2**64))),
        reward_id=reward_id,
        type=kind,
        value=value,
        product_sku=product_sku,
        sku=draw(st.one_of(st.none(), st.sampled_from(["A", "E", "F"]))),
        venue_ids=tuple(draw(st.lists(st.sampled_from(_VENUES), max_size=1))),
        created_at=_EPOCH,
        updated_at=_EPOCH,
    )


@st.composite
def _candidates(draw: st.DrawFn) -> Candidate:
    reward_id = uuid.UUID(int=draw(st.integers(min_value=1, max_value=2**64)))
    source = draw(st.sampled_from([Source.OFFER, Source.VOUCHER]))
    return Candidate(
        reward_id=reward_id,
        source=source,
        benefit_id=str(uuid.UUID(int=draw(st.integers(min_value=1, max_value=2**64))))
        if source is Source.VOUCHER
        else None,
        code=None,
        stacking=draw(st.sampled_from(list(Stacking))),
        min_transaction_amount=draw(st.one_of(st.none(), st.integers(min_value=0, max_value=8000))),
        venue_ids=tuple(draw(st.lists(st.sampled_from(_VENUES), max_size=1))),
        discounts=tuple(draw(st.lists(_discounts(reward_id), max_size=3))),
    )


@st.composite
def _requests(draw: st.DrawFn) -> PricingRequest:
    return PricingRequest(
        lines=draw(_lines()),
        candidates=tuple(draw(st.lists(_candidates(), max_size=4))),
        venue_id=draw(st.one_of(st.none(), st.sampled_from(_VENUES))),
        stacking_mode=draw(st.sampled_from(list(DiscountStacking))),
        points_to_spend=draw(st.integers(min_value=0, max_value=20_000)),
        points_currency_value=draw(st.sampled_from([Decimal("0.01"), Decimal("0.005"), Decimal("0.03"), Decimal(1)])),
        currency_minor_digits=draw(st.sampled_from([0, 2, 3])),
        add_item_prices=draw(st.dictionaries(st.sampled_from(["E", "F"]), st.integers(min_value=0, max_value=900))),
    )


@settings(max_examples=400, deadline=None)
@given(_requests())
def test_pricing_properties(request: PricingRequest) -> None:
    result = price_basket(request)
    check_invariants(request, result)
    # deterministic: the same request, rebuilt from scratch, prices the same
    rebuilt = replace(request, lines=tuple(request.lines), add_item_prices=dict(request.add_item_prices))
    assert price_basket(rebuilt) == result
    # every candidate is either applied or rejected, never both, never neither
    applied = {(entry.reward_id, entry.benefit_id) for entry in result.applied if entry.source is not Source.POINTS}
    rejected = [(rejection.reward_id, rejection.benefit_id) for rejection in result.rejected]
    keys = [(candidate.reward_id, candidate.benefit_id) for candidate in request.candidates]
    if len(set(keys)) == len(keys):
        assert set(rejected) | applied == set(keys)
        assert not set(rejected) & applied
    # points are never worth more than the total left after discounts
    discounts = sum(entry.amount for entry in result.applied if entry.source is not Source.POINTS)
    assert result.points_value <= result.subtotal - discounts


@settings(max_examples=200, deadline=None)
@given(_requests())
def test_stacking_never_beats_the_rules(request: PricingRequest) -> None:
    result = price_basket(request)
    rewards = [entry for entry in result.applied if entry.source is not Source.POINTS]
    if request.stacking_mode == DiscountStacking.BEST_ONLY:
        assert len({(entry.reward_id, entry.benefit_id) for entry in rewards}) <= 1
    exclusive = {candidate.reward_id for candidate in request.candidates if candidate.stacking is Stacking.EXCLUSIVE}
    applied_ids = {entry.reward_id for entry in rewards}
    if applied_ids & exclusive:
        assert len({(entry.reward_id, entry.benefit_id) for entry in rewards}) == 1


def _points_entry(result: PricingResult) -> AppliedDiscount | None:
    return next((entry for entry in result.applied if entry.source is Source.POINTS), None)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=0, max_value=100_000),
    st.integers(min_value=0, max_value=100_000),
    st.sampled_from(["0.01", "0.005", "0.003", "0.02", "1", "0.0001"]),
)
def test_points_exact_value_rule(total: int, asked: int, value: str) -> None:
    lines = (_line("A", total),)
    result = price_basket(
        PricingRequest(lines=lines, candidates=(), points_to_spend=asked, points_currency_value=Decimal(value))
    )
    per_point = Decimal(value) * 100
    assert result.points_spent * per_point == result.points_value <= total
    assert result.points_spent <= asked
    entry = _points_entry(result)
    assert (entry.amount if entry else 0) == result.points_value
    # maximal: one more step of points (the smallest count worth whole minor units) would break a limit
    step = per_point.as_integer_ratio()[1]
    more = result.points_spent + step
    assert more > asked or more * per_point > total

"""The reference discount calculator: a basket, the rewards that may apply and the points to spend → priced lines.

Basket pricing, checkout and the offline Python client all call :func:`price_basket`, so a till, the engine and a
receipt agree to the minor unit. Pure: no I/O, no clock; every amount is an integer of minor units and every
intermediate step is Decimal.

Rules (contract §5.4), in the order they run:

1. **Filters.** When the request names a venue, a reward whose ``venue_ids`` is non-empty and does not contain it is
   rejected (``VOUCHER_NOT_VALID_AT_VENUE``, the code ``validate_voucher`` uses), and a discount whose ``venue_ids``
   is non-empty and does not contain it is dropped (a reward left with none of its discounts is rejected the same
   way). A reward whose ``min_transaction_amount`` exceeds the pre-discount total of the basket *as sent* (items a
   discount adds do not count towards it) is rejected (``MIN_TRANSACTION_AMOUNT_NOT_MET``). Without a venue nothing
   is filtered by venue.
2. **Targets.** ``product_sku`` is a comma-separated list (spaces trimmed, empty = none); a line matches when its SKU
   or its category is listed. ``product_sku`` empty and ``sku`` set: the discount targets the lines of that SKU (so
   ``sku=COFFEE, FIXED 0`` is "a free coffee", not "the whole basket for 0"). Both empty: the whole basket.
   ``sku`` set and no line has that SKU: a line is added (quantity 1, no category, price from
   ``add_item_prices``); when no price is known the reward is rejected (``ADD_ITEM_PRICE_UNKNOWN``). An item is added
   once however many discounts name it, and only when its reward applies.
3. **Amounts.** Line-level discounts run before basket-level ones; within a level FIXED, then ABSOLUTE, then
   PERCENTAGE (so each headline holds: "£5 off" is £5), then in candidate order, then in the reward's discount
   order. With R the remaining (not yet discounted) value of the targets:

   * ABSOLUTE: ``min(value, R)``;
   * PERCENTAGE: ``round_half_up(R × value / 100)``;
   * FIXED on lines: one unit of one matching line is re-priced to ``value``: the discount is ``unit price − value``
     when positive, capped at the line's remaining value. The line chosen is the one where this gives most (ties:
     the first line). Each unit is re-priced at most once; a weighed line's fraction of a unit is its last, smaller
     unit (its price is what is left of the line's subtotal);
   * FIXED on the basket: the basket's remaining value becomes ``min(R, value)``.

   Nothing goes below zero.
4. **Allocation.** An amount spread over several lines is shared pro rata by their remaining value with the
   largest-remainder method (:func:`allocate`): integers that sum exactly to the amount, ties to the earlier line.
5. **Stacking.** With ``DiscountStacking.STACK`` the STACKABLE rewards apply together; each EXCLUSIVE reward is priced
   alone and the best of them (largest total discount, ties: the earlier candidate) replaces the whole stack when it
   is strictly larger — then every other reward is rejected ``NOT_COMBINABLE``; otherwise the stack applies and the
   exclusive rewards are rejected ``NOT_COMBINABLE``. With ``BEST_ONLY`` each reward is priced alone and only the
   best applies. A reward that gives nothing where it would apply (no matching line, a FIXED price above the unit
   price, a basket already at 0) is rejected ``NO_APPLICABLE_DISCOUNT`` and priced out again, so an item it would
   have added is not added.
6. **Points last**, on the total left after discounts, allocated to lines like any other amount and reported as an
   applied discount with source ``POINTS``. The rule is *exact value*: the member pays for exactly the value they
   get, never more, never less. One point is worth ``p = points_currency_value × 10^currency_minor_digits`` minor
   units, a fraction ``a/b`` in lowest terms; ``n`` points are worth a whole number of minor units only when ``b``
   divides ``n``. So the points spent are the largest ``n`` with ``n ≤ points_to_spend``, ``n × p ≤`` the remaining
   total and ``n`` a multiple of ``b``; ``points_value = n × p`` exactly. With a point worth 0.01 (one minor unit)
   any number of points can be spent, one per minor unit; with 0.005 (half a minor unit) points go in pairs, and a
   request for 3 spends 2 for 1 minor unit. When the total caps the value, only the points needed are spent.
   Whether the member holds the points is checked elsewhere.

Totals: a line's subtotal is ``round_half_up(quantity × unit_price)``; ``subtotal`` is their sum, ``discount`` the
sum of every applied amount (points included, ``points_value`` tells them apart), ``total = subtotal − discount``;
each line's ``discount`` is the sum of the allocations to it and its ``total`` is never negative. The same request
always gives the same result.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, localcontext
from enum import StrEnum

from loyalty.domain.errors import InvalidInput
from loyalty.domain.rewards import Discount, DiscountType, Stacking
from loyalty.domain.settings import DiscountStacking

__all__ = [
    "AppliedDiscount",
    "BasketLine",
    "Candidate",
    "DiscountStacking",
    "PricedLine",
    "PricingRequest",
    "PricingResult",
    "Rejection",
    "RejectionReason",
    "Source",
    "allocate",
    "line_subtotal",
    "price_basket",
    "round_half_up",
]

# Enough digits for any product of a 2^53 amount and a percentage with six decimals, with room to spare.
_PRECISION = 60


class Source(StrEnum):
    OFFER = "OFFER"
    VOUCHER = "VOUCHER"
    POINTS = "POINTS"


class RejectionReason(StrEnum):
    VOUCHER_NOT_VALID_AT_VENUE = "VOUCHER_NOT_VALID_AT_VENUE"
    MIN_TRANSACTION_AMOUNT_NOT_MET = "MIN_TRANSACTION_AMOUNT_NOT_MET"
    ADD_ITEM_PRICE_UNKNOWN = "ADD_ITEM_PRICE_UNKNOWN"
    NOT_COMBINABLE = "NOT_COMBINABLE"
    NO_APPLICABLE_DISCOUNT = "NO_APPLICABLE_DISCOUNT"


# ---- inputs ----


@dataclass(frozen=True)
class BasketLine:
    sku: str
    category: str | None
    quantity: Decimal  # > 0; decimal for weighed goods
    unit_price: int  # minor units, ≥ 0


@dataclass(frozen=True)
class Candidate:
    """One reward that may apply: an offer of the member's or a voucher presented at the till."""

    reward_id: uuid.UUID
    source: Source  # OFFER or VOUCHER
    benefit_id: str | None
    code: str | None
    stacking: Stacking
    min_transaction_amount: int | None
    venue_ids: tuple[uuid.UUID, ...]
    discounts: tuple[Discount, ...]


@dataclass(frozen=True)
class PricingRequest:
    lines: tuple[BasketLine, ...]
    candidates: tuple[Candidate, ...]
    venue_id: uuid.UUID | None = None
    stacking_mode: DiscountStacking = DiscountStacking.STACK
    points_to_spend: int = 0
    points_currency_value: Decimal = Decimal("0.01")  # major units per point
    currency_minor_digits: int = 2
    add_item_prices: Mapping[str, int] = field(default_factory=dict)  # SKU → unit price, for items a discount adds


# ---- outputs ----


@dataclass(frozen=True)
class PricedLine:
    index: int
    sku: str
    quantity: Decimal
    unit_price: int
    subtotal: int
    discount: int
    total: int


@dataclass(frozen=True)
class AppliedDiscount:
    source: Source
    reward_id: uuid.UUID | None  # None for points
    discount_id: uuid.UUID | None  # None for points
    benefit_id: str | None
    code: str | None
    amount: int
    allocations: tuple[tuple[int, int], ...]  # (line index, amount), by line index, amounts > 0


@dataclass(frozen=True)
class Rejection:
    reward_id: uuid.UUID
    benefit_id: str | None
    code: str | None
    reason: RejectionReason


@dataclass(frozen=True)
class PricingResult:
    lines: tuple[PricedLine, ...]
    applied: tuple[AppliedDiscount, ...]  # in the order they were applied; points last
    rejected: tuple[Rejection, ...]  # in candidate order
    subtotal: int
    discount: int  # every applied amount, points included
    total: int
    points_spent: int
    points_value: int


# ---- arithmetic ----


def round_half_up(value: Decimal) -> int:
    """The nearest integer, halves away from zero (``2.5 → 3``, ``0.5 → 1``)."""
    with localcontext() as context:
        context.prec = _PRECISION
        return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def line_subtotal(quantity: Decimal, unit_price: int) -> int:
    """``quantity × unit_price`` rounded half-up to a minor unit (0.345 kg at 1299 → 448)."""
    with localcontext() as context:
        context.prec = _PRECISION
        return round_half_up(quantity * unit_price)


def allocate(amount: int, weights: Sequence[int]) -> tuple[int, ...]:
    """Share ``amount`` pro rata by ``weights`` with the largest-remainder method.

    Each share is the floor of its exact quota; the units left over go one each to the largest remainders, ties to
    the earlier position. The shares sum exactly to ``amount``, and when ``amount ≤ sum(weights)`` no share exceeds
    its weight (so a line never goes below zero).
    """
    if amount < 0 or any(weight < 0 for weight in weights):
        raise ValueError("amount and weights must not be negative")
    total = sum(weights)
    if amount == 0:
        return tuple(0 for _ in weights)
    if total == 0:
        raise ValueError("cannot allocate an amount over zero weights")
    shares = [amount * weight // total for weight in weights]
    remainders = [amount * weight % total for weight in weights]
    left = amount - sum(shares)
    for position in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:left]:
        shares[position] += 1
    return tuple(shares)


# ---- validation ----


def _invalid(message: str, field_name: str) -> InvalidInput:
    return InvalidInput(message, code="VALIDATION_ERROR", field=field_name)


def _is_whole(value: Decimal) -> bool:
    return value.is_finite() and value == value.to_integral_value()


def _check_request(request: PricingRequest) -> None:
    for number, line in enumerate(request.lines):
        if not isinstance(line.quantity, Decimal) or not line.quantity.is_finite() or line.quantity <= 0:
            raise _invalid(f"Line {number}: quantity must be a decimal greater than 0.", "quantity")
        if isinstance(line.unit_price, bool) or not isinstance(line.unit_price, int) or line.unit_price < 0:
            raise _invalid(f"Line {number}: unitPrice must be a whole number of minor units ≥ 0.", "unitPrice")
    for sku, price in request.add_item_prices.items():
        if isinstance(price, bool) or not isinstance(price, int) or price < 0:
            raise _invalid(f"The price of {sku!r} must be a whole number of minor units ≥ 0.", "addItems")
    if request.points_to_spend < 0:
        raise _invalid("pointsToSpend must not be negative.", "pointsToSpend")
    value = request.points_currency_value
    if not value.is_finite() or value < 0:
        raise _invalid("pointsCurrencyValue must be a decimal ≥ 0.", "pointsCurrencyValue")
    if not 0 <= request.currency_minor_digits <= 6:
        raise _invalid("currencyMinorDigits must be between 0 and 6.", "currencyMinorDigits")
    for candidate in request.candidates:
        if candidate.source not in (Source.OFFER, Source.VOUCHER) or candidate.stacking not in tuple(Stacking):
            raise _invalid("A candidate is an OFFER or a VOUCHER, STACKABLE or EXCLUSIVE.", "source")
        for discount in candidate.discounts:
            _check_discount(discount)


def _check_discount(discount: Discount) -> None:
    value = discount.value
    if discount.type not in _TYPE_ORDER:
        ok = False
    elif discount.type == DiscountType.PERCENTAGE:
        ok = value.is_finite() and 0 < value <= 100
    elif discount.type == DiscountType.ABSOLUTE:
        ok = _is_whole(value) and value > 0
    else:
        ok = _is_whole(value) and value >= 0
    if not ok:
        raise InvalidInput(
            f"Discount {discount.discount_id}: {value} is not a valid {discount.type} value.",
            code="INVALID_DISCOUNT",
            field="value",
        )


# ---- one pricing pass over a chosen set of candidates ----


_TYPE_ORDER = {DiscountType.FIXED: 0, DiscountType.ABSOLUTE: 1, DiscountType.PERCENTAGE: 2}


def _tokens(product_sku: str | None) -> frozenset[str]:
    if not product_sku:
        return frozenset()
    return frozenset(token.strip() for token in product_sku.split(",") if token.strip())


def _add_sku(discount: Discount) -> str | None:
    return discount.sku.strip() if discount.sku and discount.sku.strip() else None


@dataclass
class _Line:
    sku: str
    category: str | None
    quantity: Decimal
    unit_price: int
    subtotal: int
    remaining: int
    fixed_units: int = 0

    def next_unit_price(self) -> int:
        """The price of the next unit not yet re-priced by a FIXED discount (0 when none is left)."""
        return max(0, min(self.unit_price, self.subtotal - self.fixed_units * self.unit_price))


@dataclass(frozen=True)
class _Prepared:
    position: int  # index in the request's candidates
    candidate: Candidate
    discounts: tuple[Discount, ...]  # those usable at this venue


@dataclass(frozen=True)
class _Pass:
    lines: tuple[_Line, ...]
    applied: tuple[AppliedDiscount, ...]
    amounts: Mapping[int, int]  # candidate position → total discount

    @property
    def discount(self) -> int:
        return sum(self.amounts.values())


def _run(base: Sequence[BasketLine], chosen: Sequence[_Prepared], add_item_prices: Mapping[str, int]) -> _Pass:
    lines: list[_Line] = []
    for line in base:
        subtotal = line_subtotal(line.quantity, line.unit_price)
        lines.append(_Line(line.sku, line.category, line.quantity, line.unit_price, subtotal, subtotal))
    for prepared in chosen:
        for discount in prepared.discounts:
            sku = _add_sku(discount)
            if sku is not None and all(line.sku != sku for line in lines):
                price = add_item_prices[sku]
                lines.append(_Line(sku, None, Decimal(1), price, price, price))

    plan: list[tuple[tuple[int, int, int, int], _Prepared, Discount, list[int] | None]] = []
    for prepared in chosen:
        for order, discount in enumerate(prepared.discounts):
            tokens = _tokens(discount.product_sku)
            sku = _add_sku(discount)
            targets: list[int] | None
            if tokens:
                targets = [i for i, line in enumerate(lines) if line.sku in tokens or line.category in tokens]
            elif sku is not None:
                targets = [i for i, line in enumerate(lines) if line.sku == sku]
            else:
                targets = None  # the whole basket
            level = 1 if targets is None else 0
            plan.append(((level, _TYPE_ORDER[discount.type], prepared.position, order), prepared, discount, targets))
    plan.sort(key=lambda step: step[0])

    applied: list[AppliedDiscount] = []
    amounts = {prepared.position: 0 for prepared in chosen}
    for _, prepared, discount, targets in plan:
        allocations = _discount(lines, discount, targets)
        amount = sum(share for _, share in allocations)
        if amount == 0:
            continue
        for index, share in allocations:
            lines[index].remaining -= share
        amounts[prepared.position] += amount
        candidate = prepared.candidate
        applied.append(
            AppliedDiscount(
                source=Source(candidate.source),
                reward_id=candidate.reward_id,
                discount_id=discount.discount_id,
                benefit_id=candidate.benefit_id,
                code=candidate.code,
                amount=amount,
                allocations=allocations,
            )
        )
    return _Pass(tuple(lines), tuple(applied), amounts)


def _discount(lines: list[_Line], discount: Discount, targets: list[int] | None) -> tuple[tuple[int, int], ...]:
    """The allocations of one discount over the lines as they are now (and, for FIXED, the unit it re-prices)."""
    value = discount.value
    if discount.type == DiscountType.FIXED and targets is not None:
        best: tuple[int, int] | None = None
        for index in targets:
            line = lines[index]
            gain = min(max(0, line.next_unit_price() - int(value)), line.remaining)
            if gain > 0 and (best is None or gain > best[1]):
                best = (index, gain)
        if best is None:
            return ()
        lines[best[0]].fixed_units += 1
        return (best,)

    indexes = list(range(len(lines))) if targets is None else targets
    remaining = sum(lines[index].remaining for index in indexes)
    if remaining == 0:
        return ()
    if discount.type == DiscountType.ABSOLUTE:
        amount = min(int(value), remaining)
    elif discount.type == DiscountType.PERCENTAGE:
        with localcontext() as context:
            context.prec = _PRECISION
            amount = min(round_half_up(remaining * value / 100), remaining)
    else:  # FIXED on the whole basket: what is left becomes at most `value`
        amount = max(0, remaining - int(value))
    shares = allocate(amount, [lines[index].remaining for index in indexes])
    return tuple(sorted((index, share) for index, share in zip(indexes, shares, strict=True) if share > 0))


def _settle(
    base: Sequence[BasketLine], chosen: Sequence[_Prepared], add_item_prices: Mapping[str, int]
) -> tuple[_Pass, list[_Prepared]]:
    """Price ``chosen``; drop the candidates that give nothing and price again until every one left gives something."""
    current = list(chosen)
    idle: list[_Prepared] = []
    while True:
        priced = _run(base, current, add_item_prices)
        nothing = [prepared for prepared in current if priced.amounts[prepared.position] == 0]
        if not nothing:
            return priced, idle
        idle.extend(nothing)
        current = [prepared for prepared in current if priced.amounts[prepared.position] > 0]


# ---- points ----


def _points(request: PricingRequest, remaining: int) -> tuple[int, int]:
    """(points spent, their value in minor units) under the exact-value rule of the module docstring."""
    per_point = request.points_currency_value.scaleb(request.currency_minor_digits)
    numerator, denominator = per_point.as_integer_ratio()
    if request.points_to_spend == 0 or numerator == 0 or remaining <= 0:
        return 0, 0
    most = min(request.points_to_spend, remaining * denominator // numerator)
    spent = most - most % denominator
    return spent, spent * numerator // denominator


# ---- the calculator ----


def price_basket(request: PricingRequest) -> PricingResult:
    """Price a basket: apply the rewards that may (rules 1–5), then the points (rule 6). See the module docstring."""
    _check_request(request)
    base = request.lines
    pre_discount_total = sum(line_subtotal(line.quantity, line.unit_price) for line in base)
    basket_skus = {line.sku for line in base}

    rejected: dict[int, RejectionReason] = {}
    eligible: list[_Prepared] = []
    venue = request.venue_id
    for position, candidate in enumerate(request.candidates):
        usable = tuple(
            discount
            for discount in candidate.discounts
            if venue is None or not discount.venue_ids or venue in discount.venue_ids
        )
        if venue is not None and (
            (candidate.venue_ids and venue not in candidate.venue_ids) or (candidate.discounts and not usable)
        ):
            rejected[position] = RejectionReason.VOUCHER_NOT_VALID_AT_VENUE
        elif candidate.min_transaction_amount is not None and candidate.min_transaction_amount > pre_discount_total:
            rejected[position] = RejectionReason.MIN_TRANSACTION_AMOUNT_NOT_MET
        elif any(
            (sku := _add_sku(discount)) is not None and sku not in basket_skus and sku not in request.add_item_prices
            for discount in usable
        ):
            rejected[position] = RejectionReason.ADD_ITEM_PRICE_UNKNOWN
        else:
            eligible.append(_Prepared(position, candidate, usable))

    def alone(prepared: _Prepared) -> _Pass:
        return _run(base, [prepared], request.add_item_prices)

    def best_of(pool: Sequence[_Prepared]) -> tuple[_Prepared, _Pass] | None:
        best: tuple[_Prepared, _Pass] | None = None
        for prepared in pool:
            priced = alone(prepared)
            if priced.discount == 0:
                rejected[prepared.position] = RejectionReason.NO_APPLICABLE_DISCOUNT
            elif best is None or priced.discount > best[1].discount:
                best = (prepared, priced)
        return best

    def not_combinable(pool: Sequence[_Prepared], winner: _Prepared | None) -> None:
        for prepared in pool:
            if prepared is not winner and prepared.position not in rejected:
                rejected[prepared.position] = RejectionReason.NOT_COMBINABLE

    if request.stacking_mode == DiscountStacking.BEST_ONLY:
        best = best_of(eligible)
        outcome = best[1] if best is not None else _run(base, [], request.add_item_prices)
        not_combinable(eligible, best[0] if best is not None else None)
    else:
        stackable = [prepared for prepared in eligible if prepared.candidate.stacking != Stacking.EXCLUSIVE]
        exclusive = [prepared for prepared in eligible if prepared.candidate.stacking == Stacking.EXCLUSIVE]
        stack, idle = _settle(base, stackable, request.add_item_prices)
        for prepared in idle:
            rejected[prepared.position] = RejectionReason.NO_APPLICABLE_DISCOUNT
        best = best_of(exclusive)
        if best is not None and best[1].discount > stack.discount:
            outcome = best[1]
            not_combinable(eligible, best[0])
        else:
            outcome = stack
            not_combinable(exclusive, None)

    lines = [
        _Line(line.sku, line.category, line.quantity, line.unit_price, line.subtotal, line.remaining)
        for line in outcome.lines
    ]
    applied = list(outcome.applied)
    remaining = sum(line.remaining for line in lines)
    points_spent, points_value = _points(request, remaining)
    if points_value > 0:
        shares = allocate(points_value, [line.remaining for line in lines])
        allocations = tuple((index, share) for index, share in enumerate(shares) if share > 0)
        for index, share in allocations:
            lines[index].remaining -= share
        applied.append(AppliedDiscount(Source.POINTS, None, None, None, None, points_value, allocations))

    priced = tuple(
        PricedLine(
            index=index,
            sku=line.sku,
            quantity=line.quantity,
            unit_price=line.unit_price,
            subtotal=line.subtotal,
            discount=line.subtotal - line.remaining,
            total=line.remaining,
        )
        for index, line in enumerate(lines)
    )
    subtotal = sum(line.subtotal for line in priced)
    discount = sum(entry.amount for entry in applied)
    candidates = request.candidates
    return PricingResult(
        lines=priced,
        applied=tuple(applied),
        rejected=tuple(
            Rejection(candidates[i].reward_id, candidates[i].benefit_id, candidates[i].code, reason)
            for i, reason in sorted(rejected.items())
        ),
        subtotal=subtotal,
        discount=discount,
        total=subtotal - discount,
        points_spent=points_spent,
        points_value=points_value,
    )

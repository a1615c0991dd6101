"""Orders and refunds: the arithmetic a receipt must satisfy, what a refund is worth, and how much of an order's
points a refund takes back.

Pure rules (no I/O, no clock). Money is integers in minor units; quantities may carry up to three decimals
(weighed goods) and are held as integer thousandths, so every sum here is exact.

**Order arithmetic** (checked exactly, all at once, so one answer lists every mismatch):

- per line: ``round_half_up(quantity × unitPrice) − discount = total``, and a discount never exceeds the line's
  value;
- ``totals.subtotal = Σ round_half_up(quantity × unitPrice)``;
- ``totals.discount = Σ line discounts`` — a basket-level discount is allocated to the lines before the order is
  reported (as basket pricing does), so the lines always add up to what was paid;
- ``totals.total = totals.subtotal − totals.discount``;
- ``appliedDiscounts`` say where the discounts came from; their amounts may not add up to more than
  ``totals.discount``. ``tax`` and ``payments`` are informational.

**Refund value**: a refund names quantities of the order's own lines; each part is worth the line's total times
the refunded share of its quantity, allocated cumulatively — ``floor(total × refunded_after / quantity) −
floor(total × refunded_before / quantity)`` — so refunding a line in parts never exceeds its total, and the part
that finishes the line takes the remainder.

**Points**: the same cumulative allocation over the whole order. After a refund, the points reversed so far are
``floor(earned × refunded_value_so_far / order_total)`` (all of them once the order is fully refunded), and each
refund reverses the difference from what earlier refunds reversed. Points spent on the order (a checkout) come
back the same way.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from loyalty.domain.errors import Conflict, InvalidInput, NotFound, Refused

# Quantities carry at most three decimals and are stored as integer thousandths.
QUANTITY_DECIMALS = 3
QUANTITY_SCALE = 1000  # 10 ** QUANTITY_DECIMALS
# Money amounts stay below 2**53 so every JSON reader holds them exactly (as reward values do).
MAX_MINOR_UNITS = 2**53 - 1

# ISO 4217 currencies whose minor unit is not a hundredth; every other code has two decimals.
_ZERO_DECIMALS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_MINOR_UNIT_EXPONENTS = {
    **dict.fromkeys(_ZERO_DECIMALS.split(), 0),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
}


class OrderStatus(StrEnum):
    PLACED = "PLACED"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"


class Channel(StrEnum):
    IN_STORE = "IN_STORE"
    ONLINE = "ONLINE"


class MemberField(StrEnum):
    """Which member identifier an order's ``submitter`` names."""

    ID = "id"
    ACCOUNT_NUMBER = "accountNumber"
    AUTH_IDENTIFIER = "authIdentifier"
    EXTERNAL_IDENTIFIER = "externalIdentifier"


class VenueField(StrEnum):
    ID = "id"
    EXTERNAL_IDENTIFIER = "externalIdentifier"


# ---- errors (stable codes) ----


class OrderNotFound(NotFound):
    code = "ORDER_NOT_FOUND"

    def __init__(self, identifier: str) -> None:
        super().__init__("No order has this id or externalId.", identifier=identifier)


class OrderConflict(Conflict):
    code = "ORDER_CONFLICT"

    def __init__(self, external_id: str, order_id: str) -> None:
        super().__init__(
            "An order with this externalId was already placed with a different body.",
            externalId=external_id,
            orderId=order_id,
        )


class RefundConflict(Conflict):
    code = "REFUND_CONFLICT"

    def __init__(self, external_id: str, refund_id: str) -> None:
        super().__init__(
            "A refund with this externalId was already recorded for this order with a different body.",
            externalId=external_id,
            refundId=refund_id,
        )


class CurrencyMismatch(InvalidInput):
    code = "CURRENCY_MISMATCH"

    def __init__(self, given: str, expected: str) -> None:
        super().__init__(
            f"Orders are in the program's base currency {expected}, not {given}.",
            field="currency",
            expected=expected,
            errors=[{"field": "currency", "message": f"must be {expected}, the base currency"}],
        )


class RefundExceedsOrder(Refused):
    code = "REFUND_EXCEEDS_ORDER"


@dataclass(frozen=True)
class Mismatch:
    field: str
    expected: int
    given: int
    message: str


class OrderTotalsMismatch(InvalidInput):
    code = "ORDER_TOTALS_MISMATCH"

    def __init__(self, mismatches: Sequence[Mismatch]) -> None:
        first = mismatches[0]
        super().__init__(
            f"The order does not add up: {first.field} {first.message}.",
            field=first.field,
            expected=first.expected,
            given=first.given,
            errors=[
                {"field": m.field, "message": m.message, "expected": m.expected, "given": m.given} for m in mismatches
            ],
        )


# ---- the order as reported ----


@dataclass(frozen=True)
class MemberReference:
    field: MemberField
    value: str


@dataclass(frozen=True)
class VenueReference:
    field: VenueField
    value: str


@dataclass(frozen=True)
class OrderLine:
    sku: str
    quantity: Decimal
    unit_price: int
    total: int
    discount: int = 0
    name: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class OrderTotals:
    subtotal: int
    total: int
    discount: int = 0
    tax: int = 0


@dataclass(frozen=True)
class Allocation:
    line_index: int
    amount: int


@dataclass(frozen=True)
class AppliedDiscount:
    source: str
    amount: int
    reward_id: str | None = None
    benefit_id: str | None = None
    code: str | None = None
    discount_id: str | None = None
    points: int | None = None
    allocations: tuple[Allocation, ...] = ()

    def document(self) -> dict[str, Any]:
        """The wire form (camelCase), without the fields that were not given."""
        document: dict[str, Any] = {"source": self.source, "amount": self.amount}
        for key, value in (
            ("rewardId", self.reward_id),
            ("benefitId", self.benefit_id),
            ("code", self.code),
            ("discountId", self.discount_id),
            ("points", self.points),
        ):
            if value is not None:
                document[key] = value
        if self.allocations:
            document["allocations"] = [{"lineIndex": a.line_index, "amount": a.amount} for a in self.allocations]
        return document


@dataclass(frozen=True)
class Payment:
    type: str
    amount: int

    def document(self) -> dict[str, Any]:
        return {"type": self.type, "amount": self.amount}


@dataclass(frozen=True)
class OrderDraft:
    """Everything an order is placed with: the body of ``POST /v1/orders``, plus what a checkout adds (points
    spent on the order and what they were worth, the vouchers it burned)."""

    external_id: str
    currency: str
    lines: tuple[OrderLine, ...]
    totals: OrderTotals
    submitter: MemberReference | None = None
    venue: VenueReference | None = None
    channel: Channel = Channel.IN_STORE
    occurred_at: datetime | None = None
    applied_discounts: tuple[AppliedDiscount, ...] = ()
    payments: tuple[Payment, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    points_spent: int = 0
    points_spent_value: int = 0
    burned_benefit_ids: tuple[str, ...] = ()
    checkout: bool = False


# ---- arithmetic ----


def round_half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def line_value(quantity: Decimal, unit_price: int) -> int:
    """What a line is worth before its discount: ``round_half_up(quantity × unitPrice)``."""
    return round_half_up(quantity * unit_price)


def quantity_units(quantity: Decimal, field: str = "quantity") -> int:
    """A quantity as integer thousandths; refuses zero, negatives and more than three decimals."""
    scaled = quantity * QUANTITY_SCALE
    if not quantity.is_finite() or quantity <= 0 or scaled != scaled.to_integral_value():
        raise InvalidInput(
            f"A quantity is a number greater than 0 with at most {QUANTITY_DECIMALS} decimals.",
            code="VALIDATION_ERROR",
            field=field,
            errors=[{"field": field, "message": "greater than 0, at most 3 decimals"}],
        )
    return int(scaled)


def units_quantity(units: int) -> Decimal:
    """Integer thousandths back to the quantity they stand for."""
    return Decimal(units) / QUANTITY_SCALE


def json_number(value: Decimal) -> int | float:
    """A decimal as a JSON number: an integer when it is whole, else the float with the same shortest text."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def minor_unit_exponent(currency: str) -> int:
    """Decimals of the currency's minor unit (ISO 4217): 2 for GBP, 0 for JPY, 3 for KWD."""
    return _MINOR_UNIT_EXPONENTS.get(currency, 2)


def major_units(amount: int, currency: str) -> Decimal:
    """Minor units in major units, exactly: 1250 GBP → 12.5."""
    return Decimal(amount).scaleb(-minor_unit_exponent(currency))


def check_order(draft: OrderDraft) -> None:
    """Refuse an order whose lines and totals do not add up (400 ``ORDER_TOTALS_MISMATCH``, every mismatch
    listed with the value expected)."""
    mismatches: list[Mismatch] = []
    subtotal = 0
    discount = 0
    for index, line in enumerate(draft.lines):
        quantity_units(line.quantity, f"lineItems[{index}].quantity")
        value = line_value(line.quantity, line.unit_price)
        subtotal += value
        discount += line.discount
        if line.discount > value:
            mismatches.append(
                Mismatch(
                    f"lineItems[{index}].discount",
                    value,
                    line.discount,
                    f"may be at most the line's value round_half_up(quantity × unitPrice) = {value}",
                )
            )
        elif line.total != value - line.discount:
            mismatches.append(
                Mismatch(
                    f"lineItems[{index}].total",
                    value - line.discount,
                    line.total,
                    f"should be round_half_up(quantity × unitPrice) − discount = {value - line.discount}",
                )
            )
    totals = draft.totals
    if totals.subtotal != subtotal:
        mismatches.append(
            Mismatch("totals.subtotal", subtotal, totals.subtotal, f"should be Σ quantity × unitPrice = {subtotal}")
        )
    if totals.discount != discount:
        mismatches.append(
            Mismatch("totals.discount", discount, totals.discount, f"should be Σ line discounts = {discount}")
        )
    if totals.total != subtotal - discount:
        mismatches.append(
            Mismatch(
                "totals.total",
                subtotal - discount,
                totals.total,
                f"should be subtotal − discount = {subtotal - discount}",
            )
        )
    applied = sum(d.amount for d in draft.applied_discounts)
    if applied > totals.discount:
        mismatches.append(
            Mismatch(
                "appliedDiscounts",
                totals.discount,
                applied,
                f"add up to {applied}, more than totals.discount = {totals.discount}",
            )
        )
    for d_index, applied_discount in enumerate(draft.applied_discounts):
        for a_index, allocation in enumerate(applied_discount.allocations):
            if allocation.line_index >= len(draft.lines):
                raise InvalidInput(
                    f"appliedDiscounts[{d_index}].allocations[{a_index}].lineIndex names no line of the order.",
                    code="VALIDATION_ERROR",
                    field=f"appliedDiscounts[{d_index}].allocations[{a_index}].lineIndex",
                )
    if draft.points_spent < 0 or draft.points_spent_value < 0:
        raise InvalidInput("Points spent cannot be negative.", code="VALIDATION_ERROR", field="pointsSpent")
    if mismatches:
        raise OrderTotalsMismatch(mismatches)


def _normal(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, Mapping):
        return {str(k): _normal(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normal(v) for v in value]
    return value


def order_fingerprint(draft: OrderDraft) -> str:
    """SHA-256 of the order as reported, normalised: key order, spacing and number spelling (2 or 2.000) do not
    change it; any value does. An omitted ``occurredAt`` counts as omitted, not as the moment it was received."""
    document = {
        "externalId": draft.external_id,
        "submitter": [draft.submitter.field.value, draft.submitter.value] if draft.submitter else None,
        "venue": [draft.venue.field.value, draft.venue.value] if draft.venue else None,
        "channel": draft.channel.value,
        "occurredAt": draft.occurred_at,
        "currency": draft.currency,
        "lineItems": [
            [line.sku, line.name, line.category, line.quantity, line.unit_price, line.discount, line.total]
            for line in draft.lines
        ],
        "totals": [draft.totals.subtotal, draft.totals.discount, draft.totals.tax, draft.totals.total],
        "appliedDiscounts": [d.document() for d in draft.applied_discounts],
        "payments": [p.document() for p in draft.payments],
        "metadata": draft.metadata,
        "checkout": [draft.checkout, draft.points_spent, draft.points_spent_value, list(draft.burned_benefit_ids)],
    }
    text = json.dumps(_normal(document), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


# ---- refunds ----


@dataclass(frozen=True)
class RefundableLine:
    """An order line as a refund sees it: quantities in thousandths, money in minor units."""

    index: int
    sku: str
    quantity: int
    refunded: int
    total: int
    value: int  # before discount: round_half_up(quantity × unitPrice)

    @property
    def remaining(self) -> int:
        return self.quantity - self.refunded


@dataclass(frozen=True)
class RefundRequestLine:
    sku: str
    quantity: int  # thousandths


@dataclass(frozen=True)
class RefundPart:
    """What one refund takes from one order line."""

    index: int
    sku: str
    quantity: int  # thousandths
    value: int  # of the line's total (what was paid)
    gross: int  # of the line's value before discount


def cumulative_share(amount: int, done: int, whole: int) -> int:
    """``floor(amount × done / whole)``: the part of ``amount`` that ``done`` out of ``whole`` has used so far.
    Summing differences of it never exceeds ``amount``, and ``done == whole`` gives all of it."""
    if whole <= 0:
        return 0
    return amount * done // whole


def part_of(amount: int, whole: int, before: int, after: int) -> int:
    """The part of ``amount`` that moving from ``before`` to ``after`` out of ``whole`` is worth."""
    return cumulative_share(amount, after, whole) - cumulative_share(amount, before, whole)


def _part(line: RefundableLine, quantity: int) -> RefundPart:
    after = line.refunded + quantity
    return RefundPart(
        index=line.index,
        sku=line.sku,
        quantity=quantity,
        value=part_of(line.total, line.quantity, line.refunded, after),
        gross=part_of(line.value, line.quantity, line.refunded, after),
    )


def allocate_refund(
    lines: Sequence[RefundableLine], requested: Sequence[RefundRequestLine] | None
) -> tuple[RefundPart, ...]:
    """Which quantities of which order lines a refund takes, and what each part is worth.

    ``requested`` None refunds everything that remains. A SKU that appears on several lines is taken from them in
    the order's line order; a SKU named twice in the request counts once with the quantities added.
    """
    if requested is None:
        everything = tuple(_part(line, line.remaining) for line in lines if line.remaining > 0)
        if not everything:
            raise RefundExceedsOrder("Nothing of this order is left to refund.", remaining=0)
        return everything
    wanted: dict[str, int] = {}
    first_position: dict[str, int] = {}
    for position, item in enumerate(requested):
        wanted[item.sku] = wanted.get(item.sku, 0) + item.quantity
        first_position.setdefault(item.sku, position)
    parts: list[RefundPart] = []
    for sku, quantity in wanted.items():
        position = first_position[sku]
        candidates = [line for line in lines if line.sku == sku]
        if not candidates:
            raise InvalidInput(
                f"The order has no line with SKU {sku!r}.",
                code="SKU_NOT_IN_ORDER",
                field=f"lineItems[{position}].sku",
                errors=[{"field": f"lineItems[{position}].sku", "message": "no line of the order has this SKU"}],
            )
        remaining = sum(line.remaining for line in candidates)
        if quantity > remaining:
            raise RefundExceedsOrder(
                f"Only {json_number(units_quantity(remaining))} of {sku!r} remain to be refunded.",
                field=f"lineItems[{position}].quantity",
                sku=sku,
                remaining=json_number(units_quantity(remaining)),
                requested=json_number(units_quantity(quantity)),
            )
        for line in candidates:
            take = min(quantity, line.remaining)
            if take > 0:
                parts.append(_part(line, take))
                quantity -= take
    return tuple(sorted(parts, key=lambda p: p.index))


@dataclass(frozen=True)
class RefundPoints:
    reversed: int  # earned points this refund takes back
    returned: int  # spent points this refund gives back


def refund_points(
    *,
    total: int,
    subtotal: int,
    earned: int,
    already_reversed: int,
    refunded_value: int,
    spent: int,
    already_returned: int,
    refunded_gross: int,
    fully_refunded: bool,
) -> RefundPoints:
    """The points one refund moves, from the order's running totals after it.

    Earned points are reversed in proportion to the value refunded so far (``refunded_value`` of ``total``); an
    order with no total reverses nothing. Spent points come back in the same proportion — or, when the order's
    total is 0 (paid entirely with points), in proportion to the value before discounts. A full refund settles
    exactly: everything earned is reversed and everything spent is given back.
    """
    reversed_target = 0
    if total > 0:
        reversed_target = earned if fully_refunded else cumulative_share(earned, refunded_value, total)
    if fully_refunded:
        returned_target = spent
    elif total > 0:
        returned_target = cumulative_share(spent, refunded_value, total)
    else:
        returned_target = cumulative_share(spent, refunded_gross, subtotal)
    return RefundPoints(
        reversed=max(0, reversed_target - already_reversed), returned=max(0, returned_target - already_returned)
    )


def refund_fingerprint(requested: Sequence[RefundRequestLine] | None, reason: str | None) -> str:
    """SHA-256 of a refund request: the same lines (in the same order) and reason give the same value."""
    document = {
        "lineItems": None if requested is None else [[r.sku, r.quantity] for r in requested],
        "reason": reason,
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

"""Rules a reward or discount definition must follow to be saved. Checked at save time, so a bad definition is
a 400 when it is written, never a surprise at the till."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from loyalty.domain.errors import InvalidInput
from loyalty.domain.reactors import parse_moment
from loyalty.domain.rewards import CodeType, DiscountType

OTP_PLACEHOLDER = "{code}"
OTP_FORMAT_MAX_LENGTH = 64  # leaves room for the generated part within a code's 256 characters
STATIC_CODE_MAX_LENGTH = 256
# Money amounts stay below 2**53 so every JSON reader (JavaScript included) holds them exactly.
MAX_MINOR_UNITS = 2**53 - 1
# A percentage has at most this many decimal places: enough for any real promotion, and few enough that a JSON
# number carries it exactly.
PERCENT_DECIMAL_PLACES = 6


def parse_availability(document: dict[str, Any] | None, now: datetime) -> tuple[datetime, datetime | None]:
    """``{start, end}`` with dates or date-times; no availability means from now on, open-ended."""
    if document is None:
        return now, None
    start = parse_moment(document["start"], field="availability.start") if document.get("start") is not None else now
    end = parse_moment(document["end"], field="availability.end") if document.get("end") is not None else None
    if end is not None and end <= start:
        raise InvalidInput(
            "availability.end must be after availability.start.", code="INVALID_AVAILABILITY", field="availability.end"
        )
    return start, end


def _invalid_code(message: str, field: str = "code") -> InvalidInput:
    return InvalidInput(message, code="INVALID_CODE", field=field)


def check_code(
    code_type: CodeType, code: dict[str, Any] | None, code_pool_id: uuid.UUID | None
) -> dict[str, Any] | None:
    """The stored ``code`` document for a code type: STATIC needs ``{"value"}``; OTP may have ``{"format"}`` with
    ``{code}`` exactly once; POOL needs a pool; HUMAN has nothing."""
    if code_type is CodeType.POOL:
        if code_pool_id is None:
            raise _invalid_code("A POOL reward names its pool in codePool.", "codePool")
    elif code_pool_id is not None:
        raise _invalid_code("codePool is only for codeType POOL.", "codePool")

    if code_type is CodeType.STATIC:
        if not isinstance(code, dict) or set(code) != {"value"}:
            raise _invalid_code('A STATIC reward needs code {"value": "<the code>"}.')
        value = code["value"]
        if not isinstance(value, str) or not value.strip() or len(value.strip()) > STATIC_CODE_MAX_LENGTH:
            raise _invalid_code(f"code.value is 1–{STATIC_CODE_MAX_LENGTH} characters.", "code.value")
        if value != value.strip():
            raise _invalid_code("code.value may not start or end with spaces.", "code.value")
        return {"value": value}
    if code_type is CodeType.OTP:
        if code is None or code == {}:
            return None
        if not isinstance(code, dict) or set(code) != {"format"}:
            raise _invalid_code('An OTP reward may have code {"format": "PREFIX-{code}"} and nothing else.')
        template = code["format"]
        if not isinstance(template, str) or len(template) > OTP_FORMAT_MAX_LENGTH:
            raise _invalid_code(f"code.format is a text of at most {OTP_FORMAT_MAX_LENGTH} characters.", "code.format")
        if template.count(OTP_PLACEHOLDER) != 1:
            raise _invalid_code("code.format must contain {code} exactly once.", "code.format")
        rest = template.replace(OTP_PLACEHOLDER, "")
        if "{" in rest or "}" in rest or any(c.isspace() for c in rest):
            raise _invalid_code("code.format may hold no other braces and no spaces.", "code.format")
        return {"format": template}
    if code is not None and code != {}:
        raise _invalid_code(f"A {code_type.value} reward has no code configuration.")
    return None


def check_transaction_amounts(minimum: int | None, maximum: int | None) -> None:
    if minimum is not None and maximum is not None and maximum < minimum:
        raise InvalidInput(
            "maxTransactionAmount must be at least minTransactionAmount.",
            code="INVALID_TRANSACTION_AMOUNT",
            field="maxTransactionAmount",
        )


def _invalid_discount(message: str, field: str = "value") -> InvalidInput:
    return InvalidInput(message, code="INVALID_DISCOUNT", field=field)


def _as_decimal(raw: Any) -> Decimal:
    if isinstance(raw, bool):
        raise _invalid_discount("value is a number.")
    try:
        # A float becomes the decimal it was written as (its shortest repr), not its binary expansion.
        number = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(str(raw).strip())
    except InvalidOperation as error:
        raise _invalid_discount("value is a number.") from error
    if not number.is_finite():
        raise _invalid_discount("value is a finite number.")
    return number


def parse_discount_value(discount_type: DiscountType, raw: Any) -> Decimal:
    """The exact value of a discount: whole minor units for ABSOLUTE (> 0) and FIXED (≥ 0), a percentage
    0 < v ≤ 100 with decimals allowed for PERCENTAGE."""
    number = _as_decimal(raw)
    if discount_type is DiscountType.PERCENTAGE:
        if not Decimal(0) < number <= Decimal(100):
            raise _invalid_discount("A PERCENTAGE value is more than 0 and at most 100.")
        if number != number.quantize(Decimal(1).scaleb(-PERCENT_DECIMAL_PLACES)):
            raise _invalid_discount(f"A PERCENTAGE value has at most {PERCENT_DECIMAL_PLACES} decimal places.")
        return number.normalize() if number != number.to_integral_value() else number.quantize(Decimal(1))
    if number != number.to_integral_value():
        raise _invalid_discount(f"An {discount_type.value} value is a whole number of minor units.")
    if discount_type is DiscountType.ABSOLUTE and number <= 0:
        raise _invalid_discount("An ABSOLUTE value is more than 0 minor units.")
    if number < 0:
        raise _invalid_discount("A FIXED value (the new price) is 0 or more minor units.")
    if number > MAX_MINOR_UNITS:
        raise _invalid_discount(f"The value is at most {MAX_MINOR_UNITS} minor units.")
    return number.quantize(Decimal(1))


def discount_value_text(value: Decimal) -> str:
    """How a discount value is stored: plain decimal text, never an exponent."""
    return format(value, "f")


def normalize_skus(text: str | None, *, field: str) -> str | None:
    """A comma-separated SKU list with the spaces around items removed; empty means none (null)."""
    if text is None or not text.strip():
        return None
    items = [item.strip() for item in text.split(",")]
    if any(not item for item in items):
        raise _invalid_discount(f"{field} is a comma-separated list of SKUs without empty items.", field)
    return ",".join(items)

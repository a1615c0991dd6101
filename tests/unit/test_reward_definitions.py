"""Rules a reward or discount definition must follow to be saved."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from loyalty.domain.errors import InvalidInput
from loyalty.domain.reward_definitions import (
    MAX_MINOR_UNITS,
    check_code,
    check_transaction_amounts,
    discount_value_text,
    normalize_skus,
    parse_availability,
    parse_discount_value,
)
from loyalty.domain.rewards import CodeType, DiscountType

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)


def refused(code: str, call: Any, *args: Any, **kwargs: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code
    return caught.value


# ---- availability ----


def test_no_availability_means_from_now_on():
    assert parse_availability(None, NOW) == (NOW, None)


def test_availability_takes_dates_and_date_times_with_offsets():
    start, end = parse_availability({"start": "2025-07-01", "end": "2025-07-31T23:00:00-01:00"}, NOW)
    assert start == datetime(2025, 7, 1, tzinfo=UTC)
    assert end == datetime(2025, 8, 1, tzinfo=UTC)


@pytest.mark.parametrize("end", ["2025-07-01", "2025-06-30T23:59:59Z"])
def test_availability_ends_after_it_starts(end: str):
    refused("INVALID_AVAILABILITY", parse_availability, {"start": "2025-07-01", "end": end}, NOW)


def test_an_unreadable_date_is_refused_with_its_field():
    assert refused("INVALID_DATE", parse_availability, {"start": "soon"}, NOW).details["field"] == "availability.start"


# ---- codes ----


def test_a_static_code_needs_its_value():
    assert check_code(CodeType.STATIC, {"value": "SUMMER5"}, None) == {"value": "SUMMER5"}
    for code in (None, {}, {"value": ""}, {"value": " SUMMER5"}, {"value": 5}, {"value": "X" * 257}):
        refused("INVALID_CODE", check_code, CodeType.STATIC, code, None)


def test_an_otp_format_holds_the_placeholder_exactly_once():
    assert check_code(CodeType.OTP, None, None) is None
    assert check_code(CodeType.OTP, {"format": "PROMO-{code}"}, None) == {"format": "PROMO-{code}"}
    assert check_code(CodeType.OTP, {"format": "{code}"}, None) == {"format": "{code}"}
    for template in ("PROMO", "{code}{code}", "{code}-{x}", "A {code}", "{CODE}", "X" * 60 + "{code}"):
        refused("INVALID_CODE", check_code, CodeType.OTP, {"format": template}, None)


def test_a_pool_reward_needs_a_pool_and_only_it_may_have_one():
    pool = uuid.uuid4()
    assert check_code(CodeType.POOL, None, pool) is None
    refused("INVALID_CODE", check_code, CodeType.POOL, None, None)
    refused("INVALID_CODE", check_code, CodeType.POOL, {"value": "X"}, pool)
    refused("INVALID_CODE", check_code, CodeType.HUMAN, None, pool)
    refused("INVALID_CODE", check_code, CodeType.HUMAN, {"format": "{code}"}, None)


def test_the_transaction_amounts_are_ordered():
    check_transaction_amounts(None, 5)
    check_transaction_amounts(5, 5)
    refused("INVALID_TRANSACTION_AMOUNT", check_transaction_amounts, 6, 5)


# ---- discounts ----


@pytest.mark.parametrize(
    ("kind", "raw", "value", "text"),
    [
        (DiscountType.ABSOLUTE, 500, Decimal(500), "500"),
        (DiscountType.ABSOLUTE, 500.0, Decimal(500), "500"),
        (DiscountType.ABSOLUTE, "500", Decimal(500), "500"),
        (DiscountType.ABSOLUTE, MAX_MINOR_UNITS, Decimal(MAX_MINOR_UNITS), str(MAX_MINOR_UNITS)),
        (DiscountType.FIXED, 0, Decimal(0), "0"),
        (DiscountType.PERCENTAGE, 100, Decimal(100), "100"),
        (DiscountType.PERCENTAGE, 0.1, Decimal("0.1"), "0.1"),
        (DiscountType.PERCENTAGE, 12.50, Decimal("12.5"), "12.5"),
        (DiscountType.PERCENTAGE, "33.333333", Decimal("33.333333"), "33.333333"),
        (DiscountType.PERCENTAGE, "0.000001", Decimal("0.000001"), "0.000001"),
    ],
)
def test_discount_values_are_kept_exactly(kind: DiscountType, raw: Any, value: Decimal, text: str):
    parsed = parse_discount_value(kind, raw)
    assert parsed == value
    assert discount_value_text(parsed) == text
    assert parse_discount_value(kind, discount_value_text(parsed)) == parsed


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        (DiscountType.ABSOLUTE, 0),
        (DiscountType.ABSOLUTE, 0.5),
        (DiscountType.ABSOLUTE, MAX_MINOR_UNITS + 1),
        (DiscountType.FIXED, -1),
        (DiscountType.FIXED, "1e400"),
        (DiscountType.PERCENTAGE, 0),
        (DiscountType.PERCENTAGE, -10),
        (DiscountType.PERCENTAGE, 100.000001),
        (DiscountType.PERCENTAGE, "0.0000001"),
        (DiscountType.PERCENTAGE, "Infinity"),
        (DiscountType.PERCENTAGE, "ten"),
        (DiscountType.PERCENTAGE, True),
        (DiscountType.PERCENTAGE, None),
    ],
)
def test_discount_values_outside_their_type_are_refused(kind: DiscountType, raw: Any):
    refused("INVALID_DISCOUNT", parse_discount_value, kind, raw)


def test_sku_lists_are_trimmed_and_empty_means_none():
    assert normalize_skus(" LATTE , MOCHA", field="productSku") == "LATTE,MOCHA"
    assert normalize_skus("", field="productSku") is None
    assert normalize_skus("   ", field="productSku") is None
    assert normalize_skus(None, field="productSku") is None
    refused("INVALID_DISCOUNT", normalize_skus, "LATTE,", field="productSku")

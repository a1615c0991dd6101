"""Tenant settings: the names the engine knows, their defaults, and the rules their values follow.

Values are stored as JSON (a decimal string, a zone name, a boolean, …) and read back as one typed
:class:`TenantSettings`, so the rest of the engine never parses a setting itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from loyalty.domain.errors import InvalidInput


class DiscountStacking(StrEnum):
    """STACK: offers and vouchers add up; BEST_ONLY: only the single best discount applies."""

    STACK = "STACK"
    BEST_ONLY = "BEST_ONLY"


@dataclass(frozen=True)
class TenantSettings:
    points_currency_value: Decimal = Decimal("0.01")
    timezone: str = "UTC"
    base_currency: str = "GBP"
    discount_stacking: DiscountStacking = DiscountStacking.STACK
    pending_period: timedelta | None = None
    restore_vouchers_on_refund: bool = False

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _invalid(name: str, problem: str) -> InvalidInput:
    return InvalidInput(f"{name}: {problem}", code="INVALID_SETTING", field=name)


_DECIMAL = re.compile(r"^\d{1,12}(\.\d{1,12})?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
# Weeks, days, hours, minutes and seconds only: months and years have no fixed length.
_DURATION = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
_LONGEST_DURATION = timedelta(days=3650)


def _points_currency_value(value: Any) -> str:
    if not isinstance(value, str) or not _DECIMAL.match(value):
        raise _invalid("pointsCurrencyValue", 'a decimal string such as "0.01" (what one point is worth)')
    if Decimal(value) <= 0:
        raise _invalid("pointsCurrencyValue", "must be greater than 0")
    return value


def _timezone(value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 64:
        raise _invalid("timezone", 'an IANA time zone name such as "Europe/London"')
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise _invalid("timezone", f"{value!r} is not an IANA time zone name") from error
    return value


def _base_currency(value: Any) -> str:
    if not isinstance(value, str) or not _CURRENCY.match(value):
        raise _invalid("baseCurrency", 'an ISO 4217 code in capitals, such as "GBP"')
    return value


def _discount_stacking(value: Any) -> str:
    # Checked as a string first: a JSON array or object cannot be looked up in a set.
    if not isinstance(value, str) or value not in {s.value for s in DiscountStacking}:
        raise _invalid("discountStacking", "STACK or BEST_ONLY")
    return str(value)


def parse_duration(text: str) -> timedelta:
    """An ISO 8601 duration of weeks, days, hours, minutes and seconds ("P14D", "PT12H", "P1DT6H")."""
    found = _DURATION.match(text)
    if found is None or text in {"P", "PT"} or text.endswith("T"):
        raise _invalid("pendingPeriod", 'an ISO 8601 duration in weeks, days or hours, such as "P14D" or "PT12H"')
    weeks, days, hours, minutes, seconds = (int(part) if part else 0 for part in found.groups())
    if max(weeks, days, hours, minutes, seconds) > 10**6:
        raise _invalid("pendingPeriod", "too long")
    duration = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    if duration <= timedelta(0):
        raise _invalid("pendingPeriod", "must be longer than zero (or null for none)")
    if duration > _LONGEST_DURATION:
        raise _invalid("pendingPeriod", "at most ten years")
    return duration


def _pending_period(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid("pendingPeriod", 'an ISO 8601 duration such as "P14D", or null for none')
    parse_duration(value)
    return value


def _restore_vouchers_on_refund(value: Any) -> bool:
    # WLL's setting values are strings, so "true" and "false" are accepted as well as JSON booleans.
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise _invalid("restoreVouchersOnRefund", "true or false")


# name → (check and normalise a value into what is stored, default)
_KNOWN: dict[str, tuple[Callable[[Any], Any], Any]] = {
    "pointsCurrencyValue": (_points_currency_value, "0.01"),
    "timezone": (_timezone, "UTC"),
    "baseCurrency": (_base_currency, "GBP"),
    "discountStacking": (_discount_stacking, DiscountStacking.STACK.value),
    "pendingPeriod": (_pending_period, None),
    "restoreVouchersOnRefund": (_restore_vouchers_on_refund, False),
}

SETTING_NAMES: tuple[str, ...] = tuple(_KNOWN)


def is_known(name: str) -> bool:
    return name in _KNOWN


def default_value(name: str) -> Any:
    return _KNOWN[name][1]


def normalize_setting(name: str, value: Any) -> Any:
    """The value to store for ``name``; 400 ``UNKNOWN_SETTING`` or ``INVALID_SETTING`` naming the problem."""
    if name not in _KNOWN:
        raise InvalidInput(
            f"Unknown setting {name!r}; known settings are {', '.join(SETTING_NAMES)}.",
            code="UNKNOWN_SETTING",
            field=name,
        )
    return _KNOWN[name][0](value)


def tenant_settings(stored: Mapping[str, Any]) -> TenantSettings:
    """Typed settings from the stored values (checked when written); a name never written keeps its default."""
    values = {name: stored.get(name, default) for name, (_, default) in _KNOWN.items()}
    pending = values["pendingPeriod"]
    return TenantSettings(
        points_currency_value=Decimal(values["pointsCurrencyValue"]),
        timezone=str(values["timezone"]),
        base_currency=str(values["baseCurrency"]),
        discount_stacking=DiscountStacking(values["discountStacking"]),
        pending_period=parse_duration(pending) if isinstance(pending, str) else None,
        restore_vouchers_on_refund=bool(values["restoreVouchersOnRefund"]),
    )

"""Points liability criteria (WLL ``PointsLiabilityCriteriaDefinition``): points expiry and earn, spend and balance
caps. Pure validation of a criterion as it is saved; ``domain/caps.py`` reads the caps the ledger enforces.

Each ``type`` goes with one ``liabilityType``: SIMPLE_EXPIRY with EXPIRY, the earn cap with EARNING_CAP, the spend
cap with SPENDING_CAP, and the balance cap with EARNING_CAP (WLL has no balance liability type; a balance cap limits
what can still be earned). ``config`` is checked against the type, and a failure names the field it is about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from loyalty.domain.errors import InvalidInput

INVALID = "INVALID_CRITERIA"
UNSUPPORTED = "UNSUPPORTED_FIELD"
_MAX_POINTS = 10**12
_MAX_INTERVAL = 100_000
_MAX_DURATION_PART = 10_000
_DURATION = re.compile(
    r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$",
)


class CriterionType(StrEnum):
    SIMPLE_EXPIRY = "SIMPLE_EXPIRY"
    MAXIMUM_POINTS_EARN_CAP = "MAXIMUM_POINTS_EARN_CAP"
    MAXIMUM_POINTS_SPEND_CAP = "MAXIMUM_POINTS_SPEND_CAP"
    MAXIMUM_POINTS_BALANCE_CAP = "MAXIMUM_POINTS_BALANCE_CAP"


class LiabilityType(StrEnum):
    EXPIRY = "EXPIRY"
    EARNING_CAP = "EARNING_CAP"
    SPENDING_CAP = "SPENDING_CAP"


LIABILITY_OF: dict[CriterionType, LiabilityType] = {
    CriterionType.SIMPLE_EXPIRY: LiabilityType.EXPIRY,
    CriterionType.MAXIMUM_POINTS_EARN_CAP: LiabilityType.EARNING_CAP,
    CriterionType.MAXIMUM_POINTS_SPEND_CAP: LiabilityType.SPENDING_CAP,
    CriterionType.MAXIMUM_POINTS_BALANCE_CAP: LiabilityType.EARNING_CAP,
}

# WLL values this engine does not implement (reward auto-purchase).
_WLL_ONLY = "PURCHASE_REWARDS"

EXPIRY_BASES = ("EARN_DATE", "LAST_ACTIVITY")
WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
RUNNING_INTERVALS = ("RUNNING_HOURS", "RUNNING_DAYS")
LIABILITY_ENTITIES = ("ACTOR", "TENANT")


@dataclass(frozen=True)
class Criterion:
    """A criterion as validated: its type, the matching liability type and the normalised config."""

    type: CriterionType
    liability_type: LiabilityType
    config: dict[str, Any]


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", code=INVALID, field=field)


def parse_type(value: Any) -> CriterionType:
    if value == _WLL_ONLY:
        raise InvalidInput("type PURCHASE_REWARDS is not supported by this engine.", code=UNSUPPORTED, field="type")
    try:
        return CriterionType(value)
    except ValueError:
        raise _invalid("type", f"one of {', '.join(t.value for t in CriterionType)}") from None


def parse_liability_type(value: Any) -> LiabilityType:
    if value == _WLL_ONLY:
        raise InvalidInput(
            "liabilityType PURCHASE_REWARDS is not supported by this engine.", code=UNSUPPORTED, field="liabilityType"
        )
    try:
        return LiabilityType(value)
    except ValueError:
        raise _invalid("liabilityType", f"one of {', '.join(t.value for t in LiabilityType)}") from None


def _is_int(value: Any) -> bool:
    # JSON numbers: 5 and 5.0 are the same amount; True is not a number.
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _positive_int(value: Any, field: str, limit: int) -> int:
    if not _is_int(value) or not 1 <= value <= limit:
        raise _invalid(field, f"a whole number from 1 to {limit}")
    return int(value)


def _object(value: Any, field: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _invalid(field, "an object")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise _invalid(f"{field}.{unknown[0]}" if field else unknown[0], "not a field of this criterion type")
    return value


def check_duration(value: Any, field: str) -> str:
    """A positive ISO 8601 duration such as "P12M", "P30D", "P1Y6M" or "PT36H"."""
    if not isinstance(value, str) or len(value) > 40:
        raise _invalid(field, 'an ISO 8601 duration such as "P12M" or "P30D"')
    found = _DURATION.match(value)
    if found is None or value.endswith("T"):
        raise _invalid(field, 'an ISO 8601 duration such as "P12M" or "P30D"')
    parts = [int(part) for part in found.groups() if part is not None]
    if not parts:
        raise _invalid(field, 'an ISO 8601 duration such as "P12M" or "P30D"')
    if max(parts) > _MAX_DURATION_PART:
        raise _invalid(field, "too long")
    if sum(parts) == 0:
        raise _invalid(field, "must be longer than zero")
    return value


def _simple_expiry(config: dict[str, Any]) -> dict[str, Any]:
    _object(config, "config", {"expiryBasedOn", "dateModifier"})
    basis = config.get("expiryBasedOn")
    if basis not in EXPIRY_BASES:
        raise _invalid("config.expiryBasedOn", "EARN_DATE or LAST_ACTIVITY")
    return {"expiryBasedOn": basis, "dateModifier": check_duration(config.get("dateModifier"), "config.dateModifier")}


def _restriction(config: dict[str, Any]) -> dict[str, Any]:
    _object(config, "config", {"intervalType", "arg", "maximumPoints"})
    interval = config.get("intervalType")
    if interval == "CALENDAR_WEEK":
        arg = _object(config.get("arg"), "config.arg", {"startOfWeek"})
        if arg.get("startOfWeek") not in WEEKDAYS:
            raise _invalid("config.arg.startOfWeek", f"one of {', '.join(WEEKDAYS)}")
        normalised_arg: dict[str, Any] = {"startOfWeek": arg["startOfWeek"]}
    elif interval in RUNNING_INTERVALS:
        arg = _object(config.get("arg"), "config.arg", {"n"})
        normalised_arg = {"n": _positive_int(arg.get("n"), "config.arg.n", _MAX_INTERVAL)}
    else:
        raise _invalid("config.intervalType", "CALENDAR_WEEK, RUNNING_HOURS or RUNNING_DAYS")
    maximum = _positive_int(config.get("maximumPoints"), "config.maximumPoints", _MAX_POINTS)
    return {"intervalType": interval, "arg": normalised_arg, "maximumPoints": maximum}


def _balance_cap(config: dict[str, Any]) -> dict[str, Any]:
    _object(config, "config", {"maxPointsInCirculation", "liabilityEntity"})
    maximum = _positive_int(config.get("maxPointsInCirculation"), "config.maxPointsInCirculation", _MAX_POINTS)
    entity = config.get("liabilityEntity")
    if entity not in LIABILITY_ENTITIES:
        raise _invalid("config.liabilityEntity", "ACTOR or TENANT")
    return {"maxPointsInCirculation": maximum, "liabilityEntity": entity}


def check_criterion(type_: Any, liability_type: Any, config: Any) -> Criterion:
    """Validate a whole criterion (on create, and on update once the patch is applied)."""
    kind = parse_type(type_)
    liability = parse_liability_type(liability_type)
    expected = LIABILITY_OF[kind]
    if liability is not expected:
        raise _invalid("liabilityType", f"a {kind.value} criterion has liabilityType {expected.value}")
    if not isinstance(config, dict):
        raise _invalid("config", "an object")
    if kind is CriterionType.SIMPLE_EXPIRY:
        normalised = _simple_expiry(config)
    elif kind is CriterionType.MAXIMUM_POINTS_BALANCE_CAP:
        normalised = _balance_cap(config)
    else:
        normalised = _restriction(config)
    return Criterion(kind, liability, normalised)

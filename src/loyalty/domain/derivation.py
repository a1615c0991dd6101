"""Derivations: how a POINTS reaction computes its number (WLL's ``Derivation``).

``{"operation": "SUM" | "PRODUCT", "arguments": [{"type": "NUMBER" | "PAYLOAD_QUERY" | "JSON_VALUE", "value": "…"}],
"max": 500, "roundingDirection": "UP" | "DOWN", "roundingUnit": 1}``

Arithmetic is Decimal throughout (floats from JSON are read through their shortest decimal text, so 12.5 is
exactly 12.5). The result is capped by ``max`` and then rounded to a multiple of ``roundingUnit``: DOWN towards
negative infinity (floor), UP towards positive infinity (ceiling). A PAYLOAD_QUERY that finds nothing does not
count as zero: the reaction is skipped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from loyalty.domain.errors import InvalidInput
from loyalty.domain.jsonpaths import PayloadQuery

_NUMBER = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")
# Far beyond any real award and far below int64 overflow in a ledger sum.
MAX_ABS_POINTS = Decimal(1_000_000_000)


class Operation(StrEnum):
    SUM = "SUM"
    PRODUCT = "PRODUCT"


class Rounding(StrEnum):
    UP = "UP"
    DOWN = "DOWN"


class ArgumentType(StrEnum):
    NUMBER = "NUMBER"
    PAYLOAD_QUERY = "PAYLOAD_QUERY"
    JSON_VALUE = "JSON_VALUE"


class Outcome(StrEnum):
    OK = "OK"
    MISSING_VALUE = "MISSING_VALUE"
    NOT_A_NUMBER = "NOT_A_NUMBER"
    OUT_OF_RANGE = "OUT_OF_RANGE"


@dataclass(frozen=True)
class Evaluation:
    outcome: Outcome
    points: int = 0
    detail: str | None = None


def to_decimal(value: Any) -> Decimal | None:
    """A JSON number (or numeric string) as an exact Decimal; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        return Decimal(value.strip())
    return None


@dataclass(frozen=True)
class _Argument:
    kind: ArgumentType
    constant: Decimal | None = None
    query: PayloadQuery | None = None

    def value(self, payload: Any) -> Decimal | Outcome:
        if self.constant is not None:
            return self.constant
        assert self.query is not None
        found = self.query.values(payload)
        if not found or found[0] is None:
            return Outcome.MISSING_VALUE
        number = to_decimal(found[0])
        return Outcome.NOT_A_NUMBER if number is None else number


@dataclass(frozen=True)
class Derivation:
    operation: Operation
    arguments: tuple[_Argument, ...]
    maximum: Decimal | None
    rounding: Rounding
    unit: int

    def evaluate(self, payload: Any) -> Evaluation:
        values: list[Decimal] = []
        for argument in self.arguments:
            value = argument.value(payload)
            if isinstance(value, Outcome):
                path = argument.query.path if argument.query else ""
                return Evaluation(value, detail=path)
            values.append(value)
        total = Decimal(0) if self.operation is Operation.SUM else Decimal(1)
        try:
            for value in values:
                total = total + value if self.operation is Operation.SUM else total * value
        except InvalidOperation:
            return Evaluation(Outcome.OUT_OF_RANGE)
        if self.maximum is not None and total > self.maximum:
            total = self.maximum
        steps = (total / self.unit).to_integral_value(
            rounding=ROUND_FLOOR if self.rounding is Rounding.DOWN else ROUND_CEILING
        )
        points = steps * self.unit
        if abs(points) > MAX_ABS_POINTS:
            return Evaluation(Outcome.OUT_OF_RANGE, detail=str(points))
        return Evaluation(Outcome.OK, points=int(points))


def parse_derivation(document: Any, *, field: str) -> Derivation:
    """Check a derivation when a reactor is saved; every problem is a 400 with a stable code."""

    def invalid(message: str, where: str = "") -> InvalidInput:
        return InvalidInput(message, code="INVALID_DERIVATION", field=field + where)

    if not isinstance(document, dict):
        raise invalid("A derivation is an object.")
    unknown = sorted(set(document) - {"operation", "arguments", "max", "roundingDirection", "roundingUnit"})
    if unknown:
        raise InvalidInput(f"Unknown derivation field(s): {', '.join(unknown)}.", code="UNKNOWN_FIELD", field=field)
    try:
        operation = Operation(str(document.get("operation")))
    except ValueError as error:
        raise invalid("operation must be SUM or PRODUCT.", ".operation") from error
    raw_arguments = document.get("arguments")
    if not isinstance(raw_arguments, list) or not raw_arguments:
        raise invalid("arguments must be a non-empty list.", ".arguments")
    arguments = tuple(_parse_argument(a, f"{field}.arguments[{i}]") for i, a in enumerate(raw_arguments))
    maximum = None
    if document.get("max") is not None:
        maximum = to_decimal(document["max"])
        if maximum is None or abs(maximum) > MAX_ABS_POINTS:
            raise invalid(f"max must be a number between -{MAX_ABS_POINTS} and {MAX_ABS_POINTS}.", ".max")
    direction = document.get("roundingDirection")
    try:
        rounding = Rounding.DOWN if direction is None else Rounding(direction)
    except (ValueError, TypeError) as error:
        raise invalid("roundingDirection must be UP or DOWN.", ".roundingDirection") from error
    unit = document.get("roundingUnit", 1)
    if isinstance(unit, bool) or not isinstance(unit, int) or not 1 <= unit <= 1_000_000:
        raise invalid("roundingUnit must be a whole number from 1 to 1000000.", ".roundingUnit")
    return Derivation(operation=operation, arguments=arguments, maximum=maximum, rounding=rounding, unit=unit)


def _parse_argument(document: Any, field: str) -> _Argument:
    if not isinstance(document, dict) or set(document) != {"type", "value"}:
        raise InvalidInput("An argument is {type, value}.", code="INVALID_DERIVATION", field=field)
    value = document["value"]
    try:
        kind = ArgumentType(document["type"])
    except ValueError as error:
        raise InvalidInput(
            "type must be NUMBER, PAYLOAD_QUERY or JSON_VALUE.", code="INVALID_DERIVATION", field=field + ".type"
        ) from error
    if not isinstance(value, str):
        raise InvalidInput("value is a string.", code="INVALID_DERIVATION", field=field + ".value")
    if kind is ArgumentType.PAYLOAD_QUERY:
        return _Argument(kind, query=PayloadQuery(value, field=field + ".value"))
    if kind is ArgumentType.NUMBER:
        if not _NUMBER.match(value):
            raise InvalidInput(
                f"A NUMBER argument is a decimal numeral (got {value!r}).",
                code="INVALID_DERIVATION",
                field=field + ".value",
            )
        return _Argument(kind, constant=Decimal(value))
    try:
        literal = to_decimal(json.loads(value))
    except ValueError:
        literal = None
    if literal is None:
        raise InvalidInput(
            f"A JSON_VALUE argument must hold a JSON number (got {value!r}).",
            code="INVALID_DERIVATION",
            field=field + ".value",
        )
    return _Argument(kind, constant=literal)

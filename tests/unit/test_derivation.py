"""Golden tests of derivations, the expressions of POINTS reactions (contract §3.4, WLL's ``Derivation``).

Arithmetic is Decimal; ``max`` caps the result, which is then rounded to a multiple of ``roundingUnit``:
DOWN towards negative infinity (floor), UP towards positive infinity (ceiling). A path that finds nothing
skips the reaction rather than awarding zero.
"""

from __future__ import annotations

from typing import Any

import pytest

from loyalty.domain.derivation import Evaluation, Outcome, parse_derivation
from loyalty.domain.errors import InvalidInput


def number(value: str) -> dict[str, str]:
    return {"type": "NUMBER", "value": value}


def query(path: str) -> dict[str, str]:
    return {"type": "PAYLOAD_QUERY", "value": path}


def json_value(text: str) -> dict[str, str]:
    return {"type": "JSON_VALUE", "value": text}


def evaluate(document: dict[str, Any], payload: Any = None) -> Evaluation:
    return parse_derivation(document, field="points").evaluate({} if payload is None else payload)


def points_of(document: dict[str, Any], payload: Any = None) -> int:
    evaluation = evaluate(document, payload)
    assert evaluation.outcome is Outcome.OK, evaluation
    return evaluation.points


def rejection(document: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        parse_derivation(document, field="points")
    return caught.value


# ---- the documented expressions ----


def test_a_fixed_award_is_a_sum_of_one_number():
    assert points_of({"operation": "SUM", "arguments": [number("500")]}) == 500


def test_spend_times_one_rounds_down_by_default():
    derivation = {"operation": "PRODUCT", "arguments": [query("$.totalSpend"), number("1")]}
    assert points_of(derivation, {"totalSpend": 12.5}) == 12


def test_spend_times_one_rounds_up_when_asked():
    derivation = {"operation": "PRODUCT", "arguments": [query("$.totalSpend"), number("1")], "roundingDirection": "UP"}
    assert points_of(derivation, {"totalSpend": 12.5}) == 13


def test_an_explicit_down_rounding_equals_the_default():
    derivation = {
        "operation": "PRODUCT",
        "arguments": [query("$.totalSpend"), number("1")],
        "roundingDirection": "DOWN",
    }
    assert points_of(derivation, {"totalSpend": 12.99}) == 12


def test_a_whole_result_is_not_moved_by_rounding():
    for direction in ("UP", "DOWN"):
        derivation = {"operation": "SUM", "arguments": [number("40")], "roundingDirection": direction}
        assert points_of(derivation) == 40


# ---- rounding units ----


def test_a_rounding_unit_of_ten_rounds_down_to_a_multiple_of_ten():
    derivation = {"operation": "SUM", "arguments": [query("$.spend")], "roundingUnit": 10}
    assert points_of(derivation, {"spend": 125}) == 120


def test_a_rounding_unit_of_ten_rounds_up_to_a_multiple_of_ten():
    derivation = {"operation": "SUM", "arguments": [query("$.spend")], "roundingUnit": 10, "roundingDirection": "UP"}
    assert points_of(derivation, {"spend": 125}) == 130


def test_a_multiple_of_the_rounding_unit_stays_as_it_is():
    for direction in ("UP", "DOWN"):
        derivation = {
            "operation": "SUM",
            "arguments": [query("$.spend")],
            "roundingUnit": 10,
            "roundingDirection": direction,
        }
        assert points_of(derivation, {"spend": 120}) == 120


# ---- negative results (taking points) ----


def test_points_times_minus_one_takes_the_points():
    derivation = {"operation": "PRODUCT", "arguments": [query("$.points"), number("-1")]}
    assert points_of(derivation, {"points": 200}) == -200


def test_a_negative_fraction_rounds_down_towards_negative_infinity():
    derivation = {"operation": "PRODUCT", "arguments": [query("$.points"), number("-1")], "roundingDirection": "DOWN"}
    assert points_of(derivation, {"points": 12.5}) == -13


def test_a_negative_fraction_rounds_up_towards_positive_infinity():
    derivation = {"operation": "PRODUCT", "arguments": [query("$.points"), number("-1")], "roundingDirection": "UP"}
    assert points_of(derivation, {"points": 12.5}) == -12


def test_a_negative_number_literal_with_a_sign_is_accepted():
    assert points_of({"operation": "SUM", "arguments": [number("-25"), number("+5")]}) == -20


# ---- caps ----


def test_max_caps_the_result():
    assert points_of({"operation": "SUM", "arguments": [number("500")], "max": 300}) == 300


def test_a_result_below_max_is_not_changed():
    assert points_of({"operation": "SUM", "arguments": [number("200")], "max": 300}) == 200


def test_max_is_applied_before_rounding():
    derivation = {"operation": "SUM", "arguments": [query("$.spend")], "max": 295, "roundingUnit": 10}
    assert points_of(derivation, {"spend": 1000}) == 290


# ---- exact decimal arithmetic ----


def test_a_sum_of_payload_decimals_is_exact():
    # In binary floating point 0.1 + 0.2 - 0.3 is 5.55e-17, which UP would turn into 1 point.
    derivation = {
        "operation": "SUM",
        "arguments": [query("$.a"), query("$.b"), number("-0.3")],
        "roundingDirection": "UP",
    }
    assert points_of(derivation, {"a": 0.1, "b": 0.2}) == 0


def test_point_three_times_ten_is_exactly_three():
    # 0.3 * 10 is 3.0000000000000004 in floating point, which UP would make 4.
    derivation = {"operation": "PRODUCT", "arguments": [query("$.total"), number("10")], "roundingDirection": "UP"}
    assert points_of(derivation, {"total": 0.3}) == 3


def test_a_product_of_payload_decimals_is_exact():
    # 1.15 * 100 is 114.99999999999999 in floating point, which DOWN would make 114.
    derivation = {"operation": "PRODUCT", "arguments": [query("$.spend"), number("100")]}
    assert points_of(derivation, {"spend": 1.15}) == 115


def test_a_json_value_is_a_literal_number():
    derivation = {"operation": "PRODUCT", "arguments": [json_value("2.5"), number("4")]}
    assert points_of(derivation) == 10


def test_a_json_value_times_a_payload_value():
    derivation = {"operation": "PRODUCT", "arguments": [json_value("2.5"), query("$.visits")]}
    assert points_of(derivation, {"visits": 3}) == 7


def test_a_numeric_string_in_the_payload_is_read_as_its_decimal_value():
    derivation = {"operation": "PRODUCT", "arguments": [query("$.amount"), number("1")]}
    assert points_of(derivation, {"amount": "12.5"}) == 12


def test_a_nested_path_reads_inside_the_payload():
    derivation = {"operation": "SUM", "arguments": [query("$.enhanced.points.balance")]}
    assert points_of(derivation, {"enhanced": {"points": {"balance": 40, "lifetimeEarn": 90}}}) == 40


# ---- outcomes other than a number ----


def test_a_missing_path_is_a_missing_value_not_zero():
    derivation = {"operation": "PRODUCT", "arguments": [query("$.totalSpend"), number("1")]}
    evaluation = evaluate(derivation, {"other": 5})
    assert evaluation.outcome is Outcome.MISSING_VALUE
    assert evaluation.points == 0
    assert evaluation.detail == "$.totalSpend"


def test_a_null_value_is_a_missing_value():
    derivation = {"operation": "SUM", "arguments": [query("$.totalSpend")]}
    assert evaluate(derivation, {"totalSpend": None}).outcome is Outcome.MISSING_VALUE


def test_a_text_value_is_not_a_number():
    derivation = {"operation": "SUM", "arguments": [query("$.totalSpend")]}
    evaluation = evaluate(derivation, {"totalSpend": "twelve"})
    assert evaluation.outcome is Outcome.NOT_A_NUMBER
    assert evaluation.detail == "$.totalSpend"


def test_booleans_are_not_numbers():
    derivation = {"operation": "SUM", "arguments": [query("$.flag")]}
    assert evaluate(derivation, {"flag": True}).outcome is Outcome.NOT_A_NUMBER
    assert evaluate(derivation, {"flag": False}).outcome is Outcome.NOT_A_NUMBER


def test_lists_and_objects_are_not_numbers():
    derivation = {"operation": "SUM", "arguments": [query("$.value")]}
    assert evaluate(derivation, {"value": [1]}).outcome is Outcome.NOT_A_NUMBER
    assert evaluate(derivation, {"value": {"amount": 1}}).outcome is Outcome.NOT_A_NUMBER


def test_a_huge_result_is_out_of_range():
    derivation = {"operation": "PRODUCT", "arguments": [query("$.spend"), number("1")]}
    assert evaluate(derivation, {"spend": 1e300}).outcome is Outcome.OUT_OF_RANGE
    assert evaluate(derivation, {"spend": -1e300}).outcome is Outcome.OUT_OF_RANGE


def test_a_result_just_past_a_billion_is_out_of_range_and_a_billion_is_not():
    derivation = {"operation": "SUM", "arguments": [query("$.spend")]}
    assert evaluate(derivation, {"spend": 1_000_000_001}).outcome is Outcome.OUT_OF_RANGE
    assert points_of(derivation, {"spend": 1_000_000_000}) == 1_000_000_000


def test_a_huge_result_capped_by_max_is_in_range():
    derivation = {"operation": "PRODUCT", "arguments": [query("$.spend"), number("1")], "max": 500}
    assert points_of(derivation, {"spend": 1e300}) == 500


# ---- refused when the reactor is saved ----


def test_an_unknown_operation_is_invalid_derivation():
    problem = rejection({"operation": "DIVIDE", "arguments": [number("1")]})
    assert problem.code == "INVALID_DERIVATION"
    assert problem.details["field"] == "points.operation"


def test_a_missing_operation_is_invalid_derivation():
    assert rejection({"arguments": [number("1")]}).code == "INVALID_DERIVATION"


def test_empty_arguments_are_invalid_derivation():
    problem = rejection({"operation": "SUM", "arguments": []})
    assert problem.code == "INVALID_DERIVATION"
    assert problem.details["field"] == "points.arguments"


def test_missing_arguments_are_invalid_derivation():
    assert rejection({"operation": "SUM"}).code == "INVALID_DERIVATION"


def test_a_derivation_that_is_not_an_object_is_invalid():
    assert rejection("500").code == "INVALID_DERIVATION"
    assert rejection(None).code == "INVALID_DERIVATION"


def test_a_rounding_unit_of_zero_is_invalid_derivation():
    problem = rejection({"operation": "SUM", "arguments": [number("1")], "roundingUnit": 0})
    assert problem.code == "INVALID_DERIVATION"
    assert problem.details["field"] == "points.roundingUnit"


def test_a_fractional_rounding_unit_is_invalid_derivation():
    problem = rejection({"operation": "SUM", "arguments": [number("1")], "roundingUnit": 1.5})
    assert problem.code == "INVALID_DERIVATION"
    assert problem.details["field"] == "points.roundingUnit"


def test_a_negative_or_boolean_rounding_unit_is_invalid_derivation():
    for unit in (-10, True, "10"):
        problem = rejection({"operation": "SUM", "arguments": [number("1")], "roundingUnit": unit})
        assert problem.code == "INVALID_DERIVATION", unit


def test_a_sideways_rounding_direction_is_invalid_derivation():
    problem = rejection({"operation": "SUM", "arguments": [number("1")], "roundingDirection": "SIDEWAYS"})
    assert problem.code == "INVALID_DERIVATION"
    assert problem.details["field"] == "points.roundingDirection"


def test_a_number_in_exponent_notation_is_invalid_derivation():
    problem = rejection({"operation": "SUM", "arguments": [number("1e5")]})
    assert problem.code == "INVALID_DERIVATION"
    assert problem.details["field"] == "points.arguments[0].value"


def test_a_number_that_is_not_a_string_is_invalid_derivation():
    problem = rejection({"operation": "SUM", "arguments": [{"type": "NUMBER", "value": 5}]})
    assert problem.code == "INVALID_DERIVATION"


def test_an_unknown_argument_type_is_invalid_derivation():
    problem = rejection({"operation": "SUM", "arguments": [{"type": "FORMULA", "value": "1"}]})
    assert problem.code == "INVALID_DERIVATION"
    assert problem.details["field"] == "points.arguments[0].type"


def test_an_argument_with_extra_keys_is_invalid_derivation():
    problem = rejection({"operation": "SUM", "arguments": [{"type": "NUMBER", "value": "1", "x": 1}]})
    assert problem.code == "INVALID_DERIVATION"


def test_a_json_value_that_is_not_a_number_is_invalid_derivation():
    for text in ('"abc"', "true", "{", "[1]", "null"):
        assert rejection({"operation": "SUM", "arguments": [json_value(text)]}).code == "INVALID_DERIVATION", text


def test_a_payload_query_without_the_root_is_invalid_jsonpath():
    problem = rejection({"operation": "SUM", "arguments": [number("1"), query("totalSpend")]})
    assert problem.code == "INVALID_JSONPATH"
    assert problem.details["field"] == "points.arguments[1].value"


def test_a_malformed_payload_query_is_invalid_jsonpath():
    problem = rejection({"operation": "SUM", "arguments": [query("$.[")]})
    assert problem.code == "INVALID_JSONPATH"
    assert problem.details["field"] == "points.arguments[0].value"


def test_an_unknown_derivation_key_is_unknown_field():
    problem = rejection({"operation": "SUM", "arguments": [number("1")], "min": 0})
    assert problem.code == "UNKNOWN_FIELD"
    assert "min" in problem.message


def test_a_max_that_is_not_a_number_is_invalid_derivation():
    problem = rejection({"operation": "SUM", "arguments": [number("1")], "max": "lots"})
    assert problem.code == "INVALID_DERIVATION"
    assert problem.details["field"] == "points.max"

"""One-time voucher codes: unguessable, unambiguous, formatted by their template."""

import math
import re

import pytest

from loyalty.domain.codes import ALPHABET, CODE_LENGTH, check_code_value, check_format, entropy_bits, new_code
from loyalty.domain.errors import InvalidInput


def test_the_alphabet_has_no_look_alike_characters():
    assert not set("0O1IL") & set(ALPHABET)
    assert len(set(ALPHABET)) == len(ALPHABET) == 31


def test_a_code_carries_at_least_60_bits_of_entropy():
    assert entropy_bits() == pytest.approx(CODE_LENGTH * math.log2(31))
    assert entropy_bits() >= 60
    # One symbol fewer would not be enough: the length is the smallest that clears the bar.
    assert entropy_bits(CODE_LENGTH - 1) < 60


def test_100_000_codes_are_unique_and_match_their_template():
    template = "PROMO-{code}"
    shape = re.compile(rf"^PROMO-[{ALPHABET}]{{{CODE_LENGTH}}}$")
    codes = [new_code(template) for _ in range(100_000)]
    assert len(set(codes)) == len(codes)
    assert all(shape.match(code) for code in codes)


def test_every_symbol_of_the_alphabet_is_used():
    seen = set("".join(new_code() for _ in range(2_000)))
    assert seen == set(ALPHABET)


@pytest.mark.parametrize("template", ["PROMO-{code}", "{code}", "X{code}Y", "{code}-2025"])
def test_valid_templates_are_accepted(template):
    assert check_format(template) == template


@pytest.mark.parametrize("template", ["PROMO", "{code}{code}", "A {code}", "é{code}", "x" * 95 + "{code}"])
def test_invalid_templates_are_refused(template):
    with pytest.raises(InvalidInput) as refused:
        check_format(template)
    assert refused.value.code == "INVALID_CODE_FORMAT"


@pytest.mark.parametrize("value", ["", " SUMMER5", "SUMMER5 ", "A\nB", "x" * 257])
def test_unusable_code_values_are_refused(value):
    with pytest.raises(InvalidInput) as refused:
        check_code_value(value, field="codes[0]")
    assert refused.value.code == "INVALID_CODE"

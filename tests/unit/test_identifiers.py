import uuid

import pytest

from loyalty.domain.identifiers import new_account_number, read_identifier


def test_account_numbers_are_seven_digits_without_a_leading_zero():
    numbers = [new_account_number() for _ in range(500)]
    for number in numbers:
        assert len(number) == 7, number
        assert number.isdigit(), number
        assert number[0] != "0", number
        assert 1_000_000 <= int(number) <= 9_999_999
    # Random, not a counter or a constant: 500 draws from 9 million values collide rarely.
    assert len(set(numbers)) > 490


def test_a_uuid_is_read_as_a_member_id():
    member_id = uuid.uuid4()
    found = read_identifier(str(member_id))
    assert found.member_id == member_id
    assert found.account_number is None
    assert found.text == str(member_id)


def test_a_uuid_in_upper_case_is_still_a_member_id():
    member_id = uuid.uuid4()
    found = read_identifier(str(member_id).upper())
    assert found.member_id == member_id


def test_a_seven_digit_number_is_read_as_an_account_number():
    found = read_identifier("1234567")
    assert found.member_id is None
    assert found.account_number == "1234567"
    assert found.text == "1234567"


@pytest.mark.parametrize("raw", ["123456", "12345678", "123456a", "idp-ada", "ada@example.com"])
def test_other_text_is_neither_an_id_nor_an_account_number(raw: str):
    found = read_identifier(raw)
    assert found.member_id is None
    assert found.account_number is None
    assert found.text == raw


def test_surrounding_whitespace_is_stripped():
    member_id = uuid.uuid4()
    assert read_identifier(f"  {member_id}\n").member_id == member_id
    padded = read_identifier("\t7654321  ")
    assert padded.account_number == "7654321"
    assert padded.text == "7654321"
    assert read_identifier("  idp-ada ").text == "idp-ada"

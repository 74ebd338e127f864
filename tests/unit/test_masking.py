"""Masked phone numbers and credit codes never show more than their pattern."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.services.masking import mask_credit_code, mask_phone


def test_a_mobile_shows_its_first_three_and_last_four_digits() -> None:
    assert mask_phone("13812345678") == "138****5678"


@pytest.mark.parametrize("value", ["+86 138 1234 5678", "138-1234-5678", "8613812345678"])
def test_a_formatted_mobile_is_masked_in_its_plain_form(value: str) -> None:
    assert mask_phone(value) == "138****5678"


@pytest.mark.parametrize("value", [None, "", "   "])
def test_nothing_masks_to_nothing(value: str | None) -> None:
    assert mask_phone(value) == ""
    assert mask_credit_code(value) == ""


@pytest.mark.parametrize("value", ["1", "5678", "1381234", "1381234567"])
def test_a_short_phone_is_masked_completely(value: str) -> None:
    assert mask_phone(value) == "*" * len(value)


def test_a_long_non_mobile_keeps_the_same_head_and_tail() -> None:
    assert mask_phone("085128221234") == "085*****1234"


def test_a_credit_code_shows_four_and_four() -> None:
    assert mask_credit_code("91350100M000100Y43") == "9135**********0Y43"
    assert mask_credit_code(" 91350100M000100Y43 ") == "9135**********0Y43"


@pytest.mark.parametrize("value", ["9", "9135", "91350100", "91350100M000100Y4"])
def test_a_short_credit_code_is_masked_completely(value: str) -> None:
    assert mask_credit_code(value) == "*" * len(value)


@given(st.text(alphabet="0123456789", max_size=30))
def test_a_masked_phone_reveals_at_most_seven_digits_and_hides_at_least_four(value: str) -> None:
    masked = mask_phone(value)
    shown = sum(c != "*" for c in masked)
    assert shown <= 7
    assert masked.count("*") >= min(4, len(value))
    if len(value) < 11:
        assert shown == 0


@given(st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", max_size=40))
def test_a_masked_credit_code_reveals_at_most_eight_characters(value: str) -> None:
    masked = mask_credit_code(value)
    shown = sum(c != "*" for c in masked)
    assert shown <= 8
    if len(value) < 18:
        assert shown == 0
    else:
        assert masked.count("*") == 10


@pytest.mark.parametrize("value", ["13812345678", "12345678901", "00000000000"])
def test_eleven_digits_mask_alike_whether_a_valid_mobile_or_not(value: str) -> None:
    """The fast path for stored numbers gives what the general rule gives."""
    assert mask_phone(value) == value[:3] + "****" + value[-4:]
    assert mask_phone(f" {value} ") == mask_phone(value)

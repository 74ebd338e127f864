"""Credit codes (GB 32100 / GB 11714) and mainland mobile numbers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.services.validation import (
    CREDIT_CODE_CHARSET,
    ValidationError,
    credit_code_check_char,
    is_valid_credit_code,
    is_valid_mobile,
    make_credit_code,
    org_code_check_char,
    validate_credit_code,
    validate_mobile,
)

SAMPLES = ["91350100M000100Y43", "91110000600037341L"]


def _code_error(value: str) -> str:
    with pytest.raises(ValidationError) as info:
        validate_credit_code(value)
    assert info.value.field == "credit_code"
    return info.value.code


@pytest.mark.parametrize("code", SAMPLES)
def test_published_sample_codes_validate(code: str) -> None:
    assert validate_credit_code(code) == code
    assert credit_code_check_char(code[:17]) == code[17]
    assert org_code_check_char(code[8:16]) == code[16]


def test_input_is_normalised_before_checking() -> None:
    assert validate_credit_code("  91350100m000100y43\n") == "91350100M000100Y43"
    # full-width characters, as a Chinese input method types them
    assert validate_credit_code("９１３５０１００Ｍ０００１００Ｙ４３") == "91350100M000100Y43"


@pytest.mark.parametrize("value", ["", "9135010", "91350100M000100Y4", "91350100M000100Y433"])
def test_wrong_length_is_reported(value: str) -> None:
    assert _code_error(value) == "validation.credit_code.length"


@pytest.mark.parametrize("bad", ["I", "O", "Z", "S", "V", "-", "中"])
def test_characters_outside_the_charset_are_reported(bad: str) -> None:
    value = "91350100M000100Y43"
    assert _code_error(value[:5] + bad + value[6:]) == "validation.credit_code.charset"


def test_a_wrong_check_character_is_reported() -> None:
    assert _code_error("91350100M000100Y44") == "validation.credit_code.check"


def test_a_wrong_organisation_check_is_reported_even_when_the_last_check_fits() -> None:
    first17 = "91350100M000100Y5"  # organisation check should be 4
    code = first17 + credit_code_check_char(first17)
    assert _code_error(code) == "validation.credit_code.org_check"
    assert not is_valid_credit_code(code)


def test_validation_error_is_a_value_error_with_an_i18n_key() -> None:
    with pytest.raises(ValueError, match="validation.credit_code.check"):
        validate_credit_code("91350100M000100Y44")


@pytest.mark.parametrize(
    ("body", "check"),
    [
        ("00000000", "0"),  # 11 - 0 = 11 → "0"
        ("00000006", "X"),  # sum 12: 11 - 1 = 10 → "X"
        ("00000001", "9"),
        ("A0000000", "3"),  # A counts 10: 30 % 11 = 8
        ("M000100Y", "4"),
        ("60003734", "1"),
    ],
)
def test_organisation_check_character(body: str, check: str) -> None:
    assert org_code_check_char(body) == check


def test_check_helpers_refuse_bad_input() -> None:
    with pytest.raises(ValidationError):
        credit_code_check_char("123")
    with pytest.raises(ValidationError):
        credit_code_check_char("9135010OM000100Y4")
    with pytest.raises(ValidationError):
        org_code_check_char("M000100")
    with pytest.raises(ValidationError):
        make_credit_code("52030", "MA6D1234")


def test_make_credit_code_builds_both_check_characters() -> None:
    assert make_credit_code("350100", "M000100Y") == "91350100M000100Y43"
    assert make_credit_code("110000", "60003734") == "91110000600037341L"
    code = make_credit_code("520303", "MA6D1234", kind="2")
    assert code.startswith("92520303MA6D1234")
    assert validate_credit_code(code) == code


_charset = st.sampled_from(CREDIT_CODE_CHARSET)
_parts = st.tuples(
    st.text(_charset, min_size=1, max_size=1),
    st.text(_charset, min_size=1, max_size=1),
    st.text(_charset, min_size=6, max_size=6),
    st.text(_charset, min_size=8, max_size=8),
)


@given(_parts)
def test_any_made_code_validates(parts: tuple[str, str, str, str]) -> None:
    authority, kind, division, body = parts
    code = make_credit_code(division, body, authority=authority, kind=kind)
    assert len(code) == 18
    assert validate_credit_code(code) == code


@given(_parts, st.integers(0, 17), st.integers(1, 30))
def test_changing_any_one_character_breaks_the_code(
    parts: tuple[str, str, str, str], position: int, shift: int
) -> None:
    authority, kind, division, body = parts
    code = make_credit_code(division, body, authority=authority, kind=kind)
    index = CREDIT_CODE_CHARSET.index(code[position])
    other = CREDIT_CODE_CHARSET[(index + shift) % len(CREDIT_CODE_CHARSET)]
    broken = code[:position] + other + code[position + 1 :]
    with pytest.raises(ValidationError):
        validate_credit_code(broken)


@pytest.mark.parametrize(
    "value",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+86 138 1234 5678",
        "+86-13812345678",
        "8613812345678",
        "0086 13812345678",
        "１３８１２３４５６７８",
        " 13812345678\t",
    ],
)
def test_mobile_numbers_are_normalised(value: str) -> None:
    assert validate_mobile(value) == "13812345678"


@pytest.mark.parametrize("first_two", ["13", "14", "15", "16", "17", "18", "19"])
def test_every_mobile_prefix_from_13_to_19_is_accepted(first_two: str) -> None:
    assert is_valid_mobile(first_two + "912345678")


@pytest.mark.parametrize(
    "value",
    [
        "",
        "12812345678",  # second digit 2
        "10812345678",
        "23812345678",
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "861381234567",  # 86 + 10 digits
        "+85213812345678",
        "0851-28221234",  # a landline
        "138l2345678",
        "١٣٨١٢٣٤٥٦٧٨",  # Arabic-Indic digits are not ASCII digits
    ],
)
def test_invalid_mobiles_are_refused(value: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate_mobile(value)
    assert info.value.code == "validation.mobile"
    assert info.value.field == "phone"
    assert not is_valid_mobile(value)

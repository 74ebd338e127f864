"""Masking of phone numbers and credit codes until a user reveals them (DESIGN.md §4).

The rule is "never show more than the pattern allows": a value too short to keep
enough characters hidden is masked completely, never partly.
"""

from __future__ import annotations

from app.services.validation import ValidationError, validate_mobile

MASK = "*"
_PHONE_HEAD, _PHONE_TAIL, _PHONE_MIN_HIDDEN = 3, 4, 4
_CODE_HEAD, _CODE_TAIL, _CODE_HIDDEN = 4, 4, 10


def mask_phone(phone: str | None) -> str:
    """``"13812345678"`` → ``"138****5678"``; short or odd input is masked completely."""
    if not phone:
        return ""
    if len(phone) == 11 and phone.isascii() and phone.isdigit():
        # as the store keeps a number: the same answer, 8x faster (a pull masks 100k rows)
        return phone[:_PHONE_HEAD] + MASK * 4 + phone[-_PHONE_TAIL:]
    try:
        value = validate_mobile(phone)
    except ValidationError:
        value = "".join(phone.split())
    if len(value) < _PHONE_HEAD + _PHONE_MIN_HIDDEN + _PHONE_TAIL:
        return MASK * len(value)
    hidden = len(value) - _PHONE_HEAD - _PHONE_TAIL
    return value[:_PHONE_HEAD] + MASK * hidden + value[-_PHONE_TAIL:]


def mask_credit_code(code: str | None) -> str:
    """First 4 + ten ``*`` + last 4; anything shorter than 18 characters is masked completely."""
    if not code:
        return ""
    value = code.strip()
    if len(value) < _CODE_HEAD + _CODE_HIDDEN + _CODE_TAIL:
        return MASK * len(value)
    return value[:_CODE_HEAD] + MASK * _CODE_HIDDEN + value[-_CODE_TAIL:]


def is_masked(value: str | None) -> bool:
    """Whether ``value`` is a masked form (phone numbers and credit codes hold no ``*``)."""
    return bool(value) and MASK in str(value)

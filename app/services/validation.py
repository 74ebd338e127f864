"""Validation of the identifiers a marketer types or a batch brings: credit codes, mobiles.

A unified social credit code (统一社会信用代码, GB 32100-2015) has 18 characters::

    9 1 520303 MA6D1234 5 C
    │ │ │      │        │ └ check character over the first 17 (mod 31), position 18
    │ │ │      └────────┴ organisation code (GB 11714): 8 body characters + check (mod 11),
    │ │ │                 positions 9-17
    │ │ └ administrative division (GB/T 2260), positions 3-8
    │ └ organisation type (1 enterprise, 2 individual business, 3 farmers' co-operative, ...)
    └ registration authority (9 market regulation, 5 civil affairs, ...)

Every character comes from ``CREDIT_CODE_CHARSET`` (digits and 21 capitals: no I, O,
S, V or Z). Errors carry an i18n key in ``code`` (``validation.credit_code.length``,
``.charset``, ``.check``, ``.org_check``, ``validation.mobile``); views translate it.
"""

from __future__ import annotations

import re
import unicodedata
from operator import mul

CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_LENGTH = 18
_CREDIT_VALUE = {c: i for i, c in enumerate(CREDIT_CODE_CHARSET)}
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# GB 11714 values letters by their place in the alphabet (A=10 ... Z=35).
_ORG_VALUE = {c: int(c, 36) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_PHONE_NOISE = re.compile(r"[\s\-]+")


class ValidationError(ValueError):
    """A value that fails a format rule; ``code`` is an i18n key, ``field`` the input it names."""

    def __init__(self, code: str, field: str) -> None:
        super().__init__(f"{field}: {code}")
        self.code = code
        self.field = field


def _normalise(value: str) -> str:
    # NFKC folds full-width input from a Chinese IME (９１３５…) into ASCII.
    return unicodedata.normalize("NFKC", value).strip().upper()


def credit_code_check_char(first17: str) -> str:
    """The GB 32100 check character (position 18) for the first 17 characters."""
    if len(first17) != CREDIT_CODE_LENGTH - 1:
        raise ValidationError("validation.credit_code.length", "credit_code")
    try:
        total = sum(map(mul, map(_CREDIT_VALUE.__getitem__, first17), _CREDIT_WEIGHTS))
    except KeyError:
        raise ValidationError("validation.credit_code.charset", "credit_code") from None
    return CREDIT_CODE_CHARSET[(31 - total % 31) % 31]


def org_code_check_char(body8: str) -> str:
    """The GB 11714 check character of an organisation code's 8 body characters."""
    if len(body8) != 8:
        raise ValidationError("validation.credit_code.length", "credit_code")
    try:
        total = sum(map(mul, map(_ORG_VALUE.__getitem__, body8), _ORG_WEIGHTS))
    except KeyError:
        raise ValidationError("validation.credit_code.charset", "credit_code") from None
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def make_credit_code(division: str, org_body: str, *, authority: str = "9", kind: str = "1") -> str:
    """Build a valid credit code from its parts, computing both check characters.

    ``division`` is the 6-character area code (e.g. ``"520303"`` for 汇川区) and
    ``org_body`` the 8 body characters of the organisation code, both from
    ``CREDIT_CODE_CHARSET``.
    """
    if len(authority) != 1 or len(kind) != 1 or len(division) != 6 or len(org_body) != 8:
        raise ValidationError("validation.credit_code.length", "credit_code")
    first17 = f"{authority}{kind}{division}{org_body}{org_code_check_char(org_body)}"
    return first17 + credit_code_check_char(first17)


def validate_credit_code(code: str) -> str:
    """Return the normalised (stripped, upper-case) credit code or raise ``ValidationError``."""
    value = _normalise(code)
    if len(value) != CREDIT_CODE_LENGTH:
        raise ValidationError("validation.credit_code.length", "credit_code")
    if any(c not in _CREDIT_VALUE for c in value):
        raise ValidationError("validation.credit_code.charset", "credit_code")
    if credit_code_check_char(value[:17]) != value[17]:
        raise ValidationError("validation.credit_code.check", "credit_code")
    if org_code_check_char(value[8:16]) != value[16]:
        raise ValidationError("validation.credit_code.org_check", "credit_code")
    return value


def is_valid_credit_code(code: str) -> bool:
    """True when ``validate_credit_code`` accepts ``code``."""
    try:
        validate_credit_code(code)
    except ValidationError:
        return False
    return True


def validate_mobile(phone: str) -> str:
    """Return a mainland mobile number as 11 digits or raise ``ValidationError``.

    Spaces and dashes are dropped, as is a leading ``+86``, ``0086`` or ``86``.
    """
    value = _PHONE_NOISE.sub("", unicodedata.normalize("NFKC", phone))
    if value.startswith("+86"):
        value = value[3:]
    elif value.startswith("0086"):
        value = value[4:]
    elif value.startswith("86") and len(value) == 13:
        value = value[2:]
    if not _MOBILE.fullmatch(value):
        raise ValidationError("validation.mobile", "phone")
    return value


def is_valid_mobile(phone: str) -> bool:
    """True when ``validate_mobile`` accepts ``phone``."""
    try:
        validate_mobile(phone)
    except ValidationError:
        return False
    return True

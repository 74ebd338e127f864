"""One cell of a whitelist file to its value, or the reason it cannot be one.

Each reader takes the cell's text (``cell_text`` turns a workbook's numbers, dates and
booleans into the text a person sees) and returns the normalised value or raises
``CellError`` with an i18n code and its parameters. Full-width digits and letters
(from a Chinese IME) are folded to ASCII wherever a number or a code is read; names
and addresses keep their own characters (a company's （） are part of its name).

Called once per cell of up to 100,000 rows: plain loops, precompiled patterns, and a
cheap ASCII test before any Unicode normalisation.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime, time

from app.services.validation import (
    CREDIT_CODE_CHARSET,
    CREDIT_CODE_LENGTH,
    credit_code_check_char,
    org_code_check_char,
)

# What Excel writes for a long number it took for a float: 9.15203E+17
_SCIENTIFIC = re.compile(r"[0-9](?:\.[0-9]+)?E\+?[0-9]+")
_CREDIT_CHARS = frozenset(CREDIT_CODE_CHARSET)
_PHONE_NOISE = str.maketrans("", "", " -()\t.")
_TAG_SEPARATORS = str.maketrans({"，": ",", ";": ",", "；": ",", "、": ",", "|": ",", "｜": ","})
_NUMBER_NOISE = str.maketrans("", "", ", \u00a0°")
_VALUE_LIMIT = 100


class CellError(ValueError):
    """A cell's value breaks a rule: ``code`` is an i18n key, ``params`` fill it."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def cell_text(value: object) -> str:
    """A cell as the text a person sees in it, trimmed; a whole float without ``.0``."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return "" if value is None else str(value).strip()


def shown(text: str) -> str:
    """A cell's text as a problem quotes it (cut to 100 characters)."""
    return text if len(text) <= _VALUE_LIMIT else text[: _VALUE_LIMIT - 1] + "…"


def fold(text: str) -> str:
    """Full-width digits, letters and punctuation to ASCII (NFKC), only where needed."""
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def _unwrap(text: str) -> str:
    """A code kept as text by a spreadsheet trick: a leading apostrophe, or ="…"."""
    if text.startswith("'"):
        return text[1:].strip()
    if text.startswith('="') and text.endswith('"') and len(text) >= 3:
        return text[2:-1].strip()
    return text


def read_credit_code(text: str) -> str:
    """An 18-character unified social credit code, check characters verified (GB 32100)."""
    if len(text) == CREDIT_CODE_LENGTH and text.isascii() and text.isalnum():
        code = text.upper()  # the usual cell: nothing to unwrap or fold
    else:
        code = "".join(fold(_unwrap(text)).split()).upper()
    if _SCIENTIFIC.fullmatch(code):
        raise CellError("import.credit_code_scientific")
    if len(code) != CREDIT_CODE_LENGTH:
        raise CellError("import.credit_code_length", length=len(code))
    if not _CREDIT_CHARS.issuperset(code):
        bad = next(ch for ch in code if ch not in _CREDIT_CHARS)
        raise CellError("import.credit_code_charset", char=bad)
    # validate_credit_code's two checks, on a code already folded and of known characters
    if org_code_check_char(code[8:16]) != code[16]:
        position = 17
    elif credit_code_check_char(code[:17]) != code[17]:
        position = 18
    else:
        return code
    if code.isdigit() and code.endswith("000"):
        # Excel kept 15 significant digits of a number and padded it with zeros
        raise CellError("import.credit_code_scientific")
    raise CellError("import.credit_code_check", position=position)


def read_phone(text: str) -> str:
    """A mobile as 11 digits, or a landline as area code, dash, number (0851-28221234)."""
    if len(text) == 11 and text[0] == "1" and text.isdigit() and text.isascii():
        if text[1] in "3456789":
            return text
        raise CellError("import.phone_invalid")
    value = fold(_unwrap(text))
    national = False
    if value.startswith("+86"):
        value, national = value[3:], True
    elif value.startswith("0086"):
        value, national = value[4:], True
    value = value.translate(_PHONE_NOISE)
    if not national and value.startswith("86") and len(value) == 13:
        value, national = value[2:], True
    if not value.isdigit():
        raise CellError("import.phone_invalid")
    if national and value[0] != "1":
        value = "0" + value  # +86 851 2822 1234: the area code without its trunk 0
    if len(value) == 11 and value[0] == "1" and value[1] in "3456789":
        return value
    if value[0] == "0" and len(value) > 3:
        area = 3 if value[1] in "12" else 4  # 010 and 02x; every other area code has 4
        number = value[area:]
        if 7 <= len(number) <= 8 and number[0] not in "01":
            return f"{value[:area]}-{number}"
    raise CellError("import.phone_invalid")


def read_number(text: str, code: str) -> float:
    """A finite number (full-width digits, thousands separators and ° allowed)."""
    try:
        number = float(text)  # the usual cell; float() itself reads full-width digits
    except ValueError:
        value = fold(_unwrap(text)).translate(_NUMBER_NOISE)
        try:
            number = float(value)
        except ValueError:
            raise CellError(code) from None
    if not math.isfinite(number):
        raise CellError(code)
    return number


def read_line(text: str, factor: int) -> int:
    """A pre-approved line in 元 from the file's unit (``factor``: 10,000 for 万元)."""
    value = fold(text).strip()
    if value.isascii() and value[-1:].isdigit():
        number = read_number(value, "import.line_invalid")
        if number < 0:
            raise CellError("import.line_negative")
        return round(number * factor)
    for unit in ("万元", "万", "元"):
        if value.endswith(unit):
            value = value[: -len(unit)]
            break
    number = read_number(value, "import.line_invalid")
    if number < 0:
        raise CellError("import.line_negative")
    return round(number * factor)


def read_score(text: str) -> int:
    """A score, a whole number from 0 to 100."""
    if text.isdigit() and len(text) <= 3 and text.isascii():
        if int(text) <= 100:
            return int(text)
        raise CellError("import.score_invalid")
    number = read_number(text, "import.score_invalid")
    if not number.is_integer() or not 0 <= number <= 100:
        raise CellError("import.score_invalid")
    return int(number)


def read_tags(text: str) -> tuple[str, ...]:
    """Tags separated by , ， ; ； 、 or |, trimmed, each once, in order."""
    tags: dict[str, None] = {}
    for part in text.translate(_TAG_SEPARATORS).split(","):
        tag = part.strip()
        if tag:
            tags[tag] = None
    return tuple(tags)


def read_outlet_code(text: str) -> str:
    """An outlet code as the store spells it (upper case, ASCII)."""
    return "".join(fold(text).split()).upper()

"""Loan events from a file (``main.py import-loans``), for a bank whose loan system has no API.

The file is read as the whitelist import reads one (``app.services.import_read``): CSV in
UTF-8 (with or without BOM), GBK or GB18030, or an ``.xlsx``; the header row may sit
below a title, and columns are matched on their folded header text (``header_key``), in
Chinese or English:

============================  ==========================================================
field (``LoanEventIn``)       headers
============================  ==========================================================
``loan_id``                   贷款编号, 借据号, 贷款号, 合同号, loan id
``credit_code``               统一社会信用代码, 信用代码, credit code
``status``                    状态, 贷款状态, status
``amount`` (元)               金额, 金额（元）, 贷款金额, 放款金额, amount
``occurred_on``               日期, 业务日期, 发生日期, date, occurred on
``booking_outlet_code``       簿记网点代码, 簿记网点, 网点代码, booking outlet code
``originator_employee_no``    发起人员工号, 发起人工号, 发起人, originator employee no
``booker_employee_no``        簿记人员工号, 簿记人工号, 簿记人, booker employee no
``product``                   产品, 产品名称, product
============================  ==========================================================

The first six are required (the file is refused, naming the missing ones). Cells are
read as a person writes them, then handed to the same judgement as the API's events
(``app.server.loans``): a status in Chinese (申请/已申请, 审批通过/已审批, 放款/已放款,
结清/已结清, 逾期/已逾期) or English; an amount with thousands separators or ``.00``;
a date as ``2026-11-30``, ``2026/11/30``, ``2026.11.30`` or ``20261130``; an empty cell
is a field not given. Blank rows are skipped. Anything else goes to the wire model as it
is, which refuses it row by row with its reason.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from app.models.loan import LoanStatus
from app.services.import_read import HEADER_SEARCH_ROWS, ImportFileError, read_table
from app.services.whitelist_import import header_key

__all__ = ["MAX_FILE_BYTES", "LoanFile", "read_loan_file"]

MAX_FILE_BYTES = 20 * 1024 * 1024

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "loan_id": ("贷款编号", "借据号", "贷款号", "合同号", "loan id", "loan_id", "loan no"),
    "credit_code": ("统一社会信用代码", "信用代码", "credit code", "credit_code"),
    "status": ("状态", "贷款状态", "status"),
    "amount": ("金额", "金额（元）", "金额(元)", "贷款金额", "放款金额", "amount", "amount yuan"),
    "occurred_on": ("日期", "业务日期", "发生日期", "date", "occurred on", "occurred_on"),
    "booking_outlet_code": (
        "簿记网点代码",
        "簿记网点",
        "网点代码",
        "booking outlet code",
        "booking_outlet_code",
        "booking outlet",
    ),
    "originator_employee_no": (
        "发起人员工号",
        "发起人工号",
        "发起人",
        "originator employee no",
        "originator_employee_no",
        "originator",
    ),
    "booker_employee_no": (
        "簿记人员工号",
        "簿记人工号",
        "簿记人",
        "booker employee no",
        "booker_employee_no",
        "booker",
    ),
    "product": ("产品", "产品名称", "product"),
}
REQUIRED = ("loan_id", "credit_code", "status", "amount", "occurred_on", "booking_outlet_code")
# how a missing column is named to the user (Chinese, English)
FIELD_NAMES: dict[str, tuple[str, str]] = {
    "loan_id": ("贷款编号", "loan id"),
    "credit_code": ("统一社会信用代码", "credit code"),
    "status": ("状态", "status"),
    "amount": ("金额（元）", "amount"),
    "occurred_on": ("日期", "date"),
    "booking_outlet_code": ("簿记网点代码", "booking outlet code"),
}
_KNOWN = {header_key(word): name for name, words in _SYNONYMS.items() for word in words}
_STATUS_WORDS = {
    **{s.value: s.value for s in LoanStatus},
    "申请": LoanStatus.APPLIED,
    "已申请": LoanStatus.APPLIED,
    "审批": LoanStatus.APPROVED,
    "审批通过": LoanStatus.APPROVED,
    "已审批": LoanStatus.APPROVED,
    "放款": LoanStatus.DISBURSED,
    "已放款": LoanStatus.DISBURSED,
    "结清": LoanStatus.REPAID,
    "已结清": LoanStatus.REPAID,
    "逾期": LoanStatus.OVERDUE,
    "已逾期": LoanStatus.OVERDUE,
}
_WHOLE = re.compile(r"^[+]?\d+(?:\.0+)?$")
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
_DATE_DIGITS = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


@dataclass(frozen=True)
class LoanFile:
    """A file's events as the wire model will read them: (line, fields) per row."""

    encoding: str
    rows: list[tuple[int, dict[str, str]]]


def _is_header(cells: Sequence[str]) -> bool:
    found = {_KNOWN.get(header_key(c)) for c in cells} - {None}
    return len(found) >= 3


def read_loan_file(data: bytes, *, max_bytes: int = MAX_FILE_BYTES) -> LoanFile:
    """The rows of a loan file; ``ImportFileError`` when the file itself will not do
    (empty, too large, not a table, no header, a required column missing)."""
    table = read_table(data, max_bytes=max_bytes, is_header=_is_header)
    rows = iter(table.rows)
    columns: dict[str, int] | None = None
    for _ in range(HEADER_SEARCH_ROWS):
        found = next(rows, None)
        if found is None:
            break
        if _is_header(found[1]):
            columns = _columns(found[1])
            break
    if columns is None:
        raise ImportFileError("import.no_header")
    events = []
    for line, cells in rows:
        values = {
            name: _cell(name, cells[index] if index < len(cells) else "")
            for name, index in columns.items()
        }
        if not any(values.values()):
            continue  # a blank row
        events.append((line, {k: v for k, v in values.items() if v != ""}))
    return LoanFile(table.encoding, events)


def _columns(header: Sequence[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, text in enumerate(header):
        name = _KNOWN.get(header_key(text))
        if name is None or name in columns:
            continue  # an unknown column is ignored; a repeated one: the first counts
        columns[name] = index
    missing = [f for f in REQUIRED if f not in columns]
    if missing:
        raise ImportFileError(
            "loans.import.missing_columns", names="、".join(FIELD_NAMES[f][0] for f in missing)
        )
    return columns


def _cell(name: str, raw: str) -> str:
    """A cell as the wire model reads its field (see the module docstring)."""
    text = unicodedata.normalize("NFKC", raw).strip()
    if name == "status":
        return str(_STATUS_WORDS.get(text.lower(), text))
    if name == "amount":
        plain = text.replace(",", "").replace(" ", "").removesuffix("元")
        return str(int(plain.split(".")[0])) if _WHOLE.fullmatch(plain) else text
    if name == "occurred_on":
        found = _DATE.fullmatch(text) or _DATE_DIGITS.fullmatch(text)
        if found:
            year, month, day = found.groups()
            return f"{year}-{int(month):02d}-{int(day):02d}"
    return text

"""Reading a head-office whitelist file (白名单导入): every row checked, nothing stored.

One service, three doors (the admin screen, ``main.py import-batch``, the store's
multipart endpoint): ``preview`` reads a ``.xlsx`` or ``.csv`` file (UTF-8, UTF-8 with
BOM, GBK or GB18030, detected), recognises its columns by their Chinese or English
headers (or the user's mapping for an unknown one), checks every row and answers the
valid rows (``ImportRow``: WGS-84, 元) and every problem (``RowProblem``: line, column,
reason). Committing them is the central store's (``app.server.batches``), all or
nothing. ``error_report`` writes the problems as an ``.xlsx`` to download.

A file that cannot be read at all raises ``ImportFileError`` with an i18n code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from app.geo.coords import Datum

__all__ = [
    "Datum",
    "ImportContext",
    "ImportField",
    "ImportFileError",
    "ImportPreview",
    "ImportRow",
    "RowProblem",
]

MAX_FILE_BYTES = 50 * 1024 * 1024  # a 100,000-row whitelist is about 20 MB as CSV


class ImportField(StrEnum):
    """A column the importer knows; the file names it by a Chinese or English header."""

    COMPANY_NAME = "company_name"  # 企业名称
    CREDIT_CODE = "credit_code"  # 统一社会信用代码
    LEGAL_REP = "legal_rep"  # 法定代表人
    PHONE = "phone"  # 联系电话
    INDUSTRY = "industry"  # 行业
    ADDRESS = "address"  # 地址
    LON = "lon"  # 经度
    LAT = "lat"  # 纬度
    LINE = "pre_approved_line"  # 预授信额度(万元)
    OUTLET_CODE = "outlet_code"  # 网点代码
    SCORE = "score"  # 评分
    TAGS = "tags"  # 标签


class ImportFileError(ValueError):
    """The whole file is refused (nothing is read from it); ``code`` is an i18n key,
    ``params`` fill it (a column's name, a size)."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class ImportRow:
    """One valid row, ready to become a prospect."""

    line: int  # the row's number as a spreadsheet shows it (the header is line 1)
    company_name: str
    credit_code: str  # 18 characters, check character verified (GB 32100)
    legal_rep: str
    phone: str  # normalised: 11-digit mobile, or a landline such as 0851-28221234
    industry: str
    address: str
    lat: float  # WGS-84, converted from the file's datum
    lon: float
    pre_approved_line: int  # 元 (the file gives 万元)
    outlet_code: str | None  # None: the nearest outlet takes it
    score: int  # 0-100
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class RowProblem:
    """Why one row (or one cell of it) was refused."""

    line: int
    column: str  # the file's own header text; "" for the whole row
    code: str  # an i18n key, e.g. "import.credit_code_invalid"
    value: str = ""  # what the cell held, as text (cut to 100 characters)


@dataclass(frozen=True)
class ImportContext:
    """What a preview checks rows against, read from the central store by the caller."""

    outlet_codes: frozenset[str]  # outlets the importer may send rows to
    # credit code → name of the active batch already listing it (the batch being
    # re-imported left out: its own entries are not duplicates)
    active_credit_codes: Mapping[str, str] = field(default_factory=dict)
    datum: Datum = Datum.WGS84  # the file's coordinate system, declared by the importer
    mapping: Mapping[str, ImportField] = field(default_factory=dict)  # header → field
    max_bytes: int = MAX_FILE_BYTES


@dataclass
class ImportPreview:
    """What a file holds: its valid rows and every problem, before anything is stored."""

    file_name: str
    encoding: str  # "utf-8", "utf-8-sig", "gbk", "gb18030"; "xlsx" for a workbook
    headers: list[str]
    mapping: dict[str, ImportField]  # header → field, recognised or chosen
    unknown_headers: list[str]  # headers neither recognised nor mapped (ignored)
    total: int  # data rows read
    rows: list[ImportRow]  # the valid ones
    problems: list[RowProblem]

    @property
    def bad_lines(self) -> int:
        """Rows with at least one problem."""
        return len({p.line for p in self.problems})

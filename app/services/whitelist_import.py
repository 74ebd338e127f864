"""Reading a head-office whitelist file (白名单导入): every row checked, nothing stored.

One service, three doors (the admin screen, ``main.py import-batch``, the store's
multipart endpoint): ``preview`` reads a ``.xlsx`` or ``.csv`` file (UTF-8, UTF-8 with
BOM, GBK or GB18030, detected), recognises its columns by their Chinese or English
headers (or the user's mapping for an unknown one), checks every row and answers the
valid rows (``ImportRow``: WGS-84, 元) and every problem (``RowProblem``: line, column,
reason). Committing them is the central store's (``app.server.batches``), all or
nothing. ``error_report`` writes the problems as an ``.xlsx`` to download.

A file that cannot be read at all raises ``ImportFileError`` with an i18n code.

The layers: ``import_read`` turns bytes into numbered rows of cells (type by content,
encoding, delimiter, formula cells, merged ranges); this module finds the header row,
matches the columns and checks each row; ``import_cells`` reads one cell. Problems
name the row as a spreadsheet numbers it and the column by the file's own header.

Header row: the first of the top ten rows naming two or more known columns, so a title
row above it (``2026年第一批白名单``) is skipped. Columns are matched on their header
folded to lower-case letters and digits (spaces, brackets, ``*`` and full-width forms
ignored): ``预授信额度（万元）`` = ``预授信额度(万元)`` = ``Pre-approved line (10k yuan)``.
A line column headed in 元 (``预授信额度(元)``) is read in 元; every other in 万元.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import chain, islice
from operator import itemgetter

from app.geo.coords import Datum, out_of_china, to_wgs84
from app.i18n import t
from app.services.export import text_cell
from app.services.import_cells import (
    CellError,
    cell_text,
    read_credit_code,
    read_line,
    read_number,
    read_outlet_code,
    read_phone,
    read_score,
    read_tags,
    shown,
)
from app.services.import_read import (
    HEADER_SEARCH_ROWS,
    ImportFileError,
    Table,
    column_letter,
    read_table,
)

__all__ = [
    "MAX_FILE_BYTES",
    "REQUIRED_FIELDS",
    "Datum",
    "ImportContext",
    "ImportField",
    "ImportFileError",
    "ImportPreview",
    "ImportRow",
    "RowProblem",
    "describe",
    "describe_file_error",
    "error_report",
    "header_key",
    "preview",
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
    code: str  # an i18n key, e.g. "import.credit_code_check"
    value: str = ""  # what the cell held, as text (cut to 100 characters)
    params: tuple[tuple[str, str], ...] = ()  # fill the message: (("first", "12"),)


@dataclass(frozen=True)
class ImportContext:
    """What a preview checks rows against, read from the central store by the caller."""

    outlet_codes: frozenset[str]  # outlets the importer may send rows to
    # credit code → name of the active batch already listing it (the batch being
    # re-imported left out: its own entries are not duplicates)
    active_credit_codes: Mapping[str, str] = field(default_factory=dict)
    datum: Datum = Datum.WGS84  # the file's coordinate system, declared by the importer
    # header → field, for a header the importer does not know (or to override one it
    # does); "" ignores the column
    mapping: Mapping[str, ImportField | str] = field(default_factory=dict)
    max_bytes: int = MAX_FILE_BYTES
    # every outlet the store knows, when the importer reaches only some: a row naming one
    # of the others is "out of your scope" (import.outlet_out_of_scope), not "unknown".
    # None: the same as outlet_codes.
    all_outlet_codes: frozenset[str] | None = None


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


# -- headers ---------------------------------------------------------------------------

REQUIRED_FIELDS: tuple[ImportField, ...] = (
    ImportField.COMPANY_NAME,
    ImportField.CREDIT_CODE,
    ImportField.PHONE,
    ImportField.LAT,
    ImportField.LON,
)
# How a missing column is named to the user: the header to add, in each language.
FIELD_NAMES: dict[ImportField, tuple[str, str]] = {
    ImportField.COMPANY_NAME: ("企业名称", "company name"),
    ImportField.CREDIT_CODE: ("统一社会信用代码", "credit code"),
    ImportField.LEGAL_REP: ("法定代表人", "legal representative"),
    ImportField.PHONE: ("联系电话", "phone"),
    ImportField.INDUSTRY: ("行业", "industry"),
    ImportField.ADDRESS: ("地址", "address"),
    ImportField.LON: ("经度", "longitude"),
    ImportField.LAT: ("纬度", "latitude"),
    ImportField.LINE: ("预授信额度(万元)", "pre-approved line (10k yuan)"),
    ImportField.OUTLET_CODE: ("网点代码", "outlet code"),
    ImportField.SCORE: ("评分", "score"),
    ImportField.TAGS: ("标签", "tags"),
}
_SYNONYMS: dict[ImportField, tuple[str, ...]] = {
    ImportField.COMPANY_NAME: (
        "企业名称", "公司名称", "客户名称", "企业名", "单位名称", "商户名称", "名称",
        "company name", "company", "enterprise name", "business name", "customer name", "name",
    ),
    ImportField.CREDIT_CODE: (
        "统一社会信用代码", "社会信用代码", "信用代码", "统一信用代码", "统一代码",
        "credit code", "uscc", "unified social credit code", "social credit code",
    ),
    ImportField.LEGAL_REP: (
        "法定代表人", "法人", "法人代表", "法定代表", "经营者", "负责人",
        "legal representative", "legal rep", "representative",
    ),
    ImportField.PHONE: (
        "联系电话", "电话", "手机", "手机号", "手机号码", "电话号码", "联系方式",
        "phone", "telephone", "tel", "mobile", "contact phone", "phone number",
    ),
    ImportField.INDUSTRY: ("行业", "所属行业", "行业类别", "行业分类", "industry", "sector"),
    ImportField.ADDRESS: (
        "地址", "经营地址", "企业地址", "注册地址", "详细地址", "经营场所", "address",
    ),
    ImportField.LON: ("经度", "longitude", "lon", "lng", "long"),
    ImportField.LAT: ("纬度", "latitude", "lat"),
    ImportField.LINE: (
        "预授信额度", "授信额度", "预授信金额", "预授信", "额度",
        "pre-approved line", "preapproved line", "pre-approved credit line", "credit line", "line",
    ),
    ImportField.OUTLET_CODE: ("网点代码", "网点编号", "网点号", "outlet code", "outlet", "outlet id"),
    ImportField.SCORE: ("评分", "分数", "得分", "客户评分", "score", "rating"),
    ImportField.TAGS: ("标签", "客户标签", "tags", "tag", "labels"),
}  # fmt: skip
_LINE_UNITS_WAN = ("万元", "万", "10kyuan", "10kcny", "10k", "wan", "wanyuan")
_LINE_UNITS_YUAN = ("元", "yuan", "cny", "rmb")
_WAN = 10_000


def header_key(text: str) -> str:
    """A header folded for matching: NFKC, lower case, letters and digits only."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum())


def _known_headers() -> dict[str, tuple[ImportField, int]]:
    """Folded header → (field, factor to 元 for a line column; 1 otherwise)."""
    known: dict[str, tuple[ImportField, int]] = {}
    for name, words in _SYNONYMS.items():
        for word in words:
            known[header_key(word)] = (name, _WAN if name is ImportField.LINE else 1)
    for word in _SYNONYMS[ImportField.LINE]:
        base = header_key(word)
        for unit in _LINE_UNITS_WAN:
            known[base + unit] = (ImportField.LINE, _WAN)
        for unit in _LINE_UNITS_YUAN:
            known[base + unit] = (ImportField.LINE, 1)
    return known


_KNOWN = _known_headers()


@dataclass(frozen=True, slots=True)
class _Column:
    index: int  # from 0
    header: str  # as the file spells it
    field: ImportField
    factor: int = 1  # 元 per unit, for the line column


def _line_factor(header: str) -> int:
    key = header_key(header)
    if key.endswith(_LINE_UNITS_YUAN) and not key.endswith(("万元", "10kyuan", "wanyuan")):
        return 1
    return _WAN


_IGNORED = ""  # a mapping's value for "do not read this column"


def _field_of(header: str, mapping: Mapping[str, ImportField | str]) -> ImportField | str | None:
    """The field a header names: the user's mapping first (exact, or folded like the
    known headers; ``""`` to ignore the column), then the known headers; None: unknown."""
    chosen = mapping.get(header)
    if chosen is None and mapping:
        key = header_key(header)
        chosen = next((v for k, v in mapping.items() if header_key(k) == key), None)
    if chosen is not None:
        if chosen == _IGNORED:
            return _IGNORED
        try:
            return ImportField(chosen)
        except ValueError:
            raise ImportFileError("import.mapping_invalid", column=header, field=chosen) from None
    known = _KNOWN.get(header_key(header))
    return known[0] if known else None


def _recognised(cells: Sequence[str], mapping: Mapping[str, ImportField | str]) -> int:
    found = set()
    for cell in cells:
        text = cell_text(cell)
        if text and (name := _field_of(text, mapping)):
            found.add(name)
    return len(found)


def _looks_like_data(cells: Sequence[str]) -> bool:
    """A first row holding values (a number, a credit code), not column names."""
    for cell in cells:
        text = cell_text(cell)
        if not text:
            continue
        try:
            read_number(text, "")
            return True
        except CellError:
            pass
        try:
            read_credit_code(text)
            return True
        except CellError:
            pass
    return False


def _find_header(head: Sequence[tuple[int, Sequence[str]]], context: ImportContext) -> int:
    """The index in ``head`` of the header row (see the module docstring)."""
    for i, (_, cells) in enumerate(head):
        if _recognised(cells, context.mapping) >= 2:
            return i
    filled = [i for i, (_, cells) in enumerate(head) if any(cell_text(c) for c in cells)]
    if not filled or _looks_like_data(head[filled[0]][1]):
        raise ImportFileError("import.no_header")
    return filled[0]


def _columns(
    cells: Sequence[str], context: ImportContext
) -> tuple[list[str], list[_Column], list[str]]:
    """The header texts, the columns read (one per field) and the unknown headers."""
    headers: list[str] = []
    columns: dict[ImportField, _Column] = {}
    unknown: list[str] = []
    for index, cell in enumerate(cells):
        header = cell_text(cell)
        if not header:
            continue
        headers.append(header)
        name = _field_of(header, context.mapping)
        if name is None:
            unknown.append(header)
            continue
        if not isinstance(name, ImportField):
            continue  # the user chose to ignore it
        if name in columns:
            raise ImportFileError(
                "import.duplicate_header", column=header, first=columns[name].header
            )
        factor = _line_factor(header) if name is ImportField.LINE else 1
        columns[name] = _Column(index, header, name, factor)
    missing = [name for name in REQUIRED_FIELDS if name not in columns]
    if missing:
        error = ImportFileError(
            "import.missing_columns",
            names=_field_names(missing, "zh"),
            fields=",".join(missing),  # describe_file_error names them in English
        )
        error.unknown_headers = unknown
        raise error
    return headers, sorted(columns.values(), key=lambda c: c.index), unknown


# -- rows ------------------------------------------------------------------------------


class _RowChecker:
    """Checks rows one by one, remembering credit codes for the in-file duplicates.

    Runs 100,000 times a file: each row's cells are taken in one ``itemgetter`` call,
    the common, valid case goes through the readers' fast paths, and a problem is only
    built when there is one.
    """

    def __init__(
        self, columns: list[_Column], context: ImportContext, table: Table, header_line: int
    ):
        by_field = {c.field: c for c in columns}
        absent = max(c.index for c in columns) + 1  # always "" (rows are cut and padded)
        self.absent = absent
        self.pad = [""] * (absent + 1)
        self.take = itemgetter(*(by_field[f].index if f in by_field else absent for f in _ORDER))
        self.headers = tuple(by_field[f].header if f in by_field else "" for f in _ORDER)
        self.line_factor = (
            by_field[ImportField.LINE].factor if ImportField.LINE in by_field else _WAN
        )
        self.order = {c.header: c.index for c in columns}
        self.active = context.active_credit_codes
        self.datum = context.datum
        self.outlets = {code.upper(): code for code in context.outlet_codes}
        self.outlets.update({code: code for code in context.outlet_codes})
        every = context.all_outlet_codes
        self.known_outlets = {c.upper() for c in every} if every is not None else set(self.outlets)
        self.first_line: dict[str, int] = {}
        lat, lon = by_field[ImportField.LAT].header, by_field[ImportField.LON].header
        self.position_column = f"{lat}/{lon}"
        self.order[self.position_column] = by_field[ImportField.LAT].index
        self.cell_problems = self._cell_problems(columns, table, header_line)

    @staticmethod
    def _cell_problems(
        columns: list[_Column], table: Table, header_line: int
    ) -> dict[int, list[RowProblem]]:
        """Formula cells and merged ranges in the columns read, by line."""
        found: dict[int, list[RowProblem]] = {}
        header_of = {c.index: c.header for c in columns}
        for first, col0, last, col1 in table.merged:
            if last <= header_line:
                continue  # a title above the header (the header's own: refused before)
            cells = f"{column_letter(col0)}{first}:{column_letter(col1)}{last}"
            inside = [i for i in range(col0, col1 + 1) if i in header_of]
            if inside:
                params = (("cells", cells),)
                for line in range(first, last + 1):
                    found.setdefault(line, []).append(
                        RowProblem(line, header_of[inside[0]], "import.merged_cells", "", params)
                    )
        for (line, index), formula in table.formulas.items():
            if line > header_line and index in header_of:
                found.setdefault(line, []).append(
                    RowProblem(line, header_of[index], "import.formula", shown(formula))
                )
        return found

    def check(self, line: int, cells: list[str]) -> tuple[ImportRow | None, list[RowProblem]]:
        """The row as an ``ImportRow``, or None and why."""
        # the columns read, then "" up to and at the index of every absent field
        cells = cells[: self.absent]
        cells += self.pad[len(cells) :]
        (name, raw_code, rep, raw_phone, industry, address, raw_lat, raw_lon, raw_line,
         raw_outlet, raw_score, raw_tags) = self.take(cells)  # fmt: skip
        (h_name, h_code, _, h_phone, _, _, h_lat, h_lon, h_line, h_outlet, h_score, _) = (
            self.headers
        )
        name, raw_code, raw_phone = name.strip(), raw_code.strip(), raw_phone.strip()
        problems = self.cell_problems.get(line)
        problems = list(problems) if problems else []
        add = problems.append

        if not name:
            add(_required(line, h_name))
        credit_code = ""
        if not raw_code:
            add(_required(line, h_code))
        else:
            try:
                credit_code = read_credit_code(raw_code)
            except CellError as error:
                add(_problem(line, h_code, error.code, raw_code, error.params))
            else:
                first = self.first_line.setdefault(credit_code, line)
                if first != line:
                    add(
                        _problem(
                            line, h_code, "import.duplicate_in_file", raw_code, {"first": first}
                        )
                    )
                batch = self.active.get(credit_code)
                if batch is not None:
                    add(
                        _problem(
                            line, h_code, "import.duplicate_active", raw_code, {"batch": batch}
                        )
                    )
        phone = ""
        if not raw_phone:
            add(_required(line, h_phone))
        else:
            try:
                phone = read_phone(raw_phone)
            except CellError as error:
                add(_problem(line, h_phone, error.code, raw_phone))
        position = self._position(line, raw_lat.strip(), raw_lon.strip(), h_lat, h_lon, add)
        line_yuan = 0
        if raw_line and (raw_line := raw_line.strip()):
            try:
                line_yuan = read_line(raw_line, self.line_factor)
            except CellError as error:
                add(_problem(line, h_line, error.code, raw_line, {"column": h_line}))
        score = 0
        if raw_score and (raw_score := raw_score.strip()):
            try:
                score = read_score(raw_score)
            except CellError as error:
                add(_problem(line, h_score, error.code, raw_score))
        outlet_code: str | None = None
        if raw_outlet and (raw_outlet := raw_outlet.strip()):
            outlet_code = self.outlets.get(raw_outlet)
            if outlet_code is None:
                wanted = read_outlet_code(raw_outlet)
                outlet_code = self.outlets.get(wanted)
                if outlet_code is None:
                    known = wanted in self.known_outlets
                    code = "import.outlet_out_of_scope" if known else "import.outlet_unknown"
                    add(_problem(line, h_outlet, code, raw_outlet, {"code": wanted}))
        if problems:
            if len(problems) > 1:
                problems.sort(key=lambda p: self.order.get(p.column, -1))
            return None, problems
        assert position is not None
        return (
            ImportRow(
                line,
                _plain(name),
                credit_code,
                _plain(rep),
                phone,
                _plain(industry),
                _plain(address),
                position[0],
                position[1],
                line_yuan,
                outlet_code,
                score,
                read_tags(raw_tags) if raw_tags else (),
            ),
            problems,
        )

    def _position(
        self,
        line: int,
        raw_lat: str,
        raw_lon: str,
        h_lat: str,
        h_lon: str,
        add: Callable[[RowProblem], None],
    ) -> tuple[float, float] | None:
        """WGS-84 (lat, lon) from the file's datum, or None after recording why not."""
        lat = lon = None
        if not raw_lat:
            add(_required(line, h_lat))
        else:
            try:
                lat = read_number(raw_lat, "import.coord_invalid")
            except CellError as error:
                add(_problem(line, h_lat, error.code, raw_lat, {"column": h_lat}))
        if not raw_lon:
            add(_required(line, h_lon))
        else:
            try:
                lon = read_number(raw_lon, "import.coord_invalid")
            except CellError as error:
                add(_problem(line, h_lon, error.code, raw_lon, {"column": h_lon}))
        if lat is None or lon is None:
            return None
        both = f"{raw_lat}, {raw_lon}"
        if out_of_china(lat, lon) and not out_of_china(lon, lat):
            add(_problem(line, self.position_column, "import.coords_swapped", both))
            return None
        if not -90 <= lat <= 90 or not -180 <= lon <= 180:
            if not -90 <= lat <= 90:
                add(_problem(line, h_lat, "import.coord_range", raw_lat, {"column": h_lat}))
            if not -180 <= lon <= 180:
                add(_problem(line, h_lon, "import.coord_range", raw_lon, {"column": h_lon}))
            return None
        if self.datum != Datum.WGS84:
            lat, lon = to_wgs84(lat, lon, self.datum)
        if out_of_china(lat, lon):
            add(_problem(line, self.position_column, "import.coord_outside_china", both))
            return None
        return round(lat, 7), round(lon, 7)


# The order _RowChecker takes a row's cells in.
_ORDER = (
    ImportField.COMPANY_NAME,
    ImportField.CREDIT_CODE,
    ImportField.LEGAL_REP,
    ImportField.PHONE,
    ImportField.INDUSTRY,
    ImportField.ADDRESS,
    ImportField.LAT,
    ImportField.LON,
    ImportField.LINE,
    ImportField.OUTLET_CODE,
    ImportField.SCORE,
    ImportField.TAGS,
)


def _problem(
    line: int, column: str, code: str, value: str, params: Mapping[str, object] | None = None
) -> RowProblem:
    pairs = tuple((k, str(v)) for k, v in params.items()) if params else ()
    return RowProblem(line, column, code, shown(value), pairs)


def _required(line: int, column: str) -> RowProblem:
    return RowProblem(line, column, "import.required", "", (("column", column),))


def _plain(text: str) -> str:
    """Free text trimmed, on one line (a line break inside a cell becomes a space)."""
    text = text.strip()
    return " ".join(text.split()) if "\n" in text or "\r" in text else text


# -- the service -----------------------------------------------------------------------


def preview(data: bytes, file_name: str, context: ImportContext) -> ImportPreview:
    """Read and check a whitelist file; raises ``ImportFileError`` for a refused file."""

    def is_header(cells: Sequence[str]) -> bool:
        return _recognised(cells, context.mapping) >= 2

    table = read_table(data, max_bytes=context.max_bytes, is_header=is_header)
    head = list(islice(table.rows, HEADER_SEARCH_ROWS))
    at = _find_header(head, context)
    header_line, header_cells = head[at]
    for first, col0, last, col1 in table.merged:
        if first <= header_line <= last:
            where = f"{column_letter(col0)}{first}:{column_letter(col1)}{last}"
            raise ImportFileError("import.merged_header", cells=where)
    headers, columns, unknown = _columns(header_cells, context)
    checker = _RowChecker(columns, context, table, header_line)
    rows: list[ImportRow] = []
    problems: list[RowProblem] = []
    total = 0
    for line, cells in chain(head[at + 1 :], table.rows):
        if not "".join(cells).strip():
            continue  # a blank row
        total += 1
        row, found = checker.check(line, cells)
        if row is not None:
            rows.append(row)
        else:
            problems.extend(found)
    if total == 0:
        raise ImportFileError("import.no_rows")
    return ImportPreview(
        file_name=file_name,
        encoding=table.encoding,
        headers=headers,
        mapping={c.header: c.field for c in columns},
        unknown_headers=unknown,
        total=total,
        rows=rows,
        problems=problems,
    )


def describe(problem: RowProblem, lang: str = "zh") -> str:
    """A row problem in words (the column and the line are shown beside it)."""
    return t(problem.code, lang, **dict(problem.params))


def describe_file_error(error: ImportFileError, lang: str = "zh") -> str:
    """Why a file was refused, in words (missing columns named in ``lang``)."""
    params = dict(error.params)
    if "fields" in params:
        params["names"] = _field_names(
            [ImportField(f) for f in str(params["fields"]).split(",")], lang
        )
    return t(error.code, lang, **params)


def _field_names(fields: Iterable[ImportField], lang: str) -> str:
    if lang == "zh":
        return "、".join(FIELD_NAMES[f][0] for f in fields)
    return ", ".join(FIELD_NAMES[f][1] for f in fields)


# -- the error report ------------------------------------------------------------------


def error_report(preview: ImportPreview, lang: str = "zh") -> bytes:
    """The problems as an ``.xlsx``: one row per problem (line, column, reason, value)
    on the first sheet, the counts on the second."""
    from openpyxl import Workbook  # loaded with the first report, not on the first screen
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    bold = Font(bold=True)
    sheet = book.create_sheet(t("import.report.problems_sheet", lang))
    sheet.freeze_panes = "A2"
    for letter, width in zip("ABCD", (8, 22, 60, 32), strict=True):
        sheet.column_dimensions[letter].width = width
    titles = (
        "import.report.line",
        "import.report.column",
        "import.report.problem",
        "import.report.value",
    )
    sheet.append([text_cell(sheet, t(key, lang), bold) for key in titles])
    for p in preview.problems:
        sheet.append(
            [
                p.line,
                text_cell(sheet, p.column),
                text_cell(sheet, describe(p, lang)),
                text_cell(sheet, p.value),
            ]
        )
    summary = book.create_sheet(t("import.report.summary_sheet", lang))
    summary.column_dimensions["A"].width = 16
    summary.column_dimensions["B"].width = 48
    counts: Iterable[tuple[str, object]] = (
        ("import.report.file", preview.file_name),
        ("import.report.encoding", preview.encoding),
        ("import.report.total", preview.total),
        ("import.report.valid", len(preview.rows)),
        ("import.report.bad", preview.bad_lines),
        ("import.report.problem_count", len(preview.problems)),
    )
    for key, value in counts:
        shown_value = text_cell(summary, value) if isinstance(value, str) else value
        summary.append([text_cell(summary, t(key, lang), bold), shown_value])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

"""The file layer of the whitelist import: an upload's bytes to numbered rows of cells.

What a file *is* is read from its content, never trusted from its name:

- a ZIP holding ``xl/workbook.xml`` is an Excel workbook (``.xlsx``/``.xlsm``). Its first
  visible sheet is read by python-calamine (cached values, fast); the sheet's XML is
  scanned once more for formula cells (``<f>``), which calamine does not report, and
  calamine's merged ranges are kept, so the rows above can name both;
- an old ``.xls`` (OLE compound file, also what an encrypted workbook is), a PDF, an
  image, another ZIP (``.docx``, ``.xlsb``) or any binary is refused;
- anything else is CSV text: UTF-8 (with or without BOM), UTF-16 with BOM (Excel's
  "Unicode text"), GBK or GB18030 — tried in that order, GBK before its superset so the
  narrower name is reported — then charset-normalizer's guess, kept only when it makes
  the header readable. The delimiter (comma, tab or semicolon) is the header line's
  most frequent one.

A refused file raises ``ImportFileError`` with an i18n code (``import.*``).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from xml.etree import ElementTree
from xml.sax.saxutils import unescape

from app.services.import_cells import cell_text

__all__ = ["ImportFileError", "Table", "read_table"]

Cells = list[str]  # as a person reads them (``cell_text``), not yet trimmed
Row = tuple[int, Cells]  # (line as a spreadsheet numbers it, from 1; the cells)
HeaderTest = Callable[[Sequence[str]], bool]

HEADER_SEARCH_ROWS = 10  # a title row or two may sit above the header
_SNIFF_CHARS = 64 * 1024
_MAX_UNZIPPED_RATIO = 20  # a workbook's XML inflates ~10x; far more is a ZIP bomb
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, .doc, encrypted .xlsx
_BINARY_MAGIC = (
    b"%PDF",
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"{\\rtf",
    b"\x1f\x8b",
    b"Rar!",
    b"7z\xbc\xaf",
)
_DELIMITERS = (",", "\t", ";")
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
# a formula element inside a cell: <f>…</f>, <f t="shared" si="0"/>, <x:f>…
_FORMULA = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")
_CELL_REF = re.compile(rb'\sr="([A-Z]{1,3})([0-9]+)"')
_FORMULA_TEXT = re.compile(rb"[^>]*>([^<]*)</")


class ImportFileError(ValueError):
    """The whole file is refused (nothing is read from it); ``code`` is an i18n key,
    ``params`` fill it (a column's name, a size). ``unknown_headers`` lists the headers
    the importer did not recognise when columns are missing, for a mapping step."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params
        self.unknown_headers: list[str] = []


@dataclass
class Table:
    """A file's rows, every one (blank ones too) with its spreadsheet line number."""

    encoding: str  # "utf-8", "utf-8-sig", "utf-16", "gbk", "gb18030", another codec; "xlsx"
    rows: Iterator[Row]
    # (line, column index from 0) → the formula ("=A1*2"; "" for a shared formula's copy)
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)
    # merged ranges: (first line, first column, last line, last column), columns from 0
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)


def size_limit_mb(max_bytes: int) -> str:
    """The size limit as a user reads it ("50", "0.5")."""
    return f"{max_bytes / 2**20:.3g}"


def read_table(data: bytes, *, max_bytes: int, is_header: HeaderTest) -> Table:
    """The file's rows; ``is_header`` tells a readable header row (to pick an encoding)."""
    if not data:
        raise ImportFileError("import.empty_file")
    if len(data) > max_bytes:
        raise ImportFileError("import.too_large", limit=size_limit_mb(max_bytes))
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data, max_bytes)
    if data.startswith((_OLE, b"PK\x05\x06", *_BINARY_MAGIC)):
        raise ImportFileError("import.unsupported_type")
    return _read_csv(data, is_header)


# -- xlsx ------------------------------------------------------------------------------


def _read_xlsx(data: bytes, max_bytes: int) -> Table:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError):
        raise ImportFileError("import.corrupt") from None
    if "xl/workbook.xml" not in names:  # a .docx, an .xlsb, a plain ZIP
        raise ImportFileError("import.unsupported_type")
    if sum(info.file_size for info in archive.infolist()) > _MAX_UNZIPPED_RATIO * max_bytes:
        raise ImportFileError("import.too_large", limit=size_limit_mb(max_bytes))
    # loaded with the first file read, not on the first screen
    from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        visible = [
            m.name
            for m in book.sheets_metadata
            if m.visible == SheetVisibleEnum.Visible and m.typ == SheetTypeEnum.WorkSheet
        ]
        sheet_name = visible[0] if visible else book.sheet_names[0]
        sheet = book.get_sheet_by_name(sheet_name)
        values: Sequence[Sequence[object]] = sheet.to_python(skip_empty_area=False)
        merged_ranges = sheet.merged_cell_ranges or []
    except (CalamineError, IndexError, ValueError, OSError):
        raise ImportFileError("import.corrupt") from None
    merged = [(r0 + 1, c0, r1 + 1, c1) for (r0, c0), (r1, c1) in merged_ranges]
    try:
        formulas = _formulas(archive, sheet_name)
    except (KeyError, StopIteration, ElementTree.ParseError, zipfile.BadZipFile):
        formulas = {}  # calamine read the sheet; only the formula scan failed
    rows = (
        (i, [c if c.__class__ is str else cell_text(c) for c in row])
        for i, row in enumerate(values, 1)
    )
    return Table("xlsx", rows, formulas, merged)


def _sheet_path(archive: zipfile.ZipFile, sheet_name: str) -> str:
    book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    rel_id = next(
        s.get(f"{{{_REL_NS}}}id", "")
        for s in book.iter(f"{{{_MAIN_NS}}}sheet")
        if s.get("name") == sheet_name
    )
    target = next(
        r.get("Target", "")
        for r in rels.iter(f"{{{_PKG_REL_NS}}}Relationship")
        if r.get("Id") == rel_id
    )
    return target.lstrip("/") if target.startswith("/") else f"xl/{target}"


def _formulas(archive: zipfile.ZipFile, sheet_name: str) -> dict[tuple[int, int], str]:
    """Every formula cell of the sheet: (line, column index) → "=formula"."""
    xml = archive.read(_sheet_path(archive, sheet_name))
    found: dict[tuple[int, int], str] = {}
    for match in _FORMULA.finditer(xml):
        at = match.start()
        start = max(xml.rfind(b"<c ", 0, at), xml.rfind(b":c ", 0, at))
        ref = _CELL_REF.search(xml, start, at) if start >= 0 else None
        if ref is None:  # a cell without its r="B7" (allowed, rare): cannot name it
            continue
        text = _FORMULA_TEXT.match(xml, match.end() - 1)
        formula = unescape(text.group(1).decode("utf-8")) if text and text.group(1) else ""
        found[(int(ref.group(2)), _column_index(ref.group(1).decode()))] = (
            f"={formula}" if formula else ""
        )
    return found


def _column_index(letters: str) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + ord(ch) - 64
    return index - 1


def column_letter(index: int) -> str:
    """0 → "A", 27 → "AB"."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# -- csv -------------------------------------------------------------------------------


def _read_csv(data: bytes, is_header: HeaderTest) -> Table:
    if b"\x00" in data[:_SNIFF_CHARS] and not data.startswith(
        (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    ):
        raise ImportFileError("import.unsupported_type")
    text, encoding = _decode(data, is_header)
    if text.startswith("\ufeff"):
        text = text[1:]
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return Table(encoding, _numbered(reader))


def _numbered(reader: Iterator[list[str]]) -> Iterator[Row]:
    line = 1
    try:
        for cells in reader:
            yield line, cells
            line += 1
    except csv.Error:  # a field over the size limit, a stray NUL
        raise ImportFileError("import.csv_malformed", line=line) from None


def _decode(data: bytes, is_header: HeaderTest) -> tuple[str, str]:
    """The text and the encoding that reads it (see the module docstring)."""
    if data.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "gbk", "gb18030"]
    first: tuple[str, str] | None = None
    failure: UnicodeDecodeError | None = None
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as error:
            failure = error  # the last, most permissive encoding's: where the text breaks
            continue
        if _has_header(text, is_header):
            return text, encoding
        first = first or (text, encoding)
    head = data[:_SNIFF_CHARS]
    head = head[: head.rfind(b"\n") + 1] or head  # whole lines: no character cut in two
    import charset_normalizer  # loaded with the first CSV whose encoding is a guess

    guess = charset_normalizer.from_bytes(head).best()
    if guess is not None and guess.encoding not in candidates:
        try:
            text = data.decode(guess.encoding)
        except (UnicodeDecodeError, LookupError):
            pass
        else:
            if _has_header(text, is_header):
                return text, guess.encoding
    if first is not None:  # readable, but no header we know: the columns will say so
        return first
    at = failure.start if failure is not None else 0
    raise ImportFileError("import.encoding", line=data.count(b"\n", 0, at) + 1)


def _has_header(text: str, is_header: HeaderTest) -> bool:
    head = text[:_SNIFF_CHARS]
    if head.startswith("\ufeff"):
        head = head[1:]
    lines = head.splitlines()[:HEADER_SEARCH_ROWS]
    delimiter = _delimiter(head)
    try:
        rows = list(csv.reader(lines, delimiter=delimiter))
    except csv.Error:
        return False
    return any(is_header(row) for row in rows)


def _delimiter(text: str) -> str:
    """Comma, tab or semicolon: the one a line near the top holds most of (the header
    line, not a title above it)."""
    lines = text[:_SNIFF_CHARS].splitlines()[:HEADER_SEARCH_ROWS]
    counts = [max((line.count(d) for line in lines), default=0) for d in _DELIMITERS]
    best = max(range(len(_DELIMITERS)), key=counts.__getitem__)
    return _DELIMITERS[best] if counts[best] else ","

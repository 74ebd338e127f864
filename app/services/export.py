"""Excel workbooks (.xlsx) the bank's staff open: reports as sheets of typed columns.

    workbook([Sheet(...), ...], lang) -> bytes

A column says what its cells hold, and the workbook writes them as Excel expects:

- ``TEXT``: text, always stored as text (a value such as ``=HYPERLINK(…)`` or
  ``0001`` is shown as it is, never run as a formula or turned into a number);
- ``COUNT``: a whole number, ``#,##0``;
- ``WAN``: an amount given in 元 and written in 万元 (the bank's unit for reports):
  the cell holds yuan ÷ 10,000, formatted ``#,##0.00``, and the header says 万元;
- ``RATE``: a share given as a fraction (0.375), formatted ``0.0%``;
- ``DATE``: a date, ``yyyy-mm-dd``.

Headers are i18n keys, written in ``lang`` (Chinese by default) in bold, with the first
row frozen; lines of context (the period, the scope, when the figures were computed) go
above the table. No SQL here: the central store gathers the rows (``app.server.
exports``), this writes them.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING

from app.i18n import t

if TYPE_CHECKING:  # openpyxl is loaded with the first workbook (not on the first screen)
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

# characters XML 1.0 does not allow (a workbook with one does not open)
_ILLEGAL_XML = dict.fromkeys([*range(0, 9), 11, 12, *range(14, 32)])
SHEET_TITLE_LIMIT = 31  # characters Excel allows in a sheet's name


class Kind(StrEnum):
    TEXT = "text"
    COUNT = "count"
    WAN = "wan"
    RATE = "rate"
    DATE = "date"


_FORMATS = {
    Kind.COUNT: "#,##0",
    Kind.WAN: "#,##0.00",
    Kind.RATE: "0.0%",
    Kind.DATE: "yyyy-mm-dd",
}
_WIDTHS = {Kind.TEXT: 24, Kind.COUNT: 12, Kind.WAN: 16, Kind.RATE: 12, Kind.DATE: 12}


@dataclass(frozen=True)
class Column:
    title: str  # an i18n key
    kind: Kind = Kind.TEXT
    width: int | None = None  # characters; None: the kind's usual width
    params: tuple[tuple[str, object], ...] = ()  # the title's placeholders: (("days", 7),)


@dataclass(frozen=True)
class Sheet:
    title: str  # an i18n key
    columns: Sequence[Column]
    rows: Sequence[Sequence[object]]  # one value per column; None leaves the cell empty
    context: Sequence[str] = field(default_factory=tuple)  # lines above the table, as written


def workbook(sheets: Sequence[Sheet], lang: str = "zh") -> bytes:
    """The sheets as one ``.xlsx`` file's bytes (every row checked before any is written)."""
    for spec in sheets:
        for row in spec.rows:
            _check(spec.columns, row)
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    book = Workbook(write_only=True)
    for spec in sheets:
        sheet = book.create_sheet(t(spec.title, lang)[:SHEET_TITLE_LIMIT])
        for i, column in enumerate(spec.columns):
            sheet.column_dimensions[get_column_letter(i + 1)].width = (
                column.width or _WIDTHS[column.kind]
            )
        header_row = len(spec.context) + 2 if spec.context else 1  # a blank line between
        sheet.freeze_panes = f"A{header_row + 1}"  # before the first row: write-only
        for line in spec.context:
            sheet.append([text_cell(sheet, line)])
        if spec.context:
            sheet.append([])
        sheet.append([text_cell(sheet, _header(c, lang), bold) for c in spec.columns])
        for row in spec.rows:
            sheet.append([_cell(sheet, c.kind, v) for c, v in zip(spec.columns, row, strict=True)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def text_cell(sheet: object, value: object, font: Font | None = None) -> WriteOnlyCell:
    """A cell that stays text: a value such as "=HYPERLINK(…)" is shown, never run."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=str(value).translate(_ILLEGAL_XML))
    cell.data_type = "s"
    if font is not None:
        cell.font = font
    return cell


def _header(column: Column, lang: str) -> str:
    title = t(column.title, lang, **dict(column.params))
    if column.kind == Kind.WAN:
        return t("export.with_unit", lang, title=title, unit=t("export.unit_wan", lang))
    return title


def _check(columns: Sequence[Column], row: Sequence[object]) -> None:
    if len(row) != len(columns):
        raise ValueError(f"a row of {len(row)} values under {len(columns)} columns")
    for column, value in zip(columns, row, strict=True):
        if value is None or column.kind == Kind.TEXT:
            continue
        if column.kind == Kind.DATE:
            if not isinstance(value, date):
                raise TypeError(f"a date, not {value!r}")
        elif not isinstance(value, int | float):
            what = "an amount in yuan" if column.kind == Kind.WAN else "a number"
            raise TypeError(f"{what}, not {value!r}")


def _cell(sheet: object, kind: Kind, value: object) -> object:
    if value is None:
        return None
    if kind == Kind.TEXT:
        return text_cell(sheet, value)
    if kind == Kind.WAN:
        value = value / 10_000  # type: ignore[operator]  # checked: a number
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = _FORMATS[kind]
    return cell

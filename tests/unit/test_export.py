"""The .xlsx writer: what a member of staff sees when the file opens (read back with
openpyxl): Chinese headers, amounts in 万元 with their number format, rates as percents,
text that stays text, the context above the table and the header row frozen."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook

from app.services.export import Column, Kind, Sheet, workbook

COLUMNS = (
    Column("export.test.name"),
    Column("export.test.count", Kind.COUNT),
    Column("export.test.amount", Kind.WAN),
    Column("export.test.rate", Kind.RATE),
    Column("export.test.day", Kind.DATE),
)


@pytest.fixture(autouse=True)
def _catalogue(monkeypatch):  # type: ignore[no-untyped-def]
    """Headers of a test sheet, in both languages (the real reports bring their own)."""
    from app.i18n import en, zh

    monkeypatch.setitem(zh.MESSAGES, "export.test.sheet", "网点业绩")
    monkeypatch.setitem(en.MESSAGES, "export.test.sheet", "Outlet results")
    for key, cn, english in (
        ("name", "网点", "Outlet"),
        ("count", "放款笔数", "Loans"),
        ("amount", "放款金额", "Disbursed"),
        ("rate", "参与率", "Participation"),
        ("day", "日期", "Date"),
    ):
        monkeypatch.setitem(zh.MESSAGES, f"export.test.{key}", cn)
        monkeypatch.setitem(en.MESSAGES, f"export.test.{key}", english)


def _read(data: bytes):  # type: ignore[no-untyped-def]
    return load_workbook(io.BytesIO(data))


def test_a_sheet_reads_back_as_staff_see_it():
    rows = [
        ("汇川支行营业室", 12, 3_456_789, 0.375, date(2026, 12, 1)),
        ('=HYPERLINK("http://x")', 0, 0, 0.0, None),
        ("0001", None, 5_000, 1, date(2026, 11, 30)),
    ]
    data = workbook(
        [Sheet("export.test.sheet", COLUMNS, rows, context=("统计期间：2026年12月", "口径：测试"))]
    )
    book = _read(data)
    sheet = book["网点业绩"]
    assert sheet["A1"].value == "统计期间：2026年12月"
    assert sheet["A2"].value == "口径：测试"
    assert [c.value for c in sheet[4]] == ["网点", "放款笔数", "放款金额（万元）", "参与率", "日期"]
    assert sheet[4][0].font.bold
    assert sheet.freeze_panes == "A5"
    name, count, amount, rate, day = sheet[5]
    assert name.value == "汇川支行营业室"
    assert (count.value, count.number_format) == (12, "#,##0")
    assert amount.value == pytest.approx(345.6789)  # 3,456,789 元 is 345.68 万元
    assert amount.number_format == "#,##0.00"
    assert (rate.value, rate.number_format) == (0.375, "0.0%")
    assert day.value.date() == date(2026, 12, 1) and day.number_format == "yyyy-mm-dd"
    formula, *_, empty_day = sheet[6]
    assert formula.value == '=HYPERLINK("http://x")' and formula.data_type == "s"  # not run
    assert empty_day.value is None
    assert sheet["A7"].value == "0001"  # a code keeps its zeros
    assert sheet["B7"].value is None


def test_english_headers_and_the_unit():
    data = workbook([Sheet("export.test.sheet", COLUMNS, [])], lang="en")
    sheet = _read(data)["Outlet results"]
    assert sheet["C1"].value == "Disbursed (10k yuan)"
    assert sheet.freeze_panes == "A2"


def test_a_row_that_does_not_fit_its_columns_is_refused():
    with pytest.raises(ValueError, match="3 values under 5 columns"):
        workbook([Sheet("export.test.sheet", COLUMNS, [("a", 1, 2)])])
    with pytest.raises(TypeError, match="amount in yuan"):
        workbook([Sheet("export.test.sheet", COLUMNS, [("a", 1, "很多", 0.1, None)])])


def test_control_characters_do_not_break_the_file():
    data = workbook([Sheet("export.test.sheet", COLUMNS, [("坏\x00字\x1b符", 1, 1, 0, None)])])
    assert _read(data)["网点业绩"]["A2"].value == "坏字符"

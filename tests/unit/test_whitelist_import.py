"""Reading a whitelist file: every rule a row is checked against, and every bad file refused.

Each test builds its own small file (CSV text or a workbook written by openpyxl) and
asserts what the importer's user sees: the line as a spreadsheet numbers it (the header
is line 1), the column by the file's own header, the reason, the value.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile

import pytest
from openpyxl import Workbook

from app.geo.coords import Datum, from_wgs84
from app.geo.distance import haversine_km
from app.services.validation import credit_code_check_char, make_credit_code
from app.services.whitelist_import import (
    ImportContext,
    ImportField,
    ImportFileError,
    ImportPreview,
    describe,
    describe_file_error,
    preview,
)

OUTLETS = frozenset({"GZ-ZY-001", "GZ-ZY-002"})
CONTEXT = ImportContext(outlet_codes=OUTLETS)
HEADER = ["企业名称", "统一社会信用代码", "联系电话", "纬度", "经度"]
CODES = [make_credit_code("520303", f"MA6D{i:04d}") for i in range(1, 10)]
ZUNYI = (27.7256, 106.9272)


def row(i: int = 0, **cells: object) -> dict[str, object]:
    """A good row (the i-th business), with some cells changed."""
    values: dict[str, object] = {
        "企业名称": f"遵义市汇川区第{i}商贸有限公司",
        "统一社会信用代码": CODES[i],
        "联系电话": f"1380851{i:04d}",
        "纬度": ZUNYI[0] + i / 1000,
        "经度": ZUNYI[1],
    }
    values.update(cells)
    return values


def csv_bytes(rows: list[dict[str, object]], header: list[str] | None = None, *,
              encoding: str = "utf-8", sep: str = ",") -> bytes:  # fmt: skip
    header = header or list(dict.fromkeys(k for r in rows for k in r)) or HEADER
    text = io.StringIO()
    writer = csv.writer(text, delimiter=sep, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([str(r.get(h, "")) for h in header] for r in rows)
    return text.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[object]], *, build=None) -> bytes:  # type: ignore[no-untyped-def]
    book = Workbook()
    sheet = book.active
    for values in rows:
        sheet.append(values)
    if build is not None:
        build(book, sheet)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def run(data: bytes, context: ImportContext = CONTEXT, name: str = "名单.csv") -> ImportPreview:
    return preview(data, name, context)


def refused(
    data: bytes, context: ImportContext = CONTEXT, name: str = "名单.csv"
) -> ImportFileError:
    with pytest.raises(ImportFileError) as info:
        preview(data, name, context)
    # every refusal reads as words in both languages
    for lang in ("zh", "en"):
        assert not describe_file_error(info.value, lang).startswith("import.")
    return info.value


def problems(result: ImportPreview) -> list[tuple[int, str, str, str]]:
    """What the preview lists: (line, column, code, value)."""
    return [(p.line, p.column, p.code, p.value) for p in result.problems]


def one_row_problems(**cells: object) -> list[tuple[int, str, str, str]]:
    return problems(run(csv_bytes([row(**cells)])))


# -- the file ----------------------------------------------------------------------------


def test_a_clean_file_gives_its_rows_in_wgs84_and_yuan():
    extra = {
        "法定代表人": "王芳",
        "行业": "餐饮",
        "地址": "  上海路 1 号  ",
        "预授信额度(万元)": "12.345",
        "网点代码": "GZ-ZY-001",
        "评分": "88",
        "标签": "优质, 老客户；首贷户、优质",
    }
    result = run(csv_bytes([row(0, **extra), row(1)]))
    assert result.encoding == "utf-8"
    assert (result.total, len(result.rows), result.problems) == (2, 2, [])
    first, second = result.rows
    assert first.line == 2 and second.line == 3
    assert first.credit_code == CODES[0] and first.phone == "13808510000"
    assert (first.lat, first.lon) == ZUNYI
    assert first.pre_approved_line == 123_450  # 12.345 万元
    assert (first.legal_rep, first.industry, first.address) == ("王芳", "餐饮", "上海路 1 号")
    assert (first.outlet_code, first.score) == ("GZ-ZY-001", 88)
    assert first.tags == ("优质", "老客户", "首贷户")
    # optional columns left out: their defaults
    assert (second.legal_rep, second.pre_approved_line, second.outlet_code, second.score,
            second.tags) == ("", 0, None, 0, ())  # fmt: skip
    assert result.mapping["预授信额度(万元)"] is ImportField.LINE


def test_an_empty_file_is_refused():
    assert refused(b"").code == "import.empty_file"


def test_a_file_over_the_size_limit_is_refused_before_reading():
    data = csv_bytes([row(i) for i in range(5)])
    small = ImportContext(outlet_codes=OUTLETS, max_bytes=len(data) - 1)
    error = refused(data, small)
    assert error.code == "import.too_large"
    assert error.params["limit"] == f"{(len(data) - 1) / 2**20:.3g}"
    assert run(data, ImportContext(outlet_codes=OUTLETS, max_bytes=len(data))).total == 5


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",  # a PDF named .csv
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500),  # an old .xls (or an encrypted .xlsx)
        b"\x89PNG\r\n\x1a\n" + bytes(100),
        b"GIF89a" + bytes(50),
        "企业名称".encode() + b"\x00\x01\x02binary",  # NUL bytes: not text
    ],
)
def test_a_file_that_is_neither_xlsx_nor_csv_is_refused_by_its_content(data: bytes):
    assert refused(data, name="名单.csv").code == "import.unsupported_type"


def test_a_zip_that_is_not_a_workbook_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")  # a .docx
    assert refused(out.getvalue(), name="名单.xlsx").code == "import.unsupported_type"


def test_a_zip_bomb_is_refused_as_too_large():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b" " * 5_000_000)  # 5 MB, a few KB zipped
    data = out.getvalue()
    context = ImportContext(outlet_codes=OUTLETS, max_bytes=len(data) * 2)
    assert refused(data, context, name="名单.xlsx").code == "import.too_large"


def test_a_damaged_workbook_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook><sheets>")  # cut short
    assert refused(out.getvalue(), name="名单.xlsx").code == "import.corrupt"


def test_the_type_comes_from_the_content_not_the_name():
    workbook = xlsx_bytes([HEADER, list(row().values())])
    assert run(workbook, name="名单.csv").encoding == "xlsx"
    text = csv_bytes([row()])
    assert run(text, name="名单.xlsx").encoding == "utf-8"


# -- encodings and delimiters --------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "name", "reported"),
    [
        ("utf-8", "遵义市汇川区黔北商贸有限公司", "utf-8"),
        ("utf-8-sig", "遵义市汇川区黔北商贸有限公司", "utf-8-sig"),
        ("gbk", "遵义市汇川区黔北商贸有限公司", "gbk"),
        # 䶮 (U+4DAE) is outside GBK: only GB18030 writes it
        ("gb18030", "遵义市汇川区龑䶮商贸有限公司", "gb18030"),
    ],
)
def test_each_encoding_is_detected_and_read_back(encoding: str, name: str, reported: str):
    if encoding == "gb18030":
        with pytest.raises(UnicodeEncodeError):
            name.encode("gbk")
    result = run(csv_bytes([row(企业名称=name)], encoding=encoding))
    assert result.encoding == reported
    assert [r.company_name for r in result.rows] == [name]
    assert result.headers == HEADER  # the BOM is not part of the first header


def test_excel_unicode_text_utf16_with_tabs_is_read():
    data = codecs.BOM_UTF16_LE + csv_bytes([row()], sep="\t").decode().encode("utf-16-le")
    result = run(data)
    assert result.encoding == "utf-16" and len(result.rows) == 1


@pytest.mark.parametrize("sep", [",", "\t", ";"])
def test_the_delimiter_is_sniffed(sep: str):
    result = run(csv_bytes([row(0), row(1)], sep=sep))
    assert (len(result.rows), result.problems) == (2, [])


def test_a_file_in_no_encoding_it_can_read_is_refused_naming_the_line():
    good = csv_bytes([row(0), row(1)], encoding="gbk")
    data = good + b"\xff\xfe\x80\xff,\xff\x80\r\n"  # line 4: bytes no Chinese encoding has
    error = refused(data)
    assert error.code == "import.encoding"
    assert error.params["line"] == 4
    assert "4" in describe_file_error(error, "zh")


def test_a_quoted_cell_may_hold_a_comma_and_a_line_break():
    data = csv_bytes([row(0, 地址="上海路1号,\n附2号"), row(1)])
    result = run(data)
    assert result.rows[0].address == "上海路1号, 附2号"
    assert result.rows[1].line == 3  # a spreadsheet row, not a text line


# -- headers ---------------------------------------------------------------------------------


def test_english_headers_and_their_spellings_are_recognised():
    header = ["Company Name", " credit_code ", "PHONE", "Lat", "lng", "Pre-approved line (10k yuan)",
              "Outlet Code", "score", "Tags", "Legal Rep", "industry", "address"]  # fmt: skip
    values = {h: v for h, v in zip(header, [*row().values(), "2", "gz-zy-002", "9", "a|b",
                                             "Wang", "food", "Road 1"], strict=True)}  # fmt: skip
    result = run(csv_bytes([values], header))
    assert result.unknown_headers == [] and result.problems == []
    (got,) = result.rows
    assert (got.pre_approved_line, got.outlet_code, got.score, got.tags) == (
        20_000,
        "GZ-ZY-002",
        9,
        ("a", "b"),
    )


def test_chinese_headers_tolerate_spaces_full_width_brackets_and_marks():
    header = ["*企业名称", "统一社会 信用代码", "手机号码", "纬 度", "经度", "预授信额度（万元）"]
    values = dict(zip(header, [*row().values(), "3"], strict=True))
    result = run(csv_bytes([values], header))
    assert result.rows[0].pre_approved_line == 30_000
    assert result.mapping["预授信额度（万元）"] is ImportField.LINE


def test_a_line_headed_in_yuan_is_read_in_yuan():
    header = [*HEADER, "预授信额度(元)"]
    result = run(csv_bytes([{**row(), "预授信额度(元)": "150000"}], header))
    assert result.rows[0].pre_approved_line == 150_000


def test_a_missing_required_column_refuses_the_file_and_names_it():
    header = ["企业名称", "信用代码", "纬度", "经度", "客户经理"]
    error = refused(
        csv_bytes([dict(zip(header, ["甲", CODES[0], "27.7", "106.9", "张"], strict=True))], header)
    )
    assert error.code == "import.missing_columns"
    assert error.params["names"] == "联系电话"
    assert error.params["fields"] == "phone"
    assert error.unknown_headers == ["客户经理"]  # for the mapping step
    assert "联系电话" in describe_file_error(error, "zh")
    assert describe_file_error(error, "en").startswith("Required columns missing: phone.")


def test_an_unknown_header_is_listed_and_can_be_mapped():
    header = ["客户全称", "统一社会信用代码", "联系电话", "纬度", "经度", "客户经理"]
    values = dict(zip(header, [*list(row().values()), "张三"], strict=True))
    data = csv_bytes([values], header)
    error = refused(data)
    assert (error.code, error.unknown_headers) == (
        "import.missing_columns",
        ["客户全称", "客户经理"],
    )
    mapped = ImportContext(outlet_codes=OUTLETS, mapping={"客户全称": ImportField.COMPANY_NAME})
    result = run(data, mapped)
    assert result.mapping["客户全称"] is ImportField.COMPANY_NAME
    assert result.unknown_headers == ["客户经理"]
    assert result.rows[0].company_name == row()["企业名称"]


def test_a_mapping_may_ignore_a_column_and_matches_headers_as_loosely_as_the_known_ones():
    header = ["客户全称", "统一社会信用代码", "联系电话", "纬度", "经度", "手机"]
    values = dict(zip(header, [*list(row().values()), "x"], strict=True))
    data = csv_bytes([values], header)
    assert refused(data).code == "import.duplicate_header"  # 联系电话 and 手机 both phones
    mapping = {" 客户 全称": ImportField.COMPANY_NAME, "手机": ""}  # "": do not read it
    result = run(data, ImportContext(outlet_codes=OUTLETS, mapping=mapping))
    assert (result.problems, result.unknown_headers) == ([], [])
    assert "手机" not in result.mapping and result.rows[0].phone == "13808510000"


def test_a_mapping_to_no_field_is_refused():
    data = csv_bytes([row()])
    error = refused(data, ImportContext(outlet_codes=OUTLETS, mapping={"企业名称": "company"}))
    assert (error.code, error.params) == (
        "import.mapping_invalid",
        {"column": "企业名称", "field": "company"},
    )


@pytest.mark.parametrize(
    ("header", "column", "first"),
    [
        (
            ["企业名称", "统一社会信用代码", "联系电话", "纬度", "经度", "企业名称"],
            "企业名称",
            "企业名称",
        ),
        (["企业名称", "统一社会信用代码", "电话", "纬度", "经度", "手机"], "手机", "电话"),
    ],
)
def test_a_duplicated_header_is_refused(header: list[str], column: str, first: str):
    error = refused(csv_bytes([dict.fromkeys(header, "x")], header))
    assert error.code == "import.duplicate_header"
    assert (error.params["column"], error.params["first"]) == (column, first)


def test_a_file_without_a_header_row_is_refused():
    data = csv_bytes([row(1)], header=[str(v) for v in row(0).values()])  # data on line 1
    assert refused(data).code == "import.no_header"
    assert refused(b"\r\n  \r\n,,,\r\n").code == "import.no_header"
    assert [r.line for r in run(b"\r\n" + csv_bytes([row()])).rows] == [3]  # header on line 2
    # a blank line, then headers it does not know: the columns are named, for a mapping
    unknown = b"\r\n" + csv_bytes([{"名字": "甲", "代码": CODES[0]}])
    assert refused(unknown).code == "import.missing_columns"


def test_a_header_without_rows_is_refused():
    assert refused(csv_bytes([], HEADER)).code == "import.no_rows"


def test_a_title_above_the_header_is_skipped_and_lines_stay_the_sheets():
    data = "2026年第一批白名单,,,,\r\n".encode() + csv_bytes([row(0), {}, row(1)])
    result = run(data)
    assert [r.line for r in result.rows] == [3, 5]  # line 4 is blank: skipped silently
    assert result.total == 2 and result.problems == []


# -- rows: credit codes ------------------------------------------------------------------------


def test_credit_codes_are_normalised_full_width_spaces_lower_case():
    code = CODES[0]
    full_width = code.translate(str.maketrans("0123456789ABCDEFGHJKLMNPQRTUWXY",
                                              "０１２３４５６７８９ＡＢＣＤＥＦＧＨＪＫＬＭＮＰＱＲＴＵＷＸＹ"))  # fmt: skip
    for written in (full_width, f" {code[:8].lower()} {code[8:]} ", f"'{code}", f'="{code}"'):
        result = run(csv_bytes([row(统一社会信用代码=written)]))
        assert [r.credit_code for r in result.rows] == [code], written


def test_a_wrong_check_character_is_named():
    code = CODES[0]
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    assert one_row_problems(统一社会信用代码=wrong) == [
        (2, "统一社会信用代码", "import.credit_code_check", wrong)
    ]
    result = run(csv_bytes([row(统一社会信用代码=wrong)]))
    assert "18" in describe(result.problems[0])


def test_a_wrong_organisation_check_is_named_at_position_17():
    body = CODES[0][:16] + ("0" if CODES[0][16] != "0" else "1")
    wrong = body + credit_code_check_char(body)  # position 18 recomputed: only 17 is wrong
    result = run(csv_bytes([row(统一社会信用代码=wrong)]))
    assert problems(result) == [(2, "统一社会信用代码", "import.credit_code_check", wrong)]
    assert dict(result.problems[0].params) == {"position": "17"}


@pytest.mark.parametrize(
    ("written", "code", "params"),
    [
        ("9152030", "import.credit_code_length", {"length": "7"}),
        ("91520303MA6D00O10X", "import.credit_code_charset", {"char": "O"}),
        ("9.15203E+17", "import.credit_code_scientific", {}),
        ("9.152030012E+17", "import.credit_code_scientific", {}),
        ("915203030000000000", "import.credit_code_scientific", {}),  # 15 digits kept, then 000
    ],
)
def test_credit_code_problems(written: str, code: str, params: dict[str, str]):
    result = run(csv_bytes([row(统一社会信用代码=written)]))
    assert problems(result) == [(2, "统一社会信用代码", code, written)]
    assert dict(result.problems[0].params) == params


def test_scientific_notation_message_says_what_excel_did():
    result = run(csv_bytes([row(统一社会信用代码="9.15203E+17")]))
    assert "科学计数法" in describe(result.problems[0], "zh")
    assert "format the column as text" in describe(result.problems[0], "en")


# -- rows: phones --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("13808510000", "13808510000"),
        ("138 0851 0000", "13808510000"),
        ("１３８０８５１００００", "13808510000"),  # full-width digits
        ("+86 138-0851-0000", "13808510000"),
        ("008613808510000", "13808510000"),
        ("8613808510000", "13808510000"),
        ("0851-28221234", "0851-28221234"),
        ("085128221234", "0851-28221234"),
        ("(0851) 2822 1234", "0851-28221234"),
        ("０８５１－２８２２１２３４", "0851-28221234"),
        ("010-62345678", "010-62345678"),
        ("+86 851 2822 1234", "0851-28221234"),
    ],
)
def test_phones_are_normalised(written: str, stored: str):
    result = run(csv_bytes([row(联系电话=written)]))
    assert [r.phone for r in result.rows] == [stored]


@pytest.mark.parametrize(
    "written", ["12345", "12808510000", "0851-123", "28221234", "138085100001", "电话未知"]
)
def test_a_wrong_phone_is_named(written: str):
    assert one_row_problems(联系电话=written) == [(2, "联系电话", "import.phone_invalid", written)]


# -- rows: positions -------------------------------------------------------------------------------


def test_a_gcj02_file_lands_within_a_metre_of_the_wgs84_truth():
    truth = [(27.7256, 106.9272), (28.5395, 107.4422), (27.8545, 106.3480)]
    shifted = [from_wgs84(lat, lon, Datum.GCJ02) for lat, lon in truth]
    assert haversine_km(*shifted[0], *truth[0]) > 0.1  # the offset is real (hundreds of m)
    rows = [row(i, 纬度=f"{lat:.7f}", 经度=f"{lon:.7f}") for i, (lat, lon) in enumerate(shifted)]
    for datum in (Datum.GCJ02, Datum.BD09):
        if datum is Datum.BD09:
            moved = [from_wgs84(lat, lon, Datum.BD09) for lat, lon in truth]
            rows = [
                row(i, 纬度=f"{lat:.7f}", 经度=f"{lon:.7f}") for i, (lat, lon) in enumerate(moved)
            ]
        result = run(csv_bytes(rows), ImportContext(outlet_codes=OUTLETS, datum=datum))
        for got, (lat, lon) in zip(result.rows, truth, strict=True):
            assert haversine_km(got.lat, got.lon, lat, lon) < 0.001, datum


def test_coordinates_that_are_not_numbers_are_named_per_column():
    assert one_row_problems(纬度="二十七", 经度="106.9E") == [
        (2, "纬度", "import.coord_invalid", "二十七"),
        (2, "经度", "import.coord_invalid", "106.9E"),
    ]


def test_full_width_coordinates_are_read():
    result = run(csv_bytes([row(纬度="２７．７２５６", 经度="１０６．９２７２")]))
    assert (result.rows[0].lat, result.rows[0].lon) == ZUNYI


def test_coordinates_out_of_range_swapped_or_outside_china():
    assert one_row_problems(纬度="95", 经度="106.9") == [(2, "纬度", "import.coord_range", "95")]
    assert one_row_problems(纬度="106.9272", 经度="27.7256") == [
        (2, "纬度/经度", "import.coords_swapped", "106.9272, 27.7256")
    ]
    assert one_row_problems(纬度="48.8566", 经度="2.3522") == [  # Paris
        (2, "纬度/经度", "import.coord_outside_china", "48.8566, 2.3522")
    ]
    assert one_row_problems(纬度="0", 经度="0") == [
        (2, "纬度/经度", "import.coord_outside_china", "0, 0")
    ]


# -- rows: line, score, outlet, tags ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "yuan"),
    [("50", 500_000), ("0.05", 500), ("1,234.5", 12_345_000), ("３０", 300_000), ("30万", 300_000), ("", 0),
     ("0", 0), ("12.34567", 123_457)],
)  # fmt: skip
def test_the_line_in_wan_becomes_whole_yuan(written: str, yuan: int):
    result = run(csv_bytes([row(**{"预授信额度(万元)": written})]))
    assert [r.pre_approved_line for r in result.rows] == [yuan]


def test_a_negative_or_non_numeric_line_is_named():
    assert one_row_problems(**{"预授信额度(万元)": "-20"}) == [
        (2, "预授信额度(万元)", "import.line_negative", "-20")
    ]
    assert one_row_problems(**{"预授信额度(万元)": "五十"}) == [
        (2, "预授信额度(万元)", "import.line_invalid", "五十")
    ]


@pytest.mark.parametrize(
    ("written", "score"), [("0", 0), ("100", 100), ("８５", 85), ("85.0", 85), ("", 0)]
)
def test_scores_are_whole_numbers_from_0_to_100(written: str, score: int):
    assert [r.score for r in run(csv_bytes([row(评分=written)])).rows] == [score]


@pytest.mark.parametrize("written", ["101", "-1", "85.5", "高"])
def test_a_score_out_of_range_is_named(written: str):
    assert one_row_problems(评分=written) == [(2, "评分", "import.score_invalid", written)]


def test_outlet_codes_unknown_or_out_of_the_importers_scope():
    scoped = ImportContext(outlet_codes=frozenset({"GZ-ZY-001"}), all_outlet_codes=OUTLETS)
    data = csv_bytes(
        [row(0, 网点代码="gz-zy-001"), row(1, 网点代码="GZ-ZY-002"), row(2, 网点代码="GZ-ZY-099")]
    )
    result = run(data, scoped)
    assert [r.outlet_code for r in result.rows] == ["GZ-ZY-001"]
    assert problems(result) == [
        (3, "网点代码", "import.outlet_out_of_scope", "GZ-ZY-002"),
        (4, "网点代码", "import.outlet_unknown", "GZ-ZY-099"),
    ]
    # without all_outlet_codes, a code beyond outlet_codes is simply unknown
    assert [
        p.code for p in run(data, ImportContext(outlet_codes=frozenset({"GZ-ZY-001"}))).problems
    ] == [
        "import.outlet_unknown",
        "import.outlet_unknown",
    ]


# -- rows: duplicates, required cells, blank rows ----------------------------------------------------


def test_a_credit_code_repeated_in_the_file_names_its_first_line():
    data = csv_bytes(
        [
            row(0),
            row(1),
            row(2, 统一社会信用代码=CODES[0]),
            row(3, 统一社会信用代码=CODES[0].lower()),
        ]
    )
    result = run(data)
    assert [r.line for r in result.rows] == [2, 3]  # the first one stays
    assert [(p.line, p.code, dict(p.params)) for p in result.problems] == [
        (4, "import.duplicate_in_file", {"first": "2"}),
        (5, "import.duplicate_in_file", {"first": "2"}),
    ]
    assert describe(result.problems[0]) == "与第 2 行的统一社会信用代码重复"


def test_a_credit_code_already_in_an_active_batch_names_the_batch():
    context = ImportContext(
        outlet_codes=OUTLETS, active_credit_codes={CODES[1]: "2025年第四季度白名单"}
    )
    result = run(csv_bytes([row(0), row(1)]), context)
    assert [(p.line, p.code) for p in result.problems] == [(3, "import.duplicate_active")]
    assert describe(result.problems[0]) == "该企业已在有效批次“2025年第四季度白名单”中"


def test_every_problem_of_a_row_is_listed_in_column_order():
    result = run(
        csv_bytes([row(企业名称="", 统一社会信用代码="", 联系电话="1", 纬度="", 经度="x")])
    )
    assert problems(result) == [
        (2, "企业名称", "import.required", ""),
        (2, "统一社会信用代码", "import.required", ""),
        (2, "联系电话", "import.phone_invalid", "1"),
        (2, "纬度", "import.required", ""),
        (2, "经度", "import.coord_invalid", "x"),
    ]
    assert result.bad_lines == 1 and result.rows == []
    assert describe(result.problems[0], "zh") == "“企业名称”不能为空"
    assert describe(result.problems[0], "en") == '"企业名称" must not be empty'


def test_blank_rows_are_skipped_and_cells_trimmed():
    data = csv_bytes([row(0, 企业名称="  甲公司\t"), {}, {"企业名称": "  "}, row(1)])
    result = run(data)
    assert (result.total, [r.line for r in result.rows], result.problems) == (2, [2, 5], [])
    assert result.rows[0].company_name == "甲公司"


def test_a_long_value_is_quoted_cut_to_100_characters():
    (problem,) = run(csv_bytes([row(联系电话="9" * 300)])).problems
    assert len(problem.value) == 100 and problem.value.endswith("…")


# -- workbooks -------------------------------------------------------------------------------------------


def test_a_workbook_reads_numbers_as_a_person_sees_them():
    values = [row(0)["企业名称"], CODES[0], 13808510000, 27.7256, 106.9272, 12.5, 85]
    result = run(xlsx_bytes([[*HEADER, "预授信额度(万元)", "评分"], values]), name="名单.xlsx")
    assert result.encoding == "xlsx" and result.problems == []
    (got,) = result.rows
    assert (got.phone, got.lat, got.pre_approved_line, got.score) == (
        "13808510000",
        27.7256,
        125_000,
        85,
    )


def test_a_credit_code_stored_as_a_number_in_a_workbook_is_named():
    result = run(xlsx_bytes([HEADER, ["甲", 915203030000000000, "13808510000", 27.7, 106.9]]))
    assert [(p.line, p.column, p.code) for p in result.problems] == [
        (2, "统一社会信用代码", "import.credit_code_scientific")
    ]


def test_formula_cells_are_named_by_line_and_column():
    rows = [HEADER, list(row(0).values()), list(row(1).values()), list(row(2).values())]

    def formulas(book, sheet):  # type: ignore[no-untyped-def]
        sheet["D3"] = "=27.7+0.001"
        sheet["C4"] = '="138"&"08510002"'
        sheet["H3"] = "=1+1"  # a column nobody reads: not a problem

    result = run(xlsx_bytes(rows, build=formulas), name="名单.xlsx")
    assert [r.line for r in result.rows] == [2]
    assert problems(result)[:1] == [(3, "纬度", "import.formula", "=27.7+0.001")]
    assert (4, "联系电话", "import.formula", '="138"&"08510002"') in problems(result)
    assert "粘贴" in describe(result.problems[0])


def test_merged_cells_in_the_rows_are_named_on_every_line_they_cover():
    rows = [HEADER, list(row(0).values()), list(row(1).values()), list(row(2).values())]

    def merge(book, sheet):  # type: ignore[no-untyped-def]
        sheet.merge_cells("A3:A4")

    result = run(xlsx_bytes(rows, build=merge), name="名单.xlsx")
    merged = [
        (p.line, p.column, p.code, dict(p.params))
        for p in result.problems
        if p.code == "import.merged_cells"
    ]
    assert merged == [
        (3, "企业名称", "import.merged_cells", {"cells": "A3:A4"}),
        (4, "企业名称", "import.merged_cells", {"cells": "A3:A4"}),
    ]
    assert [r.line for r in result.rows] == [2]
    assert "A3:A4" in describe(result.problems[0])


def test_merged_header_cells_refuse_the_file_but_a_merged_title_above_is_fine():
    def merge_header(book, sheet):  # type: ignore[no-untyped-def]
        sheet.merge_cells("D1:E1")

    error = refused(
        xlsx_bytes([HEADER, list(row().values())], build=merge_header), name="名单.xlsx"
    )
    assert (error.code, error.params["cells"]) == ("import.merged_header", "D1:E1")

    def merge_title(book, sheet):  # type: ignore[no-untyped-def]
        sheet.merge_cells("A1:E1")

    result = run(
        xlsx_bytes([["2026年第一批白名单"], HEADER, list(row().values())], build=merge_title)
    )
    assert [r.line for r in result.rows] == [3] and result.problems == []


def test_only_the_first_visible_sheet_is_read():
    def sheets(book, sheet):  # type: ignore[no-untyped-def]
        other = book.create_sheet("说明")
        other.append(["企业名称", "联系电话"])
        other.append(["乙", "x"])
        hidden = book.create_sheet("旧版", 0)
        hidden.sheet_state = "hidden"
        hidden.append(["nothing"])

    result = run(xlsx_bytes([HEADER, list(row().values())], build=sheets), name="名单.xlsx")
    assert (result.total, result.problems) == (1, [])

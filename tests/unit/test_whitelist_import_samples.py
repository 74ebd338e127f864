"""The sample files in samples/, the downloadable error report, and the import's messages."""

from __future__ import annotations

import ast
import importlib.util
import io
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from app.i18n import en, zh
from app.services.whitelist_import import (
    ImportContext,
    ImportPreview,
    RowProblem,
    describe,
    error_report,
    preview,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
DEMO_OUTLETS = frozenset(f"GZ-ZY-{i:03d}" for i in range(1, 39))  # app/demo.py's 38 outlets
CONTEXT = ImportContext(outlet_codes=DEMO_OUTLETS)
IMPORT_MODULES = ["whitelist_import.py", "import_read.py", "import_cells.py"]

# Every problem of whitelist-messy.csv: (line, column, code), as samples/README.md lists them.
MESSY_PROBLEMS = [
    (5, "统一社会信用代码", "import.credit_code_check"),
    (7, "统一社会信用代码", "import.credit_code_scientific"),
    (12, "纬度/经度", "import.coord_outside_china"),
    (13, "纬度/经度", "import.coords_swapped"),
    (14, "统一社会信用代码", "import.duplicate_in_file"),
    (16, "网点代码", "import.outlet_unknown"),
    (17, "企业名称", "import.required"),
    (19, "预授信额度（万元）", "import.line_negative"),
    (21, "联系电话", "import.phone_invalid"),
    (22, "评分", "import.score_invalid"),
    (23, "纬度", "import.coord_invalid"),
    (24, "联系电话", "import.required"),
    (26, "统一社会信用代码", "import.credit_code_length"),
]


def _sample(name: str) -> ImportPreview:
    return preview((SAMPLES / name).read_bytes(), name, CONTEXT)


def test_the_messy_sample_lists_exactly_its_problems():
    result = _sample("whitelist-messy.csv")
    assert result.encoding == "gbk"
    assert result.unknown_headers == ["备注"]
    assert [(p.line, p.column, p.code) for p in result.problems] == MESSY_PROBLEMS
    assert (result.total, len(result.rows), result.bad_lines) == (40, 27, 13)
    assert 18 not in {r.line for r in result.rows}  # the blank row, skipped
    by_line = {r.line: r for r in result.rows}
    assert by_line[8].phone.isascii() and len(by_line[8].phone) == 11  # full-width digits
    assert by_line[9].phone == "0851-28221234"
    assert by_line[10].phone == "0851-28221235"
    assert by_line[28].pre_approved_line == 300_000  # "30万"
    assert by_line[30].outlet_code == "GZ-ZY-002"  # "gz-zy-002"
    assert all(
        r.credit_code.isascii() and r.credit_code == r.credit_code.upper() for r in result.rows
    )
    assert (result.problems[4].params, result.problems[4].value) == (
        (("first", "2"),),
        by_line[2].credit_code,
    )


def test_the_readme_lists_the_same_problems_as_the_sample_holds():
    readme = (SAMPLES / "README.md").read_text(encoding="utf-8")
    listed = [int(n) for n in re.findall(r"^\| (\d+) \|", readme, flags=re.MULTILINE)]
    assert listed == [line for line, _, _ in MESSY_PROBLEMS]


def test_the_clean_sample_has_no_problem():
    result = _sample("whitelist-clean.xlsx")
    assert (result.encoding, result.total, len(result.rows), result.problems) == (
        "xlsx",
        60,
        60,
        [],
    )
    assert sum(r.outlet_code is None for r in result.rows) == 10  # the nearest outlet takes them
    assert all(26.0 < r.lat < 29.5 and 105.0 < r.lon < 108.5 for r in result.rows)  # 遵义
    assert len({r.credit_code for r in result.rows}) == 60


def test_the_samples_are_what_the_script_writes():
    spec = importlib.util.spec_from_file_location(
        "make_samples", ROOT / "scripts" / "make_samples.py"
    )
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    rows = script._prospects()
    assert script.messy_csv(rows[60:]) == (SAMPLES / "whitelist-messy.csv").read_bytes()
    assert script.clean_xlsx(rows[:60]) == (SAMPLES / "whitelist-clean.xlsx").read_bytes()


# -- the error report -----------------------------------------------------------------------


def test_the_error_report_lists_every_problem_with_its_line_column_reason_and_value():
    result = _sample("whitelist-messy.csv")
    book = load_workbook(io.BytesIO(error_report(result)))
    assert book.sheetnames == ["问题", "汇总"]
    sheet = book["问题"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("行号", "列", "问题", "原值")
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["C"].width >= 40
    expected = [(p.line, p.column, describe(p, "zh"), p.value or None) for p in result.problems]
    assert rows[1:] == expected
    assert rows[5] == (
        14,
        "统一社会信用代码",
        "与第 2 行的统一社会信用代码重复",
        result.problems[4].value,
    )
    summary = dict(book["汇总"].iter_rows(values_only=True))
    assert summary == {
        "文件": "whitelist-messy.csv",
        "编码": "gbk",
        "数据行": 40,
        "有效行": 27,
        "有问题的行": 13,
        "问题数": 13,
    }


def test_the_error_report_in_english():
    result = _sample("whitelist-messy.csv")
    book = load_workbook(io.BytesIO(error_report(result, "en")))
    assert book.sheetnames == ["Problems", "Summary"]
    rows = list(book["Problems"].iter_rows(values_only=True))
    assert rows[0] == ("Line", "Column", "Problem", "Value")
    assert rows[5][2] == "Same credit code as line 2"


def test_a_value_that_looks_like_a_formula_is_shown_not_run():
    nasty = RowProblem(2, "企业名称", "import.required", '=HYPERLINK("http://x","点我")\x07')
    report = ImportPreview("a.csv", "utf-8", [], {}, [], 1, [], [nasty])
    sheet = load_workbook(io.BytesIO(error_report(report)))["问题"]
    cell = sheet["D2"]
    assert cell.data_type == "s"
    assert cell.value == '=HYPERLINK("http://x","点我")'  # the control character dropped


# -- messages ---------------------------------------------------------------------------------


def _import_codes() -> set[str]:
    """Every "import.*" message code the import's modules name."""
    codes: set[str] = set()
    for name in IMPORT_MODULES:
        tree = ast.parse((ROOT / "app" / "services" / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if re.fullmatch(r"import\.[a-z_]+(\.[a-z_]+)?", node.value):
                    codes.add(node.value)
    return codes


def test_the_walk_finds_the_codes():
    assert {"import.formula", "import.too_large", "import.report.line"} <= _import_codes()
    assert len(_import_codes()) > 35


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_import_code_is_in_the_catalogue(lang: str):
    """(test_i18n and test_messages then check both say it in words, with the same fields.)"""
    catalogue = {"zh": zh.MESSAGES, "en": en.MESSAGES}[lang]
    assert sorted(code for code in _import_codes() if code not in catalogue) == []

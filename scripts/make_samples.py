"""Write the sample whitelist files in samples/ (deterministic: same bytes every run).

    python scripts/make_samples.py

- ``samples/whitelist-clean.xlsx``: 60 good rows, the demo city's outlets (遵义);
- ``samples/whitelist-messy.csv``: 40 rows in GBK, some good (several only after
  normalising: full-width digits, a landline, +86, a lower-case code with spaces), and
  one row for each kind of problem the importer names (see samples/README.md and
  tests/unit/test_whitelist_import_samples.py, which lists every expected problem).

The businesses are demo prospects (``app.demo.generate`` with its own seed, so their
credit codes are not the demo batch's), the positions WGS-84 near their outlets.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import zipfile
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from openpyxl import Workbook  # noqa: E402
from openpyxl.styles import Font  # noqa: E402

from app.demo import generate  # noqa: E402

SEED = 20260112
TODAY = date(2026, 1, 12)
FIXED_TIME = (2026, 1, 12, 0, 0, 0)
HEADERS = [
    "企业名称",
    "统一社会信用代码",
    "法定代表人",
    "联系电话",
    "行业",
    "地址",
    "经度",
    "纬度",
    "预授信额度（万元）",
    "网点代码",
    "评分",
    "标签",
]
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _prospects() -> list[dict[str, object]]:
    data = generate(prospects=100, seed=SEED, today=TODAY)
    code_of = {o["id"]: o["code"] for o in data.outlet}
    rows = []
    for p in data.prospect:
        rows.append(
            {
                "企业名称": p["company_name"],
                "统一社会信用代码": p["credit_code"],
                "法定代表人": p["legal_rep"],
                "联系电话": p["phone"],
                "行业": p["industry"],
                "地址": p["address"],
                "经度": p["lon"],
                "纬度": p["lat"],
                "预授信额度（万元）": p["pre_approved_line"] / 10_000,
                "网点代码": code_of[p["outlet_id"]],
                "评分": p["score"],
                "标签": "、".join(json.loads(str(p["tags"]))),
            }
        )
    return rows


def clean_xlsx(rows: list[dict[str, object]]) -> bytes:
    """60 good rows; every sixth leaves the outlet code empty (the nearest outlet takes it)."""
    book = Workbook()
    sheet = book.active
    sheet.title = "白名单"
    sheet.append(HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for i, row in enumerate(rows):
        values = [row[h] for h in HEADERS]
        if i % 6 == 5:
            values[HEADERS.index("网点代码")] = None
        sheet.append(values)
    for letter, width in zip(
        "ABCDEFGHIJKL", (34, 22, 10, 14, 12, 34, 12, 12, 16, 12, 6, 24), strict=True
    ):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    book.properties.creator = "make_samples.py"
    book.properties.created = datetime(*FIXED_TIME)
    out = io.BytesIO()
    book.save(out)
    return _fixed_zip(out.getvalue())


def _fixed_zip(data: bytes) -> bytes:
    """The workbook with fixed times (openpyxl stamps the save time in the ZIP and core.xml)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                    rb"\g<1>2026-01-12T00:00:00Z\g<2>",
                    body,
                )
            target.writestr(zipfile.ZipInfo(info.filename, FIXED_TIME), body, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def messy_csv(rows: list[dict[str, object]]) -> bytes:
    """40 rows (and a blank one) in GBK: good ones, normalised ones, one per problem."""
    good = iter(rows)
    code, phone, line = "统一社会信用代码", "联系电话", "预授信额度（万元）"

    def row(change: Callable[[dict[str, object]], object] | None = None, **values: object):
        taken = dict(next(good))
        if change is not None:
            change(taken)
        taken.update(values)
        return taken

    def edit(column: str, how: Callable[[str], str]) -> Callable[[dict[str, object]], object]:
        return lambda values: values.update({column: how(str(values[column]))})

    first = row()  # line 2, repeated on line 14
    table: list[dict[str, object] | None] = [
        first,
        row(),
        row(),
        row(edit(code, _bad_check)),  # line 5: a wrong check character
        row(),
        row(**{code: "9.15203E+17"}),  # line 7: Excel's scientific notation
        row(edit(phone, lambda p: p.translate(FULL_WIDTH))),  # full-width digits: fine
        row(**{phone: "0851-28221234"}),  # a landline: fine
        row(**{phone: "(0851) 2822 1235"}),  # a landline, brackets and spaces: fine
        row(edit(phone, lambda p: "+86 " + p)),  # +86: fine
        row(纬度=35.6812, 经度=139.7671),  # line 12: Tokyo, outside China
        row(纬度=106.9301, 经度=27.7195),  # line 13: latitude and longitude swapped
        row(**{code: first[code]}),  # line 14: the same code as line 2
        row(),
        row(网点代码="GZ-ZY-099"),  # line 16: no such outlet
        row(企业名称=""),  # line 17: a required cell empty
        None,  # line 18: a blank row, skipped
        row(**{line: -20}),  # line 19: a negative line
        row(),
        row(**{phone: "0851-123"}),  # line 21: not a phone number
        row(评分=120),  # line 22: a score over 100
        row(纬度="二十七点七"),  # line 23: not a number
        row(**{phone: ""}),  # line 24: a required cell empty
        row(edit(code, _spaced_lower)),  # lower case with spaces: fine
        row(edit(code, lambda c: c[:17])),  # line 26: 17 characters
        row(edit(code, lambda c: c.translate(FULL_WIDTH))),  # full-width digits: fine
        row(**{line: "30万"}),  # a unit in the cell: fine
        row(标签="优质；老客户|结算户"),  # mixed separators: fine
        row(网点代码="gz-zy-002"),  # lower case: fine
    ]
    while len([r for r in table if r is not None]) < 40:
        table.append(row())
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow([*HEADERS, "备注"])  # 备注: a column the importer does not know
    for values in table:
        writer.writerow([] if values is None else [*(_text(values[h]) for h in HEADERS), ""])
    return text.getvalue().encode("gbk")


def _text(value: object) -> str:
    if isinstance(value, float):
        return repr(value)
    return "" if value is None else str(value)


def _bad_check(code: str) -> str:
    return code[:17] + ("0" if code[17] != "0" else "1")


def _spaced_lower(code: str) -> str:
    code = code.lower()
    return f"{code[:6]} {code[6:12]} {code[12:]}"


def main() -> None:
    rows = _prospects()
    samples = ROOT / "samples"
    samples.mkdir(exist_ok=True)
    (samples / "whitelist-clean.xlsx").write_bytes(clean_xlsx(rows[:60]))
    (samples / "whitelist-messy.csv").write_bytes(messy_csv(rows[60:]))
    print(f"wrote {samples / 'whitelist-clean.xlsx'} and {samples / 'whitelist-messy.csv'}")


if __name__ == "__main__":
    main()

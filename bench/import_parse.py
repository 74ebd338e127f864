"""Reading and checking a 100,000-row whitelist file: the import's preview (issue 9).

A whitelist of BENCH_PROSPECTS rows (default 100,000) with every column filled, made
here with a fixed seed (untimed; the workbook is cached under ``var/bench/``): a GBK
CSV and an ``.xlsx``. ``preview`` (``app.services.whitelist_import``) reads, decodes
and checks every row, in a child process (``python -m bench.import_parse child FILE``),
once per round after a small warm-up file; the CSV once more declared GCJ-02 (every
position converted to WGS-84).

The raw limit beside it, in the same rounds: decoding the CSV and splitting it with the
``csv`` module, or calamine reading the workbook's cells; nothing checked. The whole
import (preview plus commit) must take ≤ 30 s; the preview is given a third of it.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import time
from pathlib import Path
from typing import Any

from bench.common import (
    CACHE_DIR,
    Context,
    Result,
    Rounds,
    emit,
    measured,
    megabytes,
    run_child,
    seconds,
)

TARGET = 10.0
HEADER = [
    "企业名称", "统一社会信用代码", "法定代表人", "联系电话", "行业", "地址",
    "经度", "纬度", "预授信额度（万元）", "网点代码", "评分", "标签",
]  # fmt: skip
INDUSTRIES = ("餐饮", "批发零售", "建材", "物流运输", "酒类制造", "茶叶", "住宿")
TAGS = ("个体工商户", "结算户", "收单商户", "代发工资客户", "老客户", "首贷户")


def whitelist_rows(count: int, seed: int) -> list[list[object]]:
    """``count`` good rows near Zunyi (遵义), unique credit codes, the 38 demo outlets."""
    from app.services.validation import CREDIT_CODE_CHARSET, make_credit_code

    rand = random.Random(seed)
    body_chars = CREDIT_CODE_CHARSET
    rows: list[list[object]] = []
    seen: set[str] = set()
    while len(rows) < count:
        code = make_credit_code("520303", "".join(rand.choices(body_chars, k=8)))
        if code in seen:
            continue
        seen.add(code)
        i = len(rows)
        rows.append(
            [
                f"遵义市汇川区第{i}号商贸有限公司",
                code,
                "王芳",
                f"13{rand.randint(0, 999_999_999):09d}",
                rand.choice(INDUSTRIES),
                f"遵义市汇川区上海路{i % 500 + 1}号",
                round(106.85 + rand.random() * 0.15, 6),
                round(27.65 + rand.random() * 0.15, 6),
                round(rand.random() * 200, 1),
                f"GZ-ZY-{rand.randint(1, 38):03d}",
                rand.randint(40, 100),
                "、".join(rand.sample(TAGS, 2)),
            ]
        )
    return rows


def csv_file(rows: list[list[object]], path: Path) -> Path:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    path.write_bytes(text.getvalue().encode("gbk"))
    return path


def xlsx_file(rows: list[list[object]], path: Path) -> Path:
    if path.exists():
        return path
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("白名单")
    sheet.append(HEADER)
    for values in rows:
        sheet.append(values)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    book.save(partial)
    partial.rename(path)
    return path


def run(ctx: Context) -> list[Result]:
    rows = whitelist_rows(ctx.prospects, ctx.seed)
    small = csv_file(rows[:200], ctx.path("warm-up.csv"))
    files = {
        "CSV (GBK)": csv_file(rows, ctx.path("whitelist.csv")),
        ".xlsx": xlsx_file(rows, CACHE_DIR / f"whitelist-{ctx.prospects}-{ctx.seed}.xlsx"),
    }
    results = []
    for label, path in files.items():
        for datum in ("wgs84", "gcj02") if label.startswith("CSV") else ("wgs84",):
            out = run_child(
                "bench.import_parse", "child", str(path), datum, str(small), str(ctx.rounds)
            )
            took, raw = Rounds.of(out["seconds"]), Rounds.of(out["raw_seconds"])
            results.append(
                measured(
                    f"import preview: {out['rows']:,}-row {label}, {datum.upper()}",
                    took,
                    seconds,
                    target=f"≤ {seconds(TARGET)}",
                    limit=TARGET,
                    ratio=took.median / raw.median if raw.median else None,
                    notes=(
                        f"{label} {datum}: {megabytes(out['bytes'])}, {out['valid']:,} valid, "
                        f"{out['problems']} problems; raw read median {seconds(raw.median)} "
                        f"({out['raw_how']}); {out['rows'] / took.median:,.0f} rows/s",
                    ),
                )
            )
    return results


def _child(path: Path, datum: str, warm_up: Path, rounds: int) -> dict[str, Any]:
    from app.services.whitelist_import import ImportContext, preview

    outlets = frozenset(f"GZ-ZY-{i:03d}" for i in range(1, 39))
    context = ImportContext(outlet_codes=outlets, datum=datum)  # type: ignore[arg-type]
    preview(warm_up.read_bytes(), warm_up.name, context)
    data = path.read_bytes()
    took, raw = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        result = preview(data, path.name, context)
        took.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        if path.suffix == ".csv":
            list(csv.reader(io.StringIO(data.decode("gbk"), newline="")))
            how = "decode + csv.reader"
        else:
            from python_calamine import CalamineWorkbook

            CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()
            how = "calamine cells"
        raw.append(time.perf_counter() - t0)
    return {
        "seconds": took,
        "raw_seconds": raw,
        "raw_how": how,
        "rows": result.total,
        "valid": len(result.rows),
        "problems": len(result.problems),
        "bytes": len(data),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.import_parse")
    parser.add_argument("part", choices=("child",))
    parser.add_argument("file", type=Path)
    parser.add_argument("datum")
    parser.add_argument("warm_up", type=Path)
    parser.add_argument("rounds", type=int)
    args = parser.parse_args()
    emit(_child(args.file, args.datum, args.warm_up, args.rounds))


if __name__ == "__main__":
    main()

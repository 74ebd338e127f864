"""The whitelist import's command-line door: ``import-batch``, ``batches``, ``expire-batches``."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from app.server.db import make_engine, migrate
from tests.integration.test_cli import run_cli
from tests.integration.test_whitelist_batches import NEAR_B, csv_file, csv_line
from tests.world import build_world


def _store(tmp_path: Path) -> str:
    db = f"sqlite:///{tmp_path / 'central.sqlite3'}"
    engine = make_engine(db)
    migrate(engine)
    build_world(engine)
    engine.dispose()
    return db


NEW = ["--name", "2027年一季度经营快贷白名单", "--product", "经营快贷"]
DATES = ["--valid-from", "2026-12-01", "--valid-until", "2027-03-01"]


def test_import_refuses_bad_rows_then_takes_the_valid_ones_and_versions(tmp_path):
    db = _store(tmp_path)
    file = tmp_path / "名单.csv"
    file.write_bytes(
        csv_file(csv_line(1, outlet="T-001"), csv_line(2, near=NEAR_B), csv_line(3, phone="12"))
    )
    report = tmp_path / "errors.xlsx"

    refused = run_cli("import-batch", str(file), "--db", db, *NEW, *DATES, "--report", str(report))
    assert refused.returncode == 1, refused.stderr
    assert "共 3 行：有效 2 行，有问题 1 行" in refused.stdout
    assert "第 4 行 联系电话" in refused.stdout
    assert "未导入" in refused.stderr and "仅导入有效行" in refused.stderr
    assert load_workbook(report).worksheets[0].max_row >= 2

    done = run_cli("import-batch", str(file), "--db", db, *NEW, *DATES, "--valid-only")
    assert done.returncode == 0, done.stderr
    assert "第 1 版：新增 2" in done.stdout
    batch_id = done.stdout.split("已导入批次 ")[1].split()[0]

    file.write_bytes(csv_file(csv_line(2, near=NEAR_B), csv_line(3)))
    again = run_cli("import-batch", str(file), "--db", db, "--batch", batch_id, "--as", "A1")
    assert again.returncode == 0, again.stderr + again.stdout
    assert "第 2 版：新增 1，更新 0，未变 1，撤下 1" in again.stdout

    listed = run_cli("batches", "--db", db)
    assert listed.returncode == 0, listed.stderr
    assert "2027年一季度经营快贷白名单" in listed.stdout and "第 2 版" in listed.stdout
    assert "T-001" in listed.stdout and "待分配 2" in listed.stdout

    expired = run_cli("expire-batches", "--db", db)
    assert expired.returncode == 0 and "已使 0 个" in expired.stdout


def test_import_needs_a_description_for_a_new_batch(tmp_path):
    db = _store(tmp_path)
    file = tmp_path / "名单.csv"
    file.write_bytes(csv_file(csv_line(1)))
    done = run_cli("import-batch", str(file), "--db", db, "--name", "只有名字")
    assert done.returncode != 0 and "名称、产品" in done.stderr
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    refused = run_cli("import-batch", str(empty), "--db", db, *NEW, *DATES)
    assert refused.returncode != 0 and "0 字节" in refused.stderr

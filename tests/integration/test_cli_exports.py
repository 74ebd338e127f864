"""``main.py export KIND`` on SQLite and PostgreSQL: the same workbooks as the download,
written to a file; refusals in words with a non-zero exit."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from main import main
from tests.integration.test_cli_loans import _cli
from tests.integration.test_exports import loan_world, table
from tests.integration.test_quality import close


def test_every_kind_from_the_command_line(server, store_settings, capsys, tmp_path: Path):
    db = store_settings.database_url
    world = loan_world(server, store_settings)
    close(server, world.prospects_of("M2")[0], "invalid", "wrong_contact", "空号")

    out = tmp_path / "分润.xlsx"
    status, said = _cli(
        capsys, "export", "shares", "--period", "2026-11", "--out", str(out), "--db", db
    )
    assert status == 0, said
    assert f"已导出：{out}（分润明细-2026-11.xlsx）" in said
    loans = table(load_workbook(out)["逐笔分润"], "贷款编号")[1]
    assert [(r[0], r[5]) for r in loans] == [("DK-1", 30), ("DK-2", 50), ("DK-4", 10)]

    out = tmp_path / "质量.xlsx"
    status, said = _cli(
        capsys, "export", "quality", "--batch", world.batch_id, "--out", str(out), "--db", db
    )
    assert status == 0, said
    rows = table(load_workbook(out)["按网点"], "网点代码")[1]
    assert rows[-1][:8] == ("合计", None, 21, 0, 5, 1, 0, 1)  # the 4 disbursed are worked too

    out = tmp_path / "任务.xlsx"
    status, said = _cli(
        capsys,
        "export",
        "targets",
        "--period",
        "2026-Q4",
        "--out",
        str(out),
        "--db",
        db,
        "--lang",
        "en",
    )
    assert status == 0, said
    assert "Exported:" in said and "Targets and progress-2026-Q4.xlsx" in said
    header, body = table(load_workbook(out)["Targets"], "Subject")
    assert header[-1] == "Progress" and body == []

    # a manager's scope: outlet A's loans only
    out = tmp_path / "G1.xlsx"
    status, said = _cli(
        capsys,
        "export",
        "shares",
        "--period",
        "2026-11",
        "--out",
        str(out),
        "--db",
        db,
        "--as",
        "G1",
    )
    assert status == 0, said
    assert [r[0] for r in table(load_workbook(out)["逐笔分润"], "贷款编号")[1]] == ["DK-1", "DK-2"]


def test_refusals_say_why_and_write_nothing(server, store_settings, capsys, tmp_path: Path):
    db = store_settings.database_url
    loan_world(server, store_settings)
    out = tmp_path / "x.xlsx"
    cases = [
        (("shares", "--out", str(out)), "未导出：请指定统计期间"),
        (("shares", "--period", "2026-13", "--out", str(out)), "统计期间“2026-13”无效"),
        (("quality", "--out", str(out)), "未导出：请指定白名单批次"),
        (("quality", "--batch", "no-such", "--out", str(out)), "批次"),
        (("shares", "--period", "2026-11", "--out", str(out), "--as", "M1"), "没有权限"),
    ]
    for args, words in cases:
        status, said = _cli(capsys, "export", *args, "--db", db)
        assert status == 1 and words in said, (args, said)
    assert not out.exists()
    with pytest.raises(SystemExit) as exc:
        main(["export", "bonuses", "--out", str(out), "--db", db])
    assert exc.value.code == 2  # argparse: not one of the registry's kinds


def test_the_dashboard_reports_and_the_bulletin_from_the_command_line(
    server, store_settings, capsys, tmp_path: Path
):
    from app.server.housekeeping import run_housekeeping

    db = store_settings.database_url
    loan_world(server, store_settings)
    run_housekeeping(server.engine, server.app.state.settings)

    out = tmp_path / "参与率.xlsx"
    status, said = _cli(
        capsys, "export", "participation", "--period", "2026-11", "--out", str(out), "--db", db
    )
    assert status == 0, said
    assert "参与率与覆盖率-2026-11.xlsx" in said
    book = load_workbook(out)
    assert book.sheetnames == ["按网点", "按支行", "按网点等级"]
    assert [r[0] for r in table(book["按网点"], "网点代码")[1]] == ["T-001", "T-002", "合计"]

    out = tmp_path / "业绩.xlsx"
    status, said = _cli(
        capsys, "export", "performance", "--period", "2026-11", "--out", str(out), "--db", db
    )
    assert status == 0, said
    rows = table(load_workbook(out)["按网点"], "网点代码")[1]
    assert [(r[0], r[4], r[5]) for r in rows] == [
        ("T-001", 2, 80),
        ("T-002", 1, 10),
        ("合计", 3, 90),
    ]

    out = tmp_path / "批次.xlsx"
    status, said = _cli(capsys, "export", "batches", "--out", str(out), "--db", db, "--lang", "en")
    assert status == 0, said
    header, rows = table(load_workbook(out)["Batches"], "Batch")
    assert header[5:9] == (
        "Contacted within 7 days",
        "7-day coverage",
        "Contacted within 30 days",
        "30-day coverage",
    )
    assert [(r[4], r[9]) for r in rows] == [(21, 4)]

    out = tmp_path / "通报.xlsx"
    status, said = _cli(
        capsys,
        "export",
        "bulletin",
        "--period",
        "2026-Q4",
        "--outlet",
        "T-001",
        "--out",
        str(out),
        "--db",
        db,
        "--as",
        "G1",
    )
    assert status == 0, said
    assert "季度通报-T-001-2026-Q4.xlsx" in said
    head = table(load_workbook(out)["通报"], "指标")[1]
    assert head[0][:3] == ("放款金额", None, 100)  # DK-1, DK-2 and October's DK-3


def test_bulletin_refusals_say_why(server, store_settings, capsys, tmp_path: Path):
    db = store_settings.database_url
    loan_world(server, store_settings)
    out = tmp_path / "x.xlsx"
    cases = [
        (("--period", "2026-Q4"), "未导出：请指定网点代码"),
        (("--outlet", "T-001"), "未导出：请指定统计期间"),
        (("--period", "2026-11", "--outlet", "T-001"), "季度通报按季度出具"),
        (("--period", "2026-Q4", "--outlet", "T-999"), "网点不存在或不在您的看板范围内"),
        (("--period", "2026-Q4", "--outlet", "T-002", "--as", "G1"), "网点不存在"),
        (("--period", "2026-Q4", "--outlet", "T-001", "--as", "M1"), "没有权限"),
    ]
    for args, words in cases:
        status, said = _cli(capsys, "export", "bulletin", *args, "--out", str(out), "--db", db)
        assert status == 1 and words in said, (args, said)
    assert not out.exists()

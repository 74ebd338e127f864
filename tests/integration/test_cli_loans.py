"""The loan feed's command-line doors, on SQLite and PostgreSQL: service-account keys
(``create-api-key``, ``api-keys``, ``revoke-api-key``) and ``import-loans`` from a GBK file."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app.models import Prospect
from app.models.loan import LoanEvent, ProfitShare
from app.server.db import write_session
from app.services.clock import beijing_today
from app.services.validation import make_credit_code
from main import main
from tests.conftest import LiveServer
from tests.world import World, build_world, with_credit_codes

DAY = beijing_today() - timedelta(days=2)


@pytest.fixture
def world(server: LiveServer) -> World:
    return with_credit_codes(server.engine, build_world(server.engine))


def _cli(capsys, *args: str) -> tuple[int, str]:
    """Run ``main.py`` in this process: its exit code and what it printed (or exited with)."""
    try:
        main(list(args))
    except SystemExit as exc:
        out = capsys.readouterr().out
        if isinstance(exc.code, str):
            return 1, out + exc.code
        return int(exc.code or 0), out
    return 0, capsys.readouterr().out


def _post(server: LiveServer, key: str) -> httpx.Response:
    body = {
        "events": [
            {
                "loan_id": "DK-K",
                "credit_code": make_credit_code("520303", "MA7Y0001"),
                "status": "applied",
                "amount": 1000,
                "occurred_on": DAY.isoformat(),
                "booking_outlet_code": "T-001",
            }
        ]
    }
    return httpx.post(f"{server.url}/loans/events", json=body, headers={"X-API-Key": key})


def test_a_key_is_made_shown_once_listed_used_and_revoked(server, world, capsys):
    db = server.app.state.settings.database_url
    status, out = _cli(capsys, "create-api-key", "--name", "信贷系统", "--db", db)
    assert status == 0, out
    (key,) = re.findall(r"^phk_[0-9a-f]{12}_\S+$", out, re.MULTILINE)
    prefix = key.split("_")[1]
    assert f"前缀 {prefix}" in out and "只显示这一次" in out

    status, out = _cli(capsys, "api-keys", "--db", db)
    assert status == 0 and key not in out
    assert re.search(
        rf"信贷系统  前缀 {prefix}  loan_feed  创建于 \S+ \S+  最近使用 从未  有效", out
    )

    assert _post(server, key).status_code == 200
    _, out = _cli(capsys, "api-keys", "--db", db)
    assert "最近使用 从未" not in out and "有效" in out

    status, out = _cli(capsys, "create-api-key", "--name", "信贷系统", "--db", db)
    assert status == 1 and "已有名为 信贷系统 的密钥" in out
    status, out = _cli(capsys, "revoke-api-key", "--name", "别的系统", "--db", db)
    assert status == 1 and "没有名为 别的系统 的密钥" in out

    status, out = _cli(capsys, "revoke-api-key", "--name", "信贷系统", "--db", db)
    assert status == 0 and "已于" in out and "吊销" in out
    answer = _post(server, key)
    assert (answer.status_code, answer.json()["code"]) == (401, "apikey.revoked")
    _, out = _cli(capsys, "api-keys", "--db", db)
    assert re.search(r"信贷系统 .* 已于 \S+ \S+ 吊销", out)


def _gbk_file(path: Path, *lines: str) -> Path:
    header = "借据号,统一社会信用代码,贷款状态,金额（元）,业务日期,簿记网点代码,发起人员工号,簿记人员工号,产品"
    path.write_bytes("\r\n".join(["信贷系统导出", header, *lines, ""]).encode("gbk"))
    return path


def test_import_loans_from_a_gbk_file(server, world, capsys, tmp_path):
    db = server.app.state.settings.database_url
    p = world.prospects_of("M1")[0]
    code = p["credit_code"]
    day = DAY.strftime("%Y/%m/%d")
    stranger = make_credit_code("520303", "MA7Y0002")
    good = [
        f'DK-9,{code},已申请,"1,000,000.00",{day},T-001,M2,G1,经营快贷',
        f'DK-9,{code},审批通过,"1,000,000.00",{day},T-001,M2,G1,经营快贷',
        f'DK-9,{code},已放款,"1,000,000.00",{day},t-001,M2,G1,经营快贷',
        f"DK-10,{stranger},已申请,50000,{day},T-001,,,经营快贷",
    ]
    bad = f"DK-11,{code[:17]}{'0' if code[17] != '0' else '1'},已申请,50000,{day},T-001,,,经营快贷"
    file = _gbk_file(tmp_path / "贷款.csv", *good, bad)

    status, out = _cli(capsys, "import-loans", str(file), "--db", db)
    assert status == 1, out  # a row was rejected
    assert "第 3 行 · DK-9 已申请：已生效" in out
    assert "第 5 行 · DK-9 已放款：已生效" in out
    assert "第 6 行 · DK-10 已申请：待管理员匹配" in out
    assert "第 7 行 · DK-11 已申请：已拒绝 统一社会信用代码校验位不正确" in out
    assert "共 5 行：生效 3，记录 0，待匹配 1，重复 0，拒绝 1" in out

    with write_session(server.engine) as session:
        now = session.get(Prospect, p["id"])
        assert (now.status, now.disbursed_amount) == ("disbursed", 1_000_000)
        events = session.execute(select(LoanEvent)).scalars().all()
        assert {(e.loan_id, e.source, e.state) for e in events} == {
            ("DK-9", "csv", "applied"),
            ("DK-10", "csv", "unmatched"),
        }
        shares = session.execute(select(ProfitShare)).scalars().all()
        assert sum(s.amount_fen for s in shares) == 100_000_000

    again = _gbk_file(tmp_path / "重发.csv", *good)
    status, out = _cli(capsys, "import-loans", str(again), "--db", db)
    assert status == 0, out
    assert "共 4 行：生效 0，记录 0，待匹配 0，重复 4，拒绝 0" in out


def test_import_loans_refuses_a_file_it_cannot_read(server, world, capsys, tmp_path):
    db = server.app.state.settings.database_url
    file = tmp_path / "loans.csv"
    file.write_text(
        "loan id,credit code,status,date\nDK-1,X,applied,2026-01-01\n", encoding="utf-8"
    )
    status, out = _cli(capsys, "import-loans", str(file), "--db", db)
    assert status == 1 and "未导入：缺少必需的列：金额（元）、簿记网点代码" in out
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    status, out = _cli(capsys, "import-loans", str(empty), "--db", db)
    assert status == 1 and "未导入" in out and "0 字节" in out
    with write_session(server.engine) as session:
        assert session.execute(select(LoanEvent)).first() is None

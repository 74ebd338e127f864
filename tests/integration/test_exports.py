"""The profit-sharing workbook (分润明细) over real HTTP, on SQLite and PostgreSQL, read back
with openpyxl: per loan, per person and per outlet, in 万元, within the caller's reach; and
the export door's refusals.

Hand-counted November 2026 (default split 40 / 30 / 30):
- DK-1: M1's customer, 300,000 元 on 11-10, booked at A (T-001), originated by M2:
  M1 120,000, M2 90,000, A 90,000;
- DK-2: M3's customer (outlet B), 500,000 on 11-20, booked at A, originated by M2:
  M3 200,000 (credited to B), M2 150,000, A 150,000;
- DK-4: a customer in B's pool, 100,000 on 11-30, booked at B, no originator: B takes it
  all (100,000), then an admin re-splits it the same way (it shows as adjusted).
- DK-3: M1's customer, 200,000 on 10-31: October's, in the quarter only.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from urllib.parse import unquote

import httpx
import pytest
from openpyxl import load_workbook

from app.config import Settings
from app.models.sync import PROTOCOL_HEADER, PROTOCOL_VERSION
from app.server import loans
from app.server.db import write_session
from app.server.exports import EXPORTS, file_name
from tests.conftest import LiveServer
from tests.integration.test_loans import event
from tests.integration.test_targets import with_credit_codes
from tests.world import PASSWORD, World, build_world

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def server(store_settings: Settings) -> Iterator[LiveServer]:
    settings = store_settings.model_copy(update={"housekeeping_interval_seconds": 0})
    with LiveServer(settings) as live:
        yield live


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    headers = {PROTOCOL_HEADER: str(PROTOCOL_VERSION)}
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
        yield client


def bearer(http: httpx.Client, who: str) -> dict[str, str]:
    answer = http.post("/auth/login", json={"employee_no": who, "password": PASSWORD})
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def loan_world(server: LiveServer, settings: Settings) -> World:
    """The module's loans, reported as the loan system's feed reports them."""
    world = with_credit_codes(server, build_world(server.engine))
    m1, m3 = world.prospects_of("M1"), world.prospects_of("M3")
    pool_b = world.pool(world.outlet_b)[0]
    events = [
        event(m1[0], "disbursed", loan="DK-1", amount=300_000, on=date(2026, 11, 10)),
        event(m3[0], "disbursed", loan="DK-2", amount=500_000, on=date(2026, 11, 20)),
        event(m1[1], "disbursed", loan="DK-3", amount=200_000, on=date(2026, 10, 31)),
        event(
            pool_b,
            "disbursed",
            loan="DK-4",
            amount=100_000,
            on=date(2026, 11, 30),
            booking_outlet_code="T-002",
            originator_employee_no=None,
        ),
    ]
    with write_session(server.engine) as session:
        results = loans.report_events(
            session, events, source=loans.Source("api"), ratio=loans.default_ratio(settings)
        )
    assert [r.outcome for r in results] == ["applied"] * 4
    return world


@pytest.fixture
def world(server: LiveServer, store_settings: Settings, http: httpx.Client) -> World:
    world = loan_world(server, store_settings)
    resplit = http.put(
        "/loans/DK-4/shares",
        json={
            "shares": [
                {"party": "booking_outlet", "outlet_id": world.outlet_b, "amount_fen": 10_000_000}
            ],
            "reason": "核对无误",
        },
        headers=bearer(http, "A1"),
    )
    assert resplit.status_code == 200, resplit.text
    return world


def table(sheet, first_header: str) -> tuple[tuple, list[tuple]]:  # type: ignore[no-untyped-def]
    """The header row whose first cell is ``first_header`` and the rows under it."""
    rows = list(sheet.iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r[0] == first_header)
    return rows[start], rows[start + 1 :]


def download(http: httpx.Client, who: str, **params: str) -> httpx.Response:
    return http.get("/exports/shares.xlsx", params=params, headers=bearer(http, who))


def test_the_shares_workbook_per_loan_person_and_outlet(server, world, http):
    answer = download(http, "A1", period="2026-11")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == XLSX
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="shares.xlsx"; ')
    assert unquote(disposition.split("filename*=UTF-8''", 1)[1]) == "分润明细-2026-11.xlsx"
    book = load_workbook(io.BytesIO(answer.content))
    assert book.sheetnames == ["逐笔分润", "按人员汇总", "按网点汇总"]

    header, loans_ = table(book["逐笔分润"], "贷款编号")
    assert list(header) == [
        "贷款编号",
        "放款日期",
        "产品",
        "客户名称",
        "簿记网点",
        "放款金额（万元）",
        "营销人员",
        "营销分润（万元）",
        "发起人",
        "发起分润（万元）",
        "簿记分润（万元）",
        "人工调整",
    ]
    assert [(r[0], r[1].date(), r[5], r[6], r[7], r[8], r[9], r[10], r[11]) for r in loans_] == [
        ("DK-1", date(2026, 11, 10), 30, "张伟", 12, "李娜", 9, 9, "否"),
        ("DK-2", date(2026, 11, 20), 50, "刘洋", 20, "李娜", 15, 15, "否"),
        ("DK-4", date(2026, 11, 30), 10, None, 0, None, 0, 10, "是"),
    ]
    assert loans_[0][3] == world.prospects_of("M1")[0]["company_name"]
    assert loans_[0][4] == "T-001 测试汇川网点"
    sheet = book["逐笔分润"]
    amount = next(c for c in sheet["F"] if c.value == 30)
    assert amount.number_format == "#,##0.00"
    assert next(c for c in sheet["B"] if c.row == amount.row).number_format == "yyyy-mm-dd"

    header, people = table(book["按人员汇总"], "员工号")
    assert list(header) == [
        "员工号",
        "姓名",
        "网点名称",
        "笔数",
        "营销分润（万元）",
        "发起分润（万元）",
        "分润合计（万元）",
    ]
    assert people == [
        ("M1", "张伟", "测试汇川网点", 1, 12, 0, 12),
        ("M2", "李娜", "测试汇川网点", 2, 0, 24, 24),
        ("M3", "刘洋", "测试红花岗网点", 1, 20, 0, 20),
    ]
    header, outlets = table(book["按网点汇总"], "网点代码")
    assert list(header) == [
        "网点代码",
        "网点名称",
        "簿记笔数",
        "簿记放款金额（万元）",
        "簿记分润（万元）",
        "员工分润（万元）",
        "分润合计（万元）",
    ]
    assert outlets == [
        ("T-001", "测试汇川网点", 2, 80, 24, 36, 60),
        ("T-002", "测试红花岗网点", 1, 10, 10, 20, 30),
    ]
    assert sum(r[6] for r in outlets) == 30 + 50 + 10  # every fen of the period's loans


def test_a_manager_gets_its_outlets_part_and_a_quarter_holds_october(server, world, http):
    book = load_workbook(io.BytesIO(download(http, "G1", period="2026-11").content))
    assert [r[0] for r in table(book["逐笔分润"], "贷款编号")[1]] == ["DK-1", "DK-2"]
    assert [r[0] for r in table(book["按人员汇总"], "员工号")[1]] == ["M1", "M2"]
    assert table(book["按网点汇总"], "网点代码")[1] == [
        ("T-001", "测试汇川网点", 2, 80, 24, 36, 60)
    ]
    assert any("范围：网点 T-001" == r[0] for r in book["逐笔分润"].iter_rows(values_only=True))

    quarter = load_workbook(io.BytesIO(download(http, "A1", period="2026-Q4").content))
    assert [r[0] for r in table(quarter["逐笔分润"], "贷款编号")[1]] == [
        "DK-3",
        "DK-1",
        "DK-2",
        "DK-4",
    ]
    assert table(quarter["按人员汇总"], "员工号")[1][0] == (
        "M1",
        "张伟",
        "测试汇川网点",
        2,
        20,
        0,
        20,
    )
    empty = load_workbook(io.BytesIO(download(http, "A1", period="2026-09").content))
    assert table(empty["逐笔分润"], "贷款编号")[1] == []


@pytest.mark.parametrize(
    ("who", "path", "params", "status", "code"),
    [
        ("M1", "/exports/shares.xlsx", {"period": "2026-11"}, 403, "auth.forbidden"),
        ("A1", "/exports/shares.xlsx", {}, 422, "export.period_required"),
        ("A1", "/exports/shares.xlsx", {"period": "2026-13"}, 422, "request.invalid"),
        ("A1", "/exports/shares.xlsx", {"period": "0000-Q1"}, 422, "target.period_invalid"),
        ("A1", "/exports/bonuses.xlsx", {"period": "2026-11"}, 422, "request.invalid"),
        ("A1", "/exports/shares.csv", {"period": "2026-11"}, 404, "not_found"),
        (None, "/exports/shares.xlsx", {"period": "2026-11"}, 401, "auth.token_missing"),
    ],
)
def test_export_refusals_are_clear(server, http, who, path, params, status, code):
    build_world(server.engine)
    headers = bearer(http, who) if who else {}
    answer = http.get(path, params=params, headers=headers)
    assert (answer.status_code, answer.json()["code"]) == (status, code)


def test_the_registry_names_every_kind_and_files_safely():
    assert {"quality", "shares", "targets"} <= set(EXPORTS)
    assert all(EXPORTS[k].title.startswith("export.") for k in EXPORTS)
    assert file_name("白名单质量报告", '四季度/名单:"A"') == "白名单质量报告-四季度_名单_A.xlsx"
    assert file_name("分润明细", "") == "分润明细.xlsx"


def test_the_league_workbook_is_the_league_table_on_screen(server, world, http):
    """The outlets' and marketers' ranks in November, as ``/dashboards/league`` answers
    them after the store's roll-up: the same rows, ranks and amounts (in 万元)."""
    from app.server.housekeeping import run_housekeeping

    run_housekeeping(server.engine, server.app.state.settings)
    admin = bearer(http, "A1")
    reply = http.get("/exports/league.xlsx", params={"period": "2026-11"}, headers=admin)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith(XLSX)
    book = load_workbook(io.BytesIO(reply.content))
    for level, sheet_name in (("outlet", "网点排名"), ("marketer", "营销人员排名")):
        screen = http.get(
            "/dashboards/league",
            params={"level": level, "period": "month", "on": "2026-11-01", "page_size": 200},
            headers=admin,
        ).json()
        header, rows = table(book[sheet_name], "名次")
        assert header[:3] == ("名次", "代码", "名称") and header[5] == "放款金额（万元）"
        assert [(r[0], r[1], r[2]) for r in rows] == [
            (s["rank"], s["code"], s["name"]) for s in screen["rows"]
        ]
        amounts = [r[5] for r in rows]
        assert amounts == [pytest.approx(s["disbursed_amount"] / 10_000) for s in screen["rows"]]
        assert any(a and a > 0 for a in amounts)  # November's loans are there

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

The reports read from the dashboards' rollups (``rolled_up``) add, before the roll-up:
- logs (Beijing dates): M1 on m1[0] 11-05 (before DK-1: that customer is covered), M2 on
  m2[0] 11-06, M3 on m3[1] 11-07, M1 on m1[2] 12-01 (the quarter's, not November's);
- m2[1] closed invalid for a wrong contact, m3[2] declined as not interested;
- outlet A's Q4 targets: 10 contacts, 2,000,000 元 disbursed.
Outlets: A = T-001 (flagship, 汇川支行: M1, M2, G1), B = T-002 (general, 红花岗支行: M3);
live entries A 13 (2 disbursed: m1[0], m1[1]), B 8 (2: m3[0] and B's pool entry).
"""

from __future__ import annotations

import io
from datetime import date, datetime
from urllib.parse import unquote

import httpx
import pytest
from openpyxl import load_workbook

from app.config import Settings
from app.server import loans
from app.server.changes import bulk_insert
from app.server.db import write_session
from app.server.exports import EXPORTS, file_name
from tests.conftest import LiveServer
from tests.integration.conftest import bearer
from tests.integration.test_loans import event
from tests.world import World, build_world, with_credit_codes

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def loan_world(server: LiveServer, settings: Settings) -> World:
    """The module's loans, reported as the loan system's feed reports them."""
    world = with_credit_codes(server.engine, build_world(server.engine))
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
        if level == "marketer":  # the roles a marketer held, a count (no rate: 2 is not 200 %)
            assert header[7] == "参与笔次"
            held = [r[7] for r in rows]
            assert held == [s["participation"] for s in screen["rows"]] and max(held) >= 2


# -- reports from the dashboards' rollups ------------------------------------------------


@pytest.fixture
def rolled_up(server, world, http) -> World:  # type: ignore[no-untyped-def]
    """The module's world with the contacts, closings and targets of its docstring, rolled
    up by the store's housekeeping."""
    from app.server.housekeeping import run_housekeeping
    from tests.integration.test_quality import close
    from tests.integration.test_targets import log

    m1, m2, m3 = (world.prospects_of(who) for who in ("M1", "M2", "M3"))
    with write_session(server.engine) as session:
        bulk_insert(
            session,
            "marketing_log",
            [
                log(world, "M1", m1[0], datetime(2026, 11, 5, 2)),
                log(world, "M2", m2[0], datetime(2026, 11, 6, 2)),
                log(world, "M3", m3[1], datetime(2026, 11, 7, 2)),
                log(world, "M1", m1[2], datetime(2026, 12, 1, 2)),
            ],
        )
    close(server, m2[1], "invalid", "wrong_contact", "空号")
    close(server, m3[2], "declined", "not_interested")
    goals = [
        {"period": "2026-Q4", "subject": "outlet", "subject_id": world.outlet_a, **g}
        for g in (
            {"metric": "contacts", "value": 10},
            {"metric": "disbursed_amount", "value": 2_000_000},
        )
    ]
    done = http.put("/targets", json={"targets": goals}, headers=bearer(http, "A1"))
    assert done.status_code == 200, done.text
    run_housekeeping(server.engine, server.app.state.settings)
    return world


def workbook_of(http: httpx.Client, who: str, kind: str, **params: str):  # type: ignore[no-untyped-def]
    reply = http.get(f"/exports/{kind}.xlsx", params=params, headers=bearer(http, who))
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == XLSX
    return load_workbook(io.BytesIO(reply.content)), reply


def screen(http: httpx.Client, who: str, path: str, **params: object) -> dict:
    reply = http.get(f"/dashboards/{path}", params=params, headers=bearer(http, who))
    assert reply.status_code == 200, reply.text
    return reply.json()


def wan(yuan: int) -> object:
    return pytest.approx(yuan / 10_000)


def near(values: tuple | list) -> list:  # type: ignore[type-arg]
    """Values as a workbook holds them: fractions near, rows of them too, the rest as is."""
    return [
        near(v) if isinstance(v, list | tuple) else pytest.approx(v) if isinstance(v, float) else v
        for v in values
    ]


PARTICIPATION_HEADER = (
    "网点数",
    "簿记网点数",
    "网点簿记参与率",
    "营销网点数",
    "网点营销参与率",
    "发起网点数",
    "网点发起参与率",
    "员工数",
    "簿记员工数",
    "员工簿记参与率",
    "营销员工数",
    "员工营销参与率",
    "发起员工数",
    "员工发起参与率",
    "参与员工数",
    "员工参与率",
    "普惠贷款客户数",
    "已营销覆盖客户数",
    "客户覆盖率",
)
_FIGURES = [
    "outlets",
    "booked_outlets",
    "booked_outlet_rate",
    "marketed_outlets",
    "marketed_outlet_rate",
    "originated_outlets",
    "originated_outlet_rate",
    "staff",
    "booked_staff",
    "booked_staff_rate",
    "marketed_staff",
    "marketed_staff_rate",
    "originated_staff",
    "originated_staff_rate",
    "any_staff",
    "any_staff_rate",
    "customers",
    "covered",
    "coverage",
]


def figures(row: dict) -> list:  # type: ignore[type-arg]
    return near([row[k] for k in _FIGURES])


def test_the_participation_workbook_is_the_dashboard_per_outlet_subbranch_and_tier(
    server, rolled_up, http
):
    book, reply = workbook_of(http, "A1", "participation", period="2026-11")
    name = unquote(reply.headers["content-disposition"].split("filename*=UTF-8''", 1)[1])
    assert name == "参与率与覆盖率-2026-11.xlsx"
    assert book.sheetnames == ["按网点", "按支行", "按网点等级"]
    nov = {"period": "month", "on": "2026-11-01", "page_size": 200}

    header, rows = table(book["按网点"], "网点代码")
    assert header == ("网点代码", "网点名称", *PARTICIPATION_HEADER)
    answer = screen(http, "A1", "participation", by="outlet", **nov)
    assert [list(r) for r in rows[:-1]] == [
        [s["code"], s["label"], *figures(s)] for s in answer["rows"]
    ]
    assert list(rows[-1]) == ["合计", None, *figures(answer["total"])]
    # hand-counted: 2 outlets, both booked and marketed, A originated; staff M1 M2 G1 M3:
    # G1 booked, M1 and M3 marketed, M2 originated; customers DK-1 (covered), DK-2, DK-4
    assert list(rows[-1]) == near(
        ["合计", None, 2, 2, 1.0, 2, 1.0, 1, 0.5, 4, 1, 0.25, 2, 0.5, 1, 0.25, 4, 1.0, 3, 1, 1 / 3]
    )
    assert [r[:2] for r in rows[:-1]] == [("T-001", "测试汇川网点"), ("T-002", "测试红花岗网点")]

    for sheet, by, labels in (
        ("按支行", "subbranch", ["汇川支行", "红花岗支行"]),
        ("按网点等级", "tier", ["旗舰", "普及"]),
    ):
        header, rows = table(book[sheet], "支行" if by == "subbranch" else "网点等级")
        assert header[1:] == PARTICIPATION_HEADER
        answer = screen(http, "A1", "participation", by=by, **nov)
        assert [r[0] for r in rows] == [*labels, "合计"]
        assert [list(r[1:]) for r in rows] == [
            *(figures(s) for s in answer["rows"]),
            figures(answer["total"]),
        ]
    sheet = book["按网点"]
    total_row = next(c.row for c in sheet["A"] if c.value == "合计")
    assert sheet[f"I{total_row}"].value == pytest.approx(0.5)  # originated outlets: 1 of 2
    assert sheet[f"I{total_row}"].number_format == "0.0%"


def test_the_performance_workbook_per_outlet_and_marketer_with_totals(server, rolled_up, http):
    book, _ = workbook_of(http, "A1", "performance", period="2026-11")
    assert book.sheetnames == ["按网点", "按营销人员"]
    header, rows = table(book["按网点"], "网点代码")
    assert header == (
        "网点代码",
        "网点名称",
        "支行",
        "营销次数",
        "放款笔数",
        "放款金额（万元）",
        "分润（万元）",
        "在册名单条数",
        "已放款名单条数",
        "转化率",
    )
    assert [list(r) for r in rows] == near(
        [
            ["T-001", "测试汇川网点", "汇川支行", 2, 2, 80, 24, 13, 2, 2 / 13],
            ["T-002", "测试红花岗网点", "红花岗支行", 1, 1, 10, 10, 8, 2, 0.25],
            ["合计", None, None, 3, 3, 90, 34, 21, 4, 4 / 21],
        ]
    )
    nov = {"period": "month", "on": "2026-11-01"}
    league = screen(http, "A1", "league", level="outlet", page_size=200, **nov)["rows"]
    by_code = sorted(league, key=lambda r: r["code"])
    assert [(r[0], r[3], r[4], r[5], r[6]) for r in rows[:-1]] == [
        (
            s["code"],
            s["contacts"],
            s["disbursed_count"],
            wan(s["disbursed_amount"]),
            wan(s["shares_fen"] / 100),
        )
        for s in by_code
    ]
    overview = screen(http, "A1", "overview", **nov)
    assert rows[-1][3:6] == (
        overview["contacts"],
        overview["disbursed_count"],
        wan(overview["disbursed_amount"]),
    )
    for row, outlet in zip(rows, (rolled_up.outlet_a, rolled_up.outlet_b), strict=False):
        batches = screen(http, "A1", "batches", outlet_id=outlet)["rows"]
        assert (row[7], row[8]) == (
            sum(b["entries"] for b in batches),
            sum(b["disbursed"] for b in batches),
        )

    header, rows = table(book["按营销人员"], "员工号")
    assert header == (
        "员工号",
        "姓名",
        "网点名称",
        "营销次数",
        "放款笔数",
        "放款金额（万元）",
        "分润（万元）",
    )
    assert [list(r) for r in rows] == near(
        [
            ["M1", "张伟", "测试汇川网点", 1, 1, 30, 12],
            ["M2", "李娜", "测试汇川网点", 1, 0, 0, 24],
            ["M3", "刘洋", "测试红花岗网点", 1, 1, 50, 20],
            ["合计", None, None, 3, 2, 80, 56],
        ]
    )
    sheet = book["按营销人员"]
    assert next(c for c in sheet["F"] if c.value == 30).number_format == "#,##0.00"

    mine, _ = workbook_of(http, "G1", "performance", period="2026-11")
    assert [r[0] for r in table(mine["按网点"], "网点代码")[1]] == ["T-001", "合计"]
    assert table(mine["按网点"], "网点代码")[1][-1][3:9] == (2, 2, 80, 24, 13, 2)
    assert [r[0] for r in table(mine["按营销人员"], "员工号")[1]] == ["M1", "M2", "合计"]


def test_the_batches_workbook_is_coverage_conversion_and_quality(server, rolled_up, http):
    book, reply = workbook_of(http, "A1", "batches")
    name = unquote(reply.headers["content-disposition"].split("filename*=UTF-8''", 1)[1])
    assert name == "批次覆盖与质量.xlsx"
    header, rows = table(book["批次"], "批次")
    assert header == (
        "批次",
        "产品",
        "有效期起",
        "有效期止",
        "在册名单条数",
        "7 天内已营销",
        "7 天覆盖率",
        "30 天内已营销",
        "30 天覆盖率",
        "已放款名单条数",
        "转化率",
        "已处理",
        "无效",
        "无效率",
        "联系方式错误",
        "联系方式错误率",
    )
    answer = screen(http, "A1", "batches", page_size=200)
    assert [list(r[:11]) for r in rows] == [
        [
            b["name"],
            b["product"],
            datetime.fromisoformat(b["valid_from"]),
            datetime.fromisoformat(b["valid_until"]),
            b["entries"],
            *near([v for w in b["windows"] for v in (w["covered"], w["share"])]),
            b["disbursed"],
            pytest.approx(b["conversion"]),
        ]
        for b in answer["rows"]
    ]
    reply = http.get(f"/admin/batches/{rolled_up.batch_id}/quality", headers=bearer(http, "A1"))
    assert reply.status_code == 200, reply.text
    quality = reply.json()
    assert list(rows[0][11:]) == near(
        [
            quality["worked"],
            quality["invalid"],
            quality["invalid_rate"],
            quality["wrong_contact"],
            quality["wrong_contact_rate"],
        ]
    )
    # hand-counted: 21 live entries, 4 disbursed; worked = 4 disbursed + 2 closed
    assert (rows[0][4], rows[0][9], rows[0][11], rows[0][12]) == (21, 4, 6, 1)
    assert rows[0][13] == pytest.approx(1 / 6)

    mine, _ = workbook_of(http, "G1", "batches")
    only_a = table(mine["批次"], "批次")[1][0]
    assert (only_a[4], only_a[9], only_a[11], only_a[12]) == (13, 2, 3, 1)


def test_the_quarterly_bulletin_of_an_outlet(server, rolled_up, http):
    book, reply = workbook_of(http, "A1", "bulletin", period="2026-Q4", outlet="T-001")
    name = unquote(reply.headers["content-disposition"].split("filename*=UTF-8''", 1)[1])
    assert name == "季度通报-T-001-2026-Q4.xlsx"
    assert book.sheetnames == ["通报", "本网点营销人员", "批次覆盖"]
    head = book["通报"]
    lines = [r[0] for r in head.iter_rows(values_only=True)]
    assert "网点：T-001 测试汇川网点（汇川支行，旗舰）" in lines
    header, rows = table(head, "指标")
    assert header == ("指标", "数值", "金额（万元）", "比率", "全行名次", "参与排名网点数")
    assert [list(r) for r in rows] == near(
        [
            # Q4 at A: DK-1, DK-2, DK-3 booked; logs of 11-05, 11-06, 12-01
            ["放款金额", None, 100, None, 1, 2],
            ["放款笔数", 3, None, None, 1, 2],
            ["营销次数", 3, None, None, 1, 2],
            ["分润", None, 30, None, 1, 2],
            ["员工参与率", None, None, 1.0, 1, 2],  # B's M3 took part too: they share rank 1
            ["员工数", 3, None, None, None, None],
            ["员工簿记参与率", 1, None, 1 / 3, None, None],
            ["员工营销参与率", 1, None, 1 / 3, None, None],
            ["员工发起参与率", 1, None, 1 / 3, None, None],
            ["普惠贷款客户数", 3, None, None, None, None],
            ["客户覆盖率", 1, None, 1 / 3, None, None],
            ["在册名单条数", 13, None, None, None, None],
            ["转化率", 2, None, 2 / 13, None, None],
            ["已处理", 3, None, None, None, None],
            ["无效率", 1, None, 1 / 3, None, None],
            ["联系方式错误率", 1, None, 1 / 3, None, None],
            ["营销任务：营销次数（目标）", 10, None, None, None, None],
            ["营销任务：营销次数（完成）", 3, None, 0.3, None, None],
            ["营销任务：放款金额（目标）", None, 200, None, None, None],
            ["营销任务：放款金额（完成）", None, 100, 0.5, None, None],
        ]
    )
    q4 = {"period": "quarter", "on": "2026-10-01", "page_size": 200}
    for label, metric, field in (
        ("放款金额", "disbursed_amount", "disbursed_amount"),
        ("营销次数", "contacts", "contacts"),
        ("员工参与率", "participation", "participation"),
    ):
        ranked = screen(http, "A1", "league", level="outlet", metric=metric, **q4)
        ours = next(r for r in ranked["rows"] if r["code"] == "T-001")
        line = next(r for r in rows if r[0] == label)
        assert (line[4], line[5]) == (ours["rank"], ranked["ranked"])
        value = line[2] * 10_000 if field == "disbursed_amount" else line[1] or line[3]
        assert value == pytest.approx(ours[field])
    part = next(
        r
        for r in screen(http, "A1", "participation", by="outlet", **q4)["rows"]
        if r["code"] == "T-001"
    )
    assert next(r for r in rows if r[0] == "客户覆盖率")[3] == pytest.approx(part["coverage"])

    header, people = table(book["本网点营销人员"], "网点内名次")
    assert header[:4] == ("网点内名次", "名次", "代码", "名称") and header[-1] == "参与笔次"
    # M1 and M3 share the branch's first place (500,000 each); M2 is third, A's second
    assert [list(r) for r in people] == near(
        [[1, 1, "M1", "张伟", 2, 2, 50, 20, 2], [2, 3, "M2", "李娜", 1, 0, 0, 30, 3]]
    )
    header, batches = table(book["批次覆盖"], "批次")
    answer = screen(http, "A1", "batches", outlet_id=rolled_up.outlet_a)["rows"]
    assert [(r[4], r[9]) for r in batches] == [(b["entries"], b["disbursed"]) for b in answer]
    assert (batches[0][4], batches[0][9], batches[0][11], batches[0][12]) == (13, 2, 3, 1)

    # a manager's own outlet: the same figures
    mine, _ = workbook_of(http, "G1", "bulletin", period="2026-Q4", outlet="T-001")
    assert table(mine["通报"], "指标")[1][0] == rows[0]


@pytest.mark.parametrize(
    ("who", "kind", "params", "status", "code"),
    [
        (
            "G1",
            "bulletin",
            {"period": "2026-Q4", "outlet": "T-002"},
            404,
            "dashboard.outlet_not_found",
        ),
        (
            "A1",
            "bulletin",
            {"period": "2026-Q4", "outlet": "T-999"},
            404,
            "dashboard.outlet_not_found",
        ),
        ("A1", "bulletin", {"outlet": "T-001"}, 422, "export.period_required"),
        ("A1", "bulletin", {"period": "2026-Q4"}, 422, "export.outlet_required"),
        (
            "A1",
            "bulletin",
            {"period": "2026-11", "outlet": "T-001"},
            422,
            "export.quarter_required",
        ),
        ("A1", "bulletin", {"period": "2026-Q5", "outlet": "T-001"}, 422, "request.invalid"),
        ("A1", "bulletin", {"period": "2026-Q4", "outlet": "T 001"}, 422, "request.invalid"),
        ("A1", "bulletin", {"period": "2026-Q4", "outlet": "T" * 33}, 422, "request.invalid"),
        ("A1", "bulletin", {"period": "2026-Q4", "outlet": ""}, 422, "request.invalid"),
        ("A1", "participation", {}, 422, "export.period_required"),
        ("A1", "performance", {"period": "0000-Q1"}, 422, "target.period_invalid"),
        ("M1", "batches", {}, 403, "auth.forbidden"),
        ("M1", "bulletin", {"period": "2026-Q4", "outlet": "T-001"}, 403, "auth.forbidden"),
    ],
)
def test_report_refusals_are_clear(server, http, who, kind, params, status, code):
    build_world(server.engine)
    answer = http.get(f"/exports/{kind}.xlsx", params=params, headers=bearer(http, who))
    assert (answer.status_code, answer.json()["code"]) == (status, code)


def test_reports_before_the_first_roll_up_say_so(server, http):
    build_world(server.engine)
    book, _ = workbook_of(http, "A1", "performance", period="2026-11")
    lines = [r[0] for r in book["按网点"].iter_rows(values_only=True)]
    assert "中心库尚未汇总，暂无数据" in lines
    assert [r[3:9] for r in table(book["按网点"], "网点代码")[1]] == [(0, 0, 0, 0, 0, 0)] * 3

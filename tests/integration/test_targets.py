"""Marketing targets (营销任务) over real HTTP, on SQLite and PostgreSQL: who sets and sees
which, their progress counted by the definitions (``app.services.targets``), refusals in
words, and the progress reaching a marketer's device with the ranks.

Hand-counted November 2026 (Beijing), outlet A (T-001: M1, M2, G1), outlet B (T-002: M3):

- logs: M1 at 10-31 17:00 UTC (1 Nov 01:00 Beijing, in) and 11-15 (in), 10-31 15:59 UTC
  (31 Oct, out) and 11-30 16:30 UTC (1 Dec, out); M2 one on 11-05; M3 one on 11-06.
  M1 2 contacts, M2 1, outlet A 3, outlet B 1.
- loans (the loan system's feed): DK-1 M1's customer 300,000 元 on 11-10 booked at A;
  DK-2 M3's 500,000 on 11-20 booked at A; DK-3 M1's 200,000 on 10-31 (October);
  DK-4 M1's 100,000 on 11-30 booked at B. M1: 2 loans, 400,000; M3: 1, 500,000;
  booked at A: 2, 800,000; at B: 1, 100,000. An admin re-splits DK-4's marketer share to
  M2: then M1 has 1 loan (300,000) and M2 1 (100,000).
"""

from __future__ import annotations

import asyncio
import io
from datetime import date, datetime, timedelta
from urllib.parse import unquote

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.config import Settings
from app.models.ids import new_id, utcnow
from app.models.sync import PROTOCOL_HEADER, PROTOCOL_VERSION
from app.models.target import Target
from app.server.api_keys import create_api_key
from app.server.changes import bulk_insert
from app.server.db import write_session
from app.services.clock import beijing_today
from app.services.performance import period_name
from app.workbench import Workbench
from tests.conftest import LiveServer
from tests.integration.conftest import bearer
from tests.integration.test_loans import event, post
from tests.world import PASSWORD, World, build_world, with_credit_codes

NOV = "2026-11"


def log(world: World, who: str, prospect: dict, at: datetime) -> dict:
    return dict(
        id=new_id(),
        prospect_id=prospect["id"],
        author_id=world.user_id(who),
        channel="phone",
        occurred_at=at,
        outcome="considering",
        note="",
        attachments="[]",
        device_id="",
        recorded_at=at,
    )


@pytest.fixture
def world(server: LiveServer, http: httpx.Client) -> World:
    """The module's November (hand-counted in its docstring)."""
    world = with_credit_codes(server.engine, build_world(server.engine))
    m1, m2, m3 = world.prospects_of("M1"), world.prospects_of("M2"), world.prospects_of("M3")
    logs = [
        log(world, "M1", m1[0], datetime(2026, 10, 31, 17, 0)),
        log(world, "M1", m1[1], datetime(2026, 11, 15, 3, 0)),
        log(world, "M1", m1[1], datetime(2026, 10, 31, 15, 59)),
        log(world, "M1", m1[2], datetime(2026, 11, 30, 16, 30)),
        log(world, "M2", m2[0], datetime(2026, 11, 5, 2, 0)),
        log(world, "M3", m3[0], datetime(2026, 11, 6, 2, 0)),
    ]
    with write_session(server.engine) as session:
        bulk_insert(session, "marketing_log", logs)
    key = create_api_key(server.engine, name="信贷系统")
    answer = post(
        http,
        key,
        event(m1[0], "disbursed", loan="DK-1", amount=300_000, on=date(2026, 11, 10)),
        event(m3[0], "disbursed", loan="DK-2", amount=500_000, on=date(2026, 11, 20)),
        event(m1[1], "disbursed", loan="DK-3", amount=200_000, on=date(2026, 10, 31)),
        event(
            m1[2],
            "disbursed",
            loan="DK-4",
            amount=100_000,
            on=date(2026, 11, 30),
            booking_outlet_code="T-002",
        ),
    )
    assert [r["outcome"] for r in answer["results"]] == ["applied"] * 4
    return world


def goal(subject: str, subject_id: str, metric: str, value: int, period: str = NOV) -> dict:
    return {
        "period": period,
        "subject": subject,
        "subject_id": subject_id,
        "metric": metric,
        "value": value,
    }


def put(http: httpx.Client, who: str, *targets: dict) -> httpx.Response:
    return http.put("/targets", json={"targets": list(targets)}, headers=bearer(http, who))


def seen(http: httpx.Client, who: str, period: str = NOV) -> list[tuple]:
    answer = http.get("/targets", params={"period": period}, headers=bearer(http, who))
    assert answer.status_code == 200, answer.text
    return [
        (t["subject_code"], t["metric"], t["value"], t["actual"], t["progress"])
        for t in answer.json()["targets"]
    ]


def set_novembers(http: httpx.Client, world: World) -> None:
    a, b = world.outlet_a, world.outlet_b
    m1, m2 = world.user_id("M1"), world.user_id("M2")
    done = put(
        http,
        "A1",
        goal("outlet", a, "contacts", 6),
        goal("outlet", a, "disbursed_amount", 1_000_000),
        goal("outlet", b, "disbursed_count", 1),
    )
    assert done.status_code == 200, done.text
    done = put(
        http,
        "G1",
        goal("marketer", m1, "contacts", 4),
        goal("marketer", m1, "disbursed_count", 2),
        goal("marketer", m2, "disbursed_amount", 0),
    )
    assert done.status_code == 200, done.text


# -- progress ----------------------------------------------------------------------------


def test_progress_is_counted_by_the_definitions(server, world, http):
    set_novembers(http, world)
    assert seen(http, "A1") == [
        ("T-001", "contacts", 6, 3, 0.5),
        ("T-001", "disbursed_amount", 1_000_000, 800_000, 0.8),
        ("T-002", "disbursed_count", 1, 1, 1.0),
        ("M1", "contacts", 4, 2, 0.5),
        ("M1", "disbursed_count", 2, 2, 1.0),
        ("M2", "disbursed_amount", 0, 0, None),  # a target of nothing has no progress
    ]
    whole = http.get("/targets", params={"period": NOV}, headers=bearer(http, "A1")).json()
    assert (whole["start"], whole["end"]) == ("2026-11-01", "2026-11-30")
    m1_target = next(t for t in whole["targets"] if t["subject_code"] == "M1")
    assert (m1_target["subject_name"], m1_target["outlet_id"]) == ("张伟", world.outlet_a)

    # the admin gives DK-4's marketer share to M2: the loan is M2's now, not M1's
    resplit = http.put(
        "/loans/DK-4/shares",
        json={
            "shares": [
                {"party": "marketer", "user_id": world.user_id("M2"), "amount_fen": 4_000_000},
                {"party": "originator", "user_id": world.user_id("M2"), "amount_fen": 3_000_000},
                {"party": "booking_outlet", "outlet_id": world.outlet_b, "amount_fen": 3_000_000},
            ],
            "reason": "营销人员实为李娜",
        },
        headers=bearer(http, "A1"),
    )
    assert resplit.status_code == 200, resplit.text
    after = {(code, metric): (actual, p) for code, metric, _, actual, p in seen(http, "G1")}
    assert after[("M1", "disbursed_count")] == (1, 0.5)
    assert after[("M2", "disbursed_amount")] == (100_000, None)
    # October's figures are October's
    october = put(
        http, "G1", goal("marketer", world.user_id("M1"), "disbursed_count", 1, "2026-10")
    )
    assert october.status_code == 200
    assert seen(http, "G1", "2026-10") == [("M1", "disbursed_count", 1, 1, 1.0)]


def test_each_sees_the_targets_in_reach(server, world, http):
    set_novembers(http, world)
    assert [(c, m) for c, m, *_ in seen(http, "G1")] == [
        ("T-001", "contacts"),
        ("T-001", "disbursed_amount"),
        ("M1", "contacts"),
        ("M1", "disbursed_count"),
        ("M2", "disbursed_amount"),
    ]
    assert [(c, m) for c, m, *_ in seen(http, "M1")] == [
        ("T-001", "contacts"),
        ("T-001", "disbursed_amount"),
        ("M1", "contacts"),
        ("M1", "disbursed_count"),
    ]  # not a colleague's
    assert [(c, m) for c, m, *_ in seen(http, "M3")] == [("T-002", "disbursed_count")]
    assert seen(http, "M3", "2026-12") == []
    default = http.get("/targets", headers=bearer(http, "A1")).json()
    assert default["period"] == period_name("month", beijing_today())


def test_setting_again_replaces_and_delete_removes(server, world, http):
    set_novembers(http, world)
    m1 = world.user_id("M1")
    again = put(http, "G1", goal("marketer", m1, "contacts", 8))
    assert again.status_code == 200
    assert [(t["value"], t["actual"], t["progress"]) for t in again.json()["targets"]] == [
        (8, 2, 0.25)
    ]
    with write_session(server.engine) as session:
        assert session.execute(select(func.count()).select_from(Target)).scalar_one() == 6
    ids = {
        (t["subject_code"], t["metric"]): t["id"]
        for t in http.get("/targets", params={"period": NOV}, headers=bearer(http, "A1")).json()[
            "targets"
        ]
    }

    def delete(who: str, target_id: str) -> httpx.Response:
        return http.delete(f"/targets/{target_id}", headers=bearer(http, who))

    cases = [
        ("G1", ids[("T-001", "contacts")], 403, "target.not_yours.outlet"),  # seen, not its own
        ("M1", ids[("M1", "contacts")], 403, "auth.forbidden"),
        ("M1", ids[("T-002", "disbursed_count")], 404, "target.not_found"),  # out of sight
        ("G1", ids[("T-002", "disbursed_count")], 404, "target.not_found"),
        ("A1", "no-such-target", 404, "target.not_found"),
    ]
    for who, target_id, status, code in cases:
        answer = delete(who, target_id)
        assert (answer.status_code, answer.json()["code"]) == (status, code), who
    assert delete("G1", ids[("M1", "contacts")]).status_code == 204
    assert delete("A1", ids[("T-001", "contacts")]).status_code == 204
    assert ("M1", "contacts") not in {(c, m) for c, m, *_ in seen(http, "A1")}
    assert len(seen(http, "A1")) == 4


def test_refusals_name_the_item_and_store_nothing(server, world, http):
    a, b = world.outlet_a, world.outlet_b
    m1, m3, g1 = world.user_id("M1"), world.user_id("M3"), world.user_id("G1")
    fine = goal("marketer", m1, "contacts", 4)
    cases = [
        ("M1", [goal("marketer", m1, "contacts", 4)], 403, "auth.forbidden", 0),
        ("G1", [fine, goal("outlet", a, "contacts", 4)], 403, "target.not_yours.outlet", 1),
        ("A1", [goal("marketer", m1, "contacts", 4)], 403, "target.not_yours.marketer", 0),
        ("G1", [fine, goal("marketer", m3, "contacts", 4)], 404, "target.subject_not_found", 1),
        ("G1", [goal("marketer", "nobody", "contacts", 4)], 404, "target.subject_not_found", 0),
        ("A1", [goal("outlet", "nowhere", "contacts", 4)], 404, "target.subject_not_found", 0),
        ("G1", [goal("marketer", g1, "contacts", 4)], 422, "target.not_marketer", 0),
        ("G1", [fine, fine], 422, "target.duplicate", 1),
        ("A1", [goal("outlet", b, "contacts", 4, "1999-12")], 422, "target.period_invalid", 0),
    ]
    for who, items, status, code, index in cases:
        answer = put(http, who, *items)
        assert (answer.status_code, answer.json()["code"]) == (status, code), (who, code)
        assert answer.json()["index"] == index
        assert answer.json()["message"]  # in words
    malformed = [
        [goal("outlet", b, "contacts", 4, "2026-13")],
        [goal("outlet", b, "contacts", -1)],
        [goal("outlet", b, "contacts", 10**11)],
        [goal("outlet", b, "visits", 4)],
        [goal("branch", b, "contacts", 4)],
        [{**goal("outlet", b, "contacts", 4), "note": "x"}],
        [goal("outlet", "a\x00b", "contacts", 4)],
        [],
        [goal("outlet", b, "contacts", i) for i in range(501)],
    ]
    for items in malformed:
        answer = put(http, "A1", *items)
        assert (answer.status_code, answer.json()["code"]) == (422, "request.invalid")
    assert http.put("/targets", json=[fine], headers=bearer(http, "A1")).status_code == 422
    assert http.put("/targets", json={"targets": [fine]}).status_code == 401
    for period in ("2026-13", "2026", "Q4-2026", "x" * 100):
        bad = http.get("/targets", params={"period": period}, headers=bearer(http, "A1"))
        assert (bad.status_code, bad.json()["code"]) == (422, "request.invalid")
    bad = http.get("/targets", params={"period": "0000-01"}, headers=bearer(http, "A1"))
    assert (bad.status_code, bad.json()["code"]) == (422, "target.period_invalid")
    with write_session(server.engine) as session:
        assert session.execute(select(func.count()).select_from(Target)).scalar_one() == 0


def test_a_subbranch_manager_sets_its_outlets_and_their_marketers(server, http):
    world = build_world(server.engine, subbranch=True)
    c, b = world.outlet_c, world.outlet_b
    m4, m3 = world.user_id("M4"), world.user_id("M3")
    done = put(
        http, "Z1", goal("outlet", c, "contacts", 10), goal("marketer", m4, "disbursed_count", 3)
    )
    assert done.status_code == 200, done.text
    for item in (goal("outlet", b, "contacts", 1), goal("marketer", m3, "contacts", 1)):
        refused = put(http, "Z1", item)
        assert (refused.status_code, refused.json()["code"]) == (404, "target.subject_not_found")
    assert [(c_, m) for c_, m, *_ in seen(http, "Z1")] == [
        ("T-003", "contacts"),
        ("M4", "disbursed_count"),
    ]
    assert seen(http, "G1") == []  # outlet A's manager: C is not its outlet


# -- the device ---------------------------------------------------------------------------


async def test_a_marketers_device_gets_its_targets_with_the_ranks(server, tmp_path):
    """M1's and outlet A's targets of this month and quarter reach M1's device at sync; the
    performance screen's controller holds the ones of the subject it shows."""
    world = build_world(server.engine)
    today = beijing_today()
    month, quarter = period_name("month", today), period_name("quarter", today)
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:

        async def put_async(who: str, *items: dict) -> None:
            login = await client.post(
                "/auth/login",
                json={"employee_no": who, "password": PASSWORD},
                headers={PROTOCOL_HEADER: str(PROTOCOL_VERSION)},
            )
            token = login.json()["token"]
            answer = await client.put(
                "/targets",
                json={"targets": list(items)},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert answer.status_code == 200, answer.text

        m1 = world.user_id("M1")
        await put_async(
            "G1",
            goal("marketer", m1, "contacts", 10, month),
            goal("marketer", m1, "disbursed_count", 5, quarter),
            goal("marketer", world.user_id("M2"), "contacts", 10, month),
            goal("marketer", m1, "contacts", 10, "2026-01"),  # another month's: not sent
        )
        await put_async("A1", goal("outlet", world.outlet_a, "contacts", 40, month))
    now = utcnow().replace(microsecond=0) - timedelta(minutes=5)
    with write_session(server.engine) as session:
        bulk_insert(
            session,
            "marketing_log",
            [log(world, "M1", world.prospects_of("M1")[0], now) for _ in range(4)],
        )

    workbench = Workbench(Settings(server_url=server.url, data_dir=tmp_path / "device-M1"))
    try:
        assert await workbench.login.submit("M1", PASSWORD)
        await asyncio.to_thread(workbench.engine.sync_once)
        perf = workbench.performance
        await perf.load()
        mine = [(t.period, t.metric.value, t.value, t.actual) for t in perf.state.targets]
        assert sorted(mine) == sorted(
            [(month, "contacts", 10, 4), (quarter, "disbursed_count", 5, 0)]
        )
        assert next(t for t in perf.state.targets if t.metric == "contacts").progress == 0.4
        await perf.pick(subject="outlet")
        outlet = [(t.subject_id, t.value, t.actual) for t in perf.state.targets]
        assert outlet == [(world.outlet_a, 40, 4)]
    finally:
        workbench.close()


# -- the workbook ---------------------------------------------------------------------------


def test_the_targets_workbook_reads_back(server, world, http):
    set_novembers(http, world)
    answer = http.get("/exports/targets.xlsx", params={"period": NOV}, headers=bearer(http, "G1"))
    assert answer.status_code == 200, answer.text
    name = unquote(answer.headers["content-disposition"].split("''", 1)[1])
    assert name == "营销任务完成情况-2026-11.xlsx"
    sheet = load_workbook(io.BytesIO(answer.content))["营销任务"]
    rows = list(sheet.iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r[0] == "对象")
    assert list(rows[start]) == [
        "对象",
        "代码",
        "名称",
        "网点名称",
        "指标",
        "目标",
        "完成",
        "目标金额（万元）",
        "完成金额（万元）",
        "完成率",
    ]
    body = rows[start + 1 :]
    assert body[0] == ("网点", "T-001", "测试汇川网点", None, "营销次数", 6, 3, None, None, 0.5)
    assert body[1][:5] == ("网点", "T-001", "测试汇川网点", None, "放款金额")
    assert body[1][5:9] == (None, None, 100, 80)  # 1,000,000 and 800,000 元 in 万元
    assert body[2] == ("营销人员", "M1", "张伟", "测试汇川网点", "营销次数", 4, 2, None, None, 0.5)
    assert len(body) == 5  # G1's reach: outlet A's two, M1's two, M2's one
    assert any("统计期间：2026-11（2026-11-01 至 2026-11-30）" == r[0] for r in rows)
    english = http.get(
        "/exports/targets.xlsx",
        params={"period": NOV, "lang": "en"},
        headers=bearer(http, "G1"),
    )
    assert "Targets" in load_workbook(io.BytesIO(english.content)).sheetnames
    refused = http.get("/exports/targets.xlsx", headers=bearer(http, "A1"))
    assert (refused.status_code, refused.json()["code"]) == (422, "export.period_required")
    marketer = http.get("/exports/targets.xlsx", params={"period": NOV}, headers=bearer(http, "M1"))
    assert marketer.status_code == 403

"""List quality back to head office (双向传导) over real HTTP, on SQLite and PostgreSQL: the
report per batch and outlet, the flagged entries, the quality column of the batch list,
an admin's withdrawal of bad rows reaching devices, and the quality workbook.

The world (tests/world.py): outlet A (T-001) with marketers M1, M2 and manager G1, 13
entries (5 + 5 assigned, 3 in the pool); outlet B (T-002) with M3, 8 entries; admin A1.
``closed_world`` closes some of them as marketers would (hand-counted below).
"""

from __future__ import annotations

import io
from datetime import timedelta
from urllib.parse import unquote

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, update

from app.models import AuditEvent, Prospect
from app.models.ids import new_id, utcnow
from app.server.changes import bulk_insert
from app.server.db import write_session
from app.services.scope import Scope
from app.sync import local
from tests.conftest import LiveServer
from tests.integration.conftest import bearer
from tests.world import PASSWORD, World, build_world

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


_clock = [utcnow() - timedelta(hours=5)]


def close(
    server: LiveServer,
    prospect: dict,
    status: str,
    reason: str = "",
    note: str = "",
    *,
    applied: bool = True,
) -> None:
    """A closing move as the store records a device's: the funnel event with its reason, and
    (when applied) the prospect's new status. Each later than the one before."""
    _clock[0] += timedelta(minutes=1)
    event = dict(
        id=new_id(),
        prospect_id=prospect["id"],
        actor_id=prospect["assignee_id"] or "loan_system",
        from_status=prospect["status"],
        to_status=status,
        applied=applied,
        reason_code="" if applied else "funnel.backwards",
        close_reason=reason,
        close_note=note,
        amount=None,
        occurred_at=_clock[0],
        recorded_at=_clock[0],
        rev=0,
    )
    with write_session(server.engine) as session:
        bulk_insert(session, "funnel_event", [event])
        if applied:
            session.execute(
                update(Prospect).where(Prospect.id == prospect["id"]).values(status=status)
            )
    if applied:
        prospect["status"] = status


def move(server: LiveServer, prospect: dict, status: str) -> None:
    with write_session(server.engine) as session:
        session.execute(update(Prospect).where(Prospect.id == prospect["id"]).values(status=status))
    prospect["status"] = status


@pytest.fixture
def world(server: LiveServer) -> World:
    """Outlet A: M1's first two closed invalid (wrong contact "电话是空号", business closed),
    M2's first declined (not interested), M2's second contacted, M1's third disbursed, and
    M2's third with a closing move the store refused (still assigned: it counts nowhere).
    Outlet B: M3's first declined for a wrong contact ("号码已换人"), M3's second closed
    invalid before reasons were asked.

    A: 13 entries, 5 worked, 2 invalid, 1 declined, 1 wrong contact: 40 % and 20 %.
    B: 8 entries, 2 worked, 1 invalid, 1 declined, 1 wrong contact: 50 % and 50 %.
    The batch: 21 entries, 7 worked, 3 invalid (3/7), 2 wrong contacts (2/7)."""
    world = build_world(server.engine)
    m1, m2, m3 = world.prospects_of("M1"), world.prospects_of("M2"), world.prospects_of("M3")
    close(server, m1[0], "invalid", "wrong_contact", "电话是空号")
    close(server, m1[1], "invalid", "business_closed")
    close(server, m2[0], "declined", "not_interested")
    move(server, m2[1], "contacted")
    move(server, m1[2], "disbursed")
    close(server, m2[2], "invalid", "wrong_contact", "过期的离线操作", applied=False)
    close(server, m3[0], "declined", "wrong_contact", "号码已换人")
    close(server, m3[1], "invalid")
    return world


def report(http: httpx.Client, who: str, batch_id: str) -> httpx.Response:
    return http.get(f"/admin/batches/{batch_id}/quality", headers=bearer(http, who))


# -- the report ------------------------------------------------------------------------


def test_head_office_sees_the_batchs_quality_by_outlet_and_reason(server, world, http):
    answer = report(http, "A1", world.batch_id)
    assert answer.status_code == 200, answer.text
    got = answer.json()
    figures = ("entries", "withdrawn", "worked", "invalid", "declined", "wrong_contact")
    assert [got[k] for k in figures] == [21, 0, 7, 3, 2, 2]
    assert got["invalid_rate"] == pytest.approx(3 / 7)
    assert got["wrong_contact_rate"] == pytest.approx(2 / 7)
    assert got["name"] == "2026年第四季度经营快贷白名单"
    by_outlet = {o["code"]: o for o in got["outlets"]}
    assert [o["code"] for o in got["outlets"]] == ["T-002", "T-001"]  # the worse first
    a, b = by_outlet["T-001"], by_outlet["T-002"]
    assert [a[k] for k in figures] == [13, 0, 5, 2, 1, 1]
    assert (a["invalid_rate"], a["wrong_contact_rate"]) == (0.4, 0.2)
    assert [b[k] for k in figures] == [8, 0, 2, 1, 1, 1]
    assert (b["invalid_rate"], b["wrong_contact_rate"]) == (0.5, 0.5)
    reasons = {r["reason"]: (r["invalid"], r["declined"], r["total"]) for r in got["reasons"]}
    assert reasons == {
        "wrong_contact": (1, 1, 2),
        "business_closed": (1, 0, 1),
        "not_eligible": (0, 0, 0),
        "not_interested": (0, 1, 1),
        "duplicate": (0, 0, 0),
        "other": (0, 0, 0),
        "unspecified": (1, 0, 1),
    }
    assert [(n["note"], n["outlet_code"], n["reason"]) for n in got["notes"]] == [
        ("号码已换人", "T-002", "wrong_contact"),  # newest first
        ("电话是空号", "T-001", "wrong_contact"),
    ]  # the refused move's note is no feedback: the entry is still open


def test_a_manager_sees_its_outlets_only_and_a_marketer_nothing(server, world, http):
    mine = report(http, "G1", world.batch_id).json()
    assert [o["code"] for o in mine["outlets"]] == ["T-001"]
    assert (mine["entries"], mine["worked"], mine["invalid_rate"]) == (13, 5, 0.4)
    assert [n["outlet_code"] for n in mine["notes"]] == ["T-001"]
    refused = report(http, "M1", world.batch_id)
    assert (refused.status_code, refused.json()["code"]) == (403, "auth.forbidden")
    entries = http.get(
        f"/admin/batches/{world.batch_id}/quality/entries", headers=bearer(http, "M1")
    )
    assert entries.status_code == 403
    # a batch with no entry at outlet A is no batch G1 knows of
    other = _batch_at(server, world.outlet_b)
    assert report(http, "G1", other).status_code == 404
    assert report(http, "G1", other).json()["code"] == "import.batch_unknown"
    assert report(http, "A1", other).status_code == 200
    assert report(http, "A1", "no-such-batch").status_code == 404


def _batch_at(server: LiveServer, outlet_id: str) -> str:
    """A second batch with one entry at ``outlet_id``."""
    now = utcnow()
    batch_id = new_id()
    with write_session(server.engine) as session:
        bulk_insert(
            session,
            "whitelist_batch",
            [
                dict(
                    id=batch_id,
                    name="红花岗商户名单",
                    product="商户贷",
                    source="branch",
                    valid_from=now.date(),
                    valid_until=now.date() + timedelta(days=30),
                    created_at=now,
                )
            ],
        )
        bulk_insert(
            session,
            "prospect",
            [
                dict(
                    id=new_id(),
                    batch_id=batch_id,
                    company_name="红花岗测试商行",
                    credit_code="91520300MA6DZZZZ1X",
                    legal_rep="钱七",
                    phone="13900000000",
                    industry="零售",
                    address="遵义市红花岗区",
                    lat=27.69,
                    lon=106.91,
                    tags="[]",
                    outlet_id=outlet_id,
                    assignee_id=None,
                    status="unassigned",
                    updated_at=now,
                )
            ],
        )
    return batch_id


def test_the_batch_list_shows_each_batchs_quality(server, world, http):
    other = _batch_at(server, world.outlet_b)
    listed = http.get("/admin/batches", headers=bearer(http, "A1")).json()["batches"]
    quality = {b["id"]: b["quality"] for b in listed}
    assert quality[world.batch_id]["worked"] == 7
    assert quality[world.batch_id]["invalid"] == 3
    assert quality[world.batch_id]["wrong_contact"] == 2
    assert quality[world.batch_id]["invalid_rate"] == pytest.approx(3 / 7)
    assert quality[world.batch_id]["wrong_contact_rate"] == pytest.approx(2 / 7)
    assert quality[other] == {
        "worked": 0,
        "invalid": 0,
        "wrong_contact": 0,
        "invalid_rate": None,  # nothing worked: no rate, not a clean 0 %
        "wrong_contact_rate": None,
    }
    g1 = http.get("/admin/batches", headers=bearer(http, "G1")).json()["batches"]
    assert [b["id"] for b in g1] == [world.batch_id]
    assert g1[0]["quality"]["invalid_rate"] == 0.4  # outlet A's part only


# -- the flagged entries -----------------------------------------------------------------


def test_the_flagged_entries_by_reason_page_by_page(server, world, http):
    url = f"/admin/batches/{world.batch_id}/quality/entries"
    a1 = bearer(http, "A1")
    wrong = http.get(url, params={"reason": "wrong_contact"}, headers=a1).json()
    assert wrong["total"] == 2
    first, second = wrong["items"]
    assert (first["company_name"], first["status"], first["note"], first["outlet_code"]) == (
        world.prospects_of("M3")[0]["company_name"],
        "declined",
        "号码已换人",
        "T-002",
    )
    assert (second["closed_by_name"], second["assignee_name"]) == ("张伟", "张伟")
    assert second["withdrawn"] is False
    assert "phone" not in first and "credit_code" not in first  # masked data stays out
    page_two = http.get(
        url, params={"reason": "wrong_contact", "page_size": 1, "page": 2}, headers=a1
    )
    assert [i["prospect_id"] for i in page_two.json()["items"]] == [second["prospect_id"]]
    assert page_two.json()["total"] == 2
    unspecified = http.get(url, params={"reason": "unspecified"}, headers=a1).json()
    assert [i["prospect_id"] for i in unspecified["items"]] == [world.prospects_of("M3")[1]["id"]]
    assert unspecified["items"][0]["reason"] == "unspecified"
    invalid = http.get(url, params={"status": "invalid"}, headers=a1).json()
    assert invalid["total"] == 3
    everything = http.get(url, headers=a1).json()
    assert everything["total"] == 5
    g1 = http.get(url, params={"reason": "wrong_contact"}, headers=bearer(http, "G1")).json()
    assert [i["outlet_code"] for i in g1["items"]] == ["T-001"]


@pytest.mark.parametrize(
    "params",
    [
        {"reason": "bad_luck"},
        {"status": "contacted"},
        {"page": 0},
        {"page": "one"},
        {"page_size": 501},
        {"page_size": 0},
    ],
)
def test_bad_entry_queries_are_refused_in_words(server, world, http, params):
    answer = http.get(
        f"/admin/batches/{world.batch_id}/quality/entries",
        params=params,
        headers=bearer(http, "A1"),
    )
    assert answer.status_code == 422
    assert answer.json()["code"] == "request.invalid"


# -- withdrawing bad rows ------------------------------------------------------------------


def _withdraw(
    http: httpx.Client, who: str, batch_id: str, ids: list[str], reason: str = "联系方式错误"
):
    return http.post(
        f"/admin/batches/{batch_id}/withdraw",
        json={"prospect_ids": ids, "reason": reason},
        headers=bearer(http, who),
    )


def _live(server: LiveServer, batch_id: str) -> int:
    with write_session(server.engine) as session:
        return session.execute(
            select(func.count())
            .select_from(Prospect)
            .where(Prospect.batch_id == batch_id, Prospect.withdrawn_at.is_(None))  # type: ignore[union-attr]
        ).scalar_one()


def test_an_admin_withdraws_bad_rows_and_the_report_still_counts_them(server, world, http):
    bad = [world.prospects_of("M1")[0]["id"], world.prospects_of("M3")[0]["id"]]
    done = _withdraw(http, "A1", world.batch_id, [*bad, bad[0]])
    assert done.status_code == 200, done.text
    assert done.json() == {"withdrawn": 2, "already": 0}
    assert _live(server, world.batch_id) == 19
    with write_session(server.engine) as session:
        rows = session.execute(select(Prospect).where(Prospect.id.in_(bad))).scalars().all()  # type: ignore[attr-defined]
        assert {(p.withdrawn_reason, p.withdrawn_at is not None) for p in rows} == {
            ("quality", True)
        }
        audit = session.execute(select(AuditEvent)).scalars().all()
        assert {(a.action, a.prospect_id, a.user_id, a.note) for a in audit} == {
            ("withdraw_quality", pid, world.user_id("A1"), "联系方式错误") for pid in bad
        }
    again = _withdraw(http, "A1", world.batch_id, bad)
    assert again.json() == {"withdrawn": 0, "already": 2}  # a replay changes nothing
    got = report(http, "A1", world.batch_id).json()
    assert (got["entries"], got["withdrawn"], got["worked"], got["wrong_contact"]) == (21, 2, 7, 2)
    listed = http.get("/admin/batches", headers=bearer(http, "A1")).json()["batches"]
    mine = next(b for b in listed if b["id"] == world.batch_id)
    assert (mine["total"], mine["withdrawn"], mine["quality"]["wrong_contact"]) == (19, 2, 2)
    flagged = http.get(
        f"/admin/batches/{world.batch_id}/quality/entries",
        params={"reason": "wrong_contact"},
        headers=bearer(http, "A1"),
    ).json()
    assert {(i["withdrawn"], i["withdrawn_reason"]) for i in flagged["items"]} == {
        (True, "quality")
    }
    # head office's words stay with each entry, with who withdrew it (the world's A1)
    assert {(i["withdrawn_note"], i["withdrawn_by_name"]) for i in flagged["items"]} == {
        ("联系方式错误", "陈静")
    }


def test_withdrawal_refusals_leave_everything_as_it_was(server, world, http):
    p = world.prospects_of("M1")[0]["id"]
    other = _batch_at(server, world.outlet_a)
    cases = [
        ("G1", world.batch_id, [p], "联系方式错误", 403, "auth.forbidden"),
        ("M1", world.batch_id, [p], "联系方式错误", 403, "auth.forbidden"),
        ("A1", "no-such-batch", [p], "联系方式错误", 404, "import.batch_unknown"),
        ("A1", other, [p], "联系方式错误", 422, "quality.not_in_batch"),
        ("A1", world.batch_id, [p, "no-such-entry"], "联系方式错误", 422, "quality.not_in_batch"),
        ("A1", world.batch_id, [], "联系方式错误", 422, "request.invalid"),
        ("A1", world.batch_id, [p], "   ", 422, "request.invalid"),
        ("A1", world.batch_id, [p] * 5001, "联系方式错误", 422, "request.invalid"),
        ("A1", world.batch_id, ["bad\x00id"], "联系方式错误", 422, "request.invalid"),
    ]
    for who, batch_id, ids, reason, status, code in cases:
        answer = _withdraw(http, who, batch_id, ids, reason)
        assert (answer.status_code, answer.json()["code"]) == (status, code), (who, ids[:2])
    assert (
        "no-such-entry"
        in _withdraw(http, "A1", world.batch_id, [p, "no-such-entry"]).json()["message"]
    )
    assert _live(server, world.batch_id) == 21
    extra = http.post(
        f"/admin/batches/{world.batch_id}/withdraw",
        json={"prospect_ids": [p], "reason": "x", "force": True},
        headers=bearer(http, "A1"),
    )
    assert extra.status_code == 422


def test_feedback_from_a_device_reaches_head_office_and_the_withdrawal_reaches_the_device(
    server, world, http, make_device
):
    """双向传导 both ways: M1 closes an entry for a wrong number on the tablet; head office
    sees it in the batch's report, withdraws it, and it leaves M1's tablet at the next sync."""
    device = make_device(server, "M1")
    me = device.login("M1", PASSWORD)["user"]
    actor = Scope(me["id"], me["role"], me["outlet_id"])
    assert device.sync().rejected == 0
    target = world.prospects_of("M1")[3]
    kept = world.prospects_of("M1")[4]
    assert {target["id"], kept["id"]} <= device.ids()
    local.move_funnel(
        device.store,
        actor,
        prospect_id=target["id"],
        to_status="invalid",
        close_reason="wrong_contact",
        close_note="打了三次都是空号",
    )
    assert device.sync().rejected == 0
    a1 = bearer(http, "A1")
    flagged = http.get(
        f"/admin/batches/{world.batch_id}/quality/entries",
        params={"reason": "wrong_contact", "status": "invalid"},
        headers=a1,
    ).json()
    assert [(i["prospect_id"], i["note"]) for i in flagged["items"]][0] == (
        target["id"],
        "打了三次都是空号",
    )
    assert report(http, "A1", world.batch_id).json()["wrong_contact"] == 3

    assert _withdraw(http, "A1", world.batch_id, [target["id"]]).json()["withdrawn"] == 1
    assert device.sync().rejected == 0

    assert target["id"] not in device.ids()
    assert kept["id"] in device.ids()


# -- the workbook --------------------------------------------------------------------------


def test_the_quality_workbook_reads_back_as_head_office_sees_it(server, world, http):
    answer = http.get(
        "/exports/quality.xlsx", params={"batch_id": world.batch_id}, headers=bearer(http, "A1")
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == XLSX
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=\"quality.xlsx\"; filename*=UTF-8''")
    name = unquote(disposition.split("''", 1)[1])
    assert name == "白名单质量报告-2026年第四季度经营快贷白名单.xlsx"
    book = load_workbook(io.BytesIO(answer.content))
    assert book.sheetnames == ["按网点", "按原因"]
    outlets = book["按网点"]
    header = next(r for r in outlets.iter_rows(values_only=True) if r[0] == "网点代码")
    assert list(header) == [
        "网点代码",
        "网点名称",
        "名单条数",
        "已撤下",
        "已处理",
        "无效",
        "已拒绝",
        "联系方式错误",
        "无效率",
        "联系方式错误率",
    ]
    table = _table(outlets, "网点代码")
    assert [r[:8] for r in table] == [
        ("T-001", "测试汇川网点", 13, 0, 5, 2, 1, 1),
        ("T-002", "测试红花岗网点", 8, 0, 2, 1, 1, 1),
        ("合计", None, 21, 0, 7, 3, 2, 2),
    ]
    assert table[2][8] == pytest.approx(3 / 7)
    rate_cell = next(c for c in outlets["I"] if c.value == table[2][8])
    assert rate_cell.number_format == "0.0%"
    assert any("批次：2026年第四季度经营快贷白名单" in str(c.value) for c in outlets["A"])
    reasons = _table(book["按原因"], "原因")
    assert [r[:4] for r in reasons] == [
        ("联系方式错误", 1, 1, 2),
        ("已停业或注销", 1, 0, 1),
        ("不符合准入条件", 0, 0, 0),
        ("客户无融资需求", 0, 1, 1),
        ("重复名单或已是我行客户", 0, 0, 0),
        ("其他", 0, 0, 0),
        ("未注明原因", 1, 0, 1),
    ]
    assert reasons[0][4] == pytest.approx(2 / 7)
    mine = http.get(
        "/exports/quality.xlsx", params={"batch_id": world.batch_id}, headers=bearer(http, "G1")
    )
    assert [
        r[0] for r in _table(load_workbook(io.BytesIO(mine.content))["按网点"], "网点代码")
    ] == [
        "T-001",
        "合计",
    ]


def _table(sheet, first_header: str) -> list[tuple]:  # type: ignore[no-untyped-def]
    """The rows under the header row whose first cell is ``first_header``."""
    rows = list(sheet.iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r[0] == first_header)
    return rows[start + 1 :]


@pytest.mark.parametrize(
    ("who", "params", "status", "code"),
    [
        ("M1", {"batch_id": "x"}, 403, "auth.forbidden"),
        ("A1", {}, 422, "export.batch_required"),
        ("A1", {"batch_id": "no-such-batch"}, 404, "import.batch_unknown"),
        ("A1", {"batch_id": "x", "lang": "fr"}, 422, "request.invalid"),
    ],
)
def test_quality_export_refusals(server, world, http, who, params, status, code):
    answer = http.get("/exports/quality.xlsx", params=params, headers=bearer(http, who))
    assert (answer.status_code, answer.json()["code"]) == (status, code)

"""Prospects from the field (外拓线索, 自下而上), devices against the real central store.

A marketer adds a business found on the street, offline; it reaches the store at sync,
waits for the outlet manager's review, and either joins the outlet's field batch as a
prospect assigned to its finder, or comes back with the reviewer's reason. Every test
runs real devices over HTTP on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import func, select

from app.config import Settings
from app.models import FieldLead, FunnelEvent, Prospect, Transfer, WhitelistBatch
from app.models.ids import new_id, utcnow
from app.models.sync import PROTOCOL_HEADER, PROTOCOL_VERSION, MutationKind
from app.server.changes import bulk_insert, record_change
from app.server.db import write_session
from app.server.security import hash_password
from app.services.scope import Scope
from app.services.validation import make_credit_code
from app.sync import local, outbox
from app.sync.state import SyncPhase
from app.workbench import Workbench
from tests.conftest import Device, LiveServer
from tests.world import PASSWORD, World, build_world


def code(n: int) -> str:
    """A valid unified social credit code, one per ``n``."""
    return make_credit_code("520303", f"{n:08d}")


def signed_in(
    make_device: Callable[..., Device], server: LiveServer, no: str
) -> tuple[Device, Scope]:
    device = make_device(server, no)
    user = device.login(no, PASSWORD)["user"]
    return device, Scope(user["id"], user["role"], user["outlet_id"])


def synced(device: Device) -> None:
    progress = device.sync(verify=True)
    assert progress.phase == SyncPhase.DONE, progress


def rejections(device: Device) -> list[dict]:
    with device.store.read() as conn:
        return [dict(r) for r in conn.exec_driver_sql("SELECT * FROM rejection").mappings()]


def find(device: Device, scope: Scope, n: int, **extra: object) -> str:
    return local.record_lead(
        device.store,
        scope,
        company_name=f"遵义外拓商行{n:03d}",
        credit_code=code(n),
        contact_name="周老板",
        phone="０８５１ 2822 1234",
        industry="餐饮",
        address="遵义市汇川区大连路8号",
        **extra,
    )


def queue_approval(device: Device, lead_id: str) -> None:
    """Queue an approval of ``lead_id`` for the next push, past the device's own checks."""
    with device.store.transaction() as conn:
        outbox.enqueue(
            conn,
            MutationKind.LEAD_REVIEW,
            lead_id,
            {
                "lead_id": lead_id,
                "decision": "approve",
                "prospect_id": new_id(),
                "transfer_id": new_id(),
                "occurred_at": str(utcnow()),
            },
        )


def add_user(server: LiveServer, no: str, role: str, outlet_id: str | None) -> None:
    row = dict(
        id=new_id(),
        employee_no=no,
        name="测试",
        role=role,
        outlet_id=outlet_id,
        active=True,
        password_hash=hash_password(PASSWORD),
    )
    with write_session(server.engine) as session:
        bulk_insert(session, "user", [row])


@pytest.fixture
def world(live_server: LiveServer) -> World:
    return build_world(live_server.engine)


def test_a_find_made_offline_is_approved_and_joins_the_field_batch_assigned_to_its_finder(
    live_server, world, make_device
):
    marketer, m1 = signed_in(make_device, live_server, "M1")
    synced(marketer)
    lead_id = find(marketer, m1, 1, position=(27.71, 106.93))  # offline: only the device has it
    row = marketer.row("field_lead", lead_id)
    assert row["status"] == "pending" and row["phone"] == "0851-28221234"
    assert row["credit_code"] == code(1) and row["lat"] == 27.71
    synced(marketer)

    manager, g1 = signed_in(make_device, live_server, "G1")
    synced(manager)
    assert manager.row("field_lead", lead_id)["status"] == "pending"
    colleague, _ = signed_in(make_device, live_server, "M2")
    synced(colleague)
    assert lead_id not in colleague.ids("field_lead")  # a marketer sees their own finds

    local.record_review(manager.store, g1, lead_id=lead_id, decision="approve")
    assert manager.row("field_lead", lead_id)["status"] == "approved"  # at once, locally
    synced(manager)
    assert rejections(manager) == []

    synced(marketer)
    lead = marketer.row("field_lead", lead_id)
    assert lead["status"] == "approved" and lead["reviewed_by"] == g1.user_id
    prospect = marketer.row("prospect", lead["prospect_id"])
    assert prospect["assignee_id"] == m1.user_id and prospect["status"] == "assigned"
    assert prospect["company_name"] == "遵义外拓商行001" and prospect["credit_code"] == code(1)
    assert (prospect["lat"], prospect["lon"]) == (27.71, 106.93)
    batch = marketer.row("whitelist_batch", prospect["batch_id"])
    assert batch["source"] == "field" and batch["name"] == "测试汇川网点外拓名单"
    assert batch["product"] == "普惠外拓"
    assert manager.row("prospect", prospect["id"]) is not None  # the outlet's manager too
    synced(colleague)
    assert prospect["id"] not in colleague.ids()  # assigned to its finder, not the pool

    with live_server.engine.connect() as conn:
        stored = conn.execute(select(WhitelistBatch).where(WhitelistBatch.id == batch["id"])).one()
        assert stored.outlet_id == world.outlet_a and stored.created_by == g1.user_id
        transfer = conn.execute(
            select(Transfer).where(Transfer.prospect_id == prospect["id"])
        ).one()
        assert transfer.to_user_id == m1.user_id and transfer.by_user_id == g1.user_id
        assert transfer.reason == "field find approved"
        event = conn.execute(
            select(FunnelEvent).where(FunnelEvent.prospect_id == prospect["id"])
        ).one()
        assert (event.from_status, event.to_status) == ("unassigned", "assigned")
        assert conn.execute(
            select(Prospect.assigned_at).where(Prospect.id == prospect["id"])
        ).scalar_one()

    # a second approval at the outlet joins the same batch
    second = find(marketer, m1, 2)  # no position fix: allowed
    synced(marketer)
    synced(manager)
    local.record_review(manager.store, g1, lead_id=second, decision="approve")
    synced(manager)
    synced(marketer)
    other = marketer.row("prospect", marketer.row("field_lead", second)["prospect_id"])
    assert other["batch_id"] == batch["id"]
    assert "无定位" in other["tags"]  # the outlet's point stands in, and says so


def test_a_rejection_reaches_the_finder_with_its_reason(live_server, world, make_device):
    marketer, m1 = signed_in(make_device, live_server, "M1")
    synced(marketer)
    lead_id = find(marketer, m1, 3)
    synced(marketer)
    manager, g1 = signed_in(make_device, live_server, "G1")
    synced(manager)
    with pytest.raises(local.LocalError) as refused:
        local.record_review(manager.store, g1, lead_id=lead_id, decision="reject", reason="other")
    assert refused.value.code == "lead.note_required"
    local.record_review(
        manager.store, g1, lead_id=lead_id, decision="reject", reason="other", note="门店已关闭"
    )
    synced(manager)
    synced(marketer)
    lead = marketer.row("field_lead", lead_id)
    assert (lead["status"], lead["review_reason"], lead["review_note"]) == (
        "rejected",
        "other",
        "门店已关闭",
    )
    assert lead["prospect_id"] is None
    # reviewed once: approving it now is refused, on the device and at the store
    with pytest.raises(local.LocalError) as again:
        local.record_review(manager.store, g1, lead_id=lead_id, decision="approve")
    assert again.value.code == "lead.not_pending"
    queue_approval(manager, lead_id)
    synced(manager)
    assert [r["code"] for r in rejections(manager)] == ["lead.not_pending"]
    assert manager.row("field_lead", lead_id)["status"] == "rejected"


def test_a_credit_code_already_listed_is_a_duplicate_at_the_store(live_server, world, make_device):
    # another outlet's prospect, out of the marketer's reach, holds code 7
    listed = dict(world.prospects[-1], id=new_id(), credit_code=code(7))
    with write_session(live_server.engine) as session:
        bulk_insert(session, "prospect", [listed])
    m1_device, m1 = signed_in(make_device, live_server, "M1")
    m2_device, m2 = signed_in(make_device, live_server, "M2")
    synced(m1_device)
    synced(m2_device)
    first = find(m1_device, m1, 5)  # both find the same business, offline
    second = find(m2_device, m2, 5)
    elsewhere = find(m1_device, m1, 7)  # the device cannot know: it is not in its scope
    synced(m1_device)
    synced(m2_device)
    assert m1_device.row("field_lead", first)["status"] == "pending"
    dup = m2_device.row("field_lead", second)
    assert (dup["status"], dup["review_reason"]) == ("duplicate", "duplicate")
    listed_lead = m1_device.row("field_lead", elsewhere)
    assert (listed_lead["status"], listed_lead["review_reason"]) == ("duplicate", "duplicate")
    assert listed["id"] not in m1_device.ids()  # nothing says where or whose it is
    assert rejections(m1_device) == [] and rejections(m2_device) == []

    # the device refuses a code it holds, naming the company
    with pytest.raises(local.LocalError) as refused:
        find(m1_device, m1, 5)
    assert refused.value.code == "lead.duplicate_local"
    assert refused.value.params == {"company": "遵义外拓商行005"}
    mine = world.prospects_of("M1")[0]
    with write_session(live_server.engine) as session:
        session.execute(
            Prospect.__table__.update()
            .where(Prospect.__table__.c.id == mine["id"])
            .values(credit_code=code(9))
        )
        record_change(session, "prospect", mine["id"], prospect_id=mine["id"],
                      old_scope=(mine["outlet_id"], mine["assignee_id"]),
                      new_scope=(mine["outlet_id"], mine["assignee_id"]))  # fmt: skip
    synced(m1_device)
    with pytest.raises(local.LocalError) as held:
        find(m1_device, m1, 9)
    assert held.value.params == {"company": mine["company_name"]}


def test_only_a_manager_reaching_the_outlet_may_review(live_server, world, make_device):
    add_user(live_server, "G2", "outlet_manager", world.outlet_b)
    marketer, m1 = signed_in(make_device, live_server, "M1")
    synced(marketer)
    lead_id = find(marketer, m1, 11)
    synced(marketer)

    with pytest.raises(local.LocalError) as own:
        local.record_review(marketer.store, m1, lead_id=lead_id, decision="approve")
    assert own.value.code == "auth.forbidden"
    other, g2 = signed_in(make_device, live_server, "G2")
    synced(other)
    assert lead_id not in other.ids("field_lead")  # another outlet's finds stay there
    with pytest.raises(local.LocalError) as far:
        local.record_review(other.store, g2, lead_id=lead_id, decision="approve")
    assert far.value.code == "lead.out_of_scope"

    # pushed anyway (a device that skipped its checks): the store refuses both
    for device in (marketer, other):
        queue_approval(device, lead_id)
        synced(device)
    assert [r["code"] for r in rejections(marketer)] == ["auth.forbidden"]
    assert [r["code"] for r in rejections(other)] == ["lead.out_of_scope"]
    with live_server.engine.connect() as conn:
        assert conn.execute(
            select(FieldLead.status).where(FieldLead.id == lead_id)
        ).scalar_one() == ("pending")

    # a sub-branch manager over outlet A reviews it
    add_user(live_server, "S1", "subbranch_manager", world.outlet_a)
    sub, s1 = signed_in(make_device, live_server, "S1")
    synced(sub)
    local.record_review(sub.store, s1, lead_id=lead_id, decision="reject", reason="ineligible")
    synced(sub)
    assert rejections(sub) == []
    synced(marketer)
    assert marketer.row("field_lead", lead_id)["review_reason"] == "ineligible"


def test_an_approval_pushed_twice_makes_one_prospect(live_server, world, make_device):
    marketer, m1 = signed_in(make_device, live_server, "M1")
    synced(marketer)
    lead_id = find(marketer, m1, 13)
    synced(marketer)
    manager, g1 = signed_in(make_device, live_server, "G1")
    synced(manager)
    local.record_review(manager.store, g1, lead_id=lead_id, decision="approve")
    with manager.store.read() as conn:
        (queued,) = outbox.pending_kinds(conn, MutationKind.LEAD_REVIEW)
    with manager.store.transaction() as conn:  # the same review again, under a new seq
        outbox.enqueue(conn, MutationKind.LEAD_REVIEW, lead_id, queued)
    # and the find itself pushed again from a restored outbox
    with marketer.store.transaction() as conn:
        payload = dict(marketer.row("field_lead", lead_id))
        outbox.enqueue(
            conn,
            MutationKind.LEAD_CREATE,
            lead_id,
            {
                **{k: payload[k] for k in ("id", "company_name", "credit_code", "phone")},
                "occurred_at": str(utcnow()),
            },
        )
    synced(manager)
    synced(marketer)
    assert rejections(manager) == [] and rejections(marketer) == []
    with live_server.engine.connect() as conn:
        made = conn.execute(
            select(func.count()).select_from(Prospect).where(Prospect.credit_code == code(13))
        ).scalar_one()
        leads = conn.execute(
            select(func.count()).select_from(FieldLead).where(FieldLead.credit_code == code(13))
        ).scalar_one()
    assert (made, leads) == (1, 1)
    assert marketer.row("prospect", queued["prospect_id"])["assignee_id"] == m1.user_id


# ok: applied · role: rejected auth.forbidden · scope: rejected lead.out_of_scope
LEAD_MATRIX = """
role      propose  review_outlet_a  review_outlet_b  review_unknown
marketer  ok       role             role             role
manager   ok       ok               scope            scope
admin     role     ok               ok               scope
"""
LEAD_VERDICT = {
    "ok": ("applied", ""),
    "role": ("rejected", "auth.forbidden"),
    "scope": ("rejected", "lead.out_of_scope"),
}


def test_who_may_propose_and_review_finds_over_http(live_server, world):
    """The field-find matrix (DESIGN §4 with issue 9): anyone with an outlet proposes; the
    managers reaching a find's outlet review it; an unknown find reads as one out of reach."""
    header, *lines = [line.split() for line in LEAD_MATRIX.strip().splitlines()]
    at_a, at_b = new_id(), new_id()
    rows = [
        dict(
            id=lead_id,
            finder_id=world.user_id(finder),
            outlet_id=outlet,
            company_name=f"矩阵测试商行{n}",
            credit_code=code(100 + n),
            status="pending",
            created_at=utcnow(),
            recorded_at=utcnow(),
        )
        for n, (lead_id, finder, outlet) in enumerate(
            [(at_a, "M1", world.outlet_a), (at_b, "M3", world.outlet_b)]
        )
    ]
    with write_session(live_server.engine) as session:
        bulk_insert(session, "field_lead", rows)
    employee = {"marketer": "M1", "manager": "G1", "admin": "A1"}
    now = str(utcnow())
    got: dict[tuple[str, str], str] = {}
    with httpx.Client(
        base_url=live_server.url, headers={PROTOCOL_HEADER: str(PROTOCOL_VERSION)}, timeout=60
    ) as api:
        for r, (role, *_cells) in enumerate(lines):
            token = api.post(
                "/auth/login", json={"employee_no": employee[role], "password": PASSWORD}
            ).json()["token"]
            reviews = {"review_outlet_a": at_a, "review_outlet_b": at_b}
            # each role reviews its own copies: a first approval would make the next one
            # "not pending"; here only the permission may refuse
            cells: list[tuple[str, dict]] = [
                ("propose", {"id": new_id(), "company_name": "新店", "credit_code": code(200 + r),
                             "occurred_at": now}),
            ]  # fmt: skip
            for place in header[2:]:
                lead_id = reviews.get(place, new_id())
                cells.append(
                    (
                        place,
                        {
                            "lead_id": lead_id,
                            "decision": "reject",
                            "reason": "ineligible",
                            "prospect_id": new_id(),
                            "transfer_id": new_id(),
                            "occurred_at": now,
                        },
                    )
                )
            mutations = [
                {
                    "seq": i,
                    "id": new_id(),
                    "kind": MutationKind.LEAD_CREATE if place == "propose" else MutationKind.LEAD_REVIEW,
                    "payload": data,
                    "created_at": now,
                }
                for i, (place, data) in enumerate(cells, start=1)
            ]  # fmt: skip
            response = api.post(
                "/sync/push",
                json={"device_id": f"lead-matrix-{role}", "mutations": mutations},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status_code == 200, response.text
            for (place, _), result in zip(cells, response.json()["results"], strict=True):
                verdict = (result["status"], result["code"])
                got[(role, place)] = next(
                    (k for k, v in LEAD_VERDICT.items() if v == verdict), "/".join(verdict)
                )
            # reviewed finds go back to pending for the next role
            with write_session(live_server.engine) as session:
                session.execute(
                    FieldLead.__table__.update()
                    .where(FieldLead.__table__.c.id.in_([at_a, at_b]))
                    .values(status="pending", reviewed_by=None, review_reason="")
                )
    expected = {
        (role, place): cell
        for role, *cells in lines
        for place, cell in zip(header[1:], cells, strict=True)
    }
    assert got == expected


# -- the screens' controller, against the real store -----------------------------------------


@pytest.fixture
def workbench(live_server, world, tmp_path):  # type: ignore[no-untyped-def]
    bench = Workbench(Settings(server_url=live_server.url, data_dir=tmp_path / "bench"))
    yield bench
    bench.close()


async def test_the_finders_screen_says_what_is_wrong_saves_and_lists_the_find(workbench):
    assert await workbench.login.submit("M1", PASSWORD)
    await asyncio.to_thread(workbench.engine.sync_once)
    leads = workbench.leads
    await leads.load()
    assert (leads.state.rows, leads.state.reviews, leads.state.proposes) == ([], False, True)

    wrong = code(21)[:17] + ("0" if code(21)[17] != "0" else "1")
    assert leads.credit_code_problem(wrong[:10]) is None  # still typing: nothing yet
    assert leads.credit_code_problem(wrong) == "validation.credit_code.check"
    assert leads.credit_code_problem(code(21)) is None
    problems = await leads.save(company_name="", credit_code=wrong, phone="12")
    assert problems == {
        "company_name": "lead.error.company_required",
        "credit_code": "validation.credit_code.check",
        "phone": "validation.phone",
    }
    assert await leads.save(company_name="遵义新店", credit_code=code(21)) == {}
    [row] = leads.state.rows
    assert (row.company_name, row.status, row.uploaded, row.has_position) == (
        "遵义新店",
        "pending",
        False,
        False,
    )
    assert workbench.state.progress.pending == 1
    assert workbench.state.notice is not None and workbench.state.notice.code == "leads.saved"

    again = await leads.save(company_name="又一家", credit_code=code(21))
    assert again == {"credit_code": "lead.duplicate_local"}
    assert leads.state.duplicate_of == "遵义新店"

    await asyncio.to_thread(workbench.engine.sync_once)
    await leads.load()
    assert leads.state.rows[0].uploaded


async def test_the_managers_screen_reviews_pending_first(workbench, live_server, make_device):
    marketer, m1 = signed_in(make_device, live_server, "M1")
    synced(marketer)
    first, second = find(marketer, m1, 31), find(marketer, m1, 32)
    synced(marketer)

    assert await workbench.login.submit("G1", PASSWORD)
    await asyncio.to_thread(workbench.engine.sync_once)
    leads = workbench.leads
    await leads.load()
    assert leads.state.reviews and leads.state.proposes
    assert [r.id for r in leads.state.rows] == [first, second]  # waited longest first
    assert leads.state.rows[0].finder_name == "张伟"

    leads.open_reject(first)
    assert not await leads.reject(first, None, "")
    assert leads.state.review_errors == {"reason": "lead.reason_required"}
    assert not await leads.reject(first, "other", "")
    assert leads.state.review_errors == {"note": "lead.note_required"}
    leads.corrected("note")
    assert leads.state.review_errors == {}
    assert await leads.reject(first, "inaccurate", "电话打不通")
    assert leads.state.rejecting is None
    await leads.approve(second)
    assert [(r.id, r.status) for r in leads.state.rows] == [
        (second, "approved"),
        (first, "rejected"),
    ]
    await asyncio.to_thread(workbench.engine.sync_once)
    synced(marketer)
    assert marketer.row("field_lead", first)["review_note"] == "电话打不通"
    assert marketer.row("prospect", marketer.row("field_lead", second)["prospect_id"])


def test_a_managers_own_find_joins_the_outlet_pool(live_server, world, make_device):
    """A manager holds no prospects: approved, their own find waits in the outlet's pool."""
    manager, g1 = signed_in(make_device, live_server, "G1")
    synced(manager)
    lead_id = find(manager, g1, 41)
    synced(manager)
    local.record_review(manager.store, g1, lead_id=lead_id, decision="approve")
    synced(manager)
    assert rejections(manager) == []
    prospect = manager.row("prospect", manager.row("field_lead", lead_id)["prospect_id"])
    assert (prospect["assignee_id"], prospect["status"]) == (None, "unassigned")
    pool_marketer, _ = signed_in(make_device, live_server, "M2")
    synced(pool_marketer)
    assert prospect["id"] in pool_marketer.ids()  # the outlet's marketers may claim it

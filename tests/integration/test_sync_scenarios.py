"""Offline-first sync scenarios (DESIGN.md §3), device against the real central store.

Every test drives real devices (their own SQLite files, ``SyncEngine``, ``SyncClient``)
against the FastAPI store served over HTTP by uvicorn, on SQLite and on PostgreSQL,
and asserts what a user would notice: rows on a device, statuses, counts in the store.
Each one fails if the guarantee it names is taken away.
"""

from __future__ import annotations

import base64
import json
import math
import re
import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text, update

from app.models import (
    ChangeLog,
    DeviceState,
    FunnelEvent,
    MarketingLog,
    MutationRecord,
    Prospect,
    Transfer,
)
from app.models.ids import new_id, utcnow
from app.models.sync import PROTOCOL_HEADER, PROTOCOL_VERSION, MutationKind
from app.server.changes import bulk_insert, record_change
from app.server.db import read_session, write_session
from app.server.pull import issued_for, reach
from app.services.marketing import new_log
from app.services.scope import Scope
from app.sync import local, outbox
from app.sync.apply import local_checksums
from app.sync.client import SyncClient
from app.sync.engine import SyncEngine
from app.sync.errors import CursorInvalid, ProtocolTooOld, RequestRejected
from app.sync.state import StateKey, SyncPhase, SyncProgress
from app.sync.store import DeviceStore
from tests.conftest import Device, LiveServer, free_port
from tests.world import PASSWORD, World, build_world

CHINESE = re.compile(r"[\u4e00-\u9fff]")

_log = MarketingLog.__table__
_event = FunnelEvent.__table__
_prospect = Prospect.__table__
_record = MutationRecord.__table__
_changes = ChangeLog.__table__


# -- helpers ------------------------------------------------------------------------------


def signed_in(
    make_device: Callable[..., Device],
    server: LiveServer,
    employee_no: str,
    name: str | None = None,
) -> tuple[Device, Scope]:
    """A new device with ``employee_no`` logged in, and the actor its use cases take."""
    device = make_device(server, name or employee_no)
    user = device.login(employee_no, PASSWORD)["user"]
    return device, Scope(user["id"], user["role"], user["outlet_id"])


def synced(device: Device, **kwargs: Any) -> SyncProgress:
    progress = device.sync(**kwargs)
    assert progress.phase == SyncPhase.DONE, progress
    return progress


def count(server: LiveServer, table: Any, *where: Any) -> int:
    """Rows of a central-store table (optionally filtered)."""
    with server.engine.connect() as conn:
        stmt = select(func.count()).select_from(table).where(*where)
        return int(conn.execute(stmt).scalar_one())


def stored(server: LiveServer, table: Any, *where: Any, order_by: Any = None) -> list[dict]:
    with server.engine.connect() as conn:
        stmt = select(table).where(*where)
        if order_by is not None:
            stmt = stmt.order_by(order_by)
        return [dict(r) for r in conn.execute(stmt).mappings()]


def outbox_rows(device: Device) -> list[tuple[int, str, str]]:
    with device.store.read() as conn:
        rows = conn.exec_driver_sql("SELECT seq, kind, entity_id FROM outbox ORDER BY seq")
        return [tuple(r) for r in rows]


def device_rows(device: Device, entity: str, prospect_id: str) -> list[dict]:
    with device.store.read() as conn:
        result = conn.exec_driver_sql(
            f'SELECT * FROM "{entity}" WHERE prospect_id = ?', (prospect_id,)
        )
        return [dict(m) for m in result.mappings()]


def rejections(device: Device) -> list[dict]:
    with device.store.read() as conn:
        result = conn.exec_driver_sql("SELECT * FROM rejection ORDER BY seq")
        return [dict(m) for m in result.mappings()]


def status_on_store(server: LiveServer, prospect_id: str) -> str:
    return str(stored(server, _prospect, _prospect.c.id == prospect_id)[0]["status"])


def events_on_store(server: LiveServer, prospect_id: str) -> list[tuple[str, str, bool, str]]:
    """(from, to, applied, reason) of a prospect's funnel events, in the store's order."""
    rows = stored(server, _event, _event.c.prospect_id == prospect_id, order_by=_event.c.rev)
    return [(r["from_status"], r["to_status"], bool(r["applied"]), r["reason_code"]) for r in rows]


def scope_of_marketer(world: World, employee_no: str, outlet_id: str) -> set[str]:
    return {p["id"] for p in world.prospects_of(employee_no) + world.pool(outlet_id)}


SNAPSHOT_START = {
    "phase": "snapshot",
    "positions": [0, 0],  # a marketer's branches: head office's, and its outlet's
    "entity": 0,
    "after_key": "",
    "done": 0,
    "total": 0,
}


def cursor_scope(server: LiveServer, scope: Scope) -> str:
    """What the store binds ``scope``'s cursors to (its fingerprint and branches)."""
    with read_session(server.engine) as session:
        return issued_for(scope, reach(session, scope))


def cursor_text(data: dict[str, Any]) -> str:
    """A cursor as the store spells one (base64 JSON), for forging."""
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


# -- 1. no lost local write ------------------------------------------------------------------


def test_log_recorded_while_the_store_is_unreachable_arrives_exactly_once(live_server, make_device):
    world = build_world(live_server.engine)
    device, me = signed_in(make_device, live_server, "M1")
    synced(device)
    prospect = world.prospects_of("M1")[0]["id"]

    online = device.client.http
    nobody_listens = httpx.Client(base_url=f"http://127.0.0.1:{free_port()}", timeout=2)
    device.client.http = nobody_listens
    try:
        log_id = local.record_log(
            device.store,
            me,
            new_log(
                prospect_id=prospect, channel="visit", outcome="interested", note="市场走访有意向"
            ),
        )
        progress = device.sync()
        assert progress.phase == SyncPhase.FAILED
        assert progress.error_code == "sync.network"
        assert progress.pending == 1  # the user sees one change waiting
        assert device.row("marketing_log", log_id)["note"] == "市场走访有意向"
        assert outbox_rows(device) == [(1, MutationKind.LOG_CREATE, prospect)]
        assert count(live_server, _log, _log.c.id == log_id) == 0
    finally:
        device.client.http = online
        nobody_listens.close()

    progress = synced(device)
    assert progress.pending == 0
    assert outbox_rows(device) == []
    synced(device)
    server_logs = stored(live_server, _log, _log.c.prospect_id == prospect)
    assert [(r["id"], r["author_id"]) for r in server_logs] == [(log_id, me.user_id)]
    assert device.row("marketing_log", log_id)["rev"] > 0  # the store's copy came back


def test_outbox_sequence_is_never_reused_after_acknowledged_rows_are_deleted(
    live_server, make_device
):
    world = build_world(live_server.engine)
    device, me = signed_in(make_device, live_server, "M1")
    synced(device)
    mine = [p["id"] for p in world.prospects_of("M1")]

    def log(prospect_id: str) -> str:
        return local.record_log(
            device.store,
            me,
            new_log(prospect_id=prospect_id, channel="phone", outcome="considering"),
        )

    first = [log(mine[0]), log(mine[1])]
    first_seqs = [seq for seq, _, _ in outbox_rows(device)]
    synced(device)
    assert outbox_rows(device) == []  # acknowledged rows are gone from the outbox
    second = [log(mine[2]), log(mine[3])]
    second_seqs = [seq for seq, _, _ in outbox_rows(device)]
    assert min(second_seqs) > max(first_seqs)
    synced(device)

    # Had a seq been reused, the store would take it for a replay and drop the log.
    assert count(live_server, _log, _log.c.id.in_(first + second)) == 4
    records = stored(
        live_server, _record, _record.c.device_id == device.store.device_id, order_by=_record.c.seq
    )
    assert [(r["seq"], r["status"]) for r in records] == [
        (s, "applied") for s in first_seqs + second_seqs
    ]


# -- 2. exactly once ------------------------------------------------------------------------


class LosesPushAnswers(httpx.BaseTransport):
    """Forwards to the live store, but the first ``n`` push answers never come back."""

    def __init__(self, n: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.left = n
        self.pushes = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path == "/sync/push":
            self.pushes += 1
            if self.left > 0:
                self.left -= 1
                response.read()
                response.close()
                raise httpx.ReadError("connection reset after the store answered", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


def test_push_whose_answer_is_lost_three_times_applies_once(live_server, make_device):
    world = build_world(live_server.engine)
    device, me = signed_in(make_device, live_server, "M1")
    synced(device)
    prospect = world.prospects_of("M1")[0]["id"]
    log_id = local.record_log(  # nobody answered: the status is the explicit move's alone
        device.store, me, new_log(prospect_id=prospect, channel="visit", outcome="no_answer")
    )
    event_id = local.move_funnel(device.store, me, prospect_id=prospect, to_status="contacted")

    lossy = LosesPushAnswers(3)
    online = device.client.http
    device.client.http = httpx.Client(base_url=live_server.url, transport=lossy, timeout=30)
    try:
        progress = device.sync(verify=False)
        assert progress.phase == SyncPhase.FAILED and progress.error_code == "sync.network"
        applied_once = count(live_server, _changes)  # applied: only the answer was lost
        for _ in range(2):
            progress = device.sync(verify=False)
            assert progress.phase == SyncPhase.FAILED and progress.pending == 2
        synced(device, verify=False)
    finally:
        device.client.http.close()
        device.client.http = online

    assert lossy.pushes == 4
    assert count(live_server, _changes) == applied_once  # the replays changed nothing
    assert count(live_server, _log, _log.c.prospect_id == prospect) == 1
    assert [e[1:3] for e in events_on_store(live_server, prospect)] == [("contacted", True)]
    assert count(live_server, _event, _event.c.id == event_id) == 1
    assert count(live_server, _record, _record.c.device_id == device.store.device_id) == 2
    assert outbox_rows(device) == [] and rejections(device) == []
    assert device.row("marketing_log", log_id)["rev"] > 0
    assert device.row("prospect", prospect)["status"] == "contacted"


def test_replayed_push_is_answered_identically_and_changes_nothing(live_server, make_device):
    world = build_world(live_server.engine)
    device, _ = signed_in(make_device, live_server, "M1")
    prospect = world.prospects_of("M1")[0]["id"]
    now = str(utcnow())
    mutations = [
        {
            "seq": 1,
            "id": new_id(),
            "kind": MutationKind.LOG_CREATE,
            "created_at": now,
            "payload": {
                "id": new_id(),
                "prospect_id": prospect,
                "channel": "phone",
                "occurred_at": now,
                "outcome": "no_answer",  # moves nothing: the explicit move does
                "note": "再联系",
            },
        },
        {
            "seq": 2,
            "id": new_id(),
            "kind": MutationKind.FUNNEL_MOVE,
            "created_at": now,
            "payload": {
                "event_id": new_id(),
                "prospect_id": prospect,
                "to_status": "contacted",
                "occurred_at": now,
            },
        },
        {
            "seq": 3,
            "id": new_id(),
            "kind": MutationKind.FUNNEL_MOVE,
            "created_at": now,
            "payload": {
                "event_id": new_id(),
                "prospect_id": new_id(),
                "to_status": "contacted",
                "occurred_at": now,
            },
        },
    ]
    first = device.client.push(device.store.device_id, mutations)
    changes = count(live_server, _changes)
    replays = [device.client.push(device.store.device_id, mutations) for _ in range(3)]

    assert [r["status"] for r in first["results"]] == ["applied", "applied", "rejected"]
    assert first["results"][2]["code"] == "prospect.out_of_scope"  # as if out of reach
    assert first["last_seq"] == 3  # a rejection advances the sequence too
    assert all(replay == first for replay in replays)
    assert count(live_server, _changes) == changes
    assert count(live_server, _log, _log.c.prospect_id == prospect) == 1
    assert count(live_server, _event, _event.c.prospect_id == prospect) == 1
    assert status_on_store(live_server, prospect) == "contacted"


# -- 3. one bad mutation never blocks the queue -----------------------------------------------


def test_rejected_mutation_is_quarantined_and_the_rest_goes_through(live_server, make_device):
    world = build_world(live_server.engine)
    device, me = signed_in(make_device, live_server, "M1")
    synced(device)
    mine = [p["id"] for p in world.prospects_of("M1")]
    ghost = new_id()  # a prospect the store has never heard of
    with device.store.transaction() as conn:
        outbox.enqueue(
            conn,
            MutationKind.FUNNEL_MOVE,
            ghost,
            {
                "event_id": new_id(),
                "prospect_id": ghost,
                "to_status": "contacted",
                "occurred_at": str(utcnow()),
            },
        )
    log_id = local.record_log(
        device.store, me, new_log(prospect_id=mine[0], channel="wechat", outcome="considering")
    )
    local.move_funnel(device.store, me, prospect_id=mine[1], to_status="contacted")

    progress = synced(device)

    assert progress.pending == 0 and progress.rejected == 1
    assert outbox_rows(device) == []
    [rejected] = rejections(device)
    assert (rejected["kind"], rejected["entity_id"]) == (MutationKind.FUNNEL_MOVE, ghost)
    assert rejected["code"] == "prospect.out_of_scope"  # unknown reads as out of reach
    assert CHINESE.search(rejected["message"]), rejected["message"]
    assert count(live_server, _log, _log.c.id == log_id) == 1
    assert status_on_store(live_server, mine[1]) == "contacted"
    assert device.row("prospect", mine[1])["status"] == "contacted"
    records = stored(
        live_server, _record, _record.c.device_id == device.store.device_id, order_by=_record.c.seq
    )
    assert [(r["seq"], r["status"], r["code"]) for r in records] == [
        (1, "rejected", "prospect.out_of_scope"),
        (2, "applied", ""),
        (3, "applied", ""),
    ]
    state = DeviceState.__table__
    [row] = stored(live_server, state, state.c.device_id == device.store.device_id)
    assert row["last_seq"] == 3


def test_log_for_a_prospect_that_left_my_scope_is_still_accepted(live_server, make_device):
    world = build_world(live_server.engine)
    m1, me = signed_in(make_device, live_server, "M1")
    g1, manager = signed_in(make_device, live_server, "G1")
    m2, _ = signed_in(make_device, live_server, "M2")
    for d in (m1, g1, m2):
        synced(d)
    prospect = world.prospects_of("M1")[0]["id"]
    log_id = local.record_log(
        m1.store,
        me,
        new_log(
            prospect_id=prospect,
            channel="visit",
            outcome="agreed_to_apply",
            note="下周带材料来网点",
        ),
    )
    local.assign(
        g1.store,
        manager,
        prospect_id=prospect,
        to_user_id=world.user_id("M2"),
        reason="客户经营地址变更",
    )
    synced(g1)  # the transfer reaches the store before M1's log

    progress = synced(m1)

    assert progress.rejected == 0 and progress.pending == 0
    [log] = stored(live_server, _log, _log.c.id == log_id)
    assert log["author_id"] == me.user_id and log["note"] == "下周带材料来网点"
    assert prospect not in m1.ids() and m1.row("marketing_log", log_id) is None
    synced(m2)
    assert prospect in m2.ids()
    assert m2.row("marketing_log", log_id)["note"] == "下周带材料来网点"


# -- 4. pull never misses a change -----------------------------------------------------------


def test_transferred_prospect_leaves_the_former_assignee_and_arrives_with_its_history(
    live_server, make_device
):
    world = build_world(live_server.engine)
    m1, me = signed_in(make_device, live_server, "M1")
    m2, _ = signed_in(make_device, live_server, "M2")
    g1, manager = signed_in(make_device, live_server, "G1")
    for d in (m1, m2, g1):
        synced(d)
    prospect, kept = (p["id"] for p in world.prospects_of("M1")[:2])
    log_id = local.record_log(
        m1.store,
        me,
        new_log(prospect_id=prospect, channel="visit", outcome="considering", note="老板在店"),
    )  # a reached contact: 已分配 → 已联系, a step of the prospect's history
    synced(m1)
    synced(m2)  # the history is now older than M2's cursor
    assert prospect not in m2.ids()

    synced(g1)
    local.assign(
        g1.store,
        manager,
        prospect_id=prospect,
        to_user_id=world.user_id("M2"),
        reason="张伟休假，转李娜跟进",
    )
    synced(g1)
    synced(m1)
    synced(m2)

    assert prospect not in m1.ids() and kept in m1.ids()
    for entity in ("marketing_log", "funnel_event", "transfer"):
        assert device_rows(m1, entity, prospect) == [], entity
    row = m2.row("prospect", prospect)
    assert (row["assignee_id"], row["status"]) == (world.user_id("M2"), "contacted")
    assert m2.row("marketing_log", log_id)["note"] == "老板在店"
    assert [e["to_status"] for e in device_rows(m2, "funnel_event", prospect)] == ["contacted"]
    [transfer] = device_rows(m2, "transfer", prospect)
    assert (transfer["from_user_id"], transfer["to_user_id"], transfer["by_user_id"]) == (
        me.user_id,
        world.user_id("M2"),
        manager.user_id,
    )
    assert count(live_server, Transfer.__table__) == 1
    assert prospect in g1.ids()  # still in the manager's outlet


def test_marketer_never_receives_another_outlets_prospects(live_server, make_device):
    world = build_world(live_server.engine)
    m3, other = signed_in(make_device, live_server, "M3")
    m1, _ = signed_in(make_device, live_server, "M1")
    synced(m3)
    synced(m1)
    outlet_b = {p["id"] for p in world.prospects if p["outlet_id"] == world.outlet_b}
    theirs = world.prospects_of("M3")[0]["id"]
    local.record_log(
        m3.store, other, new_log(prospect_id=theirs, channel="visit", outcome="interested")
    )  # the log and the step it makes
    synced(m3)
    synced(m1)

    assert m1.ids() == scope_of_marketer(world, "M1", world.outlet_a)
    assert not m1.ids() & outlet_b
    assert device_rows(m1, "marketing_log", theirs) == []
    assert device_rows(m1, "funnel_event", theirs) == []

    # A cursor is no key to someone else's scope.
    with pytest.raises(CursorInvalid):
        m1.client.pull(m3.store.state(StateKey.CURSOR))
    theirs_scope = cursor_scope(live_server, other)
    for forged in (
        {"phase": "log", "positions": [0, 0], "scope": theirs_scope},
        {**SNAPSHOT_START, "scope": theirs_scope},
    ):
        with pytest.raises(CursorInvalid):
            m1.client.pull(cursor_text(forged))


def test_forged_cursor_of_my_own_scope_is_refused_not_a_server_error(live_server, make_device):
    """A damaged cursor must get 409 (resync), not 500 (retry forever)."""
    build_world(live_server.engine)
    m1, me = signed_in(make_device, live_server, "M1")
    mine = cursor_scope(live_server, me)
    start = {**SNAPSHOT_START, "scope": mine}
    m1.client.pull(cursor_text(start))  # the forgeries below differ from this one cursor
    for forged in (
        {"phase": "snapshot", "positions": [0, 0], "scope": mine},
        {**start, "entity": "x"},
        {**start, "entity": 99},
        {**start, "after_key": 5},
        {**start, "done": -1},
        {**start, "total": 1.5},
        {**start, "extra": 1},
        {"phase": "log", "positions": [1e999, 0], "scope": mine},
        {"phase": "log", "positions": [10**30, 0], "scope": mine},
        {"phase": "log", "positions": ["7", 0], "scope": mine},
        {"phase": "log", "positions": [7], "scope": mine},  # one branch too few
        {"phase": "log", "positions": [0, 0, 0], "scope": mine},  # one too many
        {"phase": "log", "positions": {"": 0}, "scope": mine},
        {"phase": "log", "positions": [10**9, 0], "scope": mine},  # ahead of the store
        {"phase": "log", "high_water": 0, "scope": mine},  # the form before branches
        {"phase": "done", "positions": {}, "scope": mine},
    ):
        with pytest.raises(CursorInvalid):
            m1.client.pull(cursor_text(forged))
    for garbage in ("%%%", "bm90IGpzb24", base64.urlsafe_b64encode(b"[1,2]").decode()):
        with pytest.raises(CursorInvalid):
            m1.client.pull(garbage)
    # and the device recovers by itself: the engine resyncs on an invalid cursor
    with m1.store.transaction() as conn:
        DeviceStore.put(conn, StateKey.CURSOR, "bm90IGpzb24")
    progress = synced(m1)
    assert progress.resynced and progress.snapshot_complete


def test_cursor_of_the_old_format_restarts_the_pull(live_server, make_device):
    """A device that saved a cursor before the keys were renamed (p/h/sc) is told it is
    invalid and pulls its scope again by itself, instead of failing for good."""
    world = build_world(live_server.engine)
    m1, me = signed_in(make_device, live_server, "M1")
    synced(m1)
    old = cursor_text({"p": "l", "h": 10**6, "sc": f"{me.user_id}:{me.role}:{me.outlet_id}"})
    with pytest.raises(CursorInvalid):
        m1.client.pull(old)
    with m1.store.transaction() as conn:
        DeviceStore.put(conn, StateKey.CURSOR, old)

    progress = synced(m1)

    assert progress.resynced and progress.snapshot_complete
    assert m1.ids() == scope_of_marketer(world, "M1", world.outlet_a)
    assert m1.client.pull(m1.store.state(StateKey.CURSOR))["entities"] == {}


def _advisory_waiters(server: LiveServer) -> int:
    with server.engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            ).scalar_one()
        )


@pytest.mark.postgres
@pytest.mark.parametrize("store_settings", ["postgresql"], indirect=True)
def test_pull_misses_nothing_when_writers_commit_out_of_order(live_server, make_device):
    """Two writers on PostgreSQL; the one that started first commits last.

    Without the single-writer lock (``db.write_session``'s ``pg_advisory_xact_lock``)
    writer T2 would take change-log seq N+1 and commit while T1 still held N
    uncommitted. A pull in between would see N+1, move its cursor past N, and T1's
    change, committed afterwards with the smaller seq, would never reach the device.
    With the lock T2 waits for T1, seqs become visible in commit order, and the
    device ends with both changes. (SQLite has one writer anyway: PostgreSQL only.)
    The last syncs run with ``verify=False``: a checksum resync would otherwise
    repair the loss and hide it.
    """
    world = build_world(live_server.engine)
    device, me = signed_in(make_device, live_server, "M1")
    synced(device)
    first, second = (p["id"] for p in world.prospects_of("M1")[:2])
    t1_wrote, release_t1 = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def rename(prospect_id: str, name: str, before_commit: Callable[[], None] | None) -> None:
        try:
            with write_session(live_server.engine) as session:
                session.execute(
                    update(_prospect).where(_prospect.c.id == prospect_id).values(company_name=name)
                )
                scope = (world.outlet_a, me.user_id)
                record_change(
                    session,
                    "prospect",
                    prospect_id,
                    prospect_id=prospect_id,
                    old_scope=scope,
                    new_scope=scope,
                )
                if before_commit:
                    before_commit()
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)

    def hold() -> None:
        t1_wrote.set()
        release_t1.wait(20)

    t1 = threading.Thread(target=rename, args=(first, "遵义先写后提交商贸有限公司", hold))
    t2 = threading.Thread(target=rename, args=(second, "遵义后写先提交商贸有限公司", None))
    t1.start()
    try:
        assert t1_wrote.wait(10)
        t2.start()
        # T2 now waits for the lock (as it must) - or, without it, commits at once.
        wait_until(lambda: not t2.is_alive() or _advisory_waiters(live_server) > 0)
        synced(device, verify=False)  # a pull while T1 is still in flight
    finally:
        release_t1.set()
        t1.join(20)
        if t2.ident:
            t2.join(20)
    assert not errors, errors

    synced(device, verify=False)
    synced(device, verify=False)
    assert device.row("prospect", first)["company_name"] == "遵义先写后提交商贸有限公司"
    assert device.row("prospect", second)["company_name"] == "遵义后写先提交商贸有限公司"


# -- 5. resumable first sync -------------------------------------------------------------------


class AppKilled(BaseException):
    """The OS killed the app: nothing after this point runs (not an ``Exception``)."""


def _bulk_prospects(world: World, n: int, *, outlet_id: str, assignee_id: str) -> list[dict]:
    now = utcnow()
    return [
        dict(
            id=new_id(),
            batch_id=world.batch_id,
            company_name=f"遵义批量商户{i:05d}",
            credit_code=f"91520300BULK{i:06d}",
            legal_rep="钱七",
            phone=f"139{i:08d}",
            industry="餐饮",
            address=f"遵义市播州区批量路{i}号",
            lat=27.5 + i * 1e-5,
            lon=106.8,
            pre_approved_line=200_000,
            score=70,
            tags="[]",
            outlet_id=outlet_id,
            assignee_id=assignee_id,
            status="assigned",
            disbursed_amount=None,
            last_contact_at=None,
            next_follow_up=None,
            updated_at=now,
        )
        for i in range(n)
    ]


def test_first_sync_of_20000_prospects_resumes_where_the_killed_app_stopped(
    live_server, make_device
):
    world = build_world(live_server.engine, per_marketer=2, pool=2)
    bulk = _bulk_prospects(world, 20_000, outlet_id=world.outlet_a, assignee_id=world.user_id("M1"))
    with write_session(live_server.engine) as session:
        bulk_insert(session, "prospect", bulk)
    expected = scope_of_marketer(world, "M1", world.outlet_a) | {p["id"] for p in bulk}
    limit = 2000

    device, _ = signed_in(make_device, live_server, "M1")
    token = device.client.token
    device.engine.page_limit = limit

    def kill(progress: SyncProgress) -> None:
        if progress.phase == SyncPhase.PULLING and progress.done >= 3 * limit:
            raise AppKilled()

    device.engine.subscribe(kill)
    with pytest.raises(AppKilled):
        device.sync()
    path = device.store.path
    device.store.close()

    # The app starts again: a new store on the same file, a new engine.
    store = DeviceStore(path)
    paths: list[str] = []
    http = httpx.Client(
        base_url=live_server.url,
        timeout=30,
        event_hooks={"request": [lambda r: paths.append(r.url.path)]},
    )
    try:
        engine = SyncEngine(store, SyncClient(http, token=token), page_limit=limit)
        before = engine.snapshot_progress()
        assert store.state(StateKey.SNAPSHOT_COMPLETE) != "1"
        assert not before.snapshot_complete  # never shown as a complete whitelist
        assert 3 * limit <= before.done < before.total
        with store.read() as conn:
            landed = conn.exec_driver_sql("SELECT count(*) FROM prospect").scalar_one()
        assert 0 < landed < len(expected)

        progress = engine.sync_once()

        assert progress.phase == SyncPhase.DONE and progress.snapshot_complete
        assert not progress.resynced
        pulls = paths.count("/sync/pull")
        from_scratch = math.ceil(before.total / limit)
        assert pulls <= math.ceil((before.total - before.done) / limit) + 1 < from_scratch
        with store.read() as conn:
            ids = {r[0] for r in conn.exec_driver_sql("SELECT id FROM prospect")}
        assert ids == expected
        assert store.state(StateKey.SNAPSHOT_COMPLETE) == "1"
    finally:
        http.close()
        store.close()


# -- 6. verified convergence -------------------------------------------------------------------


def test_device_that_disagrees_with_the_store_pulls_its_scope_again(live_server, make_device):
    world = build_world(live_server.engine)
    device, _ = signed_in(make_device, live_server, "M1")
    synced(device)
    expected = scope_of_marketer(world, "M1", world.outlet_a)
    lost = [p["id"] for p in world.prospects_of("M1")[:2]]
    altered = world.pool(world.outlet_a)[0]
    with device.store.transaction() as conn:
        conn.exec_driver_sql("DELETE FROM prospect WHERE id IN (?, ?)", tuple(lost))
        conn.exec_driver_sql(
            "UPDATE prospect SET rev = rev + 1000, company_name = '被改坏的名称' WHERE id = ?",
            (altered["id"],),
        )

    synced(device, verify=False)
    assert device.ids() == expected - set(lost)  # an ordinary sync sees nothing new

    progress = synced(device, verify=True)

    assert progress.resynced
    assert device.ids() == expected
    assert device.row("prospect", altered["id"])["company_name"] == altered["company_name"]
    remote = device.client.checksum(device.store.state(StateKey.CURSOR))
    assert not remote["stale"]
    with device.store.read() as conn:
        assert local_checksums(conn) == remote["entities"]


# -- 7. funnel changes are events --------------------------------------------------------------


def test_conflicting_offline_moves_are_both_recorded_in_arrival_order(live_server, make_device):
    world = build_world(live_server.engine)
    d1, me = signed_in(make_device, live_server, "M1", "tablet")
    d2, _ = signed_in(make_device, live_server, "M1", "phone")
    p, q = (x["id"] for x in world.prospects_of("M1")[:2])
    synced(d1)
    for prospect in (p, q):
        local.move_funnel(d1.store, me, prospect_id=prospect, to_status="contacted")
    synced(d1)
    synced(d2)

    def both_offline(prospect: str) -> None:
        """The tablet hears interest while the phone hears a refusal."""
        local.move_funnel(d1.store, me, prospect_id=prospect, to_status="interested")
        local.move_funnel(
            d2.store, me, prospect_id=prospect, to_status="declined", close_reason="not_interested"
        )

    both_offline(p)
    synced(d2)  # p: the phone's refusal arrives first
    synced(d1)
    synced(d2)
    both_offline(q)
    synced(d1)  # q: the tablet's interest arrives first
    synced(d2)
    synced(d1)

    assert events_on_store(live_server, p) == [
        ("assigned", "contacted", True, ""),
        ("contacted", "declined", True, ""),
        ("declined", "interested", False, "funnel.closed"),
    ]
    assert events_on_store(live_server, q) == [
        ("assigned", "contacted", True, ""),
        ("contacted", "interested", True, ""),
        ("interested", "declined", True, ""),
    ]
    for prospect in (p, q):
        assert status_on_store(live_server, prospect) == "declined"
        assert d1.row("prospect", prospect)["status"] == "declined"
        assert d2.row("prospect", prospect)["status"] == "declined"
        assert len(device_rows(d1, "funnel_event", prospect)) == 3
    [refused] = rejections(d1)
    assert (refused["entity_id"], refused["code"]) == (p, "funnel.closed")
    assert CHINESE.search(refused["message"])
    assert rejections(d2) == []


def test_stale_offline_move_never_moves_a_status_backwards(live_server, make_device):
    world = build_world(live_server.engine)
    d1, me = signed_in(make_device, live_server, "M1", "tablet")
    d2, _ = signed_in(make_device, live_server, "M1", "phone")
    synced(d1)
    synced(d2)
    prospect = world.prospects_of("M1")[0]["id"]
    for status in ("contacted", "interested", "applied"):
        local.move_funnel(d1.store, me, prospect_id=prospect, to_status=status)
    synced(d1)
    local.move_funnel(d2.store, me, prospect_id=prospect, to_status="contacted")  # stale

    progress = synced(d2)

    assert status_on_store(live_server, prospect) == "applied"
    assert d2.row("prospect", prospect)["status"] == "applied"
    assert events_on_store(live_server, prospect)[-1] == (
        "applied",
        "contacted",
        False,
        "funnel.backwards",
    )
    assert progress.rejected == 1 and progress.pending == 0
    assert rejections(d2)[0]["code"] == "funnel.backwards"


def test_a_visit_moves_the_funnel_on_the_device_and_in_the_store(live_server, make_device):
    """有意向 on an assigned prospect: 已分配 → 有意向 on the device at once, and in the
    store (with the step in the prospect's history) when the log arrives."""
    world = build_world(live_server.engine)
    device, me = signed_in(make_device, live_server, "M1")
    synced(device)
    p, q = (x["id"] for x in world.prospects_of("M1")[:2])

    log_id = local.record_log(
        device.store, me, new_log(prospect_id=p, channel="visit", outcome="interested")
    )
    local.record_log(device.store, me, new_log(prospect_id=q, channel="phone", outcome="no_answer"))
    assert device.row("prospect", p)["status"] == "interested"  # before any sync
    assert device.row("prospect", q)["status"] == "assigned"  # nobody reached

    synced(device)

    assert status_on_store(live_server, p) == "interested"
    assert events_on_store(live_server, p) == [("assigned", "interested", True, "")]
    [event] = stored(live_server, _event, _event.c.prospect_id == p)
    assert event["id"] == f"{log_id}-log" and event["actor_id"] == me.user_id
    assert [e["to_status"] for e in device_rows(device, "funnel_event", p)] == ["interested"]
    assert status_on_store(live_server, q) == "assigned" and events_on_store(live_server, q) == []


def test_a_visit_logged_offline_never_moves_the_funnel_backwards(live_server, make_device):
    """The phone logs 有意向 offline while the tablet has moved the prospect to 已申请: the
    store keeps 已申请, records no step for the log, and the phone is corrected."""
    world = build_world(live_server.engine)
    tablet, me = signed_in(make_device, live_server, "M1", "tablet")
    phone, _ = signed_in(make_device, live_server, "M1", "phone")
    synced(tablet)
    synced(phone)
    prospect = world.prospects_of("M1")[0]["id"]
    local.move_funnel(tablet.store, me, prospect_id=prospect, to_status="applied")
    synced(tablet)
    local.record_log(
        phone.store, me, new_log(prospect_id=prospect, channel="visit", outcome="interested")
    )
    assert phone.row("prospect", prospect)["status"] == "interested"  # as far as it knows

    progress = synced(phone)

    assert status_on_store(live_server, prospect) == "applied"
    assert events_on_store(live_server, prospect) == [("assigned", "applied", True, "")]
    assert phone.row("prospect", prospect)["status"] == "applied"
    assert progress.rejected == 0  # the log itself is kept: it was a real visit
    assert count(live_server, _log, _log.c.prospect_id == prospect) == 1


# -- 8. device clocks order nothing ------------------------------------------------------------


def test_device_clock_ahead_does_not_win_over_a_later_arrival(live_server, make_device):
    """A clock running ahead (by less than the day the wire model tolerates: further
    ahead, a time is refused as invalid) neither keeps its plan nor its status."""
    world = build_world(live_server.engine)
    ahead, me = signed_in(make_device, live_server, "M1", "clock-ahead")
    right, _ = signed_in(make_device, live_server, "M1", "clock-right")
    synced(ahead)
    synced(right)
    prospect = world.prospects_of("M1")[0]["id"]
    future = utcnow() + timedelta(hours=20)
    soon = date.today() + timedelta(days=3)

    local.move_funnel(
        ahead.store, me, prospect_id=prospect, to_status="interested", occurred_at=future
    )
    local.record_log(
        ahead.store,
        me,
        new_log(
            prospect_id=prospect,
            channel="visit",
            outcome="interested",
            occurred_at=future,
            next_follow_up=soon + timedelta(days=60),
        ),
    )
    synced(ahead)
    synced(right)  # the phone now holds the far-future contact too
    local.move_funnel(
        right.store, me, prospect_id=prospect, to_status="declined", close_reason="not_interested"
    )
    local.record_log(
        right.store,
        me,
        new_log(
            prospect_id=prospect, channel="phone", outcome="not_interested", next_follow_up=soon
        ),
    )
    assert right.row("prospect", prospect)["next_follow_up"] == soon.isoformat()  # offline view
    synced(right)
    synced(ahead)

    assert [e[1] for e in events_on_store(live_server, prospect)] == ["interested", "declined"]
    [row] = stored(live_server, _prospect, _prospect.c.id == prospect)
    assert row["status"] == "declined"
    assert row["next_follow_up"] == soon  # the later arrival's plan, not the far-future one
    for d in (ahead, right):
        local_row = d.row("prospect", prospect)
        assert local_row["status"] == "declined"
        assert local_row["next_follow_up"] == soon.isoformat()


# -- 9. versioned protocol ---------------------------------------------------------------------


def test_too_old_client_is_told_so_and_keeps_its_outbox(live_server, make_device, tmp_path):
    world = build_world(live_server.engine)
    current, me = signed_in(make_device, live_server, "M1")
    synced(current)
    mine = [p["id"] for p in world.prospects_of("M1")]
    logs = [
        local.record_log(
            current.store, me, new_log(prospect_id=pid, channel="visit", outcome="considering")
        )
        for pid in mine[:2]
    ]
    local.move_funnel(current.store, me, prospect_id=mine[2], to_status="contacted")
    queued = outbox_rows(current)
    token, path = current.client.token, current.store.path
    current.close()

    old = Device(live_server.url, path, protocol=0)  # the same tablet, an outdated app
    try:
        with pytest.raises(ProtocolTooOld) as exc:
            old.login("M1", PASSWORD)
        assert "升级" in exc.value.message
        old.client.token = token
        progress = old.sync()
        assert progress.phase == SyncPhase.FAILED
        assert progress.error_code == "protocol.too_old"
        assert CHINESE.search(progress.error_message)
        assert progress.pending == 3
        assert outbox_rows(old) == queued
        assert all(old.row("marketing_log", log_id) for log_id in logs)
        assert count(live_server, _log, _log.c.id.in_(logs)) == 0
        assert old.engine.snapshot_progress().error_code == "protocol.too_old"
    finally:
        old.close()

    upgraded = Device(live_server.url, path)
    try:
        upgraded.client.token = token
        synced(upgraded)
        assert count(live_server, _log, _log.c.id.in_(logs)) == 2
        assert status_on_store(live_server, mine[2]) == "contacted"
        assert outbox_rows(upgraded) == []
    finally:
        upgraded.close()


# -- the wire model and the policy: one contract on both sides --------------------------------


def _raw(seq: int, kind: MutationKind, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "seq": seq,
        "id": new_id(),
        "kind": kind,
        "payload": payload,
        "created_at": str(utcnow()),
    }


def push_raw(device: Device, mutations: list[dict[str, Any]]) -> dict[str, Any]:
    """A push as any client could send it: JSON with NaN, lone surrogates and all."""
    body = json.dumps({"device_id": device.store.device_id, "mutations": mutations})
    response = device.http.post(
        "/sync/push",
        content=body,
        headers={
            "Authorization": f"Bearer {device.client.token}",
            PROTOCOL_HEADER: str(PROTOCOL_VERSION),
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_an_invalid_payload_is_rejected_alone_and_the_next_one_applies(live_server, make_device):
    """Raw pushes (an old or broken client): each bad payload is one rejection with
    mutation.invalid, never a server error, and the batch goes on."""
    world = build_world(live_server.engine)
    device, me = signed_in(make_device, live_server, "M1")
    prospect = world.prospects_of("M1")[0]["id"]
    now = str(utcnow())

    def log(**changes: Any) -> dict[str, Any]:
        return {
            "id": new_id(),
            "prospect_id": prospect,
            "channel": "visit",
            "occurred_at": now,
            "outcome": "interested",
            "note": "",
            "lat": 27.7,
            "lon": 106.9,
        } | changes

    def move(**changes: Any) -> dict[str, Any]:
        return {
            "event_id": new_id(),
            "prospect_id": prospect,
            "to_status": "contacted",
            "occurred_at": now,
        } | changes

    bad = [
        (MutationKind.LOG_CREATE, log(channel="carrier pigeon")),
        (MutationKind.LOG_CREATE, log(lat=91)),
        (MutationKind.LOG_CREATE, log(lat=math.nan)),
        (MutationKind.LOG_CREATE, log(lon=None)),
        (MutationKind.LOG_CREATE, log(occurred_at="9999-01-01 00:00:00")),
        (MutationKind.LOG_CREATE, log(note="长" * 501)),
        (MutationKind.LOG_CREATE, log(note="NUL\x00in text")),  # PostgreSQL text refuses NUL
        (MutationKind.LOG_CREATE, log(note="\ud800")),  # no encoding takes a lone surrogate
        (MutationKind.LOG_CREATE, log(prospect_id="\x00")),
        (MutationKind.LOG_CREATE, log(attachments=["x"])),
        (MutationKind.FUNNEL_MOVE, move(to_status="signed")),
        (MutationKind.FUNNEL_MOVE, move(to_status="disbursed", amount=10**19)),
        (
            MutationKind.PROSPECT_ASSIGN,
            {
                "transfer_id": new_id(),
                "prospect_id": prospect,
                "to_user_id": None,
                "reason": "长" * 201,
                "occurred_at": now,
            },
        ),
        (
            MutationKind.AUDIT_REVEAL,
            {"event_id": new_id(), "prospect_id": prospect, "field": "email", "occurred_at": now},
        ),
    ]
    good_log = log(note="老板在店", outcome="no_answer")  # the move below makes the step
    mutations = [_raw(i + 1, kind, payload) for i, (kind, payload) in enumerate(bad)]
    mutations.append(_raw(len(bad) + 1, MutationKind.LOG_CREATE, good_log))
    mutations.append(_raw(len(bad) + 2, MutationKind.FUNNEL_MOVE, move()))

    answer = push_raw(device, mutations)

    results = answer["results"]
    assert [(r["status"], r["code"]) for r in results[: len(bad)]] == [
        ("rejected", "mutation.invalid")
    ] * len(bad)
    assert all(CHINESE.search(r["message"]) for r in results[: len(bad)])
    assert "channel" in results[0]["message"] and "lat" in results[1]["message"]
    assert [r["status"] for r in results[len(bad) :]] == ["applied", "applied"]
    assert answer["last_seq"] == len(bad) + 2
    [stored_log] = stored(live_server, _log, _log.c.prospect_id == prospect)
    assert stored_log["id"] == good_log["id"] and stored_log["note"] == "老板在店"
    assert status_on_store(live_server, prospect) == "contacted"
    assert count(live_server, _event, _event.c.prospect_id == prospect) == 1  # no "signed" event
    kept = stored(
        live_server, _record, _record.c.device_id == device.store.device_id, order_by=_record.c.seq
    )
    assert len(kept) == len(bad) + 2  # every refusal is kept for a manager to see
    assert "\\ud800" in kept[7]["payload"]


def test_a_malformed_envelope_is_a_request_error_not_a_server_error(live_server, make_device):
    build_world(live_server.engine)
    device, _ = signed_in(make_device, live_server, "M1")
    for envelope in ({"seq": 2**63}, {"seq": 0}, {"kind": "log.delete"}, {"id": "m\x00"}):
        mutation = _raw(1, MutationKind.AUDIT_REVEAL, {}) | envelope
        with pytest.raises(RequestRejected):
            device.client.push(device.store.device_id, [mutation])
    with pytest.raises(RequestRejected):
        device.client.push("device\x00\x00", [])


def _plant(device: Device, server: LiveServer, prospect_id: str) -> None:
    """Put the store's row of a prospect on a device, as if it had been in its scope."""
    [values] = stored(server, _prospect, _prospect.c.id == prospect_id)
    values = {k: (str(v) if isinstance(v, datetime | date) else v) for k, v in values.items()}
    with device.store.transaction() as conn:
        names = ", ".join(values)
        conn.execute(
            text(
                f"INSERT OR REPLACE INTO prospect ({names}) VALUES"
                f" ({', '.join(':' + k for k in values)})"
            ),
            values,
        )


def test_the_device_and_the_store_refuse_alike(live_server, make_device):
    """Each refusal: the device says it before saving, and a raw push of the same payload
    gets the same code from the store."""
    world = build_world(live_server.engine)
    m1, me = signed_in(make_device, live_server, "M1")
    g1, manager = signed_in(make_device, live_server, "G1")
    synced(m1)
    synced(g1)
    their_pool = world.pool(world.outlet_b)[0]["id"]
    our_pool = world.pool(world.outlet_a)[0]["id"]
    m2s = world.prospects_of("M2")[0]["id"]
    for planted in (their_pool, m2s):  # as if they had left M1's scope while it was offline
        _plant(m1, live_server, planted)
    now = str(utcnow())
    cases = [
        (
            m1,
            me,
            lambda: local.claim(m1.store, me, prospect_id=their_pool),
            MutationKind.PROSPECT_CLAIM,
            {"transfer_id": new_id(), "prospect_id": their_pool, "occurred_at": now},
            "prospect.out_of_scope",
        ),
        (
            g1,
            manager,
            lambda: local.claim(g1.store, manager, prospect_id=our_pool),
            MutationKind.PROSPECT_CLAIM,
            {"transfer_id": new_id(), "prospect_id": our_pool, "occurred_at": now},
            "auth.forbidden",
        ),
        (
            m1,
            me,
            lambda: local.assign(m1.store, me, prospect_id=our_pool, to_user_id=me.user_id),
            MutationKind.PROSPECT_ASSIGN,
            {
                "transfer_id": new_id(),
                "prospect_id": our_pool,
                "to_user_id": me.user_id,
                "occurred_at": now,
            },
            "auth.forbidden",
        ),
        (
            m1,
            me,
            lambda: local.claim(m1.store, me, prospect_id=m2s),
            MutationKind.PROSPECT_CLAIM,
            {"transfer_id": new_id(), "prospect_id": m2s, "occurred_at": now},
            "prospect.out_of_scope",  # reach first: the answer an unknown id gets too
        ),
    ]
    for device, _, change, kind, payload, code in cases:
        with pytest.raises(local.LocalError) as refused:
            change()
        assert refused.value.code == code
        assert outbox_rows(device) == []
        seq = int(device.store.state(StateKey.NEXT_SEQ) or 1)
        with device.store.transaction() as conn:
            DeviceStore.put(conn, StateKey.NEXT_SEQ, str(seq + 1))
        [result] = device.client.push(device.store.device_id, [_raw(seq, kind, payload)])["results"]
        assert (result["status"], result["code"]) == ("rejected", code), payload

    assert count(live_server, Transfer.__table__) == 0
    assert {p["id"]: p["assignee_id"] for p in stored(live_server, _prospect)} == {
        p["id"]: p["assignee_id"] for p in world.prospects
    }

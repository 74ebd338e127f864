"""Exactly once, never stuck (issue 7): sequences, incidents, times and stored rows.

Real devices and raw clients against the central store served over HTTP, on SQLite
and on PostgreSQL. Each test names what a device, a user or an admin would notice.
"""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.models import DeviceState, Incident, MarketingLog, Prospect, Transfer
from app.models.ids import new_id, utcnow
from app.models.sync import MutationKind
from app.server.changes import record_change
from app.server.db import write_session
from app.services.marketing import new_log
from app.services.scope import Scope
from app.sync import local
from app.sync.errors import AuthError, RequestRejected
from app.sync.session import sign_out
from app.sync.state import StateKey, SyncPhase
from app.sync.store import DeviceStore
from tests.conftest import Device, LiveServer
from tests.integration.test_sync_scenarios import (
    CHINESE,
    _raw,
    count,
    outbox_rows,
    rejections,
    signed_in,
    stored,
    synced,
)
from tests.world import PASSWORD, build_world

_log = MarketingLog.__table__
_prospect = Prospect.__table__
_incident = Incident.__table__
_state = DeviceState.__table__


def a_log(prospect_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "id": new_id(),
        "prospect_id": prospect_id,
        "channel": "phone",
        "occurred_at": str(utcnow()),
        "outcome": "considering",
        "note": "",
    } | changes


def answers(reply: dict[str, Any]) -> list[tuple[int, str, str]]:
    return [(r["seq"], r["status"], r["code"]) for r in reply["results"]]


def incidents(device: Device) -> list[dict[str, Any]]:
    """``GET /admin/incidents`` as the signed-in user of ``device``."""
    return device.client._send("GET", "/admin/incidents")["incidents"]


# -- exactly once: no seq is answered `applied` unless it was ------------------------------


def test_a_seq_pushed_before_its_predecessor_waits_for_it(live_server, make_device):
    """2 then 1, and 1, 2, 5 then 3, 4: every mutation is stored, none falsely acked."""
    world = build_world(live_server.engine)
    device, _ = signed_in(make_device, live_server, "M1")
    prospect = world.prospects_of("M1")[0]["id"]
    logs = {seq: a_log(prospect, note=f"第{seq}条") for seq in range(1, 8)}
    mutation = {seq: _raw(seq, MutationKind.LOG_CREATE, logs[seq]) for seq in logs}
    push = lambda *seqs: device.client.push(  # noqa: E731
        device.store.device_id, [mutation[s] for s in seqs]
    )

    early = push(2)
    assert answers(early) == [(2, "rejected", "sync.seq_gap")]
    assert early["results"][0]["expected_seq"] == 1 and early["last_seq"] == 0
    assert "1" in early["results"][0]["message"] and CHINESE.search(early["results"][0]["message"])
    assert answers(push(1)) == [(1, "applied", "")]
    assert answers(push(2)) == [(2, "applied", "")]

    gap = push(3, 4, 7)
    assert answers(gap) == [(3, "applied", ""), (4, "applied", ""), (7, "rejected", "sync.seq_gap")]
    assert gap["results"][2]["expected_seq"] == 5
    assert answers(push(5, 6)) == [(5, "applied", ""), (6, "applied", "")]
    assert answers(push(7)) == [(7, "applied", "")]

    notes = {r["note"] for r in stored(live_server, _log, _log.c.prospect_id == prospect)}
    assert notes == {f"第{seq}条" for seq in range(1, 8)}
    assert answers(push(*range(1, 8))) == [(s, "applied", "") for s in range(1, 8)]  # replays
    assert count(live_server, _log, _log.c.prospect_id == prospect) == 7


def test_a_seq_the_stream_passed_without_a_record_is_refused_not_acked(live_server, make_device):
    world = build_world(live_server.engine)
    device, _ = signed_in(make_device, live_server, "M1")
    prospect = world.prospects_of("M1")[0]["id"]
    later = _raw(5, MutationKind.LOG_CREATE, a_log(prospect))
    assert answers(device.client.push(device.store.device_id, [later], first_seq=5)) == [
        (5, "applied", "")
    ]
    passed = _raw(2, MutationKind.LOG_CREATE, a_log(prospect, note="迟到"))
    [answer] = device.client.push(device.store.device_id, [passed])["results"]
    assert (answer["status"], answer["code"]) == ("rejected", "sync.seq_unknown")
    assert CHINESE.search(answer["message"])
    assert count(live_server, _log, _log.c.note == "迟到") == 0


class LosesTheFirstMutation(httpx.BaseTransport):
    """A middlebox that drops the first mutation of the first push (and its first_seq)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.done = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/sync/push" and not self.done:
            self.done = True
            body = json.loads(request.read())
            body["mutations"] = body["mutations"][1:]
            body.pop("first_seq", None)
            headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
            request = httpx.Request(request.method, request.url, headers=headers, json=body)
        return self.inner.handle_request(request)


def test_the_device_sends_again_from_the_seq_the_store_expects(live_server, make_device):
    world = build_world(live_server.engine)
    device, me = signed_in(make_device, live_server, "M1")
    synced(device)
    prospect = world.prospects_of("M1")[0]["id"]
    log_ids = [
        local.record_log(
            device.store,
            me,
            new_log(prospect_id=prospect, channel="visit", outcome="interested", note=f"第{i}次"),
        )
        for i in range(3)
    ]
    online = device.client.http
    device.client.http = httpx.Client(
        base_url=live_server.url, transport=LosesTheFirstMutation(), timeout=30
    )
    try:
        progress = synced(device, verify=False)
    finally:
        device.client.http.close()
        device.client.http = online

    assert progress.pending == 0 and progress.rejected == 0
    assert outbox_rows(device) == [] and rejections(device) == []
    stored_ids = {r["id"] for r in stored(live_server, _log, _log.c.prospect_id == prospect)}
    assert stored_ids == set(log_ids)


def test_a_second_user_of_the_same_device_syncs_its_own_changes(live_server, make_device):
    """Seqs are per device, the store's stream per device and user: the device says
    where its stream resumes, so the second user's first seq is no gap."""
    world = build_world(live_server.engine)
    device, m1 = signed_in(make_device, live_server, "M1")
    synced(device)
    local.record_log(
        device.store,
        m1,
        new_log(
            prospect_id=world.prospects_of("M1")[0]["id"], channel="visit", outcome="interested"
        ),
    )
    synced(device)
    sign_out(device.store)

    user = device.login("M2", PASSWORD)["user"]
    m2 = Scope(user["id"], user["role"], user["outlet_id"])
    synced(device)
    theirs = world.prospects_of("M2")[0]["id"]
    log_id = local.record_log(
        device.store, m2, new_log(prospect_id=theirs, channel="phone", outcome="considering")
    )
    progress = synced(device)

    assert progress.pending == 0 and rejections(device) == []
    assert [r["author_id"] for r in stored(live_server, _log, _log.c.id == log_id)] == [m2.user_id]


# -- one bad mutation never blocks the queue ------------------------------------------------


def test_a_claim_resent_after_the_prospect_went_back_to_the_pool_is_refused_in_words(
    live_server, make_device
):
    world = build_world(live_server.engine)
    tablet, me = signed_in(make_device, live_server, "M1", "tablet")
    manager, boss = signed_in(make_device, live_server, "G1")
    synced(tablet)
    synced(manager)
    prospect = world.pool(world.outlet_a)[0]["id"]
    local.claim(tablet.store, me, prospect_id=prospect)
    [claim] = [json.loads(r.payload) for r in _outbox(tablet)]
    synced(tablet)
    synced(manager)
    local.assign(manager.store, boss, prospect_id=prospect, to_user_id=None, reason="退回公海")
    synced(manager)

    phone, _ = signed_in(make_device, live_server, "M1", "phone")  # the same claim, a new device
    after = a_log(world.prospects_of("M1")[0]["id"], note="认领后的走访")
    reply = phone.client.push(
        phone.store.device_id,
        [_raw(1, MutationKind.PROSPECT_CLAIM, claim), _raw(2, MutationKind.LOG_CREATE, after)],
    )

    assert answers(reply) == [(1, "rejected", "transfer.duplicate"), (2, "applied", "")]
    assert CHINESE.search(reply["results"][0]["message"])
    [row] = stored(live_server, _prospect, _prospect.c.id == prospect)
    assert row["assignee_id"] is None  # the manager's return stands
    assert count(live_server, Transfer.__table__, Transfer.__table__.c.prospect_id == prospect) == 2


def _outbox(device: Device) -> list[Any]:
    with device.store.read() as conn:
        return list(conn.exec_driver_sql("SELECT payload FROM outbox ORDER BY seq"))


def test_an_unexpected_failure_is_one_incident_and_the_queue_moves_on(live_server, make_device):
    """A claim whose derived funnel-event id is taken fails in the database: that
    mutation alone is rolled back, answered with an incident id an admin can look up."""
    world = build_world(live_server.engine)
    device, me = signed_in(make_device, live_server, "M1")
    admin, _ = signed_in(make_device, live_server, "A1")
    mine = world.prospects_of("M1")[0]["id"]
    pool = world.pool(world.outlet_a)[0]["id"]
    transfer_id = new_id()
    now = str(utcnow())
    batch = [
        _raw(
            1,
            MutationKind.FUNNEL_MOVE,
            {
                "event_id": f"{transfer_id}-assign",
                "prospect_id": mine,
                "to_status": "contacted",
                "occurred_at": now,
            },
        ),
        _raw(
            2,
            MutationKind.PROSPECT_CLAIM,
            {"transfer_id": transfer_id, "prospect_id": pool, "occurred_at": now},
        ),
        _raw(3, MutationKind.LOG_CREATE, a_log(mine, note="照常记录")),
    ]

    reply = device.client.push(device.store.device_id, batch)

    assert answers(reply) == [
        (1, "applied", ""),
        (2, "rejected", "mutation.incident"),
        (3, "applied", ""),
    ]
    [listed] = incidents(admin)
    assert listed["id"] in reply["results"][1]["message"]
    assert (listed["device_id"], listed["user_id"], listed["seq"], listed["kind"]) == (
        device.store.device_id,
        me.user_id,
        2,
        MutationKind.PROSPECT_CLAIM,
    )
    # the driver's own class where the row went by COPY (PostgreSQL), else SQLAlchemy's
    assert listed["error_class"] in {"IntegrityError", "UniqueViolation"}
    assert transfer_id in listed["payload"]
    [row] = stored(live_server, _prospect, _prospect.c.id == pool)
    assert row["assignee_id"] is None and row["status"] == "unassigned"  # rolled back alone
    assert count(live_server, Transfer.__table__) == 0
    assert count(live_server, _log, _log.c.note == "照常记录") == 1

    assert device.client.push(device.store.device_id, batch) == reply  # replayed, not re-run
    assert len(incidents(admin)) == 1
    with pytest.raises(AuthError) as refused:
        incidents(device)  # a marketer may not read them
    assert refused.value.status == 403


def test_the_incident_list_is_in_the_openapi_schema(live_server, make_device):
    schema = httpx.get(f"{live_server.url}/openapi.json").json()
    get = schema["paths"]["/admin/incidents"]["get"]
    ref = get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/IncidentsPublic")
    fields = schema["components"]["schemas"]["IncidentPublic"]["properties"]
    assert {"id", "occurred_at", "device_id", "user_id", "seq", "kind", "error_class"} <= set(
        fields
    )


# -- times and ranges ---------------------------------------------------------------------


def test_a_move_dated_past_year_9999_is_refused_and_pulls_keep_working(live_server, make_device):
    world = build_world(live_server.engine)
    device, _ = signed_in(make_device, live_server, "M1")
    prospect = world.prospects_of("M1")[0]["id"]
    move = {
        "event_id": new_id(),
        "prospect_id": prospect,
        "to_status": "contacted",
        "occurred_at": "9999-12-31T23:00-14:00",
    }
    [answer] = device.client.push(
        device.store.device_id, [_raw(1, MutationKind.FUNNEL_MOVE, move)]
    )["results"]
    assert (answer["status"], answer["code"]) == ("rejected", "mutation.invalid")
    assert "occurred_at" in answer["message"]
    synced(device)
    synced(device)
    assert device.row("prospect", prospect)["status"] == "assigned"


def test_a_time_with_an_offset_is_stored_and_pulled_as_utc(live_server, make_device):
    world = build_world(live_server.engine)
    device, _ = signed_in(make_device, live_server, "M1")
    synced(device)
    prospect = world.prospects_of("M1")[0]["id"]
    day = (utcnow() - timedelta(days=10)).date()
    beijing_noon = f"{day.isoformat()}T12:00+08:00"
    log = a_log(prospect, occurred_at=beijing_noon)
    assert answers(
        device.client.push(device.store.device_id, [_raw(1, MutationKind.LOG_CREATE, log)])
    ) == [(1, "applied", "")]

    [row] = stored(live_server, _log, _log.c.id == log["id"])
    assert row["occurred_at"] == datetime.combine(day, time(4, 0))
    synced(device)
    assert device.row("marketing_log", log["id"])["occurred_at"] == f"{day} 04:00:00"


@pytest.mark.parametrize("seq", [2**31, 2**63 - 1])
def test_a_sequence_past_2_31_is_applied_and_past_2_63_refused(live_server, make_device, seq):
    world = build_world(live_server.engine)
    device, me = signed_in(make_device, live_server, "M1")
    synced(device)
    with device.store.transaction() as conn:
        DeviceStore.put(conn, StateKey.NEXT_SEQ, str(seq))
    prospect = world.prospects_of("M1")[0]["id"]
    log_id = local.record_log(
        device.store, me, new_log(prospect_id=prospect, channel="visit", outcome="interested")
    )
    assert synced(device).pending == 0 and rejections(device) == []
    assert count(live_server, _log, _log.c.id == log_id) == 1
    [state] = stored(live_server, _state, _state.c.device_id == device.store.device_id)
    assert state["last_seq"] == seq

    beyond = _raw(2**63, MutationKind.LOG_CREATE, a_log(prospect))
    with pytest.raises(RequestRejected) as refused:
        device.client.push(device.store.device_id, [beyond])
    assert refused.value.status == 422


# -- a stored row no JSON can carry --------------------------------------------------------


def _spoil(server: LiveServer, prospect_id: str, column: str, value: str) -> None:
    """Store a value the wire models would never let in (an old import, a hand edit)."""
    with write_session(server.engine) as session:
        session.execute(
            text(f"UPDATE prospect SET {column} = {value} WHERE id = :id"), {"id": prospect_id}
        )
        [row] = session.execute(
            text("SELECT outlet_id, assignee_id FROM prospect WHERE id = :id"), {"id": prospect_id}
        ).all()
        scope = (row[0], row[1])
        record_change(
            session,
            "prospect",
            prospect_id,
            prospect_id=prospect_id,
            old_scope=scope,
            new_scope=scope,
        )


def test_a_stored_row_no_json_can_carry_is_left_out_and_reported(live_server, make_device):
    world = build_world(live_server.engine)
    device, _ = signed_in(make_device, live_server, "M1")
    admin, _ = signed_in(make_device, live_server, "A1")
    synced(device)
    first, second, *rest = [p["id"] for p in world.prospects_of("M1")]
    postgres = live_server.engine.dialect.name == "postgresql"
    # PostgreSQL keeps NaN and 'infinity'; SQLite turns NaN into NULL but keeps Inf
    _spoil(live_server, first, "lat", "'NaN'" if postgres else "9e999")
    _spoil(live_server, second, "last_contact_at", "'10000-01-01 00:00:00'")
    if postgres:
        _spoil(live_server, rest[0], "updated_at", "'infinity'")

    for _ in range(2):  # the change log, then a fresh device's snapshot
        progress = synced(device, verify=False)
        assert progress.phase == SyncPhase.DONE
    assert {first, second} <= device.ids()  # the log page left them as they were
    fresh, _ = signed_in(make_device, live_server, "M1", "fresh")
    synced(fresh, verify=False)
    spoiled = {first, second} | ({rest[0]} if postgres else set())
    assert spoiled.isdisjoint(fresh.ids())
    assert set(rest) - spoiled <= fresh.ids()

    reported = [i for i in incidents(admin) if i["kind"] == "pull"]
    assert sorted(json.loads(i["payload"])["id"] for i in reported) == sorted(spoiled)
    assert any("lat" in i["error_message"] for i in reported)

"""Distribution by the outlet manager over real HTTP, on SQLite and PostgreSQL: auto-assign
(even, nearest, a cap), who may, the pool return (公海) after N days, the housekeeping CLI,
and what the marketers' devices then hold.

The world (tests/world.py): outlet A with marketers M1, M2 (5 prospects each) and manager
G1; outlet B with M3; admin A1; each outlet's pool. Prospect n lies at 27.70 + n·0.001°N on
one meridian: M1 holds n 1-5, M2 6-10, M3 11-15; A's pool is 16-18.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import TypeVar

import httpx
import pytest
from sqlalchemy import func, select, update

from app.config import Settings
from app.models import ChangeLog, FunnelEvent, MarketingLog, Prospect, Transfer
from app.models.ids import new_id, utcnow
from app.server.db import write_session
from app.server.housekeeping import run_housekeeping
from app.services.masking import is_masked
from app.sync.client import SyncClient
from app.sync.errors import AuthError, RequestRejected
from tests.conftest import LiveServer
from tests.world import PASSWORD, World, build_world

History = TypeVar("History", Transfer, FunnelEvent)


@pytest.fixture
def world(server: LiveServer) -> World:
    return build_world(server.engine, pool=3)


@pytest.fixture
def signed_in(server: LiveServer) -> Iterator:
    clients: list[httpx.Client] = []

    def as_(employee_no: str) -> SyncClient:
        http = httpx.Client(base_url=server.url, timeout=60)
        clients.append(http)
        client = SyncClient(http)
        client.login(employee_no, PASSWORD)
        return client

    yield as_
    for http in clients:
        http.close()


def _prospects(server: LiveServer, ids: list[str]) -> dict[str, Prospect]:
    with write_session(server.engine) as session:
        rows = session.exec(select(Prospect).where(Prospect.id.in_(ids))).scalars().all()
        session.expunge_all()
    return {p.id: p for p in rows}


def _history(server: LiveServer, model: type[History], ids: list[str]) -> list[History]:
    """The store's ``model`` rows (handovers or funnel events) of the prospects ``ids``."""
    with write_session(server.engine) as session:
        rows = session.execute(select(model).where(model.prospect_id.in_(ids)))
        found = list(rows.scalars().all())
        session.expunge_all()
    return found


def _last_seq(server: LiveServer, entity: str, entity_id: str) -> int:
    with write_session(server.engine) as session:
        return int(
            session.execute(
                select(ChangeLog.seq)
                .where(ChangeLog.entity == entity, ChangeLog.entity_id == entity_id)
                .order_by(ChangeLog.seq.desc())
                .limit(1)
            ).scalar_one()
        )


def test_even_split_tops_up_and_records_each_handover(server, world, signed_in):
    pool = [p["id"] for p in world.pool(world.outlet_a)]
    extra = _more_pool(server, world, 4)  # 7 in A's pool now
    g1 = signed_in("G1")
    result = g1.auto_assign(world.outlet_a, "even")
    m1, m2 = world.user_id("M1"), world.user_id("M2")
    assert result.assigned == {m1: 4, m2: 3}  # equal loads: M1 (listed first) tops up first
    assert result.left == 0
    ids = pool + extra
    rows = _prospects(server, ids)
    assert {p.assignee_id for p in rows.values()} == {m1, m2}
    for p in rows.values():
        assert p.status == "assigned" and p.assigned_at is not None
        assert p.rev == _last_seq(server, "prospect", p.id)  # devices' checksums agree
    transfers = _history(server, Transfer, ids)
    assert len(transfers) == 7
    assert {t.reason for t in transfers} == {"auto_assign:even"}
    assert {t.by_user_id for t in transfers} == {world.user_id("G1")}
    assert all(t.from_user_id is None and t.to_user_id in (m1, m2) for t in transfers)
    assert all(t.rev == _last_seq(server, "transfer", t.id) for t in transfers)
    events = _history(server, FunnelEvent, ids)
    assert len(events) == 7
    assert {(e.from_status, e.to_status, e.applied) for e in events} == {
        ("unassigned", "assigned", True)
    }
    # nothing left: a second run hands out nothing
    assert g1.auto_assign(world.outlet_a, "even").assigned == {m1: 0, m2: 0}


def test_each_handover_logs_its_event_transfer_and_prospect_in_that_order(server, world):
    """A device pulls a handover's rows in seq order: the event, the transfer, then the
    prospect, whose change-log row carries where it stood and where it went. Two writes in
    one transaction (the staging table is reused) keep the seqs consecutive."""
    from app.models import User
    from app.models.distribution import AutoAssignRequest
    from app.server.distribution import auto_assign, pool_return

    pool = [p["id"] for p in world.pool(world.outlet_a)]
    held = [p["id"] for p in world.prospects_of("M1")]
    _age(server, held[:2], 20)
    with write_session(server.engine) as session:
        before = session.execute(select(func.max(ChangeLog.seq))).scalar_one()
    with write_session(server.engine) as session:
        manager = session.get(User, world.user_id("G1"))
        returned = pool_return(session, scope=None, actor_id="system", days=14, now=utcnow())
        request = AutoAssignRequest(outlet_id=world.outlet_a, rule="even")
        auto_assign(session, user=manager, request=request, now=utcnow())
    assert returned == 2
    with write_session(server.engine) as session:
        log = (
            session.execute(select(ChangeLog).where(ChangeLog.seq > before).order_by(ChangeLog.seq))
            .scalars()
            .all()
        )
        session.expunge_all()
    seqs = [row.seq for row in log]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    moved = [row for row in log if row.entity == "prospect"]
    assert len(moved) == 2 + len(pool) + 2  # two back to the pool, then the pool handed out
    for row in moved:
        i = log.index(row)
        assert [r.entity for r in log[i - 2 : i + 1]] == ["funnel_event", "transfer", "prospect"]
        assert {r.prospect_id for r in log[i - 2 : i + 1]} == {row.entity_id}
    back = {r.entity_id: r for r in moved[:2]}
    assert set(back) == set(held[:2])
    m1, a = world.user_id("M1"), world.outlet_a
    assert {
        (r.outlet_old, r.assignee_old, r.outlet_new, r.assignee_new) for r in back.values()
    } == {(a, m1, a, None)}
    out = moved[2:]
    assert {r.entity_id for r in out} == set(pool) | set(held[:2])
    assert all((r.outlet_old, r.assignee_old) == (a, None) for r in out)
    assert {r.assignee_new for r in out} <= {m1, world.user_id("M2")}
    rows = _prospects(server, [r.entity_id for r in out])
    assert all(rows[r.entity_id].rev == r.seq for r in out)  # stamped with its own seq


def test_nearest_goes_to_the_nearest_territory_within_the_cap(server, world, signed_in):
    pool = sorted(world.pool(world.outlet_a), key=lambda p: p["lat"])
    result = signed_in("G1").auto_assign(world.outlet_a, "nearest", cap=2)
    m1, m2 = world.user_id("M1"), world.user_id("M2")
    # all three lie north of M2's prospects: M2 takes the two nearest, M1 the third
    assert result.assigned == {m1: 1, m2: 2} and result.left == 0
    rows = _prospects(server, [p["id"] for p in pool])
    assert [rows[p["id"]].assignee_id for p in pool] == [m2, m2, m1]
    assert {t.reason for t in _history(server, Transfer, list(rows))} == {"auto_assign:nearest"}


def test_the_cap_leaves_the_rest_in_the_pool(server, world, signed_in):
    _more_pool(server, world, 4)
    g1 = signed_in("G1")
    m1 = world.user_id("M1")
    result = g1.auto_assign(world.outlet_a, "even", cap=2, marketer_ids=[m1])
    assert result.assigned == {m1: 2} and result.left == 5


def test_only_active_marketers_of_that_outlet(server, world, signed_in):
    g1 = signed_in("G1")
    for who, code in [
        (world.user_id("M3"), "user.other_outlet"),
        (world.user_id("G1"), "user.not_marketer"),
        (new_id(), "user.not_found"),
    ]:
        with pytest.raises(RequestRejected) as caught:
            g1.auto_assign(world.outlet_a, "even", marketer_ids=[world.user_id("M1"), who])
        assert (caught.value.status, caught.value.code) == (422, code)
    assert not _history(server, Transfer, [p["id"] for p in world.prospects])


def test_who_may_auto_assign(server, world, signed_in):
    with pytest.raises(AuthError) as caught:
        signed_in("M1").auto_assign(world.outlet_a, "even")
    assert (caught.value.status, caught.value.code) == (403, "auth.forbidden")
    g1 = signed_in("G1")
    answers = []
    for outlet in (world.outlet_b, new_id()):  # another outlet reads as one that is not there
        with pytest.raises(RequestRejected) as caught:
            g1.auto_assign(outlet, "even")
        answers.append((caught.value.status, caught.value.code, str(caught.value)))
    assert answers[0] == answers[1]
    assert answers[0][:2] == (404, "distribution.outlet_not_found")
    assert not _history(server, Transfer, [p["id"] for p in world.prospects])
    # the admin reaches every outlet
    result = signed_in("A1").auto_assign(world.outlet_b, "even")
    assert result.assigned == {world.user_id("M3"): 3}


def test_a_marketer_device_pulls_its_new_prospects(server, world, signed_in, make_device):
    m1_device, m2_device = make_device(server, "m1"), make_device(server, "m2")
    m1_device.login("M1", PASSWORD)
    m2_device.login("M2", PASSWORD)
    m1_device.sync()
    m2_device.sync()
    pool = {p["id"] for p in world.pool(world.outlet_a)}
    assert pool <= m1_device.ids() and pool <= m2_device.ids()
    signed_in("G1").auto_assign(world.outlet_a, "even", marketer_ids=[world.user_id("M1")])
    m1_device.sync()
    m2_device.sync()
    for pid in pool:
        row = m1_device.row("prospect", pid)
        assert row["assignee_id"] == world.user_id("M1") and row["status"] == "assigned"
        assert not is_masked(row["phone"])  # M1's own now: in clear
    assert not pool & m2_device.ids()  # no longer in M2's pool
    with m1_device.store.read() as conn:
        reasons = {r[0] for r in conn.exec_driver_sql("SELECT reason FROM transfer")}
    assert "auto_assign:even" in reasons


def _age(server: LiveServer, ids: list[str], days: int, contacted_after: bool = False) -> None:
    at = utcnow() - timedelta(days=days)
    with write_session(server.engine) as session:
        session.execute(
            update(Prospect)
            .where(Prospect.id.in_(ids))
            .values(
                assigned_at=at,
                last_contact_at=(at + timedelta(hours=1)) if contacted_after else None,
            )
        )


def test_pool_return_after_n_days(server, world, signed_in, make_device):
    mine = [p["id"] for p in world.prospects_of("M1")]
    stale, fresh, contacted = mine[:2], mine[2:3], mine[3:4]
    _age(server, stale, 15)
    _age(server, fresh, 13)
    _age(server, contacted, 30, contacted_after=True)
    log_id = _log_on(server, world, stale[0])
    device = make_device(server, "m1")
    device.login("M1", PASSWORD)
    device.sync()
    assert device.row("prospect", stale[0])["assignee_id"] == world.user_id("M1")

    with pytest.raises(AuthError):
        signed_in("M1").pool_return()
    g1 = signed_in("G1")
    assert g1.pool_return(days=14).returned == 2
    assert g1.pool_return(days=14).returned == 0  # idempotent

    rows = _prospects(server, mine)
    for pid in stale:
        p = rows[pid]
        assert (p.assignee_id, p.status, p.assigned_at) == (None, "unassigned", None)
        assert p.outlet_id == world.outlet_a
    assert all(rows[pid].assignee_id == world.user_id("M1") for pid in fresh + contacted)
    transfers = _history(server, Transfer, stale)
    assert {(t.reason, t.from_user_id, t.to_user_id) for t in transfers} == {
        ("pool_return", world.user_id("M1"), None)
    }
    events = _history(server, FunnelEvent, stale)
    assert {(e.from_status, e.to_status) for e in events} == {("assigned", "unassigned")}
    with write_session(server.engine) as session:  # the log stays with the prospect
        assert session.get(MarketingLog, log_id).prospect_id == stale[0]

    device.sync()
    for pid in stale:  # off M1's list, into the outlet's pool, masked
        row = device.row("prospect", pid)
        assert row["assignee_id"] is None and row["status"] == "unassigned"
        assert is_masked(row["phone"])
    m2 = make_device(server, "m2")
    m2.login("M2", PASSWORD)
    m2.sync()
    assert set(stale) <= m2.ids()  # the pool shows it to the outlet's marketers


def test_pool_return_reaches_only_the_managers_outlets(server, world, signed_in):
    a = [p["id"] for p in world.prospects_of("M1")]
    b = [p["id"] for p in world.prospects_of("M3")]
    _age(server, a + b, 20)
    assert signed_in("G1").pool_return(days=14).returned == len(a)
    assert signed_in("A1").pool_return(days=14).returned == len(b)


def test_housekeeping_returns_what_is_due_once(server, world, settings, capsys):
    mine = [p["id"] for p in world.prospects_of("M2")]
    _age(server, mine, settings.pool_return_days + 1)
    from main import main

    main(["housekeeping", "--db", settings.database_url])
    assert "pool_return 5" in capsys.readouterr().out
    # nothing is due twice; the dashboards' rollups have nothing new either
    assert run_housekeeping(server.engine, settings) == {
        "batch_expiry": 0,
        "pool_return": 0,
        "dashboards": 0,
        "ranks": 0,  # the league tables were ranked on the first run
        "prune": 0,  # nothing past the change log's horizon
    }
    transfers = _history(server, Transfer, mine)
    assert {(t.reason, t.by_user_id) for t in transfers} == {("pool_return", "system")}


def _more_pool(server: LiveServer, world: World, n: int) -> list[str]:
    """``n`` more prospects in outlet A's pool; their ids."""
    from app.server.changes import bulk_insert

    base = dict(world.pool(world.outlet_a)[0])
    rows = []
    for i in range(n):
        rows.append({**base, "id": new_id(), "company_name": f"补充商户{i}", "score": 10 + i})
    with write_session(server.engine) as session:
        bulk_insert(session, "prospect", rows)
    world.prospects.extend(rows)
    return [r["id"] for r in rows]


def _log_on(server: LiveServer, world: World, prospect_id: str) -> str:
    """A marketing log written before the prospect was assigned (last contact unchanged)."""
    from app.server.changes import record_change

    log_id = new_id()
    with write_session(server.engine) as session:
        session.add(
            MarketingLog(
                id=log_id,
                prospect_id=prospect_id,
                channel="phone",
                occurred_at=utcnow() - timedelta(days=40),
                outcome="no_answer",
                note="",
                author_id=world.user_id("M1"),
                device_id="t",
                recorded_at=utcnow(),
            )
        )
        session.flush()
        record_change(session, "marketing_log", log_id, prospect_id=prospect_id)
    return log_id


# -- the device door: the manager's dialog ----------------------------------------------


@pytest.fixture
def workbench(server, tmp_path) -> Iterator:
    from app.workbench import Workbench

    bench = Workbench(Settings(server_url=server.url, data_dir=tmp_path / "device"))
    yield bench
    bench.close()


async def test_the_manager_auto_assigns_from_the_dialog_and_sees_it(world, workbench):
    import asyncio

    assert await workbench.login.submit("G1", PASSWORD)
    await asyncio.to_thread(workbench.engine.sync_once)
    distribution = workbench.distribution
    assert distribution.allowed
    pool = {p["id"] for p in world.pool(world.outlet_a)}

    distribution.show()
    distribution.set_rule("nearest")
    distribution.set_cap("zero")
    assert not await distribution.confirm()
    assert distribution.state.problem == "distribution.cap_invalid" and distribution.state.open
    distribution.set_cap("2")
    assert await distribution.confirm()
    state = distribution.state
    assert (state.open, state.assigned, state.left, state.problem) == (False, 3, 0, "")
    assert workbench.state.notice.code == "distribution.done"
    # the sync that followed brought the new placements to this device
    with workbench.store.read() as conn:
        rows = conn.exec_driver_sql(
            f"SELECT assignee_id FROM prospect WHERE id IN ({','.join('?' * len(pool))})",
            tuple(pool),
        ).all()
    assert {r[0] for r in rows} == {world.user_id("M1"), world.user_id("M2")}


async def test_a_marketer_has_no_auto_assign(world, workbench):
    assert await workbench.login.submit("M1", PASSWORD)
    distribution = workbench.distribution
    assert not distribution.allowed
    assert not await distribution.auto_assign("even", None)
    assert distribution.state.problem == "auth.forbidden"


async def test_auto_assign_offline_says_so(world, workbench):
    assert await workbench.login.submit("G1", PASSWORD)
    workbench.client.point_to("http://127.0.0.1:9")  # nothing listens there
    assert not await workbench.distribution.auto_assign("even", None)
    assert workbench.distribution.state.problem == "distribution.offline"


def test_the_store_runs_its_housekeeping_on_the_clock(store_settings, tmp_path):
    """Every store process runs the housekeeping every ``housekeeping_interval_seconds``."""
    import time

    settings = store_settings.model_copy(update={"housekeeping_interval_seconds": 0.2})
    with LiveServer(settings) as live:
        world = build_world(live.engine)
        mine = [p["id"] for p in world.prospects_of("M1")]
        _age(live, mine, 20)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if all(p.assignee_id is None for p in _prospects(live, mine).values()):
                break
            time.sleep(0.1)
        assert all(p.assignee_id is None for p in _prospects(live, mine).values())

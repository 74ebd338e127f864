"""Scope checksums kept by PostgreSQL's triggers (app/server/scope_sums.py) agree with
reading the scope, after every kind of write the store does: devices' logs, claims and
funnel moves, a manager's auto-assign, withdrawals, a prospect moved to another branch,
the pool return; and a device that holds its scope verifies without pulling again.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models import Prospect, User
from app.models.distribution import AutoAssignRequest
from app.models.ids import utcnow
from app.server.batches import WithdrawReason, withdraw
from app.server.changes import record_change
from app.server.db import read_session, write_session
from app.server.distribution import SYSTEM_ACTOR, auto_assign, pool_return
from app.server.pull import checksums, scanned_checksums
from app.server.scope import placement, scope_of
from app.services.marketing import new_log
from app.services.scope import Scope
from app.sync import local
from app.sync.state import StateKey
from tests.world import PASSWORD, build_world

pytestmark = pytest.mark.parametrize("store_settings", ["postgresql"], indirect=True)


def signed_in(make_device, server, employee_no):
    device = make_device(server, employee_no)
    user = device.login(employee_no, PASSWORD)["user"]
    return device, Scope(user["id"], user["role"], user["outlet_id"])


def test_kept_checksums_agree_with_a_scan_after_every_kind_of_write(server, make_device):
    world = build_world(server.engine, subbranch=True)
    m1, me = signed_in(make_device, server, "M1")
    m3, other = signed_in(make_device, server, "M3")
    for device in (m1, m3):
        device.sync()
    mine = world.prospects_of("M1")
    pooled = world.pool(world.outlet_a)
    local.record_log(
        m1.store, me, new_log(prospect_id=mine[0]["id"], channel="visit", outcome="interested")
    )
    local.claim(m1.store, me, prospect_id=pooled[0]["id"])
    local.record_log(
        m3.store,
        other,
        new_log(
            prospect_id=world.prospects_of("M3")[0]["id"], channel="phone", outcome="no_answer"
        ),
    )
    for device in (m1, m3):
        device.sync()
    now = utcnow()
    with write_session(server.engine) as session:
        manager = session.execute(select(User).where(User.employee_no == "G1")).scalar_one()
        auto_assign(
            session, user=manager, request=AutoAssignRequest(outlet_id=world.outlet_a), now=now
        )
    with write_session(server.engine) as session:
        gone = [session.get(Prospect, p["id"]) for p in (mine[1], mine[2])]
        withdraw(session, [(p.id, placement(p)) for p in gone], WithdrawReason.REMOVED, now)
    with write_session(server.engine) as session:  # one of A's goes to B (another branch)
        p = session.get(Prospect, mine[3]["id"])
        was = placement(p)
        p.outlet_id, p.assignee_id = world.outlet_b, None
        session.flush()
        record_change(
            session, "prospect", p.id, prospect_id=p.id, old_scope=was, new_scope=placement(p)
        )
    with write_session(server.engine) as session:
        pool_return(session, scope=None, actor_id=SYSTEM_ACTOR, days=0, now=now)

    with read_session(server.engine) as session:
        users = session.execute(select(User)).scalars().all()
        for user in users:
            scope = scope_of(session, user)
            assert checksums(session, scope) == scanned_checksums(session, scope), user.employee_no
        admin = scope_of(session, next(u for u in users if u.role == "admin"))
        kept = checksums(session, admin)
    assert kept["prospect"]["count"] == len(world.prospects) - 2  # two withdrawn
    assert kept["marketing_log"]["count"] >= 2 and kept["transfer"]["count"] > 0


def test_a_device_that_holds_its_scope_verifies_without_pulling_again(server, make_device):
    world = build_world(server.engine)
    m1, me = signed_in(make_device, server, "M1")
    m1.sync()
    local.record_log(
        m1.store,
        me,
        new_log(
            prospect_id=world.prospects_of("M1")[0]["id"], channel="visit", outcome="interested"
        ),
    )
    m1.sync()
    with m1.store.transaction() as conn:
        m1.store.put(conn, StateKey.LAST_VERIFIED_AT, None)  # due now

    progress = m1.sync()

    assert not progress.resynced
    with m1.store.read() as conn:
        assert m1.store.state(StateKey.LAST_VERIFIED_AT) is not None
        assert conn is not None


def test_a_device_missing_a_row_is_found_out_and_pulls_again(server, make_device):
    world = build_world(server.engine)
    m1, _ = signed_in(make_device, server, "M1")
    m1.sync()
    lost = world.prospects_of("M1")[0]["id"]
    with m1.store.transaction() as conn:  # a row lost on the device, the cursor unaware
        conn.exec_driver_sql("DELETE FROM prospect WHERE id = ?", (lost,))
        m1.store.put(conn, StateKey.LAST_VERIFIED_AT, None)

    progress = m1.sync()

    assert progress.resynced
    assert lost in m1.ids()

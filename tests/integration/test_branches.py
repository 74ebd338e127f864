"""The change log kept per branch: writers of different branches never wait on each other,
a device reads only its own branch's (and outlet's) rows, and a prospect that moves to
another branch leaves the old branch's devices and reaches the new one's.

World (tests/world.py): outlet A under 汇川支行 (M1, M2, manager G1), outlet B under
红花岗支行 (M3); admin A1.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from app.models import ChangeLog, Prospect, User
from app.models.change import GLOBAL_BRANCH
from app.server import changes, pull
from app.server.changes import BranchNotLocked, branch_of, heads, record_change
from app.server.db import BRANCH_LOCK, STORE_LOCK, read_session, write_session
from app.server.scope import placement, scope_of
from tests.conftest import LiveServer
from tests.world import PASSWORD, World, build_world

A, B = "汇川支行", "红花岗支行"


@pytest.fixture
def world(server: LiveServer) -> World:
    return build_world(server.engine)


def touch_prospect(session, prospect_id: str) -> None:
    """Record a change of ``prospect_id`` where it stands (as a log of it would)."""
    p = session.get(Prospect, prospect_id)
    where = placement(p)
    record_change(session, "prospect", p.id, prospect_id=p.id, old_scope=where, new_scope=where)


def test_each_branch_counts_its_own_seqs(server, world):
    a_prospect = world.pool(world.outlet_a)[0]["id"]
    b_prospect = world.pool(world.outlet_b)[0]["id"]
    with read_session(server.engine) as session:
        before = heads(session)
    with write_session(server.engine, {A}) as session:
        touch_prospect(session, a_prospect)
        touch_prospect(session, a_prospect)
    with write_session(server.engine, {B}) as session:
        touch_prospect(session, b_prospect)
    with read_session(server.engine) as session:
        after = heads(session)
        assert branch_of(session, world.outlet_a) == A
        stamped = session.get(Prospect, a_prospect).rev
        logged = (
            session.execute(
                select(ChangeLog.seq).where(
                    ChangeLog.entity_id == a_prospect, ChangeLog.branch == A
                )
            )
            .scalars()
            .all()
        )
    assert after[A] == before[A] + 2 and after[B] == before[B] + 1
    assert sorted(logged)[-2:] == [before[A] + 1, before[A] + 2]
    assert stamped == before[A] + 2  # a row's rev: its newest change
    assert after[GLOBAL_BRANCH] == before[GLOBAL_BRANCH]  # no reference row changed


def test_a_change_in_a_branch_the_writer_does_not_hold_is_refused_and_nothing_is_written(
    server, world
):
    b_prospect = world.pool(world.outlet_b)[0]["id"]
    with read_session(server.engine) as session:
        before = heads(session)
    with pytest.raises(BranchNotLocked) as refused:
        with write_session(server.engine, {A}) as session:
            touch_prospect(session, b_prospect)
    assert refused.value.branch == B
    with read_session(server.engine) as session:
        assert heads(session) == before


@pytest.mark.parametrize("store_settings", ["postgresql"], indirect=True)
def test_a_write_in_one_branch_never_waits_on_another_branchs_lock(server, world):
    """Branch A's writer holds its transaction open; branch B's writer commits at once
    (a lock_timeout would fail it if it waited); a second writer of A, and a whole-store
    writer, do wait."""
    a_prospect = world.pool(world.outlet_a)[0]["id"]
    b_prospect = world.pool(world.outlet_b)[0]["id"]
    holding, release = threading.Event(), threading.Event()

    def hold_a() -> None:
        with write_session(server.engine, {A}) as session:
            touch_prospect(session, a_prospect)
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=hold_a)
    holder.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        with write_session(server.engine, {B}) as session:
            touch_prospect(session, b_prospect)
        assert time.monotonic() - started < 2  # A's writer holds on for 30 s

        # while A's writer is in its transaction, A's own lock and the whole-store lock are
        # not to be had: a second writer of A, or an import, queues behind it
        with server.engine.connect() as conn:
            conn.execute(text("SET lock_timeout = '500ms'"))
            conn.commit()
            for lock in (
                f"pg_advisory_xact_lock({BRANCH_LOCK}, hashtext(current_schema() || '/' || :b))",
                f"pg_advisory_xact_lock({STORE_LOCK}, hashtext(current_schema()))",
            ):
                with pytest.raises(OperationalError, match="lock timeout"):
                    with conn.begin():
                        conn.execute(text(f"SELECT {lock}"), {"b": A})
    finally:
        release.set()
        holder.join(10)


@pytest.mark.parametrize("store_settings", ["postgresql"], indirect=True)
def test_the_change_log_is_partitioned_by_branch(server, world):
    with read_session(server.engine) as session:
        strategy, column = session.execute(
            text(
                "SELECT p.partstrat, a.attname FROM pg_partitioned_table p"
                " JOIN pg_class c ON c.oid = p.partrelid"
                " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = p.partattrs[0]"
                " WHERE c.relname = 'change_log' AND c.relnamespace = current_schema()::regnamespace"
            )
        ).one()
        partitions = session.execute(
            text(
                "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhparent"
                " WHERE c.relname = 'change_log' AND c.relnamespace = current_schema()::regnamespace"
            )
        ).scalar_one()
    assert (strategy, column) == ("h", "branch")
    assert partitions == 16


def test_a_marketers_pull_reads_only_its_outlets_rows(server, world):
    """2,000 changes in outlet B (another branch) and 500 in outlet A's colleague's
    prospects: M1's log page reads none of B's rows; every row it reads is outlet A's."""
    b_ids = [p["id"] for p in world.prospects if p["outlet_id"] == world.outlet_b]
    a_ids = [p["id"] for p in world.prospects if p["outlet_id"] == world.outlet_a]
    with read_session(server.engine) as session:
        m1 = session.execute(select(User).where(User.employee_no == "M1")).scalar_one()
        scope = scope_of(session, m1)
        where = pull.reach(session, scope)
        start = pull.scope_heads(session, scope)
    with write_session(server.engine, {B}) as session:
        for i in range(2000):
            touch_prospect(session, b_ids[i % len(b_ids)])
    with write_session(server.engine, {A}) as session:
        for i in range(500):
            touch_prospect(session, a_ids[i % len(a_ids)])
    with read_session(server.engine) as session:
        newest, floors = changes.clock(session, where.branches)
        rows, after = pull._changes(session, where, start, newest, floors, 10_000)
    assert where.branches == (GLOBAL_BRANCH, A) and where.outlets == {world.outlet_a}
    assert len(rows) == 500
    assert {r.branch for r in rows} == {A}
    assert all(world.outlet_a in (r.outlet_new, r.outlet_old) for r in rows)
    assert after == newest and B not in after


def test_a_prospect_moved_to_another_branch_leaves_one_device_and_reaches_the_other(
    server, world, make_device
):
    """The admin moves one of A's pool to outlet B: M1's device drops it, M3's takes it,
    and the change log holds a row for it in each branch."""
    m1 = make_device(server, "M1")
    m1.login("M1", PASSWORD)
    m3 = make_device(server, "M3")
    m3.login("M3", PASSWORD)
    for device in (m1, m3):
        device.sync()
    moved = world.pool(world.outlet_a)[0]["id"]
    assert moved in m1.ids() and moved not in m3.ids()
    with write_session(server.engine) as session:  # the whole store, as an admin's work
        p = session.get(Prospect, moved)
        was = placement(p)
        p.outlet_id = world.outlet_b
        session.flush()
        record_change(
            session, "prospect", p.id, prospect_id=p.id, old_scope=was, new_scope=placement(p)
        )
    for device in (m1, m3):
        device.sync()
    assert moved not in m1.ids()
    assert moved in m3.ids()
    with read_session(server.engine) as session:
        branches = session.execute(
            select(ChangeLog.branch).where(ChangeLog.entity_id == moved)
        ).scalars()
        assert {A, B} <= set(branches)

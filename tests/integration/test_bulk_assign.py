"""A manager's bulk assignment from the table view: one local transaction with one
``prospect.assign`` mutation per prospect (refused ones reported, a failure leaving
nothing), judged again by the store, and on the marketer's device after its sync; the
table's sort done by SQL (real FastAPI over HTTP, SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import select

from app.config import Settings
from app.models import Prospect
from app.models.sync import MutationKind
from app.queries.whitelist_table import table_page
from app.services.funnel import CLOSED, MAIN_LINE, FunnelStatus
from app.services.scope import Scope, ViewScope
from app.services.whitelist import TableSort, WhitelistQuery
from app.sync import local, outbox
from app.workbench import Workbench
from app.workbench.table import TABLE_PAGE, bulk_notice
from tests.world import PASSWORD, build_world

_prospect = Prospect.__table__


@pytest.fixture
def world_and_manager(live_server, tmp_path):  # type: ignore[no-untyped-def]
    world = build_world(live_server.engine, per_marketer=4, pool=3)
    workbench = Workbench(Settings(server_url=live_server.url, data_dir=tmp_path / "device"))
    yield world, workbench
    workbench.close()


async def _signed_in(workbench: Workbench, who: str) -> Workbench:
    assert await workbench.login.submit(who, PASSWORD)
    await asyncio.to_thread(workbench.engine.sync_once)
    return workbench


def _outbox(workbench: Workbench) -> list[tuple[str, str, dict]]:
    with workbench.store.read() as conn:
        rows = conn.exec_driver_sql(
            "SELECT kind, entity_id, payload FROM outbox ORDER BY seq"
        ).all()
    return [(kind, eid, json.loads(payload)) for kind, eid, payload in rows]


def _local(workbench: Workbench, pid: str) -> tuple[str | None, str]:
    with workbench.store.read() as conn:
        row = conn.exec_driver_sql(
            "SELECT assignee_id, status FROM prospect WHERE id = ?", (pid,)
        ).one()
    return row[0], row[1]


def _on_store(server, pid: str) -> dict:  # type: ignore[no-untyped-def]
    with server.engine.connect() as conn:
        return dict(conn.execute(select(_prospect).where(_prospect.c.id == pid)).mappings().one())


async def test_bulk_assign_is_one_transaction_with_a_mutation_each_and_reaches_the_marketer(
    world_and_manager, live_server, tmp_path
):
    world, manager = world_and_manager
    manager = await _signed_in(manager, "G1")
    m1 = [p["id"] for p in world.prospects_of("M1")[:2]]
    pool = [p["id"] for p in world.pool(world.outlet_a)[:2]]
    elsewhere = world.prospects_of("M3")[0]["id"]  # outlet B: not on the manager's device
    to = world.user_id("M2")
    tables = manager.table
    await manager.whitelist.set_view("table")
    assert [m.name for m in tables.state.marketers] == ["张伟", "李娜"]
    asked = [m1[0], pool[0], elsewhere, m1[1], pool[1]]
    for pid in asked:
        tables.toggle(pid, True)

    assert await tables.assign_selected(to)

    done = [m1[0], pool[0], m1[1], pool[1]]
    # one prospect.assign each, in the order ticked; the refused one written nowhere
    assert [(k, e) for k, e, _ in _outbox(manager)] == [
        (MutationKind.PROSPECT_ASSIGN.value, pid) for pid in done
    ]
    assert all(p["to_user_id"] == to for _, _, p in _outbox(manager))
    assert [_local(manager, pid) for pid in done] == [(to, "assigned")] * 4
    notice = manager.state.notice
    assert notice is not None and notice.code == "bulk.assigned_some"
    assert dict(notice.params) == {"count": 4, "name": "李娜", "refused": 1}
    assert tables.state.selected == []
    shown = {r.id: r.assignee_name for r in tables.state.rows}
    assert all(shown[pid] == "李娜" for pid in done)

    # the store judges each again and applies it; M2's device then holds them
    await asyncio.to_thread(manager.engine.sync_once)
    assert _outbox(manager) == []
    assert [_on_store(live_server, pid)["assignee_id"] for pid in done] == [to] * 4
    marketer = Workbench(Settings(server_url=live_server.url, data_dir=tmp_path / "m2"))
    try:
        marketer = await _signed_in(marketer, "M2")
        with marketer.store.read() as conn:
            mine = {
                r[0]
                for r in conn.exec_driver_sql(
                    "SELECT id FROM prospect WHERE assignee_id = ?", (to,)
                )
            }
        assert set(done) <= mine
    finally:
        marketer.close()


async def test_back_to_the_pool_in_bulk(world_and_manager, live_server):
    world, manager = world_and_manager
    manager = await _signed_in(manager, "G1")
    ids = [p["id"] for p in world.prospects_of("M1")[:3]]
    pooled = world.pool(world.outlet_a)[0]["id"]  # already in the pool: nothing to send
    result = await asyncio.to_thread(
        local.assign_many,
        manager.store,
        manager.scope,
        prospect_ids=[*ids, pooled],
        to_user_id=None,
    )
    assert (result.assigned, result.unchanged, result.refused) == (ids, [pooled], {})
    assert bulk_notice(result, None) == ("bulk.returned", {"count": 4, "name": "", "refused": 0})
    assert [e for _, e, _ in _outbox(manager)] == ids
    await asyncio.to_thread(manager.engine.sync_once)
    assert [_on_store(live_server, pid)["assignee_id"] for pid in ids] == [None] * 3


async def test_a_failure_part_way_leaves_nothing_and_refusals_are_reported(
    world_and_manager, monkeypatch
):
    world, manager = world_and_manager
    manager = await _signed_in(manager, "G1")
    ids = [p["id"] for p in world.prospects_of("M1")[:3]]
    to = world.user_id("M2")
    before = [_local(manager, pid) for pid in ids]
    real, calls = outbox.enqueue, []

    def failing(conn, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(conn, *args, **kwargs)

    monkeypatch.setattr(outbox, "enqueue", failing)
    with pytest.raises(RuntimeError):
        local.assign_many(manager.store, manager.scope, prospect_ids=ids, to_user_id=to)
    monkeypatch.undo()
    assert _outbox(manager) == []
    assert [_local(manager, pid) for pid in ids] == before  # the first one rolled back too

    # a marketer of another outlet refuses the whole; nothing written
    with pytest.raises(local.LocalError) as refused:
        local.assign_many(
            manager.store, manager.scope, prospect_ids=ids, to_user_id=world.user_id("M3")
        )
    assert refused.value.code in {"user.not_found", "user.other_outlet"}
    assert _outbox(manager) == []

    # a prospect that left the manager's reach (another outlet's) is refused and reported
    with manager.store.transaction() as conn:
        conn.exec_driver_sql(
            "UPDATE prospect SET outlet_id = ? WHERE id = ?", (world.outlet_b, ids[1])
        )
    result = local.assign_many(
        manager.store, manager.scope, prospect_ids=[*ids, "no-such-id"], to_user_id=to
    )
    assert result.assigned == [ids[0], ids[2]]
    assert result.refused == {ids[1]: "prospect.out_of_scope", "no-such-id": "prospect.not_found"}
    assert bulk_notice(result, "李娜") == (
        "bulk.assigned_some",
        {"count": 2, "name": "李娜", "refused": 2},
    )

    # a marketer may not assign at all
    marketer = Scope(world.user_id("M1"), "marketer", world.outlet_a)
    result = local.assign_many(manager.store, marketer, prospect_ids=ids, to_user_id=None)
    assert result.assigned == [] and set(result.refused.values()) == {"auth.forbidden"}


_RANK = {s: i for i, s in enumerate((*MAIN_LINE, *(s for s in FunnelStatus if s in CLOSED)))}


async def test_the_table_sorts_in_sql_over_every_row_and_pages_without_repeats(
    world_and_manager,
):
    world, manager = world_and_manager
    manager = await _signed_in(manager, "G1")
    # some contacts, follow-ups and statuses to sort by (some left empty)
    ids = [p["id"] for p in world.prospects if p["outlet_id"] == world.outlet_a]
    with manager.store.transaction() as conn:
        for i, pid in enumerate(ids):
            conn.exec_driver_sql(
                "UPDATE prospect SET last_contact_at = ?, next_follow_up = ?, status = ?"
                " WHERE id = ?",
                (
                    f"2026-03-{i % 9 + 1:02d} 08:00:00" if i % 3 else None,
                    f"2026-04-{i % 5 + 1:02d}" if i % 4 else None,
                    ("assigned", "contacted", "interested", "declined")[i % 4],
                    pid,
                ),
            )
    names = {world.user_id(no): u["name"] for no, u in world.users.items()}
    query = WhitelistQuery(scope=ViewScope.OUTLET, outlet_id=world.outlet_a, limit=TABLE_PAGE)
    with manager.store.read() as conn:
        everything = table_page(conn, query, TableSort.COMPANY).rows
        assert len(everything) == len(ids) == 11
        keys = {
            TableSort.COMPANY: lambda r: r.company_name,
            TableSort.STATUS: lambda r: _RANK[FunnelStatus(r.status)],
            TableSort.LINE: lambda r: r.pre_approved_line,
            TableSort.SCORE: lambda r: r.score,
        }
        for sort, key in keys.items():
            for descending in (False, True):
                got = [key(r) for r in table_page(conn, query, sort, descending=descending).rows]
                assert got == sorted(got, reverse=descending), (sort, descending)
        for sort, field in (
            (TableSort.LAST_CONTACT, "last_contact_at"),
            (TableSort.NEXT_FOLLOW_UP, "next_follow_up"),
            (TableSort.ASSIGNEE, "assignee_name"),
        ):
            for descending in (False, True):
                got = [
                    getattr(r, field)
                    for r in table_page(conn, query, sort, descending=descending).rows
                ]
                filled = [v for v in got if v is not None]
                assert got[: len(filled)] == sorted(filled, reverse=descending), (sort, descending)
                assert all(v is None for v in got[len(filled) :])  # empty values last
        assert {r.assignee_name for r in everything} == {
            names[world.user_id("M1")],
            names[world.user_id("M2")],
            None,
        }

        # pages of 4: every row once, in the same order as one page
        order = [r.id for r in table_page(conn, query, TableSort.SCORE, descending=True).rows]
        paged = []
        for offset in range(0, 12, 4):
            q = WhitelistQuery(
                scope=ViewScope.OUTLET, outlet_id=world.outlet_a, offset=offset, limit=4
            )
            page = table_page(conn, q, TableSort.SCORE, descending=True)
            assert page.total == 11
            paged += [r.id for r in page.rows]
        assert paged == order

        # the list's filters and search apply: one status, a search term
        q = WhitelistQuery(
            scope=ViewScope.OUTLET, outlet_id=world.outlet_a, statuses=frozenset({"declined"})
        )
        page = table_page(conn, q, TableSort.COMPANY)
        assert page.total == 2 and {r.status for r in page.rows} == {"declined"}
        one = everything[0].company_name
        q = WhitelistQuery(scope=ViewScope.OUTLET, outlet_id=world.outlet_a, text=one)
        assert [r.company_name for r in table_page(conn, q, TableSort.COMPANY).rows] == [one]

"""The application layer against a real central store: what the screens would show."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest

from app.config import Settings
from app.models.ids import new_id, utcnow
from app.services import policy
from app.services.policy import Action
from app.services.scope import Scope
from app.sync import local
from app.workbench import Workbench
from app.workbench import card as card_module
from app.workbench import whitelist as whitelist_module
from tests.conftest import Device
from tests.world import PASSWORD, build_world


@pytest.fixture
def world_and_workbench(live_server, tmp_path):  # type: ignore[no-untyped-def]
    world = build_world(live_server.engine, per_marketer=6, pool=4)
    settings = Settings(server_url=live_server.url, data_dir=tmp_path / "device")
    workbench = Workbench(settings)
    yield world, workbench
    workbench.close()


@pytest.fixture
def workbench(world_and_workbench):  # type: ignore[no-untyped-def]
    return world_and_workbench[1]


async def signed_in(workbench: Workbench, employee_no: str = "M1") -> Workbench:
    assert await workbench.login.submit(employee_no, PASSWORD)
    await asyncio.to_thread(workbench.engine.sync_once)
    await workbench.whitelist.refresh()
    return workbench


async def test_a_search_is_not_overwritten_by_an_older_slower_read(workbench, monkeypatch):
    """A sync finishing redraws the list with the query of that moment; a search submitted
    meanwhile must win, whichever read comes back last."""
    workbench = await signed_in(workbench)
    lists = workbench.whitelist.state
    everything = lists.total
    assert everything > 1

    real = whitelist_module.query_whitelist

    def slow_when_unfiltered(conn, query, **kwargs):  # type: ignore[no-untyped-def]
        if not query.text:
            time.sleep(0.5)  # the redraw of the sync that just finished: slower
        return real(conn, query, **kwargs)

    monkeypatch.setattr(whitelist_module, "query_whitelist", slow_when_unfiltered)
    redraw = asyncio.create_task(
        workbench.whitelist.refresh()
    )  # started first, with no search text
    await asyncio.sleep(0.05)
    first = lists.rows[0].company_name
    await workbench.whitelist.set_filters(text=first[-3:])
    await redraw

    assert lists.filters.text == first[-3:]
    assert 1 <= lists.total < everything
    assert all(first[-3:] in row.company_name for row in lists.rows)


async def test_the_card_tapped_last_is_the_card_shown(workbench, monkeypatch):
    """Tap one customer, back, tap another: the first card's slower read must not land last
    (the screen would wait for the second card for ever)."""
    workbench = await signed_in(workbench)
    first, second = (row.id for row in workbench.whitelist.state.rows[:2])

    real = card_module.get_card

    def slow_for_the_first(conn, prospect_id):  # type: ignore[no-untyped-def]
        if prospect_id == first:
            time.sleep(0.5)
        return real(conn, prospect_id)

    monkeypatch.setattr(card_module, "get_card", slow_for_the_first)
    tapped_first = asyncio.create_task(workbench.card.open(first))
    await asyncio.sleep(0.05)
    await workbench.card.open(second)
    await tapped_first
    assert workbench.card.state.card is not None and workbench.card.state.card.id == second


async def test_an_offline_status_change_shows_on_the_card_at_once_marked_pending(workbench):
    workbench = await signed_in(workbench)
    mine = next(
        r for r in workbench.whitelist.state.rows if r.assignee_id == workbench.scope.user_id
    )
    assert await workbench.settings_screen.set_server_url(
        "http://127.0.0.1:9"
    )  # the network is gone
    await workbench.card.open(mine.id)

    await workbench.card.move("interested")

    shown = workbench.card.state
    assert shown.card is not None and shown.card.status == "interested"
    newest = shown.timeline[0]
    assert (newest.kind, newest.to_status, newest.pending) == ("status", "interested", True)
    assert newest.applied is None  # not judged by the store yet: no "not applied" line
    assert workbench.state.progress.pending == 1
    row = next(r for r in workbench.whitelist.state.rows if r.id == mine.id)
    assert row.status == "interested"


async def test_the_rejections_screen_reads_times_as_stored_utc(workbench, live_server, tmp_path):
    """The store's refusals keep their time as naive UTC, so the screen can show Beijing
    time like everywhere else (it used to print the UTC text)."""
    workbench = await signed_in(workbench)
    theirs = next(r for r in workbench.whitelist.state.rows if r.assignee_id is None)
    manager = Device(live_server.url, tmp_path / "manager.sqlite")
    manager.login("G1", PASSWORD)
    manager.sync()
    local.move_funnel(
        manager.store,
        Scope(**_who(manager)),
        prospect_id=theirs.id,
        to_status="invalid",
        close_reason="duplicate",
    )
    manager.sync()  # the store now holds it as invalid: final

    await workbench.card.open(theirs.id)
    await workbench.card.close("declined", "not_interested")  # offline: still open to them
    await asyncio.to_thread(workbench.engine.sync_once)
    await workbench.sync_screen.load_rejections()
    manager.close()

    (refused,) = workbench.sync_screen.state.rejections
    assert refused.code == "funnel.closed"
    assert refused.rejected_at is not None
    assert abs((utcnow() - refused.rejected_at).total_seconds()) < 60


def _who(device: Device) -> dict[str, str | None]:
    me = device.client.login("G1", PASSWORD)["user"]
    return {"user_id": me["id"], "role": me["role"], "outlet_id": me["outlet_id"]}


def _claim(prospect_id: str) -> dict:
    return {
        "seq": 1,
        "id": new_id(),
        "kind": "prospect.claim",
        "payload": {
            "transfer_id": new_id(),
            "prospect_id": prospect_id,
            "occurred_at": str(utcnow()),
        },
        "created_at": str(utcnow()),
    }


@pytest.mark.parametrize("marketers_may_claim", [True, False])
async def test_one_policy_decides_the_cards_buttons_and_the_stores_verdict(
    world_and_workbench, monkeypatch, marketers_may_claim
):
    """Change who may claim in the one policy table: the card's 领取 button and the central
    store's answer to a claim follow together."""
    world, workbench = world_and_workbench
    roles = policy.ROLES[Action.CLAIM] if marketers_may_claim else frozenset({"admin"})
    monkeypatch.setitem(policy.ROLES, Action.CLAIM, roles)
    workbench = await signed_in(workbench)
    pool = next(r for r in workbench.whitelist.state.rows if r.assignee_id is None)

    await workbench.card.open(pool.id)
    assert workbench.card.state.actions.claim is marketers_may_claim

    # the store judges a claim itself, whatever a device decided (an old app, a script)
    answer = await asyncio.to_thread(workbench.client.push, "device-policy-test", [_claim(pool.id)])
    (result,) = answer["results"]
    if marketers_may_claim:
        assert result["status"] == "applied"
    else:
        assert (result["status"], result["code"]) == ("rejected", "auth.forbidden")


async def test_the_search_follows_typing_once_it_pauses(workbench, monkeypatch):
    """Each keystroke does not read the store: the list follows when typing pauses, with
    what was typed last; the box keeps every character typed meanwhile."""
    workbench = await signed_in(workbench)
    lists = workbench.whitelist
    everything = lists.state.total
    name = lists.state.rows[0].company_name
    searched: list[str] = []
    real = whitelist_module.query_whitelist

    def counted(conn, query, **kwargs):  # type: ignore[no-untyped-def]
        searched.append(query.text)
        return real(conn, query, **kwargs)

    monkeypatch.setattr(whitelist_module, "query_whitelist", counted)
    for end in range(1, len(name) + 1):  # typed one character at a time, quickly
        lists.type_search(name[:end])
        assert lists.search_box == name[:end]
        await asyncio.sleep(whitelist_module.SEARCH_PAUSE / 10)
    assert searched == []  # still typing
    await asyncio.sleep(whitelist_module.SEARCH_PAUSE * 3)

    assert searched == [name]
    assert lists.state.filters.text == name and lists.search_box == name
    assert 1 <= lists.state.total < everything

    await lists.search("")  # the clear button: at once, the whole list
    assert searched[-1] == "" and lists.search_box == ""
    assert lists.state.total == everything


async def test_the_list_offers_a_quick_log_where_the_policy_allows_one(workbench):
    workbench = await signed_in(workbench)
    lists = workbench.whitelist
    rows = lists.state.rows
    assert {r.assignee_id is None for r in rows} == {True, False}  # mine and the pool
    assert all(lists.may_log(r) for r in rows)
    other = dataclasses.replace(rows[0], assignee_id=new_id())  # another marketer's
    assert not lists.may_log(other)


async def test_a_sub_branch_manager_works_across_its_outlets(live_server, tmp_path):
    """Z1 (汇川支行: outlets A and C) opens on everything its device holds, each row named
    with its outlet; a card offers the marketers of both outlets, labelled, not B's."""
    world = build_world(live_server.engine, per_marketer=3, pool=2, subbranch=True)
    workbench = Workbench(Settings(server_url=live_server.url, data_dir=tmp_path / "device"))
    try:
        assert await workbench.login.submit("Z1", PASSWORD)
        await workbench.sync()
        a, c = world.outlet_a, world.outlet_c
        assert workbench.scope.outlets == {a, c}
        lists = workbench.whitelist.state
        assert lists.filters.scope == "all"
        ours = {p["id"] for p in world.prospects if p["outlet_id"] in (a, c)}
        assert lists.total == len(ours) and {r.id for r in lists.rows} <= ours
        names = {a: "测试汇川网点", c: "测试汇川香港路网点"}
        assert all(r.outlet_name == names[r.outlet_id] for r in lists.rows)
        assert {r.outlet_id for r in lists.rows} == {a, c}

        pooled = world.pool(c)[0]["id"]
        await workbench.card.open(pooled)
        actions = workbench.card.state.actions
        assert actions.assign and not actions.claim
        labels = {m.id: m.label for m in workbench.card.state.marketers}
        ids = {no: world.user_id(no) for no in ("M1", "M2", "M3", "M4")}
        assert set(labels) == {ids["M1"], ids["M2"], ids["M4"]}  # not M3 (outlet B)
        assert labels[ids["M4"]] == "杨帆 · 测试汇川香港路网点"

        await workbench.card.assign(ids["M1"], "就近跟进")  # C's pool → A's marketer
        await workbench.sync()
        assert workbench.state.progress.pending == 0
        with live_server.engine.connect() as conn:
            row = conn.exec_driver_sql(
                "SELECT outlet_id, assignee_id FROM prospect WHERE id = %s"
                if conn.dialect.name == "postgresql"
                else "SELECT outlet_id, assignee_id FROM prospect WHERE id = ?",
                (pooled,),
            ).one()
        assert tuple(row) == (a, ids["M1"])  # it moved to A, still in Z1's reach
        await workbench.card.open(pooled)
        assert workbench.card.state.card is not None
        assert workbench.card.state.card.assignee_id == ids["M1"]
    finally:
        workbench.close()

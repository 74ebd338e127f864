"""Closing a prospect says why, and a visit without a position fix has no position:
from the card and the log form, through the device store, to the central store and
back to the timeline (real FastAPI over HTTP, SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import select

from app.config import Settings
from app.models import FunnelEvent, MarketingLog, Prospect
from app.models.ids import new_id, utcnow
from app.models.sync import MutationKind
from app.workbench import Workbench
from tests.conftest import Device
from tests.world import PASSWORD, World, build_world

_event, _log, _prospect = FunnelEvent.__table__, MarketingLog.__table__, Prospect.__table__


@pytest.fixture
def world_and_workbench(live_server, tmp_path):  # type: ignore[no-untyped-def]
    world = build_world(live_server.engine, per_marketer=4, pool=2)
    workbench = Workbench(Settings(server_url=live_server.url, data_dir=tmp_path / "device"))
    yield world, workbench
    workbench.close()


async def _signed_in(workbench: Workbench) -> Workbench:
    assert await workbench.login.submit("M1", PASSWORD)
    await asyncio.to_thread(workbench.engine.sync_once)
    return workbench


def _on_store(server, table, **where):  # type: ignore[no-untyped-def]
    with server.engine.connect() as conn:
        stmt = select(table).where(*(table.c[k] == v for k, v in where.items()))
        return [dict(r) for r in conn.execute(stmt).mappings()]


def _outbox(workbench: Workbench) -> list[tuple[str, dict]]:
    with workbench.store.read() as conn:
        rows = conn.exec_driver_sql("SELECT kind, payload FROM outbox ORDER BY seq").all()
    return [(kind, json.loads(payload)) for kind, payload in rows]


async def test_a_prospect_is_closed_only_with_a_reason_which_reaches_the_store_and_the_timeline(
    world_and_workbench, live_server
):
    world, workbench = world_and_workbench
    workbench = await _signed_in(workbench)
    mine = world.prospects_of("M1")[0]["id"]
    cards = workbench.card
    await cards.open(mine)

    # no reason, or "other" without words: the dialog is told why, nothing is saved
    assert await cards.close("declined", None) == "funnel.reason_required"
    assert await cards.close("declined", "other", "  ") == "funnel.note_required"
    assert _outbox(workbench) == []
    assert cards.state.card is not None and cards.state.card.status == "assigned"

    assert await cards.close("declined", "other", "老板已移居外地，店铺转让") == ""
    assert cards.state.card.status == "declined"
    newest = cards.state.timeline[0]
    assert (newest.to_status, newest.pending) == ("declined", True)
    assert (newest.close_reason, newest.close_note) == ("other", "老板已移居外地，店铺转让")

    await asyncio.to_thread(workbench.engine.sync_once)
    [event] = _on_store(live_server, _event, prospect_id=mine)
    assert (event["to_status"], event["applied"]) == ("declined", True)
    assert (event["close_reason"], event["close_note"]) == ("other", "老板已移居外地，店铺转让")
    assert _on_store(live_server, _prospect, id=mine)[0]["status"] == "declined"

    await cards.open(mine)  # the event as pulled back from the store, no longer pending
    [back] = [i for i in cards.state.timeline if i.kind == "status"]
    assert (back.pending, back.applied, back.close_reason) == (False, True, "other")
    assert back.close_note == "老板已移居外地，店铺转让"


async def test_a_closing_step_is_not_a_plain_move(world_and_workbench):
    """The card sends closing statuses through the dialog; a bare move to one is refused
    on the device with the store's code, and saves nothing."""
    world, workbench = world_and_workbench
    workbench = await _signed_in(workbench)
    await workbench.card.open(world.prospects_of("M1")[1]["id"])
    await workbench.card.move("invalid")
    assert workbench.state.notice is not None
    assert workbench.state.notice.code == "funnel.reason_required"
    assert _outbox(workbench) == []
    assert await workbench.card.close("contacted", "duplicate") == "funnel.reason_not_closing"


def _move(prospect_id: str, **values: object) -> dict:
    return {
        "event_id": new_id(),
        "prospect_id": prospect_id,
        "occurred_at": str(utcnow()),
        **values,
    }


def test_the_store_refuses_a_closing_move_without_a_reason(live_server, make_device):
    """Whatever a client sends: a closing move without its reason is rejected with
    ``funnel.reason_required`` and changes nothing; with it, the reason is stored."""
    world: World = build_world(live_server.engine, per_marketer=2, pool=0)
    device: Device = make_device(live_server)
    device.login("M1", PASSWORD)
    first, second = (p["id"] for p in world.prospects_of("M1"))
    mutations = [
        (_move(first, to_status="invalid")),
        (_move(first, to_status="declined", close_reason="other")),
        (_move(first, to_status="contacted", close_reason="duplicate")),
        (_move(second, to_status="invalid", close_reason="wrong_contact", close_note="空号")),
    ]
    raw = [
        {
            "seq": seq,
            "id": new_id(),
            "kind": MutationKind.FUNNEL_MOVE,
            "payload": payload,
            "created_at": str(utcnow()),
        }
        for seq, payload in enumerate(mutations, start=1)
    ]
    results = device.client.push(device.store.device_id, raw)["results"]

    assert [(r["status"], r["code"]) for r in results] == [
        ("rejected", "funnel.reason_required"),
        ("rejected", "funnel.note_required"),
        ("rejected", "funnel.reason_not_closing"),
        ("applied", ""),
    ]
    assert results[0]["message"] == "请选择结束营销的原因"  # in words, for the rejections list
    assert _on_store(live_server, _event, prospect_id=first) == []
    assert _on_store(live_server, _prospect, id=first)[0]["status"] == "assigned"
    [event] = _on_store(live_server, _event, prospect_id=second)
    assert (event["close_reason"], event["close_note"]) == ("wrong_contact", "空号")


async def test_a_visit_without_a_fix_is_saved_with_no_position(world_and_workbench, live_server):
    """No position fix: the log has no position on the device and on the store (never the
    outlet's), and the timeline says it has none instead of a distance."""
    world, workbench = world_and_workbench
    workbench = await _signed_in(workbench)
    pid = world.prospects_of("M1")[2]["id"]
    defaults = await workbench.log.prepare(pid)
    assert defaults.channel == "visit"  # before the first log

    problems = await workbench.log.save(
        pid,
        channel="visit",
        outcome="considering",
        note="无定位测试",
        next_follow_up=defaults.next_follow_up,
        where=None,
    )
    assert problems == {}
    [(kind, payload)] = _outbox(workbench)
    assert kind == MutationKind.LOG_CREATE
    assert (payload["lat"], payload["lon"]) == (None, None)
    [item] = [i for i in workbench.card.state.timeline if i.kind == "log"]
    assert item.check_in_km is None

    await asyncio.to_thread(workbench.engine.sync_once)
    [stored] = _on_store(live_server, _log, prospect_id=pid)
    assert (stored["lat"], stored["lon"], stored["note"]) == (None, None, "无定位测试")
    assert str(stored["next_follow_up"]) == defaults.next_follow_up


async def test_the_form_starts_with_the_channel_of_my_last_log(world_and_workbench):
    world, workbench = world_and_workbench
    workbench = await _signed_in(workbench)
    first, second = (p["id"] for p in world.prospects_of("M1")[:2])
    await workbench.log.prepare(first)
    saved = await workbench.log.save(
        first, channel="phone", outcome="no_answer", note="", next_follow_up="", where=None
    )
    assert saved == {}
    assert (await workbench.log.prepare(second)).channel == "phone"

"""The workbench with live updates, against a real central store over HTTP.

A change another user makes in this user's scope reaches the device within a second,
without a tap; the stream dropping falls back to the timer with backoff, its return
syncs at once; the app coming back to the foreground syncs at once.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from sqlalchemy import text

from app.config import Settings
from app.models import User
from app.models.ids import new_id, utcnow
from app.models.sync import MutationKind, PushRequest
from app.server import live
from app.server.apply import apply_push
from app.server.db import write_session
from app.workbench import Workbench
from app.workbench.autosync import backoff
from tests.conftest import LiveServer
from tests.integration.test_background_sync import eventually, start_again, stop
from tests.integration.test_live_updates import client_of, log_visit
from tests.world import PASSWORD, World, build_world

INTERVAL = 0.3  # the backoff's first step
CAP = 1.2
PULL = 60.0  # the timed pull: never within a test
FACTOR = 4


def make_workbench(server, tmp_path, **overrides: object) -> Workbench:  # type: ignore[no-untyped-def]
    settings = Settings(
        **{  # type: ignore[arg-type]
            "server_url": server.url,
            "data_dir": tmp_path / "device",
            "sync_interval_seconds": INTERVAL,
            "sync_backoff_max_seconds": CAP,
            "pull_interval_seconds": PULL,
            "sync_debounce_seconds": 0.2,
            "live_pull_factor": FACTOR,
            **overrides,
        }
    )
    workbench = Workbench(settings)
    workbench.autosync.jitter = lambda: 1.0
    workbench.live.jitter = lambda: 1.0  # the nominal backoff: its growth is exact
    return workbench


@pytest.fixture
def world(live_server) -> World:  # type: ignore[no-untyped-def]
    return build_world(live_server.engine, per_marketer=4, pool=2)


@pytest.fixture
def workbench(live_server, world, tmp_path):  # type: ignore[no-untyped-def]
    workbench = make_workbench(live_server, tmp_path)
    yield workbench
    workbench.close()


async def signed_in(workbench: Workbench) -> None:
    await workbench.open()
    assert await workbench.login.submit("M1", PASSWORD)
    await eventually(lambda: workbench.live.state.connected, 10)
    await eventually(lambda: workbench.state.progress.last_sync_at is not None, 20)
    # the stream is up: the timed pull is only a safety net
    await eventually(lambda: workbench.autosync.state.delay == PULL * FACTOR, 10)


def visit_in_store(server, world: World, employee_no: str, prospect_id: str, note: str) -> None:  # type: ignore[no-untyped-def]
    """A visit the store applies as if pushed by ``employee_no``'s device (the store's
    HTTP side may be down)."""
    now = str(utcnow())
    body = PushRequest.model_validate(
        {
            "device_id": f"device-{new_id()}",
            "mutations": [
                {
                    "seq": 1,
                    "id": new_id(),
                    "kind": MutationKind.LOG_CREATE,
                    "created_at": now,
                    "payload": {
                        "id": new_id(),
                        "prospect_id": prospect_id,
                        "channel": "visit",
                        "occurred_at": now,
                        "outcome": "interested",
                        "note": note,
                    },
                }
            ],
        }
    )
    with write_session(server.engine) as session:
        user = session.get(User, world.user_id(employee_no))
        assert user is not None
        answer = apply_push(session, user=user, device_id=body.device_id, mutations=body.mutations)
    assert answer.results[0].status == "applied"


async def notes_on_device(workbench: Workbench, note: str) -> int:
    def count(conn) -> int:  # type: ignore[no-untyped-def]
        return int(
            conn.execute(
                text("SELECT count(*) FROM marketing_log WHERE note = :n"), {"n": note}
            ).scalar_one()
        )

    return await workbench.read(count)


async def test_a_colleagues_visit_to_a_pool_prospect_arrives_without_a_tap(
    workbench, live_server, world
):
    await signed_in(workbench)
    colleague = client_of(live_server.url, "M2")
    pool = world.pool(world.outlet_a)[0]["id"]

    written = time.monotonic()
    await asyncio.to_thread(log_visit, colleague, pool, "同事上门走访")
    took = await eventually(lambda: notes_on_device(workbench, "同事上门走访"), 5)
    assert took < 1.0, f"{took:.2f} s from the write to the device"
    assert time.monotonic() - written < 1.5
    assert workbench.live.state.pokes >= 1


async def test_another_outlets_visit_is_not_pulled(workbench, live_server, world):
    await signed_in(workbench)
    synced_at = workbench.state.progress.last_sync_at
    outsider = client_of(live_server.url, "M3")
    await asyncio.to_thread(log_visit, outsider, world.prospects_of("M3")[0]["id"])
    await asyncio.sleep(1.5)
    assert workbench.live.state.pokes == 0
    assert workbench.state.progress.last_sync_at == synced_at  # no pull for nothing


async def test_the_stream_drops_backs_off_and_its_return_syncs_at_once(
    workbench, live_server, world
):
    await signed_in(workbench)
    live = workbench.live.state

    stop(live_server)
    await eventually(lambda: not live.connected, 10)
    # the timer takes over again: the next pull no later than the normal interval
    assert workbench.autosync.state.delay <= PULL
    delays: list[float] = []

    def failed_again() -> bool:
        if live.failures > len(delays):
            delays.append(live.delay)
        return live.failures >= 3

    await eventually(failed_again, 15)
    assert delays[:3] == [backoff(n, base=INTERVAL, cap=CAP, jitter=1.0) for n in range(1, 4)]

    # while the device is cut off, a colleague's visit goes into the store (no stream is
    # open to poke); then the store comes back
    visit_in_store(live_server, world, "M2", world.pool(world.outlet_a)[0]["id"], "断线期间")
    synced_before = workbench.state.progress.last_sync_at
    start_again(live_server)
    # at most one capped wait, then the stream is back and a sync runs at once
    took = await eventually(lambda: notes_on_device(workbench, "断线期间"), CAP + 3)
    assert took < CAP + 2
    assert live.connected and live.failures == 0
    await eventually(lambda: workbench.state.progress.last_sync_at != synced_before, 5)


async def test_coming_back_to_the_foreground_syncs_at_once(live_server, world, tmp_path):
    """Without a stream (a phone's app suspended): the change waits for the timer, until
    the app is shown again."""
    workbench = make_workbench(live_server, tmp_path, live_updates=False)
    try:
        await workbench.open()
        assert await workbench.login.submit("M1", PASSWORD)
        await eventually(lambda: workbench.autosync.state.delay == PULL, 20)
        colleague = client_of(live_server.url, "M2")
        await asyncio.to_thread(
            log_visit, colleague, world.pool(world.outlet_a)[0]["id"], "切回前台"
        )
        await asyncio.sleep(0.5)
        assert await notes_on_device(workbench, "切回前台") == 0  # nothing told the device

        workbench.app_state_changed("resume")  # what page.on_app_lifecycle_state_change calls
        took = await eventually(lambda: notes_on_device(workbench, "切回前台"), 5)
        assert took < 1.0
    finally:
        workbench.close()


async def test_signing_out_closes_the_stream(workbench, live_server):
    await signed_in(workbench)
    assert workbench.live.running
    assert await workbench.logout()
    assert not workbench.live.running and not workbench.live.state.connected
    await asyncio.sleep(0.3)
    assert live_server.app.state.live_streams.open == 0  # the store let it go
    assert len(live.hub_for(live_server.engine)) == 0  # and pokes nobody for it


@pytest.fixture
def full_server(store_settings: Settings):  # type: ignore[no-untyped-def]
    """A store that takes no more streams: each is answered 429, Retry-After 7 s."""
    settings = store_settings.model_copy(
        update={"live_max_streams": 0, "live_busy_retry_seconds": 7}
    )
    with LiveServer(settings) as server:
        yield server


async def test_a_full_store_is_left_alone_for_as_long_as_it_asks(full_server, tmp_path):
    build_world(full_server.engine, per_marketer=2, pool=1)
    workbench = make_workbench(full_server, tmp_path)
    try:
        await workbench.open()
        assert await workbench.login.submit("M1", PASSWORD)
        await eventually(lambda: workbench.live.state.failures >= 1, 10)
        assert workbench.live.state.delay == 7  # not the backoff's 0.3 s
        assert not workbench.live.state.connected
        await asyncio.sleep(1)
        assert workbench.live.state.failures == 1  # no second knock meanwhile
        # the timer still syncs: the first sync after sign-in went through
        await eventually(lambda: workbench.state.progress.last_sync_at is not None, 10)
        await eventually(lambda: workbench.autosync.state.delay == PULL, 5)  # not relaxed
    finally:
        workbench.close()


class HeldPulls:
    """The device's pull requests, counted; the next one held at the door until
    ``release`` (the store is slow to answer): pokes then arrive while the sync runs."""

    def __init__(self, workbench: Workbench, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.gate.set()
        real = workbench.engine.client.pull

        def pull(cursor, limit=None):  # type: ignore[no-untyped-def]
            self.calls += 1
            self.entered.set()
            self.gate.wait(10)
            return real(cursor, limit)

        monkeypatch.setattr(workbench.engine.client, "pull", pull)

    def hold(self) -> None:
        self.entered.clear()
        self.gate.clear()

    def release(self) -> None:
        self.gate.set()


async def colleague_visits(server, world: World, notes: list[str], workbench: Workbench) -> None:  # type: ignore[no-untyped-def]
    """A colleague's visits to the outlet's pool, each poking the device on its own (one
    coalescing window apart)."""
    colleague = client_of(server.url, "M2")
    pool = world.pool(world.outlet_a)[0]["id"]
    for note in notes:
        before = workbench.live.state.pokes
        await asyncio.to_thread(log_visit, colleague, pool, note)
        await eventually(lambda before=before: workbench.live.state.pokes > before, 5)


async def test_pokes_while_a_sync_pulls_bring_exactly_one_more_sync(
    workbench, live_server, world, monkeypatch
):
    await signed_in(workbench)
    pulls = HeldPulls(workbench, monkeypatch)
    began = workbench.engine.pulls_begun

    pulls.hold()
    await colleague_visits(live_server, world, ["第一次"], workbench)  # a poke: a sync
    await eventually(pulls.entered.is_set, 5)  # ... whose pull is at the store's door
    notes = [f"拉取途中 {n}" for n in range(5)]
    await colleague_visits(live_server, world, notes, workbench)  # five more pokes
    pulls.release()

    for note in ["第一次", *notes]:
        await eventually(lambda note=note: notes_on_device(workbench, note), 5)
    await eventually(lambda: workbench.autosync.state.delay == PULL * FACTOR, 5)
    await asyncio.sleep(1.0)  # nothing more comes
    assert workbench.engine.pulls_begun - began == 2  # the poked sync and ONE follow-up
    assert pulls.calls == 2
    assert not workbench.engine.running


async def test_pokes_before_a_syncs_pull_begins_need_no_second_sync(
    workbench, live_server, world, monkeypatch
):
    await signed_in(workbench)
    pulls = HeldPulls(workbench, monkeypatch)
    began = workbench.engine.pulls_begun
    # a sync held before its pull begins (the device counting its outbox)
    gate, entered = threading.Event(), threading.Event()
    real_pending = workbench.engine._pending

    def pending() -> int:
        entered.set()
        gate.wait(10)
        return real_pending()

    monkeypatch.setattr(workbench.engine, "_pending", pending)
    tapped = asyncio.create_task(workbench.sync())
    await eventually(entered.is_set, 5)
    notes = [f"拉取之前 {n}" for n in range(3)]
    await colleague_visits(live_server, world, notes, workbench)
    gate.set()
    await tapped

    for note in notes:  # the sync's pull, begun after the pokes, read every visit
        assert await notes_on_device(workbench, note) == 1
    await asyncio.sleep(1.0)
    assert workbench.engine.pulls_begun - began == 1  # and nothing followed it
    assert pulls.calls == 1


async def test_a_page_gone_away_lets_its_stream_go_and_coming_back_opens_it(
    workbench, live_server, world
):
    """A closed browser tab: Flet keeps its session an hour in case it comes back; the
    store must not keep poking it, nor the session pull on every poke for nobody."""
    await signed_in(workbench)
    assert live_server.app.state.live_streams.open == 1
    pulls_before = workbench.engine.pulls_begun

    workbench.page_disconnected()  # what page.on_disconnect calls
    took = await eventually(lambda: live_server.app.state.live_streams.open == 0, 3)
    assert took < 2, f"the store held the stream {took:.1f} s"
    assert len(live.hub_for(live_server.engine)) == 0
    assert workbench.autosync.state.delay <= PULL  # the timer alone again: not relaxed

    await colleague_write(live_server, world, "无人在看")
    await asyncio.sleep(1.0)
    assert workbench.engine.pulls_begun == pulls_before  # no poke came, no pull for nobody

    workbench.page_reconnected()  # page.on_connect: back, the stream again and a sync
    await eventually(lambda: workbench.live.state.connected, 5)
    await eventually(lambda: notes_on_device(workbench, "无人在看"), 5)
    assert live_server.app.state.live_streams.open == 1


async def colleague_write(server, world: World, note: str) -> None:  # type: ignore[no-untyped-def]
    colleague = client_of(server.url, "M2")
    await asyncio.to_thread(log_visit, colleague, world.pool(world.outlet_a)[0]["id"], note)

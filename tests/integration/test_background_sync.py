"""Automatic sync against a real central store over HTTP: nothing waits for a tap.

The store is stopped and started again on its port (a marketer's network going and
coming back); the workbench runs its background loop with the intervals shortened.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable

import pytest
import uvicorn
from sqlalchemy import text

from app.config import Settings
from app.workbench import Workbench
from app.workbench.autosync import backoff
from tests.conftest import LiveServer
from tests.world import PASSWORD, build_world

INTERVAL = 0.3  # with changes waiting, and the backoff's first step
CAP = 2.4
PULL = 60.0  # nothing waiting: a pull this seldom (never within a test)


@pytest.fixture
def workbench(live_server, tmp_path):  # type: ignore[no-untyped-def]
    build_world(live_server.engine, per_marketer=4, pool=2)
    settings = Settings(
        server_url=live_server.url,
        data_dir=tmp_path / "device",
        sync_interval_seconds=INTERVAL,
        sync_backoff_max_seconds=CAP,
        pull_interval_seconds=PULL,
        sync_debounce_seconds=0.2,
        live_updates=False,  # the timer alone here; with the event stream: test_live_device.py
    )
    workbench = Workbench(settings)
    workbench.autosync.jitter = lambda: 1.0  # the nominal backoff: its growth is exact
    yield workbench
    workbench.close()


def stop(server: LiveServer) -> None:
    """The store goes away (its port refuses connections)."""
    server.server.should_exit = True
    server.thread.join(10)


def start_again(server: LiveServer) -> None:
    """The store comes back on the same address."""
    config = uvicorn.Config(
        server.app,
        host="127.0.0.1",
        port=server.port,
        log_level="warning",
        timeout_graceful_shutdown=1,  # the device's event stream ends with the store
    )
    server.server = uvicorn.Server(config)
    server.thread = threading.Thread(target=server.server.run, daemon=True)
    server.thread.start()
    deadline = time.monotonic() + 20
    while not server.server.started:
        assert time.monotonic() < deadline, "the store did not start again"
        time.sleep(0.02)


async def eventually(check: Callable[[], bool | Awaitable[bool]], timeout: float) -> float:
    """Seconds until ``check`` holds; fails after ``timeout``."""
    started = time.monotonic()
    while True:
        result = check()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return time.monotonic() - started
        assert time.monotonic() - started < timeout, f"not within {timeout} s"
        await asyncio.sleep(0.05)


async def signed_in(workbench: Workbench) -> None:
    await workbench.open()  # the app's start: the background loop runs from sign-in on
    assert await workbench.login.submit("M1", PASSWORD)
    await eventually(lambda: workbench.state.progress.last_sync_at is not None, 20)
    # the first sync settled: nothing waits, so the next is the slow pull
    await eventually(lambda: workbench.autosync.state.delay == PULL, 20)
    await workbench.whitelist.refresh()


async def save_visit(workbench: Workbench, note: str) -> None:
    mine = next(
        r for r in workbench.whitelist.state.rows if r.assignee_id == workbench.scope.user_id
    )
    problems = await workbench.log.save(
        mine.id, channel="visit", outcome="interested", note=note, next_follow_up="", where=None
    )
    assert problems == {}


def logs_in_store(server: LiveServer, note: str) -> int:
    with server.engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM marketing_log WHERE note = :n"), {"n": note}
            ).scalar_one()
        )


async def test_a_visit_logged_online_uploads_without_a_tap(workbench, live_server):
    await signed_in(workbench)

    await save_visit(workbench, "在线保存，自动上传")
    assert workbench.state.progress.pending == 1

    # a few seconds' debounce, far sooner than the pull timer
    took = await eventually(lambda: logs_in_store(live_server, "在线保存，自动上传") == 1, 5)
    assert took < 3
    await eventually(lambda: workbench.state.progress.pending == 0, 5)


async def test_a_visit_saved_while_the_store_is_down_arrives_when_it_is_back(
    workbench, live_server
):
    """No tap anywhere: the failures back off, probes find the store again, the log goes up,
    and the schedule is back to normal."""
    await signed_in(workbench)
    auto = workbench.autosync.state

    stop(live_server)
    await save_visit(workbench, "断网时保存的拜访")
    assert workbench.state.progress.pending == 1

    # the debounced sync fails, then each probe fails: the wait doubles every time
    delays: list[float] = []

    def failed_again() -> bool:
        if auto.failures > len(delays):
            delays.append(auto.delay)
        return auto.failures >= 4

    await eventually(failed_again, 15)
    assert delays[:4] == [
        backoff(n, base=INTERVAL, cap=CAP, jitter=1.0) for n in range(1, 5)
    ]  # 0.3, 0.6, 1.2, 2.4 s
    assert delays[3] == 4 * delays[1]
    progress = workbench.state.progress
    assert progress.error_code == "sync.network"  # the bar says why
    assert progress.pending == 1  # and what waits
    assert auto.retrying and auto.seconds_left is not None

    start_again(live_server)
    # at most one capped wait, then the probe answers and the sync runs at once
    await eventually(lambda: logs_in_store(live_server, "断网时保存的拜访") == 1, CAP + 8)
    await eventually(lambda: workbench.state.progress.pending == 0, 5)
    await eventually(lambda: auto.failures == 0, 5)  # the success settles the schedule

    assert workbench.state.progress.error_code == ""
    assert not auto.retrying and auto.seconds_left is None
    assert auto.delay == PULL  # the interval is reset: nothing waits, so the slow pull


async def test_a_tap_on_sync_runs_at_once_and_starts_the_backoff_over(workbench, live_server):
    await signed_in(workbench)
    auto = workbench.autosync.state
    stop(live_server)
    await save_visit(workbench, "点同步")
    await eventually(lambda: auto.failures == 3, 15)
    assert auto.delay == backoff(3, base=INTERVAL, cap=CAP)

    progress = await workbench.sync()  # the tap: it fails too, but as the first failure

    assert progress is not None and progress.error_code == "sync.network"
    assert auto.failures == 1
    assert auto.delay == backoff(1, base=INTERVAL, cap=CAP)

    start_again(live_server)
    progress = await workbench.sync()
    assert progress is not None and progress.error_code == "" and progress.pending == 0
    assert logs_in_store(live_server, "点同步") == 1
    assert auto.failures == 0 and auto.delay == PULL


async def test_no_automatic_sync_after_logging_out(workbench, live_server):
    await signed_in(workbench)
    assert workbench.autosync.running
    assert await workbench.logout()
    assert not workbench.autosync.running
    assert workbench.autosync.state.next_at is None


def test_backoff_doubles_up_to_its_cap_and_jitters_below_it():
    assert [backoff(n, base=30, cap=300) for n in range(1, 7)] == [30, 60, 120, 240, 300, 300]
    assert backoff(2, base=30, cap=300, jitter=0.0) == 30  # the jitter keeps the upper half
    assert backoff(0, base=30, cap=300) == 30

"""The herd at the door, over real HTTP: a city's devices starting at nine.

- Admission control: past ``sync_max_in_flight`` pulls in one process the store answers
  429 with ``Retry-After`` and the wait in words, at once; a device so refused waits and
  completes its first sync, losing nothing.
- The connection budget: a request that finds no database connection free within
  ``db_pool_timeout`` is told to come back (429), not answered 500.
- Sign-in: 200 people signing in at once do not stall the rest of the store (the
  password checks queue in threads of their own).
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import httpx
import pytest
from sqlalchemy import text

from app.config import Settings
from app.models.ids import new_id
from app.server.changes import bulk_insert
from app.server.db import write_session
from app.sync.busy import BusyBackoff, Patience
from app.sync.client import SyncClient
from app.sync.session import SignInError, sign_in
from app.sync.state import SyncPhase, SyncProgress
from app.sync.store import DeviceStore
from tests.conftest import LiveServer
from tests.integration.conftest import PROTOCOL, bearer
from tests.world import _HASH, PASSWORD, build_world

T = TypeVar("T")
# the tests that hold PostgreSQL's own mechanisms (its connection budget, its row locks)
POSTGRES_ONLY = pytest.mark.parametrize(
    "store_settings", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


@pytest.fixture
def gated(settings: Settings) -> Iterator[LiveServer]:
    """A store that serves one pull at a time, queues none, asks the others back in a
    second."""
    tight = settings.model_copy(
        update={"sync_max_in_flight": 1, "sync_queue": 0, "busy_retry_seconds": 1}
    )
    with LiveServer(tight) as server:
        yield server


def test_a_pull_past_the_limit_is_told_in_words_when_to_come_back(gated):
    build_world(gated.engine)
    gate = gated.app.state.sync_gate
    with httpx.Client(base_url=gated.url, headers=PROTOCOL, timeout=30) as http:
        me = bearer(http, "M1")
        place = on_loop(gated, gate.enter)  # a pull in flight
        try:
            refused = http.get("/sync/pull", headers=me)
            checksum = http.get("/sync/checksum", params={"cursor": "x"}, headers=me)
            english = http.get("/sync/pull", headers={**me, "Accept-Language": "en"})
        finally:
            on_loop(gated, place.free)
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "1"
        assert refused.json() == {"code": "server.busy", "message": "中心库繁忙，请 1 秒后再试"}
        assert checksum.status_code == 429 and english.status_code == 429
        assert gate.refused == 3
        # the place given back, the same pull goes through
        assert http.get("/sync/pull", headers=me).status_code == 200
        # a refused token, a damaged cursor: each gives its place back too
        assert http.get("/sync/pull", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert http.get("/sync/pull", params={"cursor": "x"}, headers=me).status_code == 409
        assert gate.open == 0
        spec = http.get("/openapi.json").json()
        assert "429" in spec["paths"]["/sync/pull"]["get"]["responses"]
        assert "429" in spec["paths"]["/sync/checksum"]["get"]["responses"]


@pytest.fixture
def queueing(settings: Settings) -> Iterator[LiveServer]:
    """One pull at a time, one more waiting up to a second and a half."""
    update = {"sync_max_in_flight": 1, "sync_queue": 1, "sync_queue_seconds": 1.5}
    with LiveServer(settings.model_copy(update=update)) as server:
        yield server


def test_a_pull_waits_its_turn_in_a_short_queue_and_past_it_is_refused(queueing):
    build_world(queueing.engine)
    gate = queueing.app.state.sync_gate
    with httpx.Client(base_url=queueing.url, headers=PROTOCOL, timeout=30) as http:
        me = bearer(http, "M1")
        with ThreadPoolExecutor(2) as pool:
            place = on_loop(queueing, gate.enter)  # a pull in flight
            queued = pool.submit(http.get, "/sync/pull", headers=me)
            until(lambda: gate.waiting == 1, "the second pull waits")
            started = time.monotonic()
            refused = http.get("/sync/pull", headers=me)  # the queue is full: at once
            assert time.monotonic() - started < 1
            assert refused.status_code == 429 and refused.json()["code"] == "server.busy"
            on_loop(queueing, place.free)
            assert queued.result(10).status_code == 200  # it had the next place
            place = on_loop(queueing, gate.enter)
            started = time.monotonic()
            late = http.get("/sync/pull", headers=me)  # waits its 1.5 s, then is refused
            waited = time.monotonic() - started
            on_loop(queueing, place.free)
        assert late.status_code == 429 and 1.4 < waited < 5
        until(lambda: gate.open == 0 and gate.waiting == 0, "every place given back")
        assert http.get("/sync/pull", headers=me).status_code == 200


# holding a pull in flight takes a table lock on SQLite: PostgreSQL only
@POSTGRES_ONLY
def test_a_second_first_sync_is_refused_then_completes(gated, make_device, settings):
    """Two marketers of one outlet start their first sync together; the store serves one
    pull at a time. The second is refused (429, Retry-After), waits, and both end with
    their whole scope."""
    world = build_world(gated.engine)
    first, second = make_device(gated, "first"), make_device(gated, "second")
    first.login("M1", PASSWORD)
    second.login("M2", PASSWORD)
    seen: list[SyncProgress] = []
    second.engine.subscribe(seen.append)
    gate = gated.app.state.sync_gate

    with gated.engine.connect() as blocker, ThreadPoolExecutor(2) as pool:
        # the first device's pull is in flight: it waits on this lock while holding its place
        blocker.execute(text("LOCK TABLE prospect IN ACCESS EXCLUSIVE MODE"))
        first_sync = pool.submit(first.sync)
        until(lambda: gate.open == 1, "the first pull is in")
        second_sync = pool.submit(second.sync)
        until(lambda: any(p.phase == SyncPhase.WAITING for p in seen), "the second waits")
        with httpx.Client(base_url=gated.url, headers=PROTOCOL, timeout=30) as http:
            refused = http.get("/sync/pull", headers=bearer(http, "M3"))
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
        blocker.rollback()  # the first pull goes on
        done_first, done_second = first_sync.result(60), second_sync.result(60)

    assert done_first.phase == SyncPhase.DONE and not done_first.error_code
    assert done_second.phase == SyncPhase.DONE and not done_second.error_code
    assert gate.refused >= 2
    waiting = [p for p in seen if p.phase == SyncPhase.WAITING]
    assert waiting[0].wait_seconds >= 1 and not any(p.error_code for p in waiting)
    pool_a = {p["id"] for p in world.pool(world.outlet_a)}
    assert first.ids() == {p["id"] for p in world.prospects_of("M1")} | pool_a
    assert second.ids() == {p["id"] for p in world.prospects_of("M2")} | pool_a
    assert second.engine.progress.snapshot_complete


@pytest.fixture
def one_connection(settings: Settings) -> Iterator[LiveServer]:
    """A store whose process may hold one database connection, waited for half a second."""
    budget = {"db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout": 0.5}
    with LiveServer(settings.model_copy(update=budget)) as server:
        yield server


@POSTGRES_ONLY  # the connection budget is PostgreSQL's
def test_no_connection_free_in_time_is_busy_not_an_error(one_connection, settings):
    with httpx.Client(base_url=one_connection.url, headers=PROTOCOL, timeout=30) as http:
        with one_connection.engine.connect():  # the process's only connection, taken
            answer = http.get("/health")
        assert answer.status_code == 429
        assert answer.headers["Retry-After"] == "2"
        assert answer.json()["code"] == "server.busy"
        assert http.get("/health").status_code == 200  # given back: served again


# -- sign-in ----------------------------------------------------------------------------


SIGN_INS = 200


@POSTGRES_ONLY  # a herd's sign-in: the production store
async def test_two_hundred_sign_ins_at_once_do_not_stall_the_store(server, settings):
    world = build_world(server.engine)
    crowd = [
        dict(
            id=new_id(),
            employee_no=f"H{i:04d}",
            name=f"营销员{i}",
            role="marketer",
            outlet_id=world.outlet_a,
            active=True,
            password_hash=_HASH,
        )
        for i in range(SIGN_INS)
    ]
    with write_session(server.engine) as session:
        bulk_insert(session, "user", crowd)

    limits = httpx.Limits(max_connections=SIGN_INS + 10, max_keepalive_connections=0)
    async with httpx.AsyncClient(
        base_url=server.url, headers=PROTOCOL, timeout=120, limits=limits
    ) as http:
        health: list[float] = []
        signing_in = threading.Event()

        busy: list[str] = []

        async def sign_in(user: dict) -> int:
            """As the device signs in: a busy answer is waited out and asked again."""
            body = {"employee_no": user["employee_no"], "password": PASSWORD}
            while True:
                answer = await http.post("/auth/login", json=body)
                if answer.status_code != 429:
                    return answer.status_code
                busy.append(f"{answer.json()['code']} {answer.headers['Retry-After']}")
                await asyncio.sleep(float(answer.headers["Retry-After"]) * (1 + random.random()))

        async def watch() -> None:
            while not signing_in.is_set():
                await asyncio.sleep(0.01)
            while signing_in.is_set():
                started = time.perf_counter()
                answer = await http.get("/health")
                assert answer.status_code == 200
                health.append(time.perf_counter() - started)
                await asyncio.sleep(0.05)

        watcher = asyncio.create_task(watch())
        started = time.perf_counter()
        signing_in.set()
        statuses = await asyncio.gather(*(sign_in(u) for u in crowd))
        took = time.perf_counter() - started
        signing_in.clear()
        await watcher

    health.sort()
    median = health[len(health) // 2] if health else took
    print(
        f"\n{SIGN_INS} sign-ins in {took:.2f} s; /health during them: {len(health)} asks,"
        f" median {median * 1000:.0f} ms, max {max(health, default=took) * 1000:.0f} ms"
    )
    assert statuses == [200] * SIGN_INS
    # past the queue (login_queue) the store said when to come back, at once
    assert set(busy) <= {f"server.busy {settings.busy_retry_seconds}"}
    # each sign-in queued in the request threads, /health waited behind them all (before:
    # 2 answers in 12 s); now it answers at once, however many are signing in. Relative to
    # how long the crowd took: this machine's load slows both alike.
    assert len(health) >= 10, f"/health answered only {len(health)} times in {took:.1f} s"
    assert median < took / 20 and health[-1] < took / 3, f"/health waited {health[-1]:.2f} s"


@pytest.fixture
def one_sign_in(settings: Settings) -> Iterator[LiveServer]:
    """A store that checks one password at a time, queues none, asks the others back in a
    second."""
    update = {"login_concurrency": 1, "login_queue": 0, "busy_retry_seconds": 1}
    with LiveServer(settings.model_copy(update=update)) as server:
        yield server


def test_a_sign_in_past_the_queue_is_told_when_to_come_back_and_the_device_waits(
    one_sign_in, tmp_path
):
    build_world(one_sign_in.engine)
    gate = one_sign_in.app.state.signin_gate
    with httpx.Client(base_url=one_sign_in.url, headers=PROTOCOL, timeout=30) as http:
        place = on_loop(one_sign_in, gate.enter)  # a password being checked
        try:
            body = {"employee_no": "M1", "password": PASSWORD}
            refused = http.post("/auth/login", json=body)
        finally:
            on_loop(one_sign_in, place.free)
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "1"
        assert refused.json() == {"code": "server.busy", "message": "中心库繁忙，请 1 秒后再试"}
        assert http.post("/auth/login", json=body).status_code == 200  # its turn now
        assert (
            "429" in http.get("/openapi.json").json()["paths"]["/auth/login"]["post"]["responses"]
        )
    # the device: refused while the place is taken, it waits (the place is given back
    # meanwhile) and signs in; refused past its waits, it says so in words
    store = DeviceStore(tmp_path / "device.sqlite3")
    client = SyncClient.connect(one_sign_in.url)
    waits: list[float] = []

    def give_back(seconds: float) -> bool:
        waits.append(seconds)
        on_loop(one_sign_in, place.free)
        return False

    place = on_loop(one_sign_in, gate.enter)
    patience = Patience(BusyBackoff(jitter=lambda: 0.0), max_waits=3, sleep=give_back)
    session = sign_in(store, client, "M1", PASSWORD, offline_hours=72, patience=patience)
    assert session.employee_no == "M1" and not session.offline
    assert sum(waits) == 1.0  # the Retry-After, once
    place = on_loop(one_sign_in, gate.enter)
    try:
        never = Patience(BusyBackoff(jitter=lambda: 0.0), max_waits=2, sleep=lambda s: False)
        with pytest.raises(SignInError) as refused_again:
            sign_in(store, client, "M1", PASSWORD, offline_hours=72, patience=never)
    finally:
        on_loop(one_sign_in, place.free)
    assert refused_again.value.code == "server.busy"
    assert gate.open == 0
    client.close()
    store.close()


def on_loop(server: LiveServer, call: Callable[[], T]) -> T:
    """``call()`` on the store's event loop, where its gates' places are granted."""
    loop = server.server.servers[0].get_loop()

    async def run() -> T:
        return call()

    return asyncio.run_coroutine_threadsafe(run(), loop).result(5)


def until(check, what: str, timeout: float = 20) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.01)

"""Live updates over real HTTP: a write pokes the devices whose scope it touched, at once.

Each test opens the store's event stream (``GET /sync/events``) with the device's own
sync client, as the workbench does, on SQLite and on PostgreSQL; other users write
through ``/sync/push`` as their devices would. Across replicas: two ``main.py serve``
processes on one PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from app.config import Settings
from app.models.ids import new_id, utcnow
from app.models.sync import PROTOCOL_HEADER, PROTOCOL_VERSION, MutationKind
from app.sync.client import SyncClient
from app.sync.errors import AuthError, ProtocolTooOld, StoreBusy, SyncError
from app.sync.events import StoreEvent, listen
from tests.conftest import (
    PG_URL,
    TEST_SECRET,
    LiveServer,
    free_port,
    fresh_postgres,
    need,
    postgres_available,
)
from tests.world import PASSWORD, World, build_world

ROOT = Path(__file__).resolve().parents[2]
POKE_WITHIN = 1.0  # seconds: the target for a change to reach an online device
QUIET = 1.5  # seconds a stream is watched for a poke that must not come


def client_of(url: str, employee_no: str) -> SyncClient:
    client = SyncClient(httpx.Client(base_url=url, timeout=30))
    client.login(employee_no, PASSWORD)
    return client


class Stream:
    """One device's open event stream, its events collected as they arrive."""

    def __init__(self, client: SyncClient) -> None:
        self.client = client
        self.events: list[tuple[float, StoreEvent]] = []
        self.error: SyncError | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Stream:
        self._task = asyncio.create_task(self._read())
        await self.wait_for(lambda: bool(self.events) or self.error is not None, 10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _read(self) -> None:
        try:
            async for event in listen(self.client, read_timeout=30):
                self.events.append((time.monotonic(), event))
        except SyncError as exc:
            self.error = exc

    def pokes(self, after: float = 0.0) -> list[tuple[float, StoreEvent]]:
        return [(t, e) for t, e in self.events if e.kind == "poke" and t >= after]

    async def wait_for(self, check, timeout: float) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while not check():
            assert time.monotonic() < deadline, f"not within {timeout} s"
            await asyncio.sleep(0.01)


def log_visit(client: SyncClient, prospect_id: str, note: str = "电话回访") -> None:
    """A marketing log pushed by ``client``'s device, as its outbox would send it."""
    now = str(utcnow())
    answer = client.push(
        f"device-{new_id()}",
        [
            {
                "seq": 1,
                "id": new_id(),
                "kind": MutationKind.LOG_CREATE,
                "created_at": now,
                "payload": {
                    "id": new_id(),
                    "prospect_id": prospect_id,
                    "channel": "phone",
                    "occurred_at": now,
                    "outcome": "no_answer",
                    "note": note,
                },
            }
        ],
    )
    assert answer["results"][0]["status"] == "applied", answer


@pytest.fixture
def world(live_server: LiveServer) -> World:
    return build_world(live_server.engine)


async def test_a_write_in_my_scope_pokes_me_within_a_second(live_server, world):
    me = client_of(live_server.url, "M1")
    colleague = client_of(live_server.url, "M2")  # same outlet: the pool is shared
    async with Stream(me) as stream:
        hello = stream.events[0][1]
        assert hello.kind == "hello" and hello.high is not None and hello.high > 0

        written = time.monotonic()
        await asyncio.to_thread(log_visit, colleague, world.pool(world.outlet_a)[0]["id"])
        await stream.wait_for(lambda: stream.pokes(), POKE_WITHIN)
        arrived, poke = stream.pokes()[0]
        assert arrived - written < POKE_WITHIN
        assert poke.high is not None and poke.high > 0  # the written branch's newest seq


async def test_a_write_outside_my_scope_pokes_nobody_of_mine(live_server, world):
    """Another outlet's write, and a colleague's own (assigned) prospect: no poke for a
    marketer; the colleague's manager is poked for the latter."""
    me = client_of(live_server.url, "M1")
    manager = client_of(live_server.url, "G1")
    other_outlet = client_of(live_server.url, "M3")
    colleague = client_of(live_server.url, "M2")
    async with Stream(me) as mine, Stream(manager) as managers:
        await asyncio.to_thread(log_visit, other_outlet, world.prospects_of("M3")[0]["id"])
        await asyncio.to_thread(log_visit, colleague, world.prospects_of("M2")[0]["id"])
        await managers.wait_for(lambda: managers.pokes(), POKE_WITHIN)
        await asyncio.sleep(QUIET)
        assert mine.pokes() == []
        assert len(managers.pokes()) == 1  # only outlet A's write


async def test_a_poke_carries_no_data(live_server, world):
    """On the wire: the event names the new high seq and nothing of the row."""
    me = client_of(live_server.url, "M1")
    headers = {PROTOCOL_HEADER: str(PROTOCOL_VERSION), "Authorization": f"Bearer {me.token}"}
    note = "客户要求下周再联系"
    seen: list[str] = []
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        async with http.stream("GET", "/sync/events", headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = response.aiter_lines()
            while not any(line.startswith("event: hello") for line in seen):
                seen.append(await anext(lines))
            writer = client_of(live_server.url, "M1")
            prospect = world.prospects_of("M1")[0]["id"]
            await asyncio.to_thread(log_visit, writer, prospect, note)
            while not any(line.startswith("event: poke") for line in seen):
                seen.append(await asyncio.wait_for(anext(lines), POKE_WITHIN))
            seen.append(await anext(lines))  # its data line
    assert any(line.startswith("retry: ") for line in seen)  # the browser's reconnect hint
    data = [json.loads(line[6:]) for line in seen if line.startswith("data: ")]
    assert list(data[-1]) == ["high"] and isinstance(data[-1]["high"], int)
    wire = "\n".join(seen)
    assert note not in wire and prospect not in wire


async def test_pokes_are_coalesced(live_server, world):
    """Many writes in a burst: a handful of pokes, the last with the newest seq."""
    me = client_of(live_server.url, "M1")
    writer = client_of(live_server.url, "M2")
    pool = world.pool(world.outlet_a)[0]["id"]
    async with Stream(me) as stream:

        def burst() -> None:
            for i in range(12):
                log_visit(writer, pool, f"第{i}次")

        await asyncio.to_thread(burst)
        with live_server.engine.connect() as conn:
            high = conn.exec_driver_sql("SELECT max(seq) FROM change_log").scalar_one()
        await stream.wait_for(lambda: any(e.high == high for _, e in stream.pokes()), 2)
        times = [t for t, _ in stream.pokes()]
        assert len(times) < 12
        assert all(b - a >= 0.15 for a, b in zip(times, times[1:], strict=False))


async def test_no_stream_without_a_valid_token_or_protocol(live_server, world):
    anonymous = SyncClient(httpx.Client(base_url=live_server.url))
    with pytest.raises(AuthError):
        await anext(aiter(listen(anonymous, read_timeout=5)))
    forged = SyncClient(httpx.Client(base_url=live_server.url), token="not.a.token")
    with pytest.raises(AuthError):
        await anext(aiter(listen(forged, read_timeout=5)))
    old = client_of(live_server.url, "M1")
    old.protocol = 0
    with pytest.raises(ProtocolTooOld):
        await anext(aiter(listen(old, read_timeout=5)))


@pytest.fixture
def rechecking_server(store_settings: Settings) -> Iterator[LiveServer]:
    settings = store_settings.model_copy(update={"live_recheck_seconds": 0.3})
    with LiveServer(settings) as server:
        yield server


async def test_signing_out_elsewhere_ends_the_stream(rechecking_server):
    build_world(rechecking_server.engine)
    me = client_of(rechecking_server.url, "M1")
    async with Stream(me) as stream:
        await asyncio.to_thread(me.logout)  # the token is revoked at the store
        await stream.wait_for(lambda: stream.error is not None, 3)
        assert isinstance(stream.error, AuthError)
        assert stream.error.code == "auth.token_invalid"


async def test_a_disabled_account_loses_its_stream(rechecking_server):
    world = build_world(rechecking_server.engine)
    me = client_of(rechecking_server.url, "M1")
    async with Stream(me) as stream:
        with rechecking_server.engine.begin() as conn:
            conn.execute(
                text('UPDATE "user" SET active = :no WHERE id = :id'),
                {"no": False, "id": world.user_id("M1")},
            )
        await stream.wait_for(lambda: stream.error is not None, 3)
        assert isinstance(stream.error, AuthError)


@pytest.fixture
def crowded_server(store_settings: Settings) -> Iterator[LiveServer]:
    settings = store_settings.model_copy(
        update={"live_max_streams": 2, "live_busy_retry_seconds": 7}
    )
    with LiveServer(settings) as server:
        yield server


async def test_streams_beyond_the_cap_are_told_when_to_come_back(crowded_server):
    build_world(crowded_server.engine)
    clients = [client_of(crowded_server.url, no) for no in ("M1", "M2", "M3")]
    async with Stream(clients[0]), Stream(clients[1]):
        headers = {
            PROTOCOL_HEADER: str(PROTOCOL_VERSION),
            "Authorization": f"Bearer {clients[2].token}",
        }
        answer = httpx.get(f"{crowded_server.url}/sync/events", headers=headers, timeout=5)
        assert answer.status_code == 429
        assert answer.headers["Retry-After"] == "7"
        assert answer.json()["code"] == "sync.busy"
        with pytest.raises(StoreBusy) as busy:
            await anext(aiter(listen(clients[2], read_timeout=5)))
        assert busy.value.retry_after == 7
    # the places are given back when the streams close
    async with Stream(clients[2]) as third:
        assert third.events and third.events[0][1].kind == "hello"


# -- across replicas ----------------------------------------------------------------------


def _serve(url: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "main.py", "serve", "--db", url, "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, "PUHUI_SECRET_KEY": TEST_SECRET},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return proc, f"http://127.0.0.1:{port}"


def _wait_up(proc: subprocess.Popen[str], base: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            output = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"store at {base} did not start:\n{output}")
        time.sleep(0.1)


@pytest.mark.postgres
async def test_a_write_through_one_replica_pokes_a_device_on_another(tmp_path):
    need(postgres_available(), f"PostgreSQL at {PG_URL}")
    url = fresh_postgres(driver=False)
    first, first_url = _serve(url)
    try:
        _wait_up(first, first_url)  # it migrates the schema; the second finds it done
        second, second_url = _serve(url)
        try:
            _wait_up(second, second_url)
            engine = create_engine(url.replace("postgresql://", "postgresql+psycopg2://"))
            try:
                world = build_world(engine)
            finally:
                engine.dispose()
            me = client_of(second_url, "M1")
            manager = client_of(second_url, "G1")
            writer = client_of(first_url, "M2")
            outsider = client_of(first_url, "M3")
            async with Stream(me) as stream, Stream(manager) as managers:
                await asyncio.to_thread(log_visit, outsider, world.prospects_of("M3")[0]["id"])
                written = time.monotonic()
                await asyncio.to_thread(log_visit, writer, world.pool(world.outlet_a)[0]["id"])
                await stream.wait_for(lambda: stream.pokes(), POKE_WITHIN)
                assert stream.pokes()[0][0] - written < POKE_WITHIN
                await managers.wait_for(lambda: managers.pokes(), POKE_WITHIN)
                await asyncio.sleep(0.5)
                assert len(stream.pokes()) == 1  # the other outlet's write poked nobody here
        finally:
            second.terminate()
            second.wait(15)
    finally:
        first.terminate()
        first.wait(15)


@pytest.mark.postgres
async def test_a_lost_listen_connection_comes_back_and_pokes_everyone(tmp_path):
    """What was notified while the process was not listening is unknown: every stream is
    poked once it listens again, and pokes flow as before."""
    need(postgres_available(), f"PostgreSQL at {PG_URL}")
    settings = Settings(database_url=fresh_postgres(), data_dir=tmp_path, secret_key=TEST_SECRET)
    with LiveServer(settings) as server:
        world = build_world(server.engine)
        me = client_of(server.url, "M1")
        outsider = client_of(server.url, "M3")
        async with Stream(me) as stream:
            with server.engine.begin() as conn:
                channel = conn.execute(text("SELECT 'puhui_live_' || md5(current_schema())"))
                listener = conn.execute(
                    text("SELECT pid FROM pg_stat_activity WHERE query = :q"),
                    {"q": f'LISTEN "{channel.scalar_one()}"'},
                ).scalar_one()
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": listener})
            await stream.wait_for(lambda: stream.pokes(), 5)  # everyone, on its return
            assert len(stream.pokes()) == 1
            await asyncio.to_thread(log_visit, outsider, world.prospects_of("M3")[0]["id"])
            written = time.monotonic()
            await asyncio.to_thread(log_visit, me, world.prospects_of("M1")[0]["id"])
            await stream.wait_for(lambda: len(stream.pokes()) == 2, POKE_WITHIN)
            assert stream.pokes()[1][0] - written < POKE_WITHIN

"""The central store behind PgBouncer in transaction mode (Debian's ``pgbouncer``).

Each test starts a private PgBouncer (``tests.conftest.PgBouncer``: its own ini, a free
port, ``pool_mode = transaction``, four server connections for the store's ten) in front
of a schema of its own, and serves the real app over HTTP through it with
``PUHUI_DB_TRANSACTION_POOLING`` on and the live updates' LISTEN on the database's own URL.
Consecutive transactions of one client then run on different server connections: anything
the store left on a connection (a SET, a session lock, a prepared statement, LISTEN)
would go wrong here. With ``CI=true`` a missing pgbouncer fails these tests.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlmodel import Session

from app.config import Settings
from app.models import MarketingLog
from app.models.ids import utcnow
from app.server import rollups
from app.server.app import create_app
from app.server.db import read_session
from app.services.marketing import new_log
from app.sync import local
from tests.conftest import (
    PG_URL,
    PGBOUNCER,
    TEST_SECRET,
    LiveServer,
    PgBouncer,
    fresh_postgres,
    fresh_schema,
    need,
    postgres_available,
)
from tests.integration.conftest import PROTOCOL, bearer
from tests.integration.test_live_updates import POKE_WITHIN, Stream, client_of, log_visit
from tests.integration.test_sync_scenarios import signed_in, synced
from tests.world import build_world

pytestmark = pytest.mark.postgres
POOL = 4  # server connections PgBouncer keeps for the store (the store's own pool: 10 + 20)


@pytest.fixture
def bouncer(tmp_path: Path) -> Iterator[PgBouncer]:
    need(postgres_available(), f"PostgreSQL at {PG_URL}")
    need(PGBOUNCER is not None, "Debian's pgbouncer (apt-get install pgbouncer)")
    schema = fresh_schema()
    with PgBouncer(tmp_path, schema, pool_size=POOL) as running:
        running.direct_url = fresh_postgres(schema=schema)  # the same schema, not pooled
        yield running


@pytest.fixture
def server(bouncer: PgBouncer, tmp_path: Path) -> Iterator[LiveServer]:
    """The store through ``bouncer``: migrated through it, LISTENing on the direct URL."""
    settings = Settings(
        database_url=bouncer.url,
        db_transaction_pooling=True,
        listen_database_url=bouncer.direct_url,
        data_dir=tmp_path,
        secret_key=TEST_SECRET,
        housekeeping_interval_seconds=0,
        dashboards_interval_seconds=0,
    )
    with LiveServer(settings) as live:
        yield live


@pytest.fixture
def direct(bouncer: PgBouncer) -> Iterator:  # type: ignore[type-arg]
    """An engine on the same schema, straight to PostgreSQL (what the test looks at)."""
    engine = create_engine(bouncer.direct_url)
    yield engine
    engine.dispose()


def test_the_store_migrates_signs_in_and_leaves_nothing_on_a_connection(server, bouncer):
    build_world(server.engine)
    with httpx.Client(base_url=server.url, headers=PROTOCOL, timeout=30) as http:
        assert bearer(http, "M1")  # signed in through the pooler
        wrong = http.post("/auth/login", json={"employee_no": "M1", "password": "nope"})
        assert wrong.status_code == 401 and wrong.json()["code"] == "auth.invalid_credentials"
        assert http.get("/health").json()["database"] == "postgresql"
    engine = server.engine
    # the idle-in-transaction timeout is the pooler's connect_query's, not a SET of ours
    with engine.connect() as conn:
        assert conn.execute(text("SHOW idle_in_transaction_session_timeout")).scalar() == "1min"
    # an isolation level goes with its BEGIN, never onto the pooled connection
    with read_session(engine) as session:
        level = session.execute(text("SHOW transaction_isolation")).scalar()
        assert level == "repeatable read"
    for _ in range(2 * POOL):  # whichever server connection answers
        with Session(engine) as session:
            assert session.execute(text("SHOW transaction_isolation")).scalar() == "read committed"
            # psycopg2 binds parameters itself: no statement prepared on the server
            prepared = session.execute(text("SELECT count(*) FROM pg_prepared_statements"))
            assert prepared.scalar() == 0
    assert 1 <= len(bouncer.show("SERVERS")) <= POOL


def test_devices_push_at_once_and_pull_snapshot_log_and_checksum(server, make_device):
    """Four devices take their first sync, write offline, then all sync at once: each push
    applied once, each pull's log phase brings the others' logs, checksums agree."""
    world = build_world(server.engine)
    phone, m1 = signed_in(make_device, server, "M1", "phone")
    tablet, _ = signed_in(make_device, server, "M1", "tablet")
    colleague, m2 = signed_in(make_device, server, "M2")
    manager, _ = signed_in(make_device, server, "G1")
    devices = [phone, tablet, colleague, manager]
    for device in devices:  # the snapshot
        synced(device, verify=False)
    pool_a = {p["id"] for p in world.pool(world.outlet_a)}
    assert phone.ids() == {p["id"] for p in world.prospects_of("M1")} | pool_a
    assert manager.ids() == {p["id"] for p in world.prospects if p["outlet_id"] == world.outlet_a}

    written = set()
    for device, me, who in ((phone, m1, "M1"), (colleague, m2, "M2")):
        for i, prospect in enumerate(world.prospects_of(who)[:3]):
            log = new_log(prospect_id=prospect["id"], channel="visit", outcome="interested")
            log = log.model_copy(update={"note": f"{who} 第{i}次"})
            written.add(local.record_log(device.store, me, log))

    with ThreadPoolExecutor(len(devices)) as pool:  # pushes and pulls at once
        outcomes = list(pool.map(lambda d: d.sync(verify=False), devices))
    assert all(p.phase.value == "done" and not p.error_code for p in outcomes), outcomes
    for device in devices:  # the log phase: whatever the others pushed meanwhile
        progress = synced(device, verify=True)  # and the scope checksums agree
        assert not progress.resynced and progress.pending == 0
    assert manager.ids("marketing_log") == written
    assert tablet.ids("marketing_log") == {
        r for r in written if phone.row("marketing_log", r) is not None
    }
    with Session(server.engine) as session:
        stored = session.execute(select(func.count()).select_from(MarketingLog)).scalar_one()
    assert stored == len(written)  # each applied exactly once


def test_concurrent_writers_all_land_and_a_pull_sees_every_one(server, make_device):
    """Twelve writers at once through four server connections: the writers' lock is the
    transaction's, so each waits its turn and none is lost or stuck."""
    world = build_world(server.engine, per_marketer=6)
    people = [who for who in ("M1", "M2") for _ in range(6)]
    writers = [client_of(server.url, who) for who in people]
    pool_a = [p["id"] for p in world.pool(world.outlet_a)]

    def write(i: int) -> None:
        mine = [p["id"] for p in world.prospects_of(people[i])] + pool_a
        for j in range(3):
            log_visit(writers[i], mine[(i + j) % len(mine)], note=f"写者{i}-{j}")

    started = time.monotonic()
    with ThreadPoolExecutor(len(writers)) as pool:
        list(pool.map(write, range(len(writers))))
    took = time.monotonic() - started
    manager, _ = signed_in(make_device, server, "G1")
    synced(manager)
    assert len(manager.ids("marketing_log")) == len(writers) * 3
    assert took < 60


async def test_a_poke_arrives_through_the_direct_listen_connection(server, bouncer, direct):
    world = build_world(server.engine)
    me = client_of(server.url, "M1")
    colleague = client_of(server.url, "M2")
    async with Stream(me) as stream:
        written = time.monotonic()
        await asyncio.to_thread(log_visit, colleague, world.pool(world.outlet_a)[0]["id"])
        await stream.wait_for(lambda: stream.pokes(), POKE_WITHIN)
        assert stream.pokes()[0][0] - written < POKE_WITHIN
        with direct.connect() as conn:
            channel = conn.execute(text("SELECT 'puhui_live_' || md5(current_schema())"))
            listener = conn.execute(
                text("SELECT pid FROM pg_stat_activity WHERE query = :q"),
                {"q": f'LISTEN "{channel.scalar_one()}"'},
            ).scalar_one()
    pooled = {row["remote_pid"] for row in bouncer.show("SERVERS")}
    assert listener not in pooled  # LISTEN holds a connection of its own, not the pooler's


def test_the_dashboards_refresh_through_the_pooler_and_take_turns(server, direct):
    world = build_world(server.engine)
    assert rollups.refresh(server.engine, utcnow()) > 0  # the first build
    log_visit(client_of(server.url, "M1"), world.prospects_of("M1")[0]["id"])
    with direct.connect() as other:  # another replica refreshing: its lock is held
        other.execute(text("LOCK TABLE dash_state IN EXCLUSIVE MODE"))
        started = time.monotonic()
        assert rollups.refresh(server.engine, utcnow()) == 0  # skips its turn, at once
        assert time.monotonic() - started < 5
        other.rollback()
    assert rollups.refresh(server.engine, utcnow()) > 0  # the visit, counted now
    with httpx.Client(base_url=server.url, headers=PROTOCOL, timeout=30) as http:
        overview = http.get(
            "/dashboards/overview", params={"period": "quarter"}, headers=bearer(http, "A1")
        )
    assert overview.status_code == 200 and overview.json()["as_of"] is not None


def test_without_a_direct_listen_url_the_store_says_pokes_will_not_cross(bouncer, tmp_path, caplog):
    settings = Settings(
        database_url=bouncer.url,
        db_transaction_pooling=True,
        data_dir=tmp_path,
        secret_key=TEST_SECRET,
    )
    with caplog.at_level(logging.WARNING, logger="app.server.app"):
        app = create_app(settings)
    app.state.engine.dispose()
    assert "PUHUI_LISTEN_DATABASE_URL" in caplog.text
    assert "idle_in_transaction_session_timeout" not in caplog.text  # the pooler sets it

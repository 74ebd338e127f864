"""Shared fixtures: the central store on SQLite or PostgreSQL, served over real HTTP.

With ``CI=true`` a test that needs PostgreSQL or Chromium fails instead of skipping.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg2
import pytest
import uvicorn
from sqlalchemy import create_engine, make_url, text

from app.config import Settings
from app.server.app import create_app
from app.sync.client import SyncClient
from app.sync.engine import SyncEngine
from app.sync.store import DeviceStore

PG_URL = os.environ.get("PUHUI_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"
# A real key, as an operator must set one (the store refuses an empty or short key).
TEST_SECRET = secrets.token_urlsafe(32)


def need(condition: bool, reason: str) -> None:
    """Skip locally when a real part is missing; in CI, fail."""
    if not condition:
        if IN_CI:
            pytest.fail(f"CI needs this: {reason}")
        pytest.skip(reason)


def postgres_available() -> bool:
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


_schemas: list[str] = []


def fresh_schema() -> str:
    """The name of a new, empty schema in the test database, private to this test."""
    name = f"t{os.getpid()}_{len(_schemas)}_{uuid.uuid4().hex[:6]}"
    engine = create_engine(PG_URL, connect_args={"connect_timeout": 5})
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    engine.dispose()
    _schemas.append(name)
    return name


def fresh_postgres(*, driver: bool = True, schema: str | None = None) -> str:
    """A URL of a new, empty schema in the test database, private to this test (or of
    ``schema``).

    Each test gets its own schema (the URL sets ``search_path``), so nothing a
    concurrent run, or a connection an earlier test leaked, holds in the shared
    database ``test`` can block it: no ``DROP SCHEMA public`` waiting on a lock.
    ``driver=False`` gives the plain ``postgresql://`` form an operator would type.
    """
    name = schema or fresh_schema()
    url = f"{PG_URL}?options=-csearch_path%3D{name}"
    return url if driver else url.replace("postgresql+psycopg2://", "postgresql://")


PGBOUNCER = shutil.which("pgbouncer") or next(
    (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.path.exists(p)), None
)


class PgBouncer:
    """A private PgBouncer (Debian's) in transaction mode in front of one schema of the
    test database: its own ini in ``folder``, a free port, ``auth_type = any``.

    The schema is the pooled connections' ``search_path`` by ``connect_query``, which also
    sets the idle-in-transaction timeout on each server connection (as README's
    Operations advises), so the store itself sets nothing on a connection. ``url`` is
    what the store is given; the admin console (``SHOW SERVERS``) is at ``admin_url``."""

    def __init__(self, folder: Path, schema: str, *, pool_size: int = 4) -> None:
        pg = make_url(PG_URL)
        self.port = free_port()
        self.url = f"postgresql://puhui@127.0.0.1:{self.port}/store"
        self.admin_url = f"postgresql://pgbouncer@127.0.0.1:{self.port}/pgbouncer"
        connect = f"SET search_path = {schema}; SET idle_in_transaction_session_timeout = 60000"
        self.ini = folder / "pgbouncer.ini"
        self.ini.write_text(
            "[databases]\n"
            f"store = host={pg.host} port={pg.port or 5432} dbname={pg.database}"
            f" user={pg.username} connect_query='{connect}'\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {self.port}\n"
            "unix_socket_dir =\n"
            "auth_type = any\n"
            "admin_users = pgbouncer\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {pool_size}\n"
            "max_client_conn = 500\n",
            encoding="utf-8",
        )
        self.log = folder / "pgbouncer.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> PgBouncer:
        assert PGBOUNCER is not None
        command = [PGBOUNCER]
        if os.geteuid() == 0:  # PgBouncer refuses to run as root: it drops to this user
            command += ["-u", _unprivileged_user()]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([*command, str(self.ini)], stdout=log, stderr=log)
        deadline = time.monotonic() + 15
        while True:
            try:
                psycopg2.connect(self.url, connect_timeout=2).close()
                return self
            except psycopg2.OperationalError as exc:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.__exit__()
                    log = self.log.read_text()
                    raise RuntimeError(f"pgbouncer did not start:\n{log}") from exc
                time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def show(self, what: str) -> list[dict]:
        """``SHOW <what>`` on the admin console, as dicts."""
        conn = psycopg2.connect(self.admin_url, connect_timeout=5)
        conn.autocommit = True  # the console takes no transactions
        try:
            with conn.cursor() as cur:
                cur.execute(f"SHOW {what}")
                names = [c.name for c in cur.description]
                return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        finally:
            conn.close()


def _unprivileged_user() -> str:
    import pwd

    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    return "nobody"


def _drop_schemas(names: list[str]) -> None:
    """Best effort, never waiting long on a lock a leaked connection holds."""
    engine = create_engine(PG_URL, connect_args={"connect_timeout": 5})
    try:
        for name in names:
            try:
                with engine.begin() as conn:
                    conn.execute(text("SET LOCAL lock_timeout = '5s'"))
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
            except Exception:  # noqa: BLE001 - left for the next run's sweep
                pass
    finally:
        engine.dispose()


def _stale_schemas() -> list[str]:
    """Schemas of earlier test runs whose process is gone."""
    engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            names = (
                conn.execute(
                    text(
                        "SELECT nspname FROM pg_namespace WHERE nspname ~ '^t[0-9]+_[0-9]+_[0-9a-f]+$'"
                    )
                )
                .scalars()
                .all()
            )
    finally:
        engine.dispose()
    return [n for n in names if not _alive(int(n[1:].split("_")[0]))]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture(scope="session", autouse=True)
def _postgres_schemas() -> Iterator[None]:
    """Sweep schemas that killed runs left behind; drop this run's at the end."""
    if postgres_available():
        _drop_schemas(_stale_schemas())
    yield
    if _schemas:
        _drop_schemas(_schemas)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """The real FastAPI app under uvicorn in a thread, on a free port."""

    def __init__(self, settings: Settings) -> None:
        self.app = create_app(settings)
        self.engine = self.app.state.engine
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            # an event stream a device still holds must not keep a stopping store alive
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("central store did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Central-store settings on each database."""
    if request.param == "postgresql":
        need(postgres_available(), f"PostgreSQL at {PG_URL}")
        url = fresh_postgres()
    else:
        url = f"sqlite:///{tmp_path / 'central.sqlite3'}"
    return Settings(database_url=url, data_dir=tmp_path, secret_key=TEST_SECRET)


@pytest.fixture
def live_server(store_settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(store_settings) as server:
        yield server


class Device:
    """One device: its own SQLite store, an HTTP client and a sync engine."""

    def __init__(self, base_url: str, path: Path, *, protocol: int | None = None) -> None:
        self.store = DeviceStore(path)
        self.http = httpx.Client(base_url=base_url, timeout=30)
        kwargs = {"protocol": protocol} if protocol is not None else {}
        self.client = SyncClient(self.http, **kwargs)
        self.engine = SyncEngine(self.store, self.client)

    def login(self, employee_no: str, password: str) -> dict:
        return self.client.login(employee_no, password)

    def sync(self, **kwargs: object):  # type: ignore[no-untyped-def]
        return self.engine.sync_once(**kwargs)

    def ids(self, entity: str = "prospect") -> set[str]:
        with self.store.read() as conn:
            return {r[0] for r in conn.exec_driver_sql(f'SELECT id FROM "{entity}"')}

    def row(self, entity: str, entity_id: str) -> dict | None:
        with self.store.read() as conn:
            r = conn.exec_driver_sql(f'SELECT * FROM "{entity}" WHERE id = ?', (entity_id,))
            m = r.mappings().first()
            return dict(m) if m else None

    def close(self) -> None:
        self.http.close()
        self.store.close()


@pytest.fixture
def make_device(tmp_path: Path) -> Iterator:
    devices: list[Device] = []

    def factory(server: LiveServer, name: str = "device", **kwargs: object) -> Device:
        device = Device(server.url, tmp_path / f"{name}-{len(devices)}.sqlite3", **kwargs)
        devices.append(device)
        return device

    yield factory
    for d in devices:
        d.close()

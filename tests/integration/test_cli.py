"""The command line as an operator uses it: serve on PostgreSQL, load demo data, add a user."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.models.sync import PROTOCOL_HEADER, PROTOCOL_VERSION
from tests.conftest import (
    PG_URL,
    TEST_SECRET,
    free_port,
    fresh_postgres,
    need,
    postgres_available,
)

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "main.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.postgres
def test_serve_on_postgresql_publishes_the_sync_api():
    need(postgres_available(), f"PostgreSQL at {PG_URL}")
    url = fresh_postgres(driver=False)  # postgresql://postgres@127.0.0.1:5432/test?options=...
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "main.py", "serve", "--db", url, "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, "PUHUI_SECRET_KEY": TEST_SECRET},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                spec = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=2).json()
                break
            except httpx.TransportError as exc:
                if proc.poll() is not None or time.monotonic() > deadline:
                    output = proc.stdout.read() if proc.stdout else "no output"
                    raise AssertionError(output) from exc
                time.sleep(0.3)
        assert {"/auth/login", "/sync/pull", "/sync/push", "/sync/checksum"} <= set(spec["paths"])
        health = httpx.get(f"http://127.0.0.1:{port}/health").json()
        assert health["database"] == "postgresql"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.postgres
async def test_serve_with_two_workers_answers_from_both_and_pokes_across_them():
    """``serve --workers 2``: two processes answer on one port, each with its LISTEN
    connection, and a write through either pokes the streams of both."""
    from contextlib import AsyncExitStack

    from sqlalchemy import create_engine, text

    from tests.integration.test_live_updates import POKE_WITHIN, Stream, client_of, log_visit
    from tests.world import build_world

    need(postgres_available(), f"PostgreSQL at {PG_URL}")
    url = fresh_postgres(driver=False)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "main.py", "serve", "--db", url, "--port", str(port), "--workers", "2"],
        cwd=ROOT,
        env={**os.environ, "PUHUI_SECRET_KEY": TEST_SECRET},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg2://"))
    try:
        workers: set[int] = set()
        deadline = time.monotonic() + 60
        while len(workers) < 2:  # each new connection lands on either worker
            try:
                workers.add(httpx.get(f"{base}/health", timeout=2).json()["worker"])
            except httpx.TransportError:
                time.sleep(0.2)
            if proc.poll() is not None or time.monotonic() > deadline:
                output = proc.stdout.read() if proc.stdout else ""
                raise AssertionError(f"workers seen: {workers}\n{output}")
        assert proc.pid not in workers  # the parent supervises; its children serve

        world = build_world(engine)
        with engine.connect() as conn:
            channel = conn.execute(text("SELECT 'puhui_live_' || md5(current_schema())"))
            listen = f'LISTEN "{channel.scalar_one()}"'

        def listeners() -> int:
            with engine.connect() as conn:
                return conn.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE query = :q"), {"q": listen}
                ).scalar_one()

        async with AsyncExitStack() as open_streams:
            streams = []
            while listeners() < 2:  # a stream on each worker: each LISTENs once
                assert len(streams) < 12, "every stream landed on one worker"
                stream = Stream(await asyncio.to_thread(client_of, base, "M1"))
                streams.append(await open_streams.enter_async_context(stream))
            writer = await asyncio.to_thread(client_of, base, "M2")
            written = time.monotonic()
            await asyncio.to_thread(log_visit, writer, world.pool(world.outlet_a)[0]["id"])
            for stream in streams:  # whichever worker took the write, every stream hears
                await stream.wait_for(lambda s=stream: s.pokes(), POKE_WITHIN + 1)
                assert stream.pokes()[0][0] - written < POKE_WITHIN
    finally:
        engine.dispose()
        proc.terminate()
        assert proc.wait(20) == 0  # both workers stopped, and the parent with them


def test_workers_need_postgresql(tmp_path):
    db = f"sqlite:///{tmp_path / 'central.sqlite3'}"
    refused = run_cli("serve", "--db", db, "--workers", "2", env={"PUHUI_SECRET_KEY": TEST_SECRET})
    assert refused.returncode != 0 and "PostgreSQL" in refused.stderr


def test_demo_data_and_create_user_then_log_in(tmp_path):
    db = f"sqlite:///{tmp_path / 'central.sqlite3'}"
    done = run_cli("demo-data", "--db", db, "--prospects", "800")
    assert done.returncode == 0, done.stderr
    assert "prospect 800" in done.stdout
    again = run_cli("demo-data", "--db", db)
    assert again.returncode != 0 and "already has data" in again.stderr
    made = run_cli(
        "create-user",
        "--db",
        db,
        "--employee-no",
        "M9001",
        "--name",
        "新员工",
        "--role",
        "marketer",
        "--password",
        "Start#2026",
    )
    assert made.returncode == 0, made.stderr
    assert "M9001" in made.stdout
    sub = ("create-user", "--db", db, "--employee-no", "Z9001", "--name", "新支行长")
    sub += ("--role", "subbranch_manager", "--password", "Start#2026")
    refused = run_cli(*sub)  # no outlet: no sub-branch to reach
    assert refused.returncode != 0 and "--outlet" in refused.stderr
    from sqlalchemy import create_engine, text

    engine = create_engine(db)
    with engine.connect() as conn:
        outlet = conn.execute(text("SELECT id FROM outlet WHERE code = 'GZ-ZY-001'")).scalar_one()
    engine.dispose()
    made = run_cli(*sub, "--outlet", outlet)
    assert made.returncode == 0, made.stderr
    assert "subbranch_manager Z9001" in made.stdout

    from app.config import Settings
    from app.models.sync import PROTOCOL_VERSION
    from tests.conftest import LiveServer

    settings = Settings(database_url=db, data_dir=tmp_path, secret_key=TEST_SECRET)
    with LiveServer(settings) as server:
        ok = httpx.post(
            f"{server.url}/auth/login",
            headers={"X-Puhui-Protocol": str(PROTOCOL_VERSION)},
            json={"employee_no": "M9001", "password": "Start#2026"},
        )
        assert ok.status_code == 200
        assert ok.json()["user"]["name"] == "新员工"
        ok = httpx.post(
            f"{server.url}/auth/login",
            headers={"X-Puhui-Protocol": str(PROTOCOL_VERSION)},
            json={"employee_no": "Z9001", "password": "Start#2026"},
        )
        assert ok.status_code == 200
        assert ok.json()["user"]["role"] == "subbranch_manager"


def _without_key() -> dict:
    return {k: v for k, v in os.environ.items() if k != "PUHUI_SECRET_KEY"}


@pytest.mark.parametrize("key", [None, "change-me-in-production-puhui", "too-short"])
def test_serve_refuses_to_start_without_a_real_secret_key(tmp_path, key):
    env = _without_key() | ({"PUHUI_SECRET_KEY": key} if key else {})
    db = f"sqlite:///{tmp_path / 'central.sqlite3'}"
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "serve", "--db", db, "--port", str(free_port())],
        cwd=tmp_path,  # no .env of the checkout's
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode != 0
    assert "PUHUI_SECRET_KEY" in done.stderr and "中心库拒绝启动" in done.stderr
    assert "token_urlsafe" in done.stderr  # says how to make one
    assert not (tmp_path / "central.sqlite3").exists()  # refused before touching the store


def _run_until_store_answers(data: Path, store_port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            sys.executable,
            "main.py",
            "run",
            "--web",
            "--no-login",
            "--port",
            str(free_port()),
            "--store-port",
            str(store_port),
        ],
        cwd=ROOT,
        env=_without_key() | {"PUHUI_DATA_DIR": str(data)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{store_port}/health", timeout=2).raise_for_status()
            return proc
        except httpx.HTTPError as exc:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(proc.stderr.read() if proc.stderr else "") from exc
            time.sleep(0.3)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_run_makes_its_own_private_key_and_signs_with_it_again_next_time(tmp_path):
    from app.demo import DEMO_MARKETER, DEMO_PASSWORD

    data, port = tmp_path / "data", free_port()
    headers = {PROTOCOL_HEADER: str(PROTOCOL_VERSION)}
    first = _run_until_store_answers(data, port)
    try:
        key_file = data / "secret_key"
        assert oct(key_file.stat().st_mode & 0o777) == "0o600"
        key = key_file.read_text().strip()
        assert len(key) >= 32
        token = httpx.post(
            f"http://127.0.0.1:{port}/auth/login",
            headers=headers,
            json={"employee_no": DEMO_MARKETER, "password": DEMO_PASSWORD},
        ).json()["token"]
    finally:
        _stop(first)
    second = _run_until_store_answers(data, port)
    try:
        assert key_file.read_text().strip() == key
        pulled = httpx.get(
            f"http://127.0.0.1:{port}/sync/pull",
            headers=headers | {"Authorization": f"Bearer {token}"},
            params={"limit": 1},
        )
        assert pulled.status_code == 200, pulled.text  # the last run's session still works
    finally:
        _stop(second)

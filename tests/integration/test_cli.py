"""The command line as an operator uses it: serve on PostgreSQL, load demo data, add a user."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

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

    from app.config import Settings
    from tests.conftest import LiveServer

    settings = Settings(database_url=db, data_dir=tmp_path, secret_key=TEST_SECRET)
    with LiveServer(settings) as server:
        ok = httpx.post(
            f"{server.url}/auth/login",
            headers={"X-Puhui-Protocol": "1"},
            json={"employee_no": "M9001", "password": "Start#2026"},
        )
        assert ok.status_code == 200
        assert ok.json()["user"]["name"] == "新员工"

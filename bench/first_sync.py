"""First sync of a whole scope into an empty device, against the raw limit (DESIGN.md §7).

The admin's scope holds every prospect of the central store, so a first sync of it
carries all of them, with their marketing logs, funnel events and transfers.

- A, the device: a fresh ``DeviceStore``, login (not timed), then
  ``SyncEngine.sync_once(verify=False)`` timed, in a fresh process whose peak RSS is
  the memory figure. The child also reads how much CPU it and the central store
  spent during A, which is the first cut of where the time goes.
- B, the raw limit: the same pages' JSON bytes, fetched beforehand, then per page
  ``json.loads`` and plain ``sqlite3`` ``executemany`` into a fresh file with the
  device's schema and pragmas, one transaction per page; also in a fresh process.
- "Nothing new": ``sync_once`` of the device A synced, median of 20, in a third process.

A and B alternate ``BENCH_ROUNDS`` times (default 2) and the best of each counts:
on a shared machine, noise only ever adds time. Each part is a child process
(``python -m bench.first_sync device|raw|nothing-new URL DIR``).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from app.models.sync import SYNC_ENTITIES
from bench.common import (
    Context,
    Result,
    cpu_seconds,
    emit,
    megabytes,
    peak_rss_bytes,
    run_child,
    seconds,
)

FIRST_SYNC_RATIO = 2.0  # A / B
FIRST_SYNC_RSS = 300 * 2**20
NOTHING_NEW = 0.030
NOTHING_NEW_ROUNDS = 20
# Per-connection settings of the device store that B copies, so B differs from A
# only in what A adds (HTTP, the engine, upserts, sync state).
MIRRORED_PRAGMAS = (
    "journal_mode",
    "synchronous",
    "cache_size",
    "temp_store",
    "mmap_size",
    "foreign_keys",
    "locking_mode",
)


def run(ctx: Context) -> list[Result]:
    central = ctx.central()
    rounds = max(1, int(os.environ.get("BENCH_ROUNDS", "2")))
    raws, devs = [], []
    for i in range(rounds):
        raw_dir = str(ctx.path(f"raw-{i}"))
        bare = ["--bare"] if i == 0 else []  # B0, for information: once is enough
        raws.append(run_child(__name__, "raw", central.url, raw_dir, *bare))
        device_dir = str(ctx.path(f"device-{i}"))
        pid = str(central.process.pid)
        devs.append(run_child(__name__, "device", central.url, device_dir, "--server-pid", pid))
    for dev in devs:
        if dev["counts"] != raws[0]["counts"]:
            raise RuntimeError(f"device and raw differ: {dev['counts']} != {raws[0]['counts']}")
    noop = run_child(__name__, "nothing-new", central.url, str(ctx.path(f"device-{rounds - 1}")))

    raw = min(raws, key=lambda r: r["seconds"])
    dev = min(devs, key=lambda d: d["seconds"])
    a, b, rows = float(dev["seconds"]), float(raw["seconds"]), int(raw["rows"])
    ratio = a / b
    peak = max(d["peak_rss"] for d in devs)
    counts = ", ".join(f"{k} {v:,}" for k, v in dev["counts"].items() if v)
    rounds_a = ", ".join(seconds(d["seconds"]) for d in devs)
    rounds_b = ", ".join(seconds(r["seconds"]) for r in raws)
    server_cpu = dev["server_cpu"]
    times = sorted(noop["rounds"])
    median = statistics.median(times)
    bare = raws[0]["bare"]
    return [
        Result(
            work=f"first sync, {ctx.prospects:,} prospects into an empty device (A)",
            figure=f"{seconds(a)} ({rows / a:,.0f} rows/s)",
            target=f"≤ {FIRST_SYNC_RATIO:g}x raw",
            ratio=ratio,
            passed=ratio <= FIRST_SYNC_RATIO,
            notes=(
                f"A carries {rows:,} rows ({counts}) in {raw['pages']} pages of "
                f"{megabytes(raw['bytes'])} JSON in all; login not timed",
                f"A per round: {rounds_a}; best: device CPU {seconds(dev['device_cpu'])} "
                f"(waiting on HTTP {seconds(dev['http_wait'])}), central store CPU "
                + (seconds(server_cpu) if server_cpu is not None else "n/a"),
            ),
        ),
        Result(
            work="  raw: json.loads + sqlite3 executemany, same rows (B)",
            figure=f"{seconds(b)} ({rows / b:,.0f} rows/s)",
            ratio=1.0,
            notes=(
                f"B per round: {rounds_b}; best: json.loads {seconds(raw['decode_seconds'])} "
                f"+ executemany and commit {seconds(raw['insert_seconds'])}, "
                f"CPU {seconds(raw['cpu'])}",
            ),
        ),
        Result(
            work="  raw into the model tables alone, no local indexes (B0)",
            figure=f"{seconds(bare['seconds'])} ({rows / bare['seconds']:,.0f} rows/s)",
            ratio=bare["seconds"] / b,
            notes=(
                "B0: as B into SQLModel's tables without the indexes DeviceStore adds for the "
                f"screens (for information, round 1 only): CPU {seconds(bare['cpu'])}",
            ),
        ),
        Result(
            work="  first sync: peak RSS of the device process",
            figure=megabytes(peak),
            target=f"≤ {megabytes(FIRST_SYNC_RSS)}",
            passed=peak <= FIRST_SYNC_RSS,
            notes=(
                "device process RSS before the sync (imports, store, login): "
                f"{megabytes(max(d['rss_before'] for d in devs))}",
            ),
        ),
        Result(
            work=f"sync with nothing new (median of {len(times)})",
            figure=seconds(median),
            target=f"≤ {seconds(NOTHING_NEW)}",
            passed=median <= NOTHING_NEW,
            notes=(
                f"nothing new: min {seconds(times[0])}, "
                f"p90 {seconds(times[int(0.9 * (len(times) - 1))])}, max {seconds(times[-1])}",
            ),
        ),
    ]


# -- the children ----------------------------------------------------------------------


def _client(url: str) -> Any:
    import httpx

    from app.demo import DEMO_ADMIN, DEMO_PASSWORD
    from app.sync.client import SyncClient

    client = SyncClient(httpx.Client(base_url=url, timeout=httpx.Timeout(120, connect=5)))
    client.login(DEMO_ADMIN, DEMO_PASSWORD)
    return client


def _device(url: str, workdir: Path, server_pid: int | None) -> dict[str, Any]:
    """A: the first sync of the admin's scope into a fresh device store."""
    from app.sync.engine import SyncEngine
    from app.sync.state import SyncPhase
    from app.sync.store import DeviceStore

    store = DeviceStore(workdir / "device.sqlite3")
    client = _client(url)
    waited = 0.0
    send = client.http.request

    def timed_request(*args: Any, **kwargs: Any) -> Any:
        nonlocal waited
        t0 = time.perf_counter()
        try:
            return send(*args, **kwargs)
        finally:
            waited += time.perf_counter() - t0

    client.http.request = timed_request  # where the device only waits for the store
    engine = SyncEngine(store, client)
    rss_before = peak_rss_bytes()

    server_before = cpu_seconds(server_pid)
    cpu_before = time.process_time()
    started = time.perf_counter()
    progress = engine.sync_once(verify=False)
    took = time.perf_counter() - started
    device_cpu = time.process_time() - cpu_before
    server_after = cpu_seconds(server_pid)
    peak = peak_rss_bytes()
    if progress.phase != SyncPhase.DONE or not progress.snapshot_complete:
        raise RuntimeError(f"first sync did not complete: {progress}")

    with store.read() as conn:
        counts = {
            e: int(conn.exec_driver_sql(f'SELECT count(*) FROM "{e}"').scalar_one())
            for e in SYNC_ENTITIES
        }
    store.close()
    return {
        "seconds": took,
        "device_cpu": device_cpu,
        "http_wait": waited,
        "server_cpu": (
            server_after - server_before
            if server_before is not None and server_after is not None
            else None
        ),
        "peak_rss": peak,
        "rss_before": rss_before,
        "counts": counts,
    }


def _nothing_new(url: str, workdir: Path) -> dict[str, Any]:
    """Round trips of a synced device when the store has nothing new for it."""
    from app.sync.engine import SyncEngine
    from app.sync.state import SyncPhase
    from app.sync.store import DeviceStore

    store = DeviceStore(workdir / "device.sqlite3")
    engine = SyncEngine(store, _client(url))
    rounds = []
    for _ in range(NOTHING_NEW_ROUNDS):
        t0 = time.perf_counter()
        progress = engine.sync_once(verify=False)
        rounds.append(time.perf_counter() - t0)
        if progress.phase != SyncPhase.DONE:
            raise RuntimeError(f"sync with nothing new failed: {progress}")
    store.close()
    return {"rounds": rounds}


def _fetch_pages(url: str) -> tuple[list[bytes], int]:
    """The JSON bodies of a first sync of the admin's scope, as the device receives them."""
    from app.models.sync import PROTOCOL_HEADER, PROTOCOL_VERSION

    client = _client(url)
    headers = {PROTOCOL_HEADER: str(PROTOCOL_VERSION), "Authorization": f"Bearer {client.token}"}
    pages: list[bytes] = []
    rows = 0
    cursor: str | None = None
    try:
        while True:
            params = {"cursor": cursor} if cursor else {}
            response = client.http.get("/sync/pull", params=params, headers=headers)
            response.raise_for_status()
            pages.append(response.content)
            page = json.loads(response.content)
            rows += sum(len(bucket["rows"]) for bucket in page["entities"].values())
            cursor = page["cursor"]
            if not page.get("has_more"):
                return pages, rows
    finally:
        client.http.close()


def _device_pragmas() -> dict[str, Any]:
    """The per-connection settings a device store connection runs with."""
    from app.sync.store import DeviceStore

    with tempfile.TemporaryDirectory() as tmp:
        store = DeviceStore(Path(tmp) / "probe.sqlite3")
        with store.read() as conn:
            found = {p: conn.exec_driver_sql(f"PRAGMA {p}").scalar() for p in MIRRORED_PRAGMAS}
        store.close()
    return found


def _raw_database(path: Path, *, local_indexes: bool = True) -> sqlite3.Connection:
    """A fresh file with the device's schema, opened by plain sqlite3 with its pragmas.

    Without ``local_indexes``: the model tables alone (``SQLModel`` metadata), not the
    indexes and other DDL ``DeviceStore`` adds for the workbench's screens.
    """
    from app.sync.store import DeviceStore

    if local_indexes:
        DeviceStore(path).close()
    else:
        from sqlalchemy import create_engine
        from sqlmodel import SQLModel

        from app.models import DEVICE_TABLES

        engine = create_engine(f"sqlite:///{path}")
        SQLModel.metadata.create_all(engine, tables=DEVICE_TABLES)
        engine.dispose()
    raw = sqlite3.connect(path, isolation_level=None)
    for name, value in _device_pragmas().items():
        raw.execute(f"PRAGMA {name}={value}")
    return raw


def _load(conn: sqlite3.Connection, pages: list[bytes]) -> dict[str, Any]:
    """The timed part of B: per page, json.loads, then executemany in one transaction."""
    sql: dict[tuple[str, tuple[str, ...]], str] = {}
    decode = insert = 0.0
    cpu_before = time.process_time()
    started = time.perf_counter()
    for body in pages:
        t0 = time.perf_counter()
        page = json.loads(body)
        t1 = time.perf_counter()
        conn.execute("BEGIN")
        for entity, bucket in page["entities"].items():
            if bucket["rows"]:
                key = (entity, tuple(bucket["columns"]))
                if key not in sql:
                    cols = ", ".join(f'"{c}"' for c in key[1])
                    marks = ", ".join("?" * len(key[1]))
                    sql[key] = f'INSERT INTO "{entity}" ({cols}) VALUES ({marks})'
                conn.executemany(sql[key], bucket["rows"])
        conn.execute("COMMIT")
        decode += t1 - t0
        insert += time.perf_counter() - t1
    return {
        "seconds": time.perf_counter() - started,
        "cpu": time.process_time() - cpu_before,
        "decode_seconds": decode,
        "insert_seconds": insert,
    }


def _raw(url: str, workdir: Path, *, bare: bool) -> dict[str, Any]:
    """B: json.loads + sqlite3 executemany of pages fetched beforehand (and B0 if ``bare``)."""
    pages, rows = _fetch_pages(url)
    conn = _raw_database(workdir / "raw.sqlite3")
    result = _load(conn, pages)
    counts = {
        e: int(conn.execute(f'SELECT count(*) FROM "{e}"').fetchone()[0]) for e in SYNC_ENTITIES
    }
    conn.close()
    if bare:
        conn = _raw_database(workdir / "bare.sqlite3", local_indexes=False)
        result["bare"] = _load(conn, pages)
        conn.close()
    return {
        **result,
        "pages": len(pages),
        "bytes": sum(len(p) for p in pages),
        "rows": rows,
        "counts": counts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.first_sync")
    parser.add_argument("part", choices=("device", "raw", "nothing-new"))
    parser.add_argument("url")
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--server-pid", type=int, default=None)
    parser.add_argument("--bare", action="store_true", help="raw: also into the bare tables")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.part == "device":
        emit(_device(args.url, args.workdir, args.server_pid))
    elif args.part == "raw":
        emit(_raw(args.url, args.workdir, bare=args.bare))
    else:
        emit(_nothing_new(args.url, args.workdir))


if __name__ == "__main__":
    main()

"""First sync of a whole scope into an empty device, against the raw limit (DESIGN.md §7).

The admin's scope holds every prospect of the central store, so a first sync of it
carries all of them, with their marketing logs, funnel events and transfers.

- A, the device: a fresh ``DeviceStore``, login (not timed), then
  ``SyncEngine.sync_once(verify=False)`` timed, in a fresh process whose peak RSS is
  the memory figure. The child also reads how much CPU it and the central store
  spent during A, which is the first cut of where the time goes. A ends with the
  screens' indexes built (the page that completes the snapshot builds them).
- B, the raw limit: the same pages' JSON bytes, fetched once beforehand (untimed), then
  per page ``json.loads`` and plain ``sqlite3`` ``executemany`` into a fresh file with the
  device's schema and pragmas, one transaction per page; in a fresh process too.
- "Nothing new": ``sync_once`` of a device A synced, 20 round trips per round, in one
  more process; a round's figure is the median of its 20.

B and A alternate, ``ctx.rounds`` times each (a fresh process and file every time); the
figure is A's median, the ratio A's median over B's. Each part is a child process
(``python -m bench.first_sync fetch|device|raw|nothing-new URL DIR``).

There is no "raw without local indexes" row any more: B already loads into the model
tables alone (the device builds its screen indexes only after the snapshot), so such a
row measured B a second time. What the indexes buy is measured where they are used
(bench.search: the search with them dropped).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import struct
import tempfile
import time
from pathlib import Path
from typing import Any

from app.models.sync import SYNC_ENTITIES
from bench.common import (
    Context,
    Result,
    Rounds,
    cpu_seconds,
    emit,
    measured,
    megabytes,
    peak_rss_bytes,
    run_child,
    seconds,
)

FIRST_SYNC_RATIO = 1.5  # A / B (issue 11; DESIGN.md §7 said 2x)
FIRST_SYNC_RSS = 300 * 2**20
NOTHING_NEW = 0.030
NOTHING_NEW_PER_ROUND = 20
# Per-connection settings of the device store that B copies, so B differs from A
# only in what A adds (HTTP, the engine, upserts, sync state, the screens' indexes).
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
    pages = ctx.path("first-sync-pages.bin")
    fetched = run_child(__name__, "fetch", central.url, str(pages))
    raws, devs = [], []
    for i in range(ctx.rounds):
        raws.append(run_child(__name__, "raw", str(pages), str(ctx.path(f"raw-{i}"))))
        device_dir = str(ctx.path(f"device-{i}"))
        pid = str(central.process.pid)
        devs.append(run_child(__name__, "device", central.url, device_dir, "--server-pid", pid))
    for dev in devs:
        if dev["counts"] != raws[0]["counts"]:
            raise RuntimeError(f"device and raw differ: {dev['counts']} != {raws[0]['counts']}")
    noop = run_child(
        __name__,
        "nothing-new",
        central.url,
        str(ctx.path(f"device-{ctx.rounds - 1}")),
        "--rounds",
        str(ctx.rounds),
    )

    a = Rounds.of(d["seconds"] for d in devs)
    b = Rounds.of(r["seconds"] for r in raws)
    rows = int(fetched["rows"])
    ratio = a.median / b.median
    per_round = Rounds.of(d["seconds"] / r["seconds"] for d, r in zip(devs, raws, strict=True))
    peak = Rounds.of(d["peak_rss"] for d in devs)
    counts = ", ".join(f"{k} {v:,}" for k, v in devs[0]["counts"].items() if v)
    server_cpu = [d["server_cpu"] for d in devs if d["server_cpu"] is not None]
    nothing = Rounds.of(noop["rounds"])
    every = [t for group in noop["all"] for t in group]

    def rate(value: float) -> str:
        return f"{seconds(value)} ({rows / value:,.0f} rows/s)"

    return [
        measured(
            f"first sync, {ctx.prospects:,} prospects into an empty device (A)",
            a,
            rate,
            spread_fmt=seconds,
            target=f"≤ {FIRST_SYNC_RATIO:g}x raw",
            ratio=ratio,
            passed=ratio <= FIRST_SYNC_RATIO,
            notes=(
                f"A carries {rows:,} rows ({counts}) in {fetched['pages']} pages of "
                f"{megabytes(fetched['bytes'])} JSON in all; login not timed; the screens' "
                "indexes built at the end are part of A",
                f"A per round: {a.listed(seconds)}; A/B per round {per_round.listed(_x)}",
                "A's CPU, medians: device "
                f"{seconds(Rounds.of(d['device_cpu'] for d in devs).median)} (waiting on HTTP "
                f"{seconds(Rounds.of(d['http_wait'] for d in devs).median)}), central store "
                + (seconds(Rounds.of(server_cpu).median) if server_cpu else "n/a"),
            ),
        ),
        measured(
            "  raw: json.loads + sqlite3 executemany, same rows (B)",
            b,
            rate,
            spread_fmt=seconds,
            ratio=1.0,
            notes=(
                f"B per round: {b.listed(seconds)}; medians: json.loads "
                f"{seconds(Rounds.of(r['decode_seconds'] for r in raws).median)} + executemany "
                f"and commit {seconds(Rounds.of(r['insert_seconds'] for r in raws).median)}, "
                f"CPU {seconds(Rounds.of(r['cpu'] for r in raws).median)}",
            ),
        ),
        measured(
            "  first sync: peak RSS of the device process",
            peak,
            megabytes,
            target=f"≤ {megabytes(FIRST_SYNC_RSS)}",
            limit=FIRST_SYNC_RSS,
            notes=(
                "device process RSS before the sync (imports, store, login): median "
                f"{megabytes(Rounds.of(d['rss_before'] for d in devs).median)}",
            ),
        ),
        measured(
            f"sync with nothing new (round: median of {NOTHING_NEW_PER_ROUND})",
            nothing,
            seconds,
            target=f"≤ {seconds(NOTHING_NEW)}",
            limit=NOTHING_NEW,
            notes=(
                f"nothing new, all {len(every)} round trips: min {seconds(min(every))}, "
                f"max {seconds(max(every))}",
            ),
        ),
    ]


def _x(value: float) -> str:
    return f"{value:.2f}x"


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


def _nothing_new(url: str, workdir: Path, rounds: int) -> dict[str, Any]:
    """Round trips of a synced device when the store has nothing new for it: ``rounds``
    groups of NOTHING_NEW_PER_ROUND, after one untimed sync."""
    from app.sync.engine import SyncEngine
    from app.sync.state import SyncPhase
    from app.sync.store import DeviceStore

    store = DeviceStore(workdir / "device.sqlite3")
    engine = SyncEngine(store, _client(url))
    engine.sync_once(verify=False)  # warm: connections, the process's first requests
    groups = []
    for _ in range(rounds):
        took = []
        for _ in range(NOTHING_NEW_PER_ROUND):
            t0 = time.perf_counter()
            progress = engine.sync_once(verify=False)
            took.append(time.perf_counter() - t0)
            if progress.phase != SyncPhase.DONE:
                raise RuntimeError(f"sync with nothing new failed: {progress}")
        groups.append(took)
    store.close()
    return {"rounds": [statistics.median(g) for g in groups], "all": groups}


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


def _raw_database(path: Path) -> sqlite3.Connection:
    """A fresh file with the device's schema, opened by plain sqlite3 with its pragmas."""
    from app.sync.store import DeviceStore

    DeviceStore(path).close()  # its tables; the screens' indexes come after a snapshot
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


def _write_pages(path: Path, pages: list[bytes]) -> None:
    with path.open("wb") as out:
        for body in pages:
            out.write(struct.pack("<Q", len(body)))
            out.write(body)


def _read_pages(path: Path) -> list[bytes]:
    data = path.read_bytes()
    pages, at = [], 0
    while at < len(data):
        (size,) = struct.unpack_from("<Q", data, at)
        pages.append(data[at + 8 : at + 8 + size])
        at += 8 + size
    return pages


def _fetch(url: str, path: Path) -> dict[str, Any]:
    """The first sync's pages as the device receives them, kept for B's rounds."""
    pages, rows = _fetch_pages(url)
    _write_pages(path, pages)
    return {"pages": len(pages), "bytes": sum(len(p) for p in pages), "rows": rows}


def _raw(pages_path: Path, workdir: Path) -> dict[str, Any]:
    """B: json.loads + sqlite3 executemany of pages fetched beforehand."""
    pages = _read_pages(pages_path)
    conn = _raw_database(workdir / "raw.sqlite3")
    result = _load(conn, pages)
    counts = {
        e: int(conn.execute(f'SELECT count(*) FROM "{e}"').fetchone()[0]) for e in SYNC_ENTITIES
    }
    conn.close()
    return {**result, "counts": counts}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.first_sync")
    parser.add_argument("part", choices=("fetch", "device", "raw", "nothing-new"))
    parser.add_argument("source", help="the store's URL (raw: the fetched pages' file)")
    parser.add_argument("target", type=Path, help="a work dir (fetch: the pages' file)")
    parser.add_argument("--server-pid", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    if args.part == "fetch":
        emit(_fetch(args.source, args.target))
        return
    args.target.mkdir(parents=True, exist_ok=True)
    if args.part == "device":
        emit(_device(args.source, args.target, args.server_pid))
    elif args.part == "raw":
        emit(_raw(Path(args.source), args.target))
    else:
        emit(_nothing_new(args.source, args.target, args.rounds))


if __name__ == "__main__":
    main()

"""The herd: a city's devices against one central store on PostgreSQL (issue 11).

Untimed: a database of its own on the bench's PostgreSQL (``BENCH_PG_URL``), the demo
branch with ``BENCH_HERD_PROSPECTS`` prospects (default ``BENCH_PROSPECTS``, 100,000)
loaded by the store's own loader, plus ``BENCH_HERD_DEVICES`` (default 1,000) marketers
H0001… spread over the 38 outlets, each the user of one simulated device. Then
``main.py serve --workers 2`` on it, as the README starts it on a 2-core machine
(``BENCH_HERD_SERVE_ARGS`` replaces ``--workers 2``), its housekeeping off: nothing else
runs while it is timed. The store's CPU is its processes' (the workers' included).

The devices are simulated in one asyncio process (``python -m bench.herd drive …``): each
has its own ``httpx.AsyncClient`` (its own connections), speaks the wire protocol as
``app.sync`` does (login, pull pages with the cursor until ``has_more`` is false, push
outbox batches with gap-free sequences, ``GET /sync/events``), keeps only what it needs
(its cursor, some prospect ids of its outlet's pool to write logs on) and behaves as the
device does when refused: a ``429 server.busy`` is waited out as ``app.sync.busy`` waits
it (``Retry-After`` doubled per busy answer in a row, jittered; after
``sync_busy_max_waits`` in a row the run stops: counted as a failure of kind "busy") and
asked again; a failed request (timeout after the device's 30 s, refused connection, an
error answer) is a failure, and the device tries again after the background sync's
backoff (``app.workbench.autosync.backoff``), resuming its first sync from its last page;
a cursor the store no longer takes (409) starts the scope again.
Nothing limits how many requests the harness has in flight: every device acts at once,
as real ones would. The harness shares the machine's cores with the store and
PostgreSQL; the rows say how much CPU each used.

In order, each ``ctx.rounds`` times:

- start: all devices at once, each a new device: login, first sync (every page),
  checksum, branch ranks — what ``SyncEngine.sync_once`` asks on a first sync. Failures:
  devices that met at least one failure (target 0); time to all in: until the last
  device is through (or ``BENCH_HERD_DEADLINE`` s, default 90, passed: then the row
  says how many were in). Between rounds and phases the harness waits until the store's
  CPU is idle, so work left over from one (requests the devices gave up on) does not
  count against the next. After the last start, the devices it left out are brought in
  (untimed, 50 at a time, at most 10 minutes): the rows below need the herd in, and say
  how many devices they ran with.
- incremental sync, once they are in: a change in every outlet (an admin's push, one
  marketing log on a pool prospect of each), then every device pulls at once; the
  round's p99 of one device's sync (target ≤ 250 ms). The same with 200 of them is the
  DESIGN's "200 devices syncing at once".
- uploads: ``BENCH_HERD_PUSHERS`` devices (default 50) push marketing logs, batches of
  ``BENCH_HERD_BATCH`` (10), one after another, for ``BENCH_HERD_PUSH_SECONDS`` (10) s;
  mutations answered ``applied`` within the window per second (target ≥ 500/s). The
  pushes still in flight when the window closes are waited for (not counted): the next
  phase starts on a quiet store. 50 × 10 keeps that tail bounded on today's store.
- a marketer's pull after 20,000 changes elsewhere: the demo marketer (M0001) synced,
  then devices of the other outlets push ``BENCH_HERD_ELSEWHERE`` (20,000) logs on their
  own pools through ``POST /sync/push`` (once, untimed); each round the marketer pulls
  from the cursor it held before them, through to ``has_more`` false (target ≤ 10 ms).
- then every device opens its event stream and keeps it open:
  - a change reaches the online devices: a device pushes a log on a prospect of its
    outlet's pool; each other device of that outlet is poked, waits the device's
    debounce (0.3 s), pulls, and the log is visible: the time from just before the push
    to the pull that brought it. ``BENCH_HERD_WAVES`` (5) such changes per round, one
    outlet each; the round's p99 (target ≤ 1 s).
  - a change that reaches all of them: an admin's push of one log in every outlet's
    pool; the time until each device has pulled its outlet's; p99.
  - with ``BENCH_HERD_LIVE_UPLOADS=1``: uploads again, with every stream open (each
    poke brings a pull, as on a device).

The first sync of 100,000 prospects against its raw limit is bench.first_sync's row.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import json
import math
import os
import random
import resource
import secrets
import shlex
import ssl
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    DEMO_TODAY,
    PG_URL,
    ROOT,
    Context,
    Result,
    Rounds,
    _free_port,
    count,
    cpu_seconds,
    emit,
    measured,
    per_second,
    quantile,
    run_child,
    seconds,
)

DEVICES = int(os.environ.get("BENCH_HERD_DEVICES", 1000))
DEADLINE = float(os.environ.get("BENCH_HERD_DEADLINE", 90))
PUSHERS = int(os.environ.get("BENCH_HERD_PUSHERS", 50))
BATCH = int(os.environ.get("BENCH_HERD_BATCH", 10))
PUSH_SECONDS = float(os.environ.get("BENCH_HERD_PUSH_SECONDS", 10))
ELSEWHERE = int(os.environ.get("BENCH_HERD_ELSEWHERE", 20_000))
WAVES = int(os.environ.get("BENCH_HERD_WAVES", 5))
LIVE_UPLOADS = os.environ.get("BENCH_HERD_LIVE_UPLOADS") == "1"
SUBSET = 200  # DESIGN.md §7: "200 devices syncing at once"
CATCH_UP_AT_ONCE = 50
CATCH_UP_SECONDS = 600.0
# as the README runs the store on this 2-core machine (one worker per core)
SERVE_ARGS = shlex.split(os.environ.get("BENCH_HERD_SERVE_ARGS", "--workers 2"))

VISIBLE_TARGET = 1.0
STORM_FAILURES = 0
INCREMENTAL_TARGET = 0.250
UPLOADS_TARGET = 500.0
ELSEWHERE_TARGET = 0.010
WAVE_TIMEOUT = 10.0  # a device that has not seen a change by then has missed it
EVERYONE_TIMEOUT = 60.0
TARGETS_KEPT = 200  # pool prospects a device remembers, to write logs on
HERD_PREFIX = "H"


# -- the orchestrator's side -----------------------------------------------------------


def run(ctx: Context) -> list[Result]:
    prospects = int(os.environ.get("BENCH_HERD_PROSPECTS", ctx.prospects))
    pg = ctx.postgres()
    if pg is None:
        return [
            Result(
                f"the herd: {DEVICES:,} devices on PostgreSQL",
                "not measured",
                notes=(f"the herd: no PostgreSQL answered at {PG_URL}",),
            )
        ]
    more_files()
    url = pg.create("herd")
    log_path = ctx.path("herd-serve.log")
    try:
        seeded = run_child("bench.herd", "seed", url, str(prospects), str(DEVICES), str(ctx.seed))
        with serving(url, log_path) as (base, pid):
            out = run_child(
                "bench.herd", "drive", base, "--rounds", str(ctx.rounds), "--server-pid",
                str(pid), timeout=_drive_timeout(ctx.rounds),
            )  # fmt: skip
    finally:
        pg.drop(url)
    return results(out, seeded, prospects)


def _drive_timeout(rounds: int) -> float:
    """Generous: every phase bounded by its own deadline, the child by their sum."""
    return 1200 + rounds * (DEADLINE + 4 * PUSH_SECONDS + WAVES * WAVE_TIMEOUT + 300)


def more_files() -> None:
    """Raise this process's open-file limit to its hard limit (inherited by children):
    two connections per device, on each side."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@contextlib.contextmanager
def serving(url: str, log_path: Path) -> Iterator[tuple[str, int]]:
    """``main.py serve`` on ``url``; its log (a JSON line per request) to ``log_path``."""
    port = _free_port()
    env = {
        **os.environ,
        "PUHUI_SECRET_KEY": secrets.token_urlsafe(48),
        "PUHUI_HOUSEKEEPING_INTERVAL_SECONDS": "0",  # nothing else runs while it is timed
        "PUHUI_DASHBOARDS_INTERVAL_SECONDS": "0",
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "main.py", "serve", "--db", url, "--host", "127.0.0.1",
             "--port", str(port), *SERVE_ARGS],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"serve ended:\n{log_path.read_text()[-4000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("serve did not answer /health within 120 s")
                time.sleep(0.2)
            yield base, process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def results(out: dict[str, Any], seeded: dict[str, Any], prospects: int) -> list[Result]:
    n = out["devices"]
    m = out["in"]  # the devices the phases after the start ran with
    storm = out["storm"]
    failures = Rounds.of(r["failed_devices"] for r in storm)
    all_in = Rounds.of(r["all_in"] if r["all_in"] is not None else math.inf for r in storm)
    never = [r for r in storm if r["all_in"] is None]
    late = out["catch_up"]
    cpu = _cpu_note
    poked = [t for r in out["visible"] for t in r["poked"]]
    rows = [
        measured(
            f"herd: {n:,} devices starting at once (login + first sync), failures",
            failures,
            count,
            target=f"{STORM_FAILURES} failures",
            limit=STORM_FAILURES,
            notes=(
                f"herd: {n:,} simulated devices ({seeded['herd_marketers']:,} marketers "
                f"H0001…, ~{seeded['pool_per_outlet']:,} pool prospects per outlet) against "
                f"`main.py serve` on PostgreSQL with {prospects:,} prospects; one asyncio "
                "process, a client per device, no limit on requests in flight"
                + (f"; serve {' '.join(SERVE_ARGS)}" if SERVE_ARGS else ""),
                "start, per round: devices with a failure "
                + ", ".join(str(r["failed_devices"]) for r in storm)
                + "; failed requests by kind: "
                + _kinds(sum((Counter(r["kinds"]) for r in storm), Counter()))
                + f"; 429 waits {sum(r['waits'] for r in storm):,} (of them "
                f"{sum(r.get('past_deadline', 0) for r in storm):,} would have ended past the "
                "deadline: not failures, not in time)",
                "start, per device (every round): login p50 "
                f"{_q(storm, 'login', 0.5)}, p99 {_q(storm, 'login', 0.99)}; first sync p50 "
                f"{_q(storm, 'sync', 0.5)}, p99 {_q(storm, 'sync', 0.99)}; "
                f"{Rounds.of(r['rows'] for r in storm).median:,.0f} rows served per round; "
                + cpu(storm),
            ),
        ),
        measured(
            f"  {n:,} devices starting at once: time until all are in",
            all_in,
            _in_time,
            notes=(
                (
                    f"start: {len(never)} of {len(storm)} rounds left devices out at the "
                    f"{DEADLINE:g} s deadline: "
                    + ", ".join(f"{r['in']:,} of {n:,} in" for r in never)
                    + f" (rounds took {Rounds.of(r['elapsed'] for r in storm).listed(seconds)}"
                    " with the requests in flight)"
                )
                if never
                else f"start: all in, per round {all_in.listed(seconds)}",
                f"after the last start, untimed: {late['left_out']:,} devices left out brought "
                f"in {CATCH_UP_AT_ONCE} at a time in {seconds(late['seconds'])}, "
                f"{late['still_out']:,} still out; the rows below ran with {m:,} devices",
            ),
        ),
    ]
    for key, label in (("incremental", f"{m:,}"), ("subset", f"{min(SUBSET, m):,}")):
        part = out[key]
        p99 = Rounds.of(quantile(r["took"], 0.99) for r in part)
        fails = sum(r["failed"] for r in part)
        rows.append(
            measured(
                f"{'' if key == 'incremental' else '  '}incremental sync, {label} devices "
                "syncing at once (p99)",
                p99,
                seconds,
                target=f"≤ {seconds(INCREMENTAL_TARGET)} p99, no error",
                passed=p99.median <= INCREMENTAL_TARGET and fails == 0,
                notes=(
                    f"incremental ({label}): after a change in every outlet, every device "
                    f"pulls at once; p50 median {seconds(Rounds.of(quantile(r['took'], 0.5) for r in part).median)}, "
                    f"all done in {seconds(Rounds.of(r['elapsed'] for r in part).median)} "
                    f"(median); {fails} failed syncs; {cpu(part)}",
                ),
            )
        )
    rows.append(_uploads(out["uploads"], "uploads", f"{out['pushers']} devices pushing"))
    if out.get("uploads_live"):
        rows.append(
            _uploads(
                out["uploads_live"], "  uploads", f"{out['pushers']} pushing, {m:,} streams open"
            )
        )
    rows.append(_elsewhere(out["elsewhere"]))
    opened = out["streams"]
    visible = out["visible"]
    vis = Rounds.of(quantile(r["took"], 0.99) for r in visible)
    rows.append(
        measured(
            f"a change reaches an online device (poke + pull), {m:,} connected (p99)",
            vis,
            seconds,
            target=f"≤ {seconds(VISIBLE_TARGET)} p99",
            passed=vis.median <= VISIBLE_TARGET and not any(r["missed"] for r in visible),
            notes=(
                f"live: {opened['open']:,} of {m:,} streams open in "
                f"{seconds(opened['seconds'])} ({opened['waits']} 429 waits, "
                f"{opened['failed']} failed); {WAVES} changes per round, each a log pushed by a "
                "device on its outlet's pool, seen by the outlet's other devices "
                f"({Rounds.of(len(r['took']) for r in visible).median:,.0f} sightings per round)",
                "live: from just before the push to the pull that brought it, the device's "
                f"poke debounce ({out['debounce']:g} s) included; poke arrival p50 "
                f"{_qs(poked, 0.5)}, p99 {_qs(poked, 0.99)}; p50 "
                f"median {seconds(Rounds.of(quantile(r['took'], 0.5) for r in visible).median)}; "
                f"missed (not seen within {WAVE_TIMEOUT:g} s, counted as that): "
                f"{sum(r['missed'] for r in visible)}; stream drops {out['drops']}; pulls on a "
                f"poke that failed (tried again after the backoff, as the device does) "
                f"{out['poke_pull_failures']:,} in all",
            ),
        )
    )
    everyone = out["everyone"]
    every = Rounds.of(quantile(r["took"], 0.99) for r in everyone)
    rows.append(
        measured(
            f"  a change reaching all {m:,} at once (p99)",
            every,
            seconds,
            target=f"≤ {seconds(VISIBLE_TARGET)} p99",
            passed=every.median <= VISIBLE_TARGET and not any(r["missed"] for r in everyone),
            notes=(
                "live, everyone: an admin's push of one log in every outlet's pool; each device "
                f"sees its outlet's; p50 median "
                f"{seconds(Rounds.of(quantile(r['took'], 0.5) for r in everyone).median)}, all "
                f"seen in {seconds(Rounds.of(max(r['took'], default=0) for r in everyone).median)} "
                f"(median); missed {sum(r['missed'] for r in everyone)}; {cpu(everyone)}",
            ),
        )
    )
    return rows


def _uploads(part: list[dict[str, Any]], label: str, who: str) -> Result:
    rate = Rounds.of(r["rate"] for r in part)
    lat = [t for r in part for t in r["took"]]
    return measured(
        f"{label}: marketing logs, {who} (mutations/s)",
        rate,
        per_second,
        target=f"≥ {per_second(UPLOADS_TARGET)}",
        limit=UPLOADS_TARGET,
        at_least=True,
        notes=(
            f"{label.strip()} ({who}): batches of {BATCH}, each device one push after another "
            f"for {PUSH_SECONDS:g} s; applied answers within the window per second; push p50 "
            f"{seconds(quantile(lat, 0.5)) if lat else '-'}, p99 "
            f"{seconds(quantile(lat, 0.99)) if lat else '-'}; rejected "
            f"{sum(r['rejected'] for r in part)}, failed pushes {sum(r['failed'] for r in part)}"
            f", the tail after the window {seconds(Rounds.of(r['drain'] for r in part).median)} "
            f"(median); pulls on pokes {sum(r.get('pulls', 0) for r in part):,}; "
            + _cpu_note(part),
        ),
    )


def _elsewhere(part: dict[str, Any]) -> Result:
    took = Rounds.of(part["took"])
    return measured(
        f"a marketer's pull after {part['changes']:,} changes elsewhere",
        took,
        seconds,
        target=f"≤ {seconds(ELSEWHERE_TARGET)}",
        limit=ELSEWHERE_TARGET,
        notes=(
            f"elsewhere: {part['employee_no']} (its own prospects and its outlet's pool) pulls "
            f"from its cursor before {part['changes']:,} logs pushed by {part['pushers']} "
            f"devices of other outlets ({seconds(part['write_seconds'])} to push them, "
            f"{per_second(part['changes'] / part['write_seconds'])}); the pull: "
            f"{part['pages']} page(s), {part['rows']} rows for it",
        ),
    )


def _in_time(value: float) -> str:
    """A start's time until all were in; a round that left some out is past the deadline."""
    return f"> {DEADLINE:g} s" if math.isinf(value) else seconds(value)


def _q(part: list[dict[str, Any]], key: str, q: float) -> str:
    return _qs([t for r in part for t in r[key]], q)


def _qs(values: list[float], q: float) -> str:
    return seconds(quantile(values, q)) if values else "-"


def _kinds(kinds: Counter[str]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in kinds.most_common()) or "none"


def _cpu_note(part: list[dict[str, Any]]) -> str:
    """How much CPU the store and the harness used while it ran (of 2 cores × wall)."""
    wall = sum(r["elapsed"] for r in part)
    store = [r["server_cpu"] for r in part if r.get("server_cpu") is not None]
    harness = sum(r["harness_cpu"] for r in part)
    store_text = f"store {seconds(sum(store))}" if store else "store n/a"
    return f"CPU over {seconds(wall)}: {store_text}, harness {seconds(harness)}"


# -- the data (untimed) ------------------------------------------------------------------


def seed(url: str, prospects: int, devices: int, seed_: int) -> dict[str, Any]:
    """The demo branch with ``prospects`` prospects and ``devices`` herd marketers."""
    from app.demo import DEMO_PASSWORD, generate
    from app.models.ids import new_id
    from app.server.admin import load_demo
    from app.server.db import make_engine, migrate

    started = time.perf_counter()
    data = generate(prospects=prospects, seed=seed_, today=DEMO_TODAY)
    outlets = data.outlet
    for i in range(devices):
        employee_no = f"{HERD_PREFIX}{i + 1:04d}"
        data.user.append(
            {
                "id": new_id(),
                "employee_no": employee_no,
                "name": f"基准营销{i + 1}",
                "role": "marketer",
                "outlet_id": outlets[i % len(outlets)]["id"],
                "active": True,
            }
        )
        data.passwords[employee_no] = DEMO_PASSWORD
    engine = make_engine(url)
    migrate(engine)
    counts = load_demo(engine, data)
    engine.dispose()
    pool = sum(1 for p in data.prospect if p["assignee_id"] is None)
    return {
        **counts,
        "herd_marketers": devices,
        "pool_per_outlet": pool // max(1, len(outlets)),
        "seconds": time.perf_counter() - started,
    }


# -- the devices -------------------------------------------------------------------------


class Failure(Exception):
    """A request that failed as a device sees it: ``kind`` says how."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class PastDeadline(Exception):
    """The store asked the device to wait past the start's deadline: not a failure (the
    device would wait), but not in time either."""


@dataclass
class Device:
    employee_no: str
    http: httpx.AsyncClient
    device_id: str = field(default_factory=lambda: secrets.token_hex(16))
    token: str = ""
    user_id: str = ""
    outlet_id: str = ""
    cursor: str | None = None
    seq: int = 0
    targets: list[str] = field(default_factory=list)  # pool prospects of its outlet
    hello: asyncio.Event = field(default_factory=asyncio.Event)
    pulling: asyncio.Task[None] | None = None
    poked_again: bool = False
    started: bool = False  # logged in, first sync through, checksum and ranks asked
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one push at a time


@dataclass
class Wave:
    """One change being watched: which device must see which log, and when each did."""

    t0: float
    expected: dict[str, str]  # employee_no -> the log id it must pull
    seen: dict[str, float] = field(default_factory=dict)
    poked: dict[str, float] = field(default_factory=dict)
    done: asyncio.Event = field(default_factory=asyncio.Event)


class Herd:
    """The simulated devices and what they share: the store's address, the watches."""

    def __init__(self, base: str, server_pid: int | None) -> None:
        from app.config import Settings
        from app.sync.client import SyncClient

        self.base = base
        self.server_pid = server_pid
        defaults = {k: f.default for k, f in Settings.model_fields.items()}
        timeout = inspect.signature(SyncClient.connect).parameters
        self.timeout = httpx.Timeout(
            float(timeout["timeout"].default), connect=float(timeout["connect"].default)
        )
        self.stream_timeout = httpx.Timeout(
            self.timeout.connect, read=float(defaults["live_read_timeout_seconds"])
        )
        self.debounce = float(defaults["live_poke_debounce_seconds"])
        self.backoff_base = float(defaults["sync_interval_seconds"])
        self.backoff_cap = float(defaults["sync_backoff_max_seconds"])
        self.busy_cap = float(defaults["sync_busy_max_wait_seconds"])
        self.busy_max_waits = int(defaults["sync_busy_max_waits"])
        self.ssl = ssl.create_default_context()  # one for all: making one costs ~0.1 s
        self.watches: dict[str, Wave] = {}
        self.kinds: Counter[str] = Counter()
        self.waits = 0
        self.drops = 0
        self.pulls = 0
        self.poke_pull_failures = 0
        self.past_deadline = 0  # busy waits that would have ended past a start's deadline
        self.closing = False
        self.streams: list[asyncio.Task[None]] = []
        self.rng = random.Random(20240112)

    def device(self, employee_no: str) -> Device:
        from app.models.sync import PROTOCOL_HEADER, PROTOCOL_VERSION

        http = httpx.AsyncClient(
            base_url=self.base,
            timeout=self.timeout,
            verify=self.ssl,
            headers={PROTOCOL_HEADER: str(PROTOCOL_VERSION)},
        )
        return Device(employee_no, http)

    # -- requests ------------------------------------------------------------------------

    async def call(
        self, d: Device, method: str, path: str, *, deadline: float | None = None, **kw: Any
    ) -> Any:
        """One request as the device makes it; a 429 is waited out, a failure raised."""
        from app.sync.busy import BusyBackoff

        headers = {"Authorization": f"Bearer {d.token}"} if d.token else {}
        busy = BusyBackoff(cap=self.busy_cap, jitter=self.rng.random)
        while True:
            try:
                r = await d.http.request(method, path, headers=headers, **kw)
            except httpx.TimeoutException as exc:
                self.kinds["timeout"] += 1
                raise Failure("timeout") from exc
            except httpx.TransportError as exc:
                self.kinds[type(exc).__name__] += 1
                raise Failure(type(exc).__name__) from exc
            if r.status_code == 429 and not _code(r).startswith("auth."):
                if busy.busy >= self.busy_max_waits:  # the device's run stops here
                    self.kinds[f"busy: stopped after {self.busy_max_waits} waits"] += 1
                    raise Failure("busy")
                self.waits += 1
                wait = busy.next_wait(_retry_after(r))
                if deadline is not None and time.monotonic() + wait > deadline:
                    self.past_deadline += 1
                    raise PastDeadline()
                await asyncio.sleep(wait)
                continue
            if r.status_code >= 400:
                kind = f"HTTP {r.status_code} {_code(r)}".strip()
                self.kinds[kind] += 1
                raise Failure(kind)
            return json.loads(r.content)

    async def login(self, d: Device, password: str, **kw: Any) -> None:
        body = await self.call(
            d,
            "POST",
            "/auth/login",
            json={"employee_no": d.employee_no, "password": password},
            **kw,
        )
        d.token, d.user_id = body["token"], body["user"]["id"]
        d.outlet_id = body["user"]["outlet_id"] or ""

    async def pull(self, d: Device, **kw: Any) -> tuple[int, int]:
        """Pull pages from the device's cursor until the store has no more: (pages, rows)."""
        pages = rows = 0
        while True:
            params = {"cursor": d.cursor} if d.cursor else {}
            try:
                page = await self.call(d, "GET", "/sync/pull", params=params, **kw)
            except Failure as exc:
                expired = "sync.cursor_invalid" in exc.kind or "sync.cursor_expired" in exc.kind
                if not expired or d.cursor is None:
                    raise
                d.cursor = None  # as the device: its scope again, from the start
                continue
            rows += self._absorb(d, page)
            pages += 1
            d.cursor = page["cursor"]  # after the page is in: a failure resumes from here
            if not page.get("has_more"):
                return pages, rows

    def _absorb(self, d: Device, page: dict[str, Any]) -> int:
        """Count a page's rows; remember pool prospects; note watched logs seen."""
        now = time.perf_counter()
        rows = 0
        for entity, bucket in page.get("entities", {}).items():
            found = bucket.get("rows") or []
            rows += len(found) + len(bucket.get("deletes") or [])
            if not found:
                continue
            cols = {c: i for i, c in enumerate(bucket["columns"])}
            if entity == "prospect" and len(d.targets) < TARGETS_KEPT:
                i_id, i_out, i_who = cols["id"], cols["outlet_id"], cols["assignee_id"]
                for row in found:
                    if row[i_out] == d.outlet_id and row[i_who] is None:
                        d.targets.append(row[i_id])
                        if len(d.targets) >= TARGETS_KEPT:
                            break
            elif entity == "marketing_log" and self.watches:
                i_id = cols["id"]
                for row in found:
                    wave = self.watches.get(row[i_id])
                    if wave is not None and wave.expected.get(d.employee_no) == row[i_id]:
                        if d.employee_no not in wave.seen:
                            wave.seen[d.employee_no] = now - wave.t0
                            if len(wave.seen) == len(wave.expected):
                                wave.done.set()
        return rows

    async def push_logs(self, d: Device, prospects: list[str], **kw: Any) -> tuple[int, int]:
        """One push of a marketing log on each of ``prospects``: (applied, rejected)."""
        mutations = [self.log_mutation(d, pid)[1] for pid in prospects]
        answer = await push(self, d, mutations, **kw)
        applied = sum(1 for r in answer["results"] if r["status"] == "applied")
        return applied, len(answer["results"]) - applied

    def log_mutation(self, d: Device, prospect_id: str) -> tuple[str, dict[str, Any]]:
        """A marketing log as the device queues it (``local.record_log``): its id and the
        outbox entry. No answer on the phone: the log moves no status."""
        from app.models.ids import new_id
        from app.models.marketing_log import Channel, MarketingLogCreate, Outcome

        now = datetime.now(UTC).replace(tzinfo=None)
        log = MarketingLogCreate(
            id=new_id(),
            prospect_id=prospect_id,
            channel=Channel.PHONE,
            occurred_at=now,
            outcome=Outcome.NO_ANSWER,
            note="基准测试",
        )
        d.seq += 1
        return log.id, {
            "seq": d.seq,
            "id": new_id(),
            "kind": "log.create",
            "payload": log.model_dump(mode="json"),
            "created_at": now.isoformat(),
        }

    def backoff(self, failures: int) -> float:
        from app.workbench.autosync import backoff

        return backoff(
            failures, base=self.backoff_base, cap=self.backoff_cap, jitter=self.rng.random()
        )

    # -- event streams ---------------------------------------------------------------------

    def open_streams(self, devices: list[Device]) -> None:
        self.closing = False
        self.streams = [asyncio.create_task(self._listen(d)) for d in devices]

    async def close_streams(self, devices: list[Device]) -> None:
        """End every stream, and the pulls pokes started."""
        self.closing = True
        pulls = [d.pulling for d in devices if d.pulling is not None]
        for task in [*self.streams, *pulls]:
            task.cancel()
        await asyncio.gather(*self.streams, *pulls, return_exceptions=True)
        self.streams = []

    async def _listen(self, d: Device) -> None:
        failures = 0
        headers = {"Authorization": f"Bearer {d.token}", "Accept": "text/event-stream"}
        while not self.closing:
            try:
                async with d.http.stream(
                    "GET", "/sync/events", headers=headers, timeout=self.stream_timeout
                ) as r:
                    if r.status_code == 429:
                        self.waits += 1
                        await r.aread()
                        await asyncio.sleep(_retry_after(r) * (1 + 0.5 * self.rng.random()))
                        continue
                    if r.status_code >= 400:
                        await r.aread()
                        self.kinds[f"events HTTP {r.status_code} {_code(r)}"] += 1
                        raise Failure("events")
                    event = ""
                    async for line in r.aiter_lines():
                        if line.startswith("event:"):
                            event = line[6:].strip()
                        elif not line:
                            if event == "hello":
                                d.hello.set()
                                failures = 0
                            elif event == "poke":
                                self._poked(d)
                            event = ""
            except (httpx.HTTPError, Failure):
                pass
            if self.closing:
                return
            self.drops += 1
            failures += 1
            await asyncio.sleep(self.backoff(failures))

    def _poked(self, d: Device) -> None:
        now = time.perf_counter()
        for wave in list(self.watches.values()):
            if d.employee_no in wave.expected and d.employee_no not in wave.poked:
                wave.poked[d.employee_no] = now - wave.t0
        if d.pulling is not None and not d.pulling.done():
            d.poked_again = True
            return
        d.pulling = asyncio.create_task(self._pull_on_poke(d))

    async def _pull_on_poke(self, d: Device) -> None:
        """As the device: a poke brings a pull after the debounce; a pull that fails is
        tried again after the background sync's backoff; a poke during a pull, once more."""
        await asyncio.sleep(self.debounce)
        failures = 0
        while True:
            d.poked_again = False
            self.pulls += 1
            try:
                await self.pull(d)
            except Failure:
                failures += 1
                self.poke_pull_failures += 1
                await asyncio.sleep(self.backoff(failures))
                continue
            if not d.poked_again:
                return


def _code(r: httpx.Response) -> str:
    try:
        return str(json.loads(r.content).get("code") or "")
    except (ValueError, AttributeError):
        return ""


def _retry_after(r: httpx.Response) -> float:
    try:
        return max(0.5, float(r.headers.get("Retry-After", "5")))
    except ValueError:
        return 5.0


# -- the phases ---------------------------------------------------------------------------


def store_cpu(pid: int | None) -> float | None:
    """CPU seconds the store's processes have used: ``serve`` and its workers."""
    if pid is None:
        return None
    try:
        import psutil

        root = psutil.Process(pid)
        total = 0.0
        for proc in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
        return total
    except ImportError:
        return cpu_seconds(pid)
    except psutil.Error:
        return None


@dataclass
class Meter:
    """Wall time and the CPU the store and the harness used over one round."""

    server_pid: int | None
    t0: float
    cpu0: float
    server0: float | None

    @classmethod
    def start(cls, server_pid: int | None) -> Meter:
        return cls(server_pid, time.perf_counter(), time.process_time(), store_cpu(server_pid))

    def read(self) -> dict[str, Any]:
        server = store_cpu(self.server_pid)
        return {
            "elapsed": time.perf_counter() - self.t0,
            "harness_cpu": time.process_time() - self.cpu0,
            "server_cpu": None if server is None or self.server0 is None else server - self.server0,
        }


async def quiet(herd: Herd, *, limit: float = 180.0) -> None:
    """Wait until the store's process has been (nearly) idle for a second, at most
    ``limit`` s. Open streams keep it a little busy (keep-alives, the token checked again
    every 30 s per stream): with them, only a short ``limit`` is asked for."""
    deadline = time.monotonic() + limit
    before = store_cpu(herd.server_pid)
    while before is not None and time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        now = store_cpu(herd.server_pid)
        if now is None or now - before < 0.1:
            return
        before = now


@dataclass
class Start:
    """What the devices met while starting: their failures, login and first-sync times."""

    failed: set[str] = field(default_factory=set)
    logins: list[float] = field(default_factory=list)
    syncs: list[float] = field(default_factory=list)
    rows: int = 0


async def attempt(
    herd: Herd, d: Device, password: str, seen: Start, deadline: float | None = None
) -> bool:
    """One try at a device's start, resuming where the last one stopped: login unless
    signed in, its first sync's remaining pages, then checksum and ranks. Whether it is in."""
    try:
        if not d.token:
            t0 = time.perf_counter()
            await herd.login(d, password, deadline=deadline)
            seen.logins.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        _pages, got = await herd.pull(d, deadline=deadline)
        seen.rows += got
        await herd.call(d, "GET", "/sync/checksum", params={"cursor": d.cursor})
        await herd.call(d, "GET", "/stats/ranks")
        seen.syncs.append(time.perf_counter() - t0)
        d.started = True
        return True
    except Failure:
        seen.failed.add(d.employee_no)
        return False
    except PastDeadline:
        return False


async def storm(
    herd: Herd, numbers: list[str], password: str
) -> tuple[dict[str, Any], list[Device]]:
    """Every device starts at once (with the device's retries, until the deadline)."""
    devices = [herd.device(no) for no in numbers]
    kinds_before, waits_before = Counter(herd.kinds), herd.waits
    past_before = herd.past_deadline
    seen = Start()
    meter = Meter.start(herd.server_pid)
    deadline = time.monotonic() + DEADLINE
    done_at: dict[str, float] = {}

    async def start(d: Device) -> None:
        failures = 0
        while time.monotonic() < deadline:
            if await attempt(herd, d, password, seen, deadline):
                took = time.perf_counter() - meter.t0
                if took <= DEADLINE:  # in later (a request begun in time): not in time
                    done_at[d.employee_no] = took
                return
            failures += 1
            wait = herd.backoff(failures)
            if time.monotonic() + wait >= deadline:
                return
            await asyncio.sleep(wait)

    await asyncio.gather(*(start(d) for d in devices))
    kinds = herd.kinds - kinds_before
    everyone_in = len(done_at) == len(devices)
    return {
        **meter.read(),
        "failed_devices": len(seen.failed),
        "in": len(done_at),
        "all_in": max(done_at.values()) if everyone_in and done_at else None,
        "kinds": dict(kinds),
        "waits": herd.waits - waits_before,
        "past_deadline": herd.past_deadline - past_before,
        "login": seen.logins,
        "sync": seen.syncs,
        "rows": seen.rows,
    }, devices


async def catch_up(herd: Herd, devices: list[Device], password: str) -> dict[str, Any]:
    """Untimed: bring in the devices the last start left out, CATCH_UP_AT_ONCE at a time
    (a device resumes its first sync), for at most CATCH_UP_SECONDS: the phases after
    the start need the herd in. Returns how many were left out and how long it took."""
    t0 = time.perf_counter()
    out = [d for d in devices if not d.started]
    left = len(out)
    gate = asyncio.Semaphore(CATCH_UP_AT_ONCE)
    seen = Start()

    async def one(d: Device) -> None:
        async with gate:
            await attempt(herd, d, password, seen)

    while out and time.perf_counter() - t0 < CATCH_UP_SECONDS:
        await asyncio.gather(*(one(d) for d in out))
        out = [d for d in out if not d.started]
    return {"left_out": left, "still_out": len(out), "seconds": time.perf_counter() - t0}


def change_everywhere(
    herd: Herd, admin: Device, by_outlet: dict[str, list[Device]], turn: int
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The admin's logs on a pool prospect of every outlet: (log id per outlet, mutations)."""
    ids: dict[str, str] = {}
    mutations = []
    for outlet, devices in by_outlet.items():
        pool = devices[0].targets
        if pool:
            log_id, mutation = herd.log_mutation(admin, pool[turn % len(pool)])
            ids[outlet] = log_id
            mutations.append(mutation)
    return ids, mutations


async def push(herd: Herd, d: Device, mutations: list[dict[str, Any]], **kw: Any) -> Any:
    """``POST /sync/push`` of ``mutations`` (the device's oldest first)."""
    body = {"device_id": d.device_id, "mutations": mutations, "first_seq": mutations[0]["seq"]}
    return await herd.call(d, "POST", "/sync/push", json=body, **kw)


async def incremental(
    herd: Herd, devices: list[Device], admin: Device, by_outlet: dict[str, list[Device]], turn: int
) -> dict[str, Any]:
    """A change in every outlet, then every device in ``devices`` pulls at once."""
    _ids, mutations = change_everywhere(herd, admin, by_outlet, turn)
    with contextlib.suppress(Failure):  # then there is nothing new: still a round trip each
        await push(herd, admin, mutations)
    took: list[float] = []
    failed = 0
    meter = Meter.start(herd.server_pid)

    async def sync(d: Device) -> None:
        nonlocal failed
        t0 = time.perf_counter()
        try:
            await herd.pull(d)
        except Failure:
            failed += 1
        took.append(time.perf_counter() - t0)  # a failure too: the user waited for it

    await asyncio.gather(*(sync(d) for d in devices))
    return {**meter.read(), "took": took, "failed": failed}


async def uploads(herd: Herd, pushers: list[Device]) -> dict[str, Any]:
    """``pushers`` push logs one batch after another for PUSH_SECONDS: applied per second."""
    meter = Meter.start(herd.server_pid)
    pulls_before = herd.pulls
    end = time.perf_counter() + PUSH_SECONDS
    applied = rejected = failed = 0
    took: list[float] = []
    last = 0.0

    async def pusher(d: Device, turn: int) -> None:
        nonlocal applied, rejected, failed, last
        k = turn
        while time.perf_counter() < end:
            batch = [d.targets[(k + i) % len(d.targets)] for i in range(BATCH)]
            k += BATCH
            t0 = time.perf_counter()
            try:
                ok, refused = await herd.push_logs(d, batch)
            except Failure:
                failed += 1
                await asyncio.sleep(1.0)  # not a tight loop against a store that refuses
                continue
            t1 = time.perf_counter()
            took.append(t1 - t0)
            last = max(last, t1)
            if t1 <= end:
                applied += ok
            rejected += refused

    await asyncio.gather(*(pusher(d, i) for i, d in enumerate(pushers) if d.targets))
    return {
        **meter.read(),
        "rate": applied / PUSH_SECONDS,
        "applied": applied,
        "rejected": rejected,
        "failed": failed,
        "took": took,
        "drain": max(0.0, last - end),
        "pulls": herd.pulls - pulls_before,
    }


def watch(herd: Herd, expected: dict[str, str]) -> Wave:
    """Watch for each device in ``expected`` to pull its log (from ``Wave.t0``)."""
    wave = Wave(time.perf_counter(), expected)
    for log_id in set(expected.values()):
        herd.watches[log_id] = wave
    if not expected:
        wave.done.set()
    return wave


async def settle(herd: Herd, wave: Wave, timeout: float) -> dict[str, Any]:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wave.done.wait(), timeout)
    for log_id in [k for k, v in herd.watches.items() if v is wave]:
        del herd.watches[log_id]
    missed = len(wave.expected) - len(wave.seen)
    took = list(wave.seen.values()) + [timeout] * missed
    return {"took": took, "poked": list(wave.poked.values()), "missed": missed}


async def visible_round(
    herd: Herd, by_outlet: dict[str, list[Device]], turn: int
) -> dict[str, Any]:
    """WAVES changes, each by one device in one outlet, watched on its outlet's others."""
    took: list[float] = []
    poked: list[float] = []
    missed = 0
    meter = Meter.start(herd.server_pid)
    outlets = [o for o, ds in by_outlet.items() if len(ds) > 1 and ds[0].targets]
    if not outlets:
        raise RuntimeError("the herd needs an outlet with two devices in (BENCH_HERD_DEVICES ≥ 76)")
    for w in range(WAVES):
        outlet = outlets[(turn * WAVES + w) % len(outlets)]
        author, *others = herd.rng.sample(by_outlet[outlet], len(by_outlet[outlet]))
        pid = author.targets[(turn * WAVES + w) % len(author.targets)]
        log_id, mutation = herd.log_mutation(author, pid)
        wave = watch(herd, {d.employee_no: log_id for d in others})
        wave.t0 = time.perf_counter()  # just before the push
        with contextlib.suppress(Failure):  # then nobody sees it: counted as missed
            await push(herd, author, [mutation])
        got = await settle(herd, wave, WAVE_TIMEOUT)
        took += got["took"]
        poked += got["poked"]
        missed += got["missed"]
        await asyncio.sleep(0.5)  # the outlet's pulls done before the next change
    return {**meter.read(), "took": took, "poked": poked, "missed": missed}


async def everyone_round(
    herd: Herd, admin: Device, devices: list[Device], by_outlet: dict[str, list[Device]], turn: int
) -> dict[str, Any]:
    """One admin push touching every outlet's pool: each device must see its outlet's log."""
    meter = Meter.start(herd.server_pid)
    ids, mutations = change_everywhere(herd, admin, by_outlet, 1000 + turn)
    expected = {d.employee_no: ids[d.outlet_id] for d in devices if d.outlet_id in ids}
    wave = watch(herd, expected)
    wave.t0 = time.perf_counter()
    with contextlib.suppress(Failure):
        await push(herd, admin, mutations)
    got = await settle(herd, wave, EVERYONE_TIMEOUT)
    await asyncio.sleep(1.0)
    return {**meter.read(), **got}


async def elsewhere(
    herd: Herd, devices: list[Device], password: str, rounds: int
) -> dict[str, Any]:
    """The demo marketer's pull after ELSEWHERE logs pushed in other outlets."""
    from app.demo import DEMO_MARKETER

    marketer = herd.device(DEMO_MARKETER)
    await herd.login(marketer, password)
    await herd.pull(marketer)  # its first sync (untimed)
    await herd.pull(marketer)
    before = marketer.cursor
    # one device per other outlet, four pushing at a time (untimed: only their sum counts,
    # so no push should time out), each push as large as the store takes
    pushers = list({d.outlet_id: d for d in devices if d.outlet_id != marketer.outlet_id}.values())
    per_push = 500  # Settings.push_batch_limit
    todo = [min(per_push, ELSEWHERE - start) for start in range(0, ELSEWHERE, per_push)]
    t0 = time.perf_counter()
    written = 0
    gate = asyncio.Semaphore(4)

    async def write(k: int, n: int) -> None:
        nonlocal written
        d = pushers[k % len(pushers)]
        batch = [d.targets[(k * per_push + i) % len(d.targets)] for i in range(n)]
        async with gate, d.lock:
            for attempt in range(3):
                try:
                    ok, _ = await herd.push_logs(d, batch, timeout=300)
                    written += ok
                    return
                except Failure:
                    if attempt == 2:
                        raise

    await asyncio.gather(
        *(write(k, n) for k, n in enumerate(todo) if pushers[k % len(pushers)].targets)
    )
    write_seconds = time.perf_counter() - t0
    took, pages, rows = [], 0, 0
    for _ in range(rounds):
        await quiet(herd)
        marketer.cursor = before
        t0 = time.perf_counter()
        pages, rows = await herd.pull(marketer)
        took.append(time.perf_counter() - t0)
    await marketer.http.aclose()
    return {
        "took": took,
        "changes": written,
        "pushers": len(pushers),
        "write_seconds": write_seconds,
        "pages": pages,
        "rows": rows,
        "employee_no": DEMO_MARKETER,
    }


async def drive(base: str, rounds: int, server_pid: int | None) -> dict[str, Any]:
    from app.demo import DEMO_ADMIN, DEMO_PASSWORD

    herd = Herd(base, server_pid)
    probe = herd.device(DEMO_ADMIN)
    await herd.login(probe, DEMO_PASSWORD)
    await probe.http.aclose()
    numbers = [f"{HERD_PREFIX}{i + 1:04d}" for i in range(DEVICES)]
    out: dict[str, Any] = {"devices": len(numbers), "debounce": herd.debounce, "storm": []}

    devices: list[Device] = []
    for _ in range(rounds):
        for d in devices:
            await d.http.aclose()
        await quiet(herd)
        result, devices = await storm(herd, numbers, DEMO_PASSWORD)
        out["storm"].append(result)
    await quiet(herd)
    out["catch_up"] = await catch_up(herd, devices, DEMO_PASSWORD)
    await quiet(herd)
    devices = [d for d in devices if d.started]  # those in
    out["in"] = len(devices)
    by_outlet: dict[str, list[Device]] = {}
    for d in devices:
        by_outlet.setdefault(d.outlet_id, []).append(d)
    for ds in by_outlet.values():  # devices of an outlet share its pool: one list for all
        pool = next((x.targets for x in ds if x.targets), [])
        for x in ds:
            x.targets = x.targets or pool

    admin = herd.device(DEMO_ADMIN)
    await herd.login(admin, DEMO_PASSWORD)
    out["incremental"], out["subset"] = [], []
    for turn in range(rounds):
        await quiet(herd)
        out["incremental"].append(await incremental(herd, devices, admin, by_outlet, turn))
        await quiet(herd)
        out["subset"].append(
            await incremental(herd, devices[:SUBSET], admin, by_outlet, 100 + turn)
        )

    pushers = devices[:PUSHERS]
    out["pushers"] = len(pushers)
    out["uploads"] = []
    for _ in range(rounds):
        await quiet(herd)
        out["uploads"].append(await uploads(herd, pushers))
    await quiet(herd)
    out["elsewhere"] = await elsewhere(herd, devices, DEMO_PASSWORD, rounds)

    gate = asyncio.Semaphore(50)

    async def up_to_date(d: Device) -> None:
        async with gate:
            with contextlib.suppress(Failure):
                await herd.pull(d)

    await asyncio.gather(*(up_to_date(d) for d in devices))  # before the streams open
    await quiet(herd)
    t0 = time.perf_counter()
    waits_before = herd.waits
    herd.open_streams(devices)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(
            asyncio.gather(*(d.hello.wait() for d in devices)), timeout=max(60.0, DEADLINE)
        )
    out["streams"] = {
        "open": sum(d.hello.is_set() for d in devices),
        "seconds": time.perf_counter() - t0,
        "waits": herd.waits - waits_before,
        "failed": herd.drops,
    }
    await quiet(herd, limit=15)
    out["visible"], out["everyone"] = [], []
    for turn in range(rounds):
        await quiet(herd, limit=10)
        out["visible"].append(await visible_round(herd, by_outlet, turn))
    for turn in range(rounds):
        await quiet(herd, limit=10)
        out["everyone"].append(await everyone_round(herd, admin, devices, by_outlet, turn))
    if LIVE_UPLOADS:
        out["uploads_live"] = []
        for _ in range(rounds):
            await quiet(herd, limit=30)
            out["uploads_live"].append(await uploads(herd, pushers))
    out["drops"] = herd.drops
    out["poke_pull_failures"] = herd.poke_pull_failures
    await herd.close_streams(devices)
    for d in [*devices, admin]:
        await d.http.aclose()
    return out


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.herd")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("seed")
    s.add_argument("url")
    s.add_argument("prospects", type=int)
    s.add_argument("devices", type=int)
    s.add_argument("seed", type=int)
    d = sub.add_parser("drive")
    d.add_argument("base")
    d.add_argument("--rounds", type=int, default=1)
    d.add_argument("--server-pid", type=int, default=None)
    args = parser.parse_args(argv)
    if args.command == "seed":
        emit(seed(args.url, args.prospects, args.devices, args.seed))
    else:
        more_files()
        emit(asyncio.run(drive(args.base, args.rounds, args.server_pid)))


if __name__ == "__main__":
    main(sys.argv[1:])

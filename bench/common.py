"""Shared pieces of the benchmarks: results and their table, the machine, the central store.

A benchmark module exposes ``run(ctx: Context) -> list[Result]``. What it measures
runs in a fresh child process (``run_child``) so that the orchestrator's own
preparation (generating 100,000 prospects) counts neither against its time nor
its memory. The central store is served by uvicorn in another process
(``Context.central``), started once per run and shared by every benchmark.

The central store's SQLite file is built once per (prospects, seed, data code) and
cached under ``var/bench/``; each run serves a copy of it from a temp dir.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import platform
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = ROOT / "var" / "bench"
DEFAULT_PROSPECTS = 100_000
DEFAULT_SEED = 20240112
DEMO_TODAY = date(2026, 1, 12)  # fixed, so a cached store stays the same data set

log = logging.getLogger("bench")


# -- results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """One row of the table; ``passed`` is None where there is nothing to judge."""

    work: str
    figure: str
    target: str = ""
    ratio: float | None = None  # to the raw limit measured in the same run
    passed: bool | None = None
    notes: tuple[str, ...] = ()


def render_table(results: list[Result]) -> str:
    """The results as one plain-text table (plus their notes underneath)."""
    header = ("work", "figure", "target", "ratio-to-raw", "pass/fail")
    rows = [
        (
            r.work,
            r.figure,
            r.target or "-",
            f"{r.ratio:.2f}x" if r.ratio is not None else "-",
            {True: "PASS", False: "FAIL", None: "-"}[r.passed],
        )
        for r in results
    ]
    widths = [max(_width(x) for x in col) for col in zip(header, *rows, strict=True)]

    def line(cells: tuple[str, ...]) -> str:
        return " | ".join(c + " " * (w - _width(c)) for c, w in zip(cells, widths, strict=True))

    out = [line(header), "-+-".join("-" * w for w in widths), *(line(r) for r in rows)]
    notes = [f"  - {n}" for r in results for n in r.notes]
    if notes:
        out += ["", "notes:", *notes]
    return "\n".join(out)


def _width(text: str) -> int:
    # CJK characters take two columns in a terminal.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def seconds(value: float) -> str:
    return f"{value * 1000:.3g} ms" if value < 1 else f"{value:.2f} s"


def megabytes(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:.0f} MB"


# -- the machine -----------------------------------------------------------------------


def machine() -> list[tuple[str, str]]:
    """CPU model, cores, RAM, Python and SQLite versions."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for text_line in Path("/proc/cpuinfo").read_text().splitlines():
            if text_line.startswith("model name"):
                cpu = text_line.split(":", 1)[1].strip()
                break
    ram = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for text_line in Path("/proc/meminfo").read_text().splitlines():
            if text_line.startswith("MemTotal:"):
                ram = f"{int(text_line.split()[1]) / 2**20:.1f} GiB"
                break
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [
        ("cpu", cpu),
        ("cores", f"{usable} usable ({os.cpu_count()} online)"),
        ("ram", ram or "?"),
        ("python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("sqlite", sqlite3.sqlite_version),
        ("os", platform.platform(terse=True)),
        ("load", load_average()),
    ]


def load_average() -> str:
    """The 1/5/15-minute load: on a shared machine, other work inflates wall times."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


# -- child processes -------------------------------------------------------------------


def run_child(module: str, *args: str, timeout: float = 600) -> dict[str, Any]:
    """Run ``python -m module args`` in a fresh interpreter; its last stdout line is JSON."""
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{module} {args[0] if args else ''} failed:\n{proc.stderr[-4000:]}")
    if proc.stderr.strip():
        log.debug("%s stderr:\n%s", module, proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def emit(data: dict[str, Any]) -> None:
    """A child's answer to ``run_child``: one JSON line on stdout."""
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time a process has used so far (Linux ``/proc``), else None."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def peak_rss_bytes() -> int:
    """This process's peak resident set size since it started (exec).

    Linux's ``VmHWM`` belongs to the process's own address space; ``ru_maxrss`` is not
    used there because Linux carries it over fork and exec, so a child would inherit
    the peak of the orchestrator that spawned it.
    """
    with contextlib.suppress(OSError, ValueError, IndexError):
        for text_line in Path("/proc/self/status").read_text().splitlines():
            if text_line.startswith("VmHWM:"):
                return int(text_line.split()[1]) * 1024
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


# -- the central store -----------------------------------------------------------------


def _data_fingerprint() -> str:
    """Changes when the demo data or the schema does, so a stale cache is rebuilt."""
    h = hashlib.sha256()
    sources = [ROOT / "app/demo.py", ROOT / "app/server/changes.py"]
    sources += sorted((ROOT / "app/server/alembic/versions").glob("*.py"))
    for path in sources:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:10]


def central_db(prospects: int, seed: int) -> Path:
    """The cached central store for this data set, built (≈ 20 s at 100k) when missing."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    stem = f"central-n{prospects}-s{seed}"
    path = CACHE_DIR / f"{stem}-{_data_fingerprint()}.sqlite3"
    if path.exists():
        return path
    for stale in CACHE_DIR.glob(f"{stem}-*.sqlite3"):
        stale.unlink()
    from app.demo import generate
    from app.server.admin import load_demo
    from app.server.db import make_engine, migrate

    log.info(
        "building the central store: %d prospects, seed %d (cached afterwards)", prospects, seed
    )
    started = time.perf_counter()
    building = path.with_suffix(".building")
    for leftover in (building, Path(f"{building}-wal"), Path(f"{building}-shm")):
        leftover.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{building}")
    migrate(engine)
    counts = load_demo(engine, generate(prospects=prospects, seed=seed, today=DEMO_TODAY))
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    os.replace(building, path)
    log.info("built in %.1f s: %s", time.perf_counter() - started, counts)
    return path


def device_from_central(
    ctx: Context, name: str, tables: tuple[str, ...], ddl: Iterable[str]
) -> Path:
    """A device store (its schema from ``DeviceStore``) holding ``tables`` copied from the
    cached central store, then ``ddl`` run after the rows, as when a first sync lands.
    Built once per run, untimed."""
    path = ctx.path(name)
    if path.exists():
        return path
    from app.sync.store import DeviceStore

    DeviceStore(path).close()  # the device's schema and indexes
    source = central_db(ctx.prospects, ctx.seed)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("ATTACH DATABASE ? AS central", (str(source),))
    conn.execute("BEGIN")
    for table in tables:
        mine = [r[1] for r in conn.execute(f'PRAGMA main.table_info("{table}")')]
        theirs = {r[1] for r in conn.execute(f'PRAGMA central.table_info("{table}")')}
        cols = ", ".join(f'"{c}"' for c in mine if c in theirs)
        conn.execute(f'INSERT INTO main."{table}" ({cols}) SELECT {cols} FROM central."{table}"')
    for statement in ddl:
        conn.execute(statement)
    conn.execute("COMMIT")
    conn.execute("DETACH DATABASE central")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path


@dataclass
class CentralStore:
    """A central store served by uvicorn in its own process."""

    url: str
    db_path: Path
    process: subprocess.Popen[bytes]
    counts: dict[str, int] = field(default_factory=dict)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_central(source: Path, workdir: Path) -> CentralStore:
    """Copy ``source`` into ``workdir`` and serve it (``bench.central`` factory)."""
    db_path = workdir / "central.sqlite3"
    shutil.copyfile(source, db_path)
    with sqlite3.connect(db_path) as conn:
        counts = {
            table: int(conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
            for table in ("prospect", "marketing_log", "funnel_event", "transfer")
        }
    port = _free_port()
    env = {
        **os.environ,
        "PUHUI_DATABASE_URL": f"sqlite:///{db_path}",
        "PUHUI_DATA_DIR": str(workdir),
        # the store refuses to start without a real key; the benchmark's lives with its run
        "PUHUI_SECRET_KEY": os.environ.get("PUHUI_SECRET_KEY") or secrets.token_urlsafe(32),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.central:create",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    store = CentralStore(f"http://127.0.0.1:{port}", db_path, process, counts)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise RuntimeError(f"the central store did not start:\n{err[-4000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{store.url}/health", timeout=1).status_code == 200:
                return store
        time.sleep(0.1)
    store.stop()
    raise RuntimeError("the central store did not answer /health within 60 s")


# -- the run ---------------------------------------------------------------------------


class Context:
    """What one ``make bench`` run shares: settings, a temp dir, the central store."""

    def __init__(self) -> None:
        self.prospects = int(os.environ.get("BENCH_PROSPECTS", DEFAULT_PROSPECTS))
        self.seed = int(os.environ.get("BENCH_SEED", DEFAULT_SEED))
        self._stack = contextlib.ExitStack()
        self.workdir = Path(self._stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        self._central: CentralStore | None = None

    def central(self) -> CentralStore:
        """The central store with ``prospects`` demo prospects (started on first use)."""
        if self._central is None:
            source = central_db(self.prospects, self.seed)
            self._central = start_central(source, self.workdir)
            self._stack.callback(self._central.stop)
        return self._central

    def path(self, name: str) -> Path:
        """A fresh path in the run's temp dir."""
        return self.workdir / name

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

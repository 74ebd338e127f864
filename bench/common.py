"""Shared pieces of the benchmarks: rounds and results, the table, the machine, the stores.

A benchmark module exposes ``run(ctx: Context) -> list[Result]``. Every figure is
measured in ``ctx.rounds`` rounds (``--rounds``, default 5): the table prints the
median, the spread (min–max of the rounds) and how many there were, and a ratio to
a raw limit is the ratio of the two medians, the raw limit measured the same way in
the same run, its rounds interleaved with the figure's where they can be.

What it measures runs in a fresh child process (``run_child``) so that the
orchestrator's own preparation (generating 100,000 prospects) counts neither against
its time nor its memory. The central store is served by uvicorn in another process
(``Context.central``), started once per run and shared by every benchmark.
PostgreSQL benchmarks make databases of their own (``PgDatabases``), dropped at the end.

The central store's SQLite file is built once per (prospects, seed, data code) and
cached under ``var/bench/``; each run serves a copy of it from a temp dir.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import platform
import secrets
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
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


# -- rounds and results ------------------------------------------------------------------

DEFAULT_ROUNDS = 5
MIN_ROUNDS = 5  # fewer make a quick look, not the benchmark (the table says so)


@dataclass(frozen=True)
class Rounds:
    """One figure measured in each of several rounds: its median and its spread.

    The spread is the range of the rounds (min–max): with five rounds a percentile range
    would be the same two values. A figure that is itself a percentile of many samples
    (a p95 of 200 queries) is that percentile per round, then the median over rounds.
    """

    values: tuple[float, ...]

    @classmethod
    def of(cls, values: Iterable[float]) -> Rounds:
        found = tuple(float(v) for v in values)
        if not found:
            raise ValueError("no rounds measured")
        return cls(found)

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def lo(self) -> float:
        return min(self.values)

    @property
    def hi(self) -> float:
        return max(self.values)

    def spread(self, fmt: Callable[[float], str]) -> str:
        lo, hi = fmt(self.lo), fmt(self.hi)
        return lo if lo == hi else f"{lo} – {hi}"

    def listed(self, fmt: Callable[[float], str]) -> str:
        """Every round's value in the order measured (for the notes)."""
        return ", ".join(fmt(v) for v in self.values)


def quantile(values: Iterable[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (nearest rank, no interpolation)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


@dataclass(frozen=True)
class Result:
    """One row of the table; ``passed`` is None where there is nothing to judge.

    ``figure`` is the median over the rounds, ``spread`` their range and ``rounds`` how
    many there were; ``ratio`` is the figure's median over its raw limit's median, both
    measured in the same run (``ratio_text`` words it when a plain ``0.01x`` would not
    read well, e.g. a speed-up).
    """

    work: str
    figure: str
    spread: str = ""
    rounds: int | None = None
    target: str = ""
    ratio: float | None = None
    passed: bool | None = None
    notes: tuple[str, ...] = ()
    ratio_text: str = ""


def measured(
    work: str,
    rounds: Rounds,
    fmt: Callable[[float], str],
    *,
    target: str = "",
    limit: float | None = None,
    at_least: bool = False,
    ratio: float | None = None,
    ratio_text: str = "",
    passed: bool | None = None,
    notes: Iterable[str] = (),
    extra: str = "",
    spread_fmt: Callable[[float], str] | None = None,
) -> Result:
    """A row for a figure measured in rounds: judged on its median against ``limit``
    (``at_least``: the figure must reach it) unless ``passed`` is given."""
    if passed is None and limit is not None:
        passed = rounds.median >= limit if at_least else rounds.median <= limit
    return Result(
        work=work,
        figure=fmt(rounds.median) + (f" {extra}" if extra else ""),
        spread=rounds.spread(spread_fmt or fmt),
        rounds=rounds.n,
        target=target,
        ratio=ratio,
        ratio_text=ratio_text,
        passed=passed,
        notes=tuple(notes),
    )


def render_table(results: list[Result]) -> str:
    """The results as one plain-text table (plus their notes underneath)."""
    header = ("work", "figure (median)", "spread (min–max)", "n", "target", "ratio", "pass/fail")
    rows = [
        (
            r.work,
            r.figure,
            r.spread or "-",
            str(r.rounds) if r.rounds is not None else "-",
            r.target or "-",
            r.ratio_text or (f"{r.ratio:.2f}x" if r.ratio is not None else "-"),
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
    if value < 0.001:
        return f"{value * 1e6:.3g} µs"
    return f"{value * 1000:.3g} ms" if value < 1 else f"{value:.2f} s"


def megabytes(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:.0f} MB"


def times(value: float) -> str:
    """A ratio as ``2.31x``."""
    return f"{value:.2f}x"


def count(value: float) -> str:
    return f"{value:,.0f}"


def per_second(value: float) -> str:
    return f"{value:,.0f}/s"


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

    def __init__(self, rounds: int | None = None) -> None:
        self.prospects = int(os.environ.get("BENCH_PROSPECTS", DEFAULT_PROSPECTS))
        self.seed = int(os.environ.get("BENCH_SEED", DEFAULT_SEED))
        self.rounds = max(1, rounds or int(os.environ.get("BENCH_ROUNDS", DEFAULT_ROUNDS)))
        self._stack = contextlib.ExitStack()
        self.workdir = Path(self._stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        self._central: CentralStore | None = None
        self._pg: PgDatabases | None = None

    def central(self) -> CentralStore:
        """The central store with ``prospects`` demo prospects (started on first use)."""
        if self._central is None:
            source = central_db(self.prospects, self.seed)
            self._central = start_central(source, self.workdir)
            self._stack.callback(self._central.stop)
        return self._central

    def postgres(self) -> PgDatabases | None:
        """The bench's PostgreSQL server (None when none answers): databases of this run."""
        if self._pg is None:
            pg = PgDatabases(PG_URL)
            if not pg.available():
                return None
            self._pg = pg
            self._stack.callback(pg.drop_all)
        return self._pg

    def path(self, name: str) -> Path:
        """A fresh path in the run's temp dir."""
        return self.workdir / name

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- PostgreSQL ------------------------------------------------------------------------

# The server the benchmarks use (the tests' database by default); each run makes databases
# of its own there and drops them at the end.
PG_URL = os.environ.get(
    "BENCH_PG_URL", os.environ.get("BENCH_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
)


class PgDatabases:
    """Databases the run makes on one PostgreSQL server, each dropped at the end.

    A prepared state that several rounds start from is a *template*: ``copy`` makes a
    new database from it (``CREATE DATABASE … TEMPLATE``, a file copy inside the server:
    seconds, where loading the rows again would take a minute), so every round begins
    from the same data.
    """

    def __init__(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        self.url = make_url(url)
        self.made: list[str] = []

    def available(self) -> bool:
        try:
            with self._admin() as conn:
                conn.exec_driver_sql("SELECT 1")
            return True
        except Exception:  # noqa: BLE001 - no server: the rows say so
            return False

    @contextlib.contextmanager
    def _admin(self) -> Iterator[Any]:
        from sqlalchemy import create_engine

        engine = create_engine(
            self.url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
        )
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()

    def url_of(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def create(self, label: str, *, template: str | None = None) -> str:
        """A new, empty database (or a copy of ``template``): its URL."""
        name = f"bench_{os.getpid()}_{label}_{secrets.token_hex(3)}"
        copy = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
        with self._admin() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"{copy}')
        self.made.append(name)
        return self.url_of(name)

    def copy(self, template_url: str, label: str) -> str:
        """A fresh copy of the database at ``template_url`` (nobody may be connected to it)."""
        from sqlalchemy.engine import make_url

        return self.create(label, template=make_url(template_url).database)

    def drop(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        name = make_url(url).database
        with contextlib.suppress(Exception), self._admin() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.made:
            self.made.remove(name)

    def drop_all(self) -> None:
        for name in list(self.made):
            self.drop(self.url_of(name))

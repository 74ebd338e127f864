"""A fault harness: devices doing random work through the real sync engine against a real
central-store process, over a network that drops, duplicates, delays and breaks, with
the store restarted and device processes killed (SIGKILL) at random points.

One run (``run_once``) builds a small world of its own in the store, lets a few device
processes work it under faults, then heals the network, syncs every device until it is
quiet and counts what a bank would call a data incident:

    lost        a marketing log a device saved that the store neither holds nor refused
    duplicated  a mutation the store applied twice (the same mutation id under two seqs)
    stuck       a device whose outbox does not empty once the network is good
    diverged    a device whose scope checksum differs from the store's
    broken      a prospect whose applied funnel events are not a valid chain ending in
                its status

``make soak RUNS=1000`` runs many seeds (tests/fault/soak.py); the suite runs a few.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import Engine, create_engine, text

from app.config import normalise_db_url
from app.models.sync import PROTOCOL_HEADER, PROTOCOL_VERSION
from app.services.funnel import FunnelError, check_transition
from app.services.marketing import new_log
from app.services.scope import Scope
from app.sync import local
from app.sync.apply import local_checksums
from app.sync.client import SyncClient
from app.sync.engine import SyncEngine
from app.sync.errors import SyncError
from app.sync.state import StateKey
from app.sync.store import DeviceStore
from tests.world import PASSWORD, World, build_world

ROOT = Path(__file__).resolve().parents[2]
SECRET = "fault-harness-secret-key-not-for-production-0123456789"
CHANNELS = ("visit", "phone", "wechat", "at_outlet")
OUTCOMES = ("no_answer", "considering", "interested", "agreed_to_apply", "not_interested")
STEPS = ("contacted", "interested", "applied", "approved", "disbursed", "declined", "invalid")
CLOSE_REASONS = ("wrong_contact", "business_closed", "not_eligible", "not_interested", "duplicate")


# -- the network ------------------------------------------------------------------------


@dataclass(frozen=True)
class Faults:
    """How often each fault strikes a request (each a probability)."""

    drop_request: float = 0.06  # never reaches the store
    drop_response: float = 0.06  # the store did the work; the answer is lost
    duplicate: float = 0.05  # sent twice, the second answer returned
    delay: float = 0.10  # up to 50 ms late
    server_error: float = 0.04  # a 503 from a proxy in between
    reset: float = 0.03  # connection reset after the store answered

    @classmethod
    def none(cls) -> Faults:
        return cls(0, 0, 0, 0, 0, 0)


class FaultTransport(httpx.BaseTransport):
    """An httpx transport that injects ``Faults`` around a real HTTP transport."""

    def __init__(self, rng: random.Random, faults: Faults) -> None:
        self.inner = httpx.HTTPTransport()
        self.rng = rng
        self.faults = faults

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        f, roll = self.faults, self.rng.random
        request.read()
        if roll() < f.drop_request:
            raise httpx.ConnectError("injected: request dropped", request=request)
        if roll() < f.server_error:
            return httpx.Response(503, json={"code": "sync.failed", "message": "injected"})
        if roll() < f.delay:
            time.sleep(self.rng.uniform(0, 0.05))
        response = self.inner.handle_request(request)
        response.read()
        if roll() < f.duplicate:
            response = self.inner.handle_request(request)
            response.read()
        if roll() < f.drop_response:
            raise httpx.ReadError("injected: response lost", request=request)
        if roll() < f.reset:
            raise httpx.RemoteProtocolError("injected: connection reset", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


# -- the central store, as a process ------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class StoreProcess:
    """``main.py serve`` in its own process, restartable on the same port."""

    def __init__(self, db_url: str, *, log_path: Path) -> None:
        self.db_url = db_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self.engine: Engine = create_engine(normalise_db_url(db_url))

    def start(self) -> None:
        env = {**os.environ, "PUHUI_SECRET_KEY": SECRET}
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "main.py", "serve", "--db", self.db_url, "--port", str(self.port)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the store exited: see {self.log_path}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("the store did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def restart(self) -> None:
        self.kill()
        self.restarts += 1
        self.start()

    def close(self) -> None:
        self.kill()
        self.engine.dispose()


@contextmanager
def running_store(db_url: str, workdir: Path) -> Iterator[StoreProcess]:
    store = StoreProcess(db_url, log_path=workdir / "store.log")
    store.start()
    try:
        yield store
    finally:
        store.close()


# -- devices ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceSpec:
    name: str
    db_path: Path
    journal: Path  # ids of the logs this device saved, appended after each commit
    url: str
    token: str
    user_id: str
    role: str
    outlet_id: str | None


def device_life(spec: DeviceSpec, seed: int, steps: int, faults: Faults) -> None:
    """One life of a device process: random work and syncs, until done or killed."""
    rng = random.Random(seed)
    store = DeviceStore(spec.db_path)
    http = httpx.Client(base_url=spec.url, timeout=5, transport=FaultTransport(rng, faults))
    engine = SyncEngine(
        store, SyncClient(http, token=spec.token), push_batch=rng.choice([1, 3, 20])
    )
    me = Scope(spec.user_id, spec.role, spec.outlet_id)
    with open(spec.journal, "a", encoding="utf-8") as journal:
        for _ in range(steps):
            if rng.random() < 0.3:
                engine.sync_once()
                continue
            saved = _random_change(store, me, rng)
            if saved:
                journal.write(saved + "\n")
                journal.flush()
                os.fsync(journal.fileno())
    http.close()
    store.close()


def _random_change(store: DeviceStore, me: Scope, rng: random.Random) -> str | None:
    """Make one change a user could make; the id of a saved log, else None."""
    with store.read() as conn:
        rows = conn.execute(text("SELECT id, assignee_id, status FROM prospect")).all()
        marketers = [
            r[0]
            for r in conn.execute(
                text("SELECT id FROM \"user\" WHERE role = 'marketer' AND outlet_id = :o"),
                {"o": me.outlet_id},
            )
        ]
    if not rows:
        return None
    pid, assignee, _status = rng.choice(rows)
    pick = rng.random()
    try:
        if pick < 0.45:
            log = new_log(
                prospect_id=pid,
                channel=rng.choice(CHANNELS),
                outcome=rng.choice(OUTCOMES),
                note=f"harness {rng.randrange(10**6)}",
            )
            local.record_log(store, me, log)
            return log.id
        if pick < 0.75:
            amount = rng.randrange(10_000, 1_000_000)
            step = rng.choice(STEPS)
            why = rng.choice(CLOSE_REASONS) if step in ("declined", "invalid") else None
            local.move_funnel(
                store, me, prospect_id=pid, to_status=step, amount=amount, close_reason=why
            )
        elif pick < 0.88 and assignee is None:
            local.claim(store, me, prospect_id=pid)
        elif marketers:
            target = rng.choice([*marketers, None])
            local.assign(store, me, prospect_id=pid, to_user_id=target, reason="harness")
    except local.LocalError:
        pass  # refused on the device, as a user would see: nothing saved
    return None


# -- one run ------------------------------------------------------------------------------


@dataclass
class Outcome:
    seed: int
    lost: int = 0
    duplicated: int = 0
    stuck: int = 0
    diverged: int = 0
    broken: int = 0
    kills: int = 0
    restarts: int = 0
    logs: int = 0
    details: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.stuck or self.diverged or self.broken)


def _login(url: str, employee_no: str) -> dict:
    for _ in range(50):  # the store may be restarting
        try:
            r = httpx.post(
                f"{url}/auth/login",
                json={"employee_no": employee_no, "password": PASSWORD},
                headers={PROTOCOL_HEADER: str(PROTOCOL_VERSION)},
                timeout=5,
            )
            r.raise_for_status()
            return r.json()
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{employee_no} could not log in")


def run_once(
    store: StoreProcess,
    seed: int,
    workdir: Path,
    *,
    steps: int = 24,
    faults: Faults = Faults(),  # noqa: B008 - frozen
    kill_rate: float = 0.25,
    restart_rate: float = 0.08,
    tamper: Callable[[Engine, World], None] | None = None,
) -> Outcome:
    """One seeded run in its own world; returns what went wrong (nothing, we hope)."""
    rng = random.Random(seed)
    out = Outcome(seed=seed)
    world = build_world(
        store.engine, per_marketer=3, pool=4, prefix=f"s{seed}x{rng.randrange(10**6)}-"
    )
    run_dir = workdir / f"run-{seed}"
    run_dir.mkdir(parents=True, exist_ok=True)
    specs = []
    for n, no in enumerate(["M1", "M2", "G1", "M1"]):  # M1 on two devices
        user = world.users[no]
        session = _login(store.url, user["employee_no"])
        specs.append(
            DeviceSpec(
                name=f"{no}-{n}",
                db_path=run_dir / f"device-{n}.sqlite",
                journal=run_dir / f"device-{n}.journal",
                url=store.url,
                token=session["token"],
                user_id=user["id"],
                role=user["role"],
                outlet_id=user["outlet_id"],
            )
        )
    _work(store, specs, rng, steps, faults, kill_rate, restart_rate, out)
    out.restarts = store.restarts
    _heal(specs)
    if tamper is not None:  # the harness's own test: an incident it must notice
        tamper(store.engine, world)
    _count(store, world, specs, out)
    if out.clean:  # a failed run's devices stay for a look; a clean one's go
        shutil.rmtree(run_dir, ignore_errors=True)
    return out


def _work(
    store: StoreProcess,
    specs: list[DeviceSpec],
    rng: random.Random,
    steps: int,
    faults: Faults,
    kill_rate: float,
    restart_rate: float,
    out: Outcome,
) -> None:
    """Let the devices work under faults; kill some mid-flight and restart the store."""
    fork = multiprocessing.get_context("fork")
    lives = {s.name: 0 for s in specs}
    running = {}
    for spec in specs:
        running[spec.name] = (
            spec,
            fork.Process(target=device_life, args=(spec, rng.random(), steps, faults)),
        )
        running[spec.name][1].start()
    while running:
        time.sleep(rng.uniform(0.02, 0.2))
        for name, (_spec, proc) in list(running.items()):
            if not proc.is_alive():
                proc.join()
                del running[name]
        if running and rng.random() < kill_rate:
            name = rng.choice(sorted(running))
            spec, proc = running[name]
            proc.kill()  # SIGKILL: whatever the device was doing, mid-transaction included
            proc.join()
            out.kills += 1
            lives[name] += 1
            if lives[name] <= 2:  # a new life on the same store and outbox
                again = fork.Process(
                    target=device_life, args=(spec, rng.random(), steps // 2, faults)
                )
                again.start()
                running[name] = (spec, again)
            else:
                del running[name]
        if rng.random() < restart_rate:
            store.restart()


def _clean_engine(spec: DeviceSpec) -> tuple[DeviceStore, SyncEngine, httpx.Client]:
    store = DeviceStore(spec.db_path)
    http = httpx.Client(base_url=spec.url, timeout=30)
    return store, SyncEngine(store, SyncClient(http, token=spec.token)), http


def _heal(specs: list[DeviceSpec]) -> None:
    """A good network: every device syncs until its outbox is empty (two rounds, so each
    pulls what the others pushed)."""
    for _ in range(2):
        for spec in specs:
            store, engine, http = _clean_engine(spec)
            try:
                for _ in range(4):
                    progress = engine.sync_once(verify=False)
                    if not progress.error_code and progress.pending == 0:
                        break
            finally:
                http.close()
                store.close()


def _count(store: StoreProcess, world: World, specs: list[DeviceSpec], out: Outcome) -> None:
    with store.engine.connect() as db:
        for spec in specs:
            _count_device(db, spec, out)
        _count_chains(db, world, out)


def _count_device(db, spec: DeviceSpec, out: Outcome) -> None:  # type: ignore[no-untyped-def]
    device, engine, http = _clean_engine(spec)
    try:
        with device.read() as conn:
            pending = conn.execute(text("SELECT count(*) FROM outbox")).scalar_one()
            device_id = DeviceStore.get(conn, StateKey.DEVICE_ID)
            own = {
                r[0]
                for r in conn.execute(
                    text("SELECT id FROM marketing_log WHERE device_id = :d OR rev = 0"),
                    {"d": device_id},
                )
            }
            refused = {
                r[0]
                for r in conn.execute(
                    text(
                        "SELECT json_extract(payload, '$.id') FROM rejection WHERE kind = 'log.create'"
                    )
                )
            }
            mine = local_checksums(conn)
            cursor = DeviceStore.get(conn, StateKey.CURSOR)
        journal = set(spec.journal.read_text("utf-8").split()) if spec.journal.exists() else set()
        created = (own | journal) - refused
        out.logs += len(created)
        if pending:
            out.stuck += 1
            out.details.append(f"{spec.name}: {pending} changes still waiting")
        held = set()
        ids = sorted(created)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join(f":i{n}" for n in range(len(chunk)))
            held |= {
                r[0]
                for r in db.execute(
                    text(f"SELECT id FROM marketing_log WHERE id IN ({marks})"),
                    {f"i{n}": i for n, i in enumerate(chunk)},
                )
            }
        missing = created - held
        if missing:
            out.lost += len(missing)
            out.details.append(f"{spec.name}: {len(missing)} logs lost, e.g. {sorted(missing)[:3]}")
        twice = db.execute(
            text(
                "SELECT mutation_id, count(*) FROM mutation_record WHERE device_id = :d"
                " AND status = 'applied' GROUP BY mutation_id HAVING count(*) > 1"
            ),
            {"d": device_id},
        ).all()
        if twice:
            out.duplicated += len(twice)
            out.details.append(f"{spec.name}: applied twice {twice[:3]}")
        if cursor:
            theirs = engine.client.checksum(cursor)
            if not theirs.get("stale"):
                for entity, remote in theirs["entities"].items():
                    if mine[entity]["digest"] != remote["digest"]:
                        out.diverged += 1
                        out.details.append(
                            f"{spec.name}: {entity} differs ({mine[entity]['count']} here,"
                            f" {remote['count']} in the store)"
                        )
                        break
    except SyncError as exc:
        out.diverged += 1
        out.details.append(f"{spec.name}: could not verify ({exc.code})")
    finally:
        http.close()
        device.close()


def _count_chains(db, world: World, out: Outcome) -> None:  # type: ignore[no-untyped-def]
    for p in world.prospects:
        status = "assigned" if p["assignee_id"] else "unassigned"
        events = db.execute(
            text(
                "SELECT from_status, to_status FROM funnel_event WHERE prospect_id = :p AND applied"
                " ORDER BY rev"
            ),
            {"p": p["id"]},
        ).all()
        now = db.execute(
            text("SELECT status FROM prospect WHERE id = :p"), {"p": p["id"]}
        ).scalar_one()
        try:
            for from_status, to_status in events:
                if from_status != status:
                    raise FunnelError("harness.gap", status, from_status)
                check_transition(status, to_status)
                status = to_status
        except FunnelError as exc:
            out.broken += 1
            out.details.append(f"prospect {p['id']}: {exc}")
            continue
        if status != now:
            out.broken += 1
            out.details.append(f"prospect {p['id']}: events end at {status}, status is {now}")

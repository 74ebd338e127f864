"""Live updates: each committed write pokes the devices whose scope it touched.

A poke says "your scope changed, up to seq N" and nothing else; the device then pulls
as it always does, so every guarantee of pull (scope, masking, removals) stays pull's.

    write_session
      before commit   touched(changes.written(session)) ─► Touch: the placements the
                      transaction's change-log rows touched, as they were appended
      PostgreSQL      NOTIFY <channel of the schema>, Touch as JSON, in the transaction:
                      delivered on commit, never for a rollback, to every process
      SQLite          after commit, to this process's Hub (the store has one process)
    Hub (one per process and store)
      PostgreSQL      one LISTEN connection in a thread, dispatching what arrives (to
                    ``listen_database_url``: LISTEN needs a session of its own, which
                    a transaction pooler such as PgBouncer cannot keep)
      every store     Subscriber.offer(high) for each stream whose scope the Touch reaches
    GET /sync/events  hello{high} on connect, then poke{high} at most once per coalescing
                      window, keep-alive comments; ``retry:`` tells browsers when to return

A Touch names sets, not pairs, and matches exactly as ``Scope.contains`` would over its
pairs: ``assignees`` (a marketer's own), ``pools`` (outlets whose unassigned pool
changed, a marketer's outlet), ``outlets`` (every outlet placed, for managers; an admin
any). A change of a row with no prospect that every device syncs (users, outlets,
batches) is ``everyone``; so is a payload too large for NOTIFY, and a LISTEN connection
that was lost (what came meanwhile is unknown).
"""

from __future__ import annotations

import asyncio
import json
import logging
import select as io_select
import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, make_url, text
from sqlmodel import Session

from app.models import Role
from app.server.changes import GLOBAL_ENTITIES, Written
from app.services.scope import MANAGERS, Scope

log = logging.getLogger(__name__)

# NOTIFY refuses payloads of 8000 bytes and more; past this a Touch says "everyone".
MAX_PAYLOAD = 7900
# Distinct (outlet, assignee) placements per transaction; more: "everyone".
MAX_PLACEMENTS = 400
CHANNEL_SQL = "'puhui_live_' || md5(current_schema())"  # one channel per store (schema)
_LISTEN_POLL = 1.0  # seconds: how soon the LISTEN thread notices it should stop


@dataclass(frozen=True)
class Touch:
    """What one committed transaction touched, and the change-log seq it reached."""

    high: int
    everyone: bool = False
    outlets: frozenset[str] = frozenset()  # outlets a touched row is placed in
    assignees: frozenset[str] = frozenset()  # users a touched row is assigned to (or found by)
    pools: frozenset[str] = frozenset()  # outlets whose unassigned pool a row entered or left

    def reaches(self, scope: Scope) -> bool:
        """Whether a device of ``scope`` would pull anything new (``Scope.contains``)."""
        if self.everyone:
            return True
        if scope.role == Role.ADMIN:
            return bool(self.outlets)
        if scope.role in MANAGERS:
            return not scope.outlets.isdisjoint(self.outlets)
        if scope.user_id in self.assignees:
            return True
        return scope.outlet_id is not None and scope.outlet_id in self.pools

    def payload(self) -> str:
        """Compact JSON for NOTIFY, under its size limit (else: everyone)."""
        if self.everyone:
            return json.dumps({"h": self.high, "e": 1})
        data = {
            "h": self.high,
            "o": sorted(self.outlets),
            "a": sorted(self.assignees),
            "p": sorted(self.pools),
        }
        body = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        if len(body.encode()) > MAX_PAYLOAD:
            return json.dumps({"h": self.high, "e": 1})
        return body

    @classmethod
    def from_payload(cls, body: str) -> Touch:
        """A Touch from NOTIFY's payload; anything unreadable pokes everyone."""
        try:
            data = json.loads(body)
            high = int(data.get("h", 0))
            if data.get("e"):
                return cls(high, everyone=True)
            return cls(
                high,
                outlets=frozenset(map(str, data.get("o", ()))),
                assignees=frozenset(map(str, data.get("a", ()))),
                pools=frozenset(map(str, data.get("p", ()))),
            )
        except (ValueError, TypeError, AttributeError):
            log.warning("unreadable live payload: %.200s", body)
            return cls(0, everyone=True)


def touched(written: Written | None) -> Touch | None:
    """What a transaction's change-log rows touched (``changes.written``); None when it
    wrote none."""
    if written is None or not written.rows:
        return None
    high = max(written.heads.values())
    if written.overflow:
        return Touch(high, everyone=True)
    outlets: set[str] = set()
    assignees: set[str] = set()
    pools: set[str] = set()
    seen: set[tuple[str | None, str | None]] = set()
    for entity, old, new in written.places:
        if entity in GLOBAL_ENTITIES:
            return Touch(high, everyone=True)
        for outlet, assignee in (old, new):
            seen.add((outlet, assignee))
            if outlet is not None:
                outlets.add(outlet)
            if assignee is not None:
                assignees.add(assignee)
            elif entity != "field_lead" and outlet is not None:
                pools.add(outlet)
        if len(seen) > MAX_PLACEMENTS:
            return Touch(high, everyone=True)
    return Touch(
        high, outlets=frozenset(outlets), assignees=frozenset(assignees), pools=frozenset(pools)
    )


def notify(session: Session, touch: Touch) -> None:
    """PostgreSQL: queue the Touch on the store's channel; sent when the transaction commits."""
    session.execute(text(f"SELECT pg_notify({CHANNEL_SQL}, :p)"), {"p": touch.payload()})


# -- subscribers --------------------------------------------------------------------------


@dataclass(eq=False)
class Subscriber:
    """One open stream: its scope, and at most one pending poke (the highest seq offered),
    so a slow reader costs one integer however many writes pass."""

    loop: asyncio.AbstractEventLoop
    scope: Scope
    pending: int | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, high: int) -> None:
        """On the subscriber's loop: note a poke (merged with one not yet sent)."""
        self.pending = high if self.pending is None else max(self.pending, high)
        self.ready.set()

    def take(self) -> int | None:
        high, self.pending = self.pending, None
        self.ready.clear()
        return high


class Hub:
    """The streams of one store in this process, and on PostgreSQL its LISTEN thread."""

    def __init__(self, engine: Engine, listen_url: str | None = None) -> None:
        self.engine = engine
        # LISTEN's own database URL: a direct one when ``engine`` goes through a
        # transaction pooler, which cannot keep a session listening
        self.listen_url = listen_url
        self._subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.listening = threading.Event()  # PostgreSQL: LISTEN is in place

    @property
    def postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def __len__(self) -> int:
        return len(self._subscribers)

    def subscribe(self, scope: Scope) -> Subscriber:
        sub = Subscriber(asyncio.get_running_loop(), scope)
        with self._lock:
            self._subscribers.add(sub)
        if self.postgres:
            self._ensure_listener()
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(sub)

    def dispatch(self, touch: Touch) -> None:
        """From any thread: offer the poke to every stream the Touch reaches."""
        with self._lock:
            subscribers = list(self._subscribers)
        for sub in subscribers:
            if touch.reaches(sub.scope):
                try:
                    sub.loop.call_soon_threadsafe(sub.offer, touch.high)
                except RuntimeError:  # its loop closed (the server stopped)
                    self.unsubscribe(sub)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(_LISTEN_POLL * 3)

    # -- PostgreSQL ---------------------------------------------------------------------

    def _ensure_listener(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._listen, name="live-listen", daemon=True)
            self._thread.start()

    def _listen(self) -> None:
        """One dedicated connection (outside the pool) for LISTEN; on loss, reconnect with
        backoff and poke everyone, since what was notified meanwhile is unknown."""
        import psycopg2

        url = make_url(self.listen_url) if self.listen_url else self.engine.url
        args, kwargs = self.engine.dialect.create_connect_args(url)
        lost = 0
        while not self._stop.is_set():
            conn: Any = None
            try:
                conn = psycopg2.connect(*args, **kwargs)
                conn.autocommit = True
                with conn.cursor() as cur:
                    cur.execute(f"SELECT {CHANNEL_SQL}")
                    channel = cur.fetchone()[0]
                    cur.execute(f'LISTEN "{channel}"')
                self.listening.set()
                if lost:
                    self.dispatch(Touch(0, everyone=True))
                lost = 0
                while not self._stop.is_set():
                    if io_select.select([conn], [], [], _LISTEN_POLL) == ([], [], []):
                        continue
                    conn.poll()
                    while conn.notifies:
                        self.dispatch(Touch.from_payload(conn.notifies.pop(0).payload))
            except Exception:  # noqa: BLE001 - the database went away: try again
                self.listening.clear()
                lost += 1
                log.warning("live LISTEN connection lost (%d)", lost, exc_info=lost == 1)
                self._stop.wait(min(30.0, 0.5 * 2**lost))
            finally:
                if conn is not None:
                    try:
                        conn.close()
                    except Exception:  # noqa: BLE001
                        pass
        self.listening.clear()


_hubs: dict[str, Hub] = {}
_refs: dict[str, int] = {}
_hubs_lock = threading.Lock()


def _key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def hub_for(engine: Engine) -> Hub:
    """This process's hub of the store ``engine`` reaches (made on first use)."""
    key = _key(engine)
    with _hubs_lock:
        hub = _hubs.get(key)
        if hub is None:
            hub = _hubs[key] = Hub(engine)
        return hub


def acquire(engine: Engine, listen_url: str | None = None) -> Hub:
    """An app of this store starts serving (several may share a process: tests);
    ``listen_url``: where its LISTEN connection goes (default: ``engine``'s database)."""
    hub = hub_for(engine)
    with _hubs_lock:
        if listen_url and listen_url != engine.url.render_as_string(hide_password=False):
            hub.listen_url = listen_url
        _refs[_key(engine)] = _refs.get(_key(engine), 0) + 1
    return hub


def release(engine: Engine) -> None:
    """An app of this store stops; the last one closes the hub (its LISTEN connection)."""
    key = _key(engine)
    with _hubs_lock:
        _refs[key] = _refs.get(key, 1) - 1
        hub = _hubs.pop(key, None) if _refs[key] <= 0 else None
        if hub is not None:
            _refs.pop(key, None)
    if hub is not None:
        hub.close()


def wants_touch(engine: Engine) -> bool:
    """Whether a write must work out what it touched: always on PostgreSQL (other processes
    listen), on SQLite only while a stream of this store is open in this process."""
    if engine.dialect.name == "postgresql":
        return True
    hub = _hubs.get(_key(engine))
    return hub is not None and len(hub) > 0


def publish(engine: Engine, touch: Touch) -> None:
    """SQLite, after commit: the in-process fan-out."""
    hub = _hubs.get(_key(engine))
    if hub is not None:
        hub.dispatch(touch)

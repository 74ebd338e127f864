"""The sync orchestrator: push, pull, verify — and a non-blocking API for the UI.

``sync_once`` reads like the protocol and blocks; ``start`` runs it in a worker
thread and returns at once, ``cancel`` stops it between batches/pages, and
listeners receive a fresh ``SyncProgress`` after every step.

A store that answers "busy" (429, ``Retry-After``) is waited out within the run
(``app.sync.busy``): the progress says ``WAITING`` with the seconds left, then the
same batch or page is asked for again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text

from app.models.ids import utcnow
from app.sync import outbox
from app.sync.apply import local_checksums, reset_for_resync
from app.sync.busy import BusyBackoff, Patience
from app.sync.client import SyncClient
from app.sync.errors import CursorInvalid, StoreBusy, StoreStillBusy, SyncCancelled, SyncError
from app.sync.pull import pull_all
from app.sync.push import push_outbox
from app.sync.state import StateKey, SyncPhase, SyncProgress
from app.sync.store import DeviceStore

log = logging.getLogger(__name__)
Listener = Callable[[SyncProgress], None]


class SyncEngine:
    def __init__(
        self,
        store: DeviceStore,
        client: SyncClient,
        *,
        push_batch: int = 100,
        page_limit: int | None = None,
        verify_interval: timedelta = timedelta(hours=24),
        ranks_interval: timedelta = timedelta(minutes=10),
        busy_max_wait: float = 60,
        busy_max_waits: int = 10,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.store = store
        self.client = client
        self.push_batch = push_batch
        self.page_limit = page_limit
        self.verify_interval = verify_interval
        self.ranks_interval = ranks_interval  # branch ranks move slowly; ask this often
        self._listeners: list[Listener] = []
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._task: asyncio.Task[SyncProgress] | None = None
        self._waiting_in: SyncPhase | None = None  # the phase a busy wait interrupted
        self._emitting = threading.RLock()
        # a busy store is waited out: same request again after its Retry-After + jitter
        self.patience = Patience(
            BusyBackoff(cap=busy_max_wait, jitter=jitter),
            max_waits=busy_max_waits,
            sleep=self._cancel.wait,
            on_wait=self._busy_wait,
        )
        # Pulls begun so far (counted just before a pull's first request): a change the
        # store told of before the count moved on is in that pull (app.workbench.autosync).
        self.pulls_begun = 0
        self.progress = self.snapshot_progress()

    # -- the non-blocking API ------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def start(self) -> asyncio.Task[SyncProgress]:
        """Start a sync in the background (or return the one running)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(asyncio.to_thread(self.sync_once))
        return self._task

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def running(self) -> bool:
        return self._lock.locked()

    # -- the protocol -------------------------------------------------------------------

    def sync_once(self, *, verify: bool | None = None) -> SyncProgress:
        """Push, pull, verify; never raises a ``SyncError`` (it lands in the progress)."""
        if not self._lock.acquire(blocking=False):
            return self.progress
        self._cancel.clear()
        self.patience.backoff.reset()
        self._waiting_in = None
        try:
            self._emit(
                phase=SyncPhase.PUSHING,
                done=0,
                total=self._pending(),
                error_code="",
                error_message="",
                resynced=False,
            )
            push_outbox(
                self.store,
                self.client,
                batch_size=self.push_batch,
                on_batch=lambda d, t: self._emit(done=d, total=t),
                should_stop=self._cancel.is_set,
                patience=self.patience,
            )
            self._check_cancel()
            self._pull()
            self._check_cancel()
            if verify if verify is not None else self._verify_due():
                self._verify()
            ranks = self._ranks()
            with self.store.transaction() as conn:
                if ranks is not None:
                    DeviceStore.put(conn, StateKey.BRANCH_RANKS, json.dumps(ranks))
                DeviceStore.put(conn, StateKey.LAST_SYNC_AT, str(utcnow()))
                DeviceStore.put(conn, StateKey.LAST_ERROR, None)
            self._emit(
                **{
                    **vars(self.snapshot_progress()),
                    "phase": SyncPhase.DONE,
                    "resynced": self.progress.resynced,
                }
            )
        except SyncCancelled:
            self._emit(**{**vars(self.snapshot_progress()), "phase": SyncPhase.CANCELLED})
        except Exception as exc:  # never leave the UI stuck on "pulling"
            if not isinstance(exc, SyncError):
                log.exception("sync failed unexpectedly")
                exc = SyncError(str(exc))
            elif isinstance(exc, StoreBusy):  # still busy after every wait: try again later
                exc = StoreStillBusy(exc.message, status=exc.status)
            log.warning("sync failed: %s (%s)", exc.code, exc)
            with self.store.transaction() as conn:
                DeviceStore.put(conn, StateKey.LAST_ERROR, exc.code)
            self._emit(
                **{
                    **vars(self.snapshot_progress()),
                    "phase": SyncPhase.FAILED,
                    "error_code": exc.code,
                    "error_message": exc.message,
                }
            )
        finally:
            self._lock.release()
        return self.progress

    def _pull(self) -> None:
        self._emit(phase=SyncPhase.PULLING, done=0, total=0)
        self.pulls_begun += 1

        def on_page(page: dict[str, Any]) -> None:
            prog = page.get("progress", {})
            self._emit(
                done=int(prog.get("done", 0)),
                total=int(prog.get("total", 0)),
                snapshot_complete=not page.get("snapshot"),
            )

        try:
            pull_all(
                self.store,
                self.client,
                limit=self.page_limit,
                on_page=on_page,
                should_stop=self._cancel.is_set,
                patience=self.patience,
            )
        except CursorInvalid:
            self._resync(on_page)

    def _resync(self, on_page: Callable[[dict[str, Any]], None]) -> None:
        with self.store.transaction() as conn:
            reset_for_resync(conn)
        self._emit(resynced=True, snapshot_complete=False)
        self.pulls_begun += 1
        pull_all(
            self.store,
            self.client,
            limit=self.page_limit,
            on_page=on_page,
            should_stop=self._cancel.is_set,
            patience=self.patience,
        )

    def _ranks(self) -> dict[str, Any] | None:
        """Branch ranks from the store, when the stored ones are older than
        ``ranks_interval``: shown, not synced data, so a failure only logs."""
        raw = self.store.state(StateKey.BRANCH_RANKS)
        if raw:
            stored = json.loads(raw)
            fetched = datetime.fromisoformat(stored.get("fetched_at", "1970-01-01T00:00:00"))
            # a store that had not ranked yet (just made) is asked again at the next sync
            counted = stored.get("ranked", True) is not False
            if counted and utcnow() - fetched < self.ranks_interval:
                return None
        try:
            return {**self.client.ranks(), "fetched_at": utcnow().isoformat()}
        except SyncError as exc:
            log.info("branch ranks not fetched: %s", exc.code)
            return None

    def _verify_due(self) -> bool:
        last = self.store.state(StateKey.LAST_VERIFIED_AT)
        return last is None or utcnow() - datetime.fromisoformat(last) > self.verify_interval

    def _verify(self) -> None:
        """Compare scope checksums; a device that disagrees pulls its scope again."""
        self._emit(phase=SyncPhase.VERIFYING)
        cursor = self.store.state(StateKey.CURSOR)
        if not cursor:
            return
        remote = self.patience.call(lambda: self.client.checksum(cursor))
        if remote.get("stale"):
            return  # the store moved on while we verified; next time
        with self.store.read() as conn:
            local = local_checksums(conn)
        if local != remote["entities"]:
            log.warning("checksum mismatch: resyncing the scope")
            self._resync(lambda page: self._emit(phase=SyncPhase.PULLING))
        with self.store.transaction() as conn:
            DeviceStore.put(conn, StateKey.LAST_VERIFIED_AT, str(utcnow()))

    def _busy_wait(self, seconds_left: int) -> None:
        """The store is busy: show the seconds left, then the phase it interrupted."""
        if seconds_left > 0:
            if self._waiting_in is None:
                self._waiting_in = self.progress.phase
            self._emit(phase=SyncPhase.WAITING, wait_seconds=seconds_left)
        elif self._waiting_in is not None:
            phase, self._waiting_in = self._waiting_in, None
            self._emit(phase=phase, wait_seconds=0)

    # -- state ----------------------------------------------------------------------------

    def _check_cancel(self) -> None:
        if self._cancel.is_set():
            raise SyncCancelled()

    def _pending(self) -> int:
        with self.store.read() as conn:
            return outbox.count(conn)

    def snapshot_progress(self) -> SyncProgress:
        """The persisted state as the UI should show it when nothing is running."""
        with self.store.read() as conn:
            last = DeviceStore.get(conn, StateKey.LAST_SYNC_AT)
            rejected = conn.execute(text("SELECT count(*) FROM rejection")).scalar_one()
            return SyncProgress(
                phase=SyncPhase.IDLE,
                pending=outbox.count(conn),
                rejected=int(rejected),
                snapshot_complete=DeviceStore.get(conn, StateKey.SNAPSHOT_COMPLETE) == "1",
                last_sync_at=datetime.fromisoformat(last) if last else None,
                error_code=DeviceStore.get(conn, StateKey.LAST_ERROR) or "",
                done=int(DeviceStore.get(conn, StateKey.SNAPSHOT_DONE) or 0),
                total=int(DeviceStore.get(conn, StateKey.SNAPSHOT_TOTAL) or 0),
            )

    def _emit(self, **changes: Any) -> None:
        # two threads emit during a pull (the page applied, the next one's busy wait): each
        # change is made on the newest progress, and listeners hear them in that order
        with self._emitting:
            self.progress = progress = SyncProgress(**{**vars(self.progress), **changes})
            for listener in list(self._listeners):
                try:
                    listener(progress)
                except Exception:  # a broken listener must not break sync
                    log.exception("sync listener failed")

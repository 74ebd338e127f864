"""Background sync for one signed-in session: on a timer, with backoff, and on reconnect.

Nothing a marketer saves should wait for a tap to reach the central store. While a
session is open one task keeps the next automatic attempt scheduled:

    after a sync that worked    changes still waiting ─► a sync in ``sync_interval``
                                nothing waiting ──────► a pull in ``pull_interval``
    after a sync that failed    the next attempt in ``backoff(failures)``: doubling from
                                ``sync_interval``, capped, with jitter; while the
                                network is the cause the attempts are cheap probes
                                (``GET /health``) and a store that answers is synced
                                at once ("on reconnect")
    the sign-in is refused      paused: no attempt until the user taps 同步 or signs
    (or the client too old)     in again; hammering the store would not help
    a change saved, online      a sync in ``sync_debounce`` unless one is due sooner
    a tap on 同步               a sync now; the backoff starts over from it
    a poke (app/workbench/live) a sync in ``live_poke_debounce``: the store says the
                                scope changed (and so it can be reached); pokes while
                                a sync runs: before its pull began, nothing more (the
                                pull reads what they told of); after, ONE more sync
    the stream (re)connects,    a sync at once (a probe first if the store was found
    or the app comes back       unreachable)
    while the stream is up      the pull timer waits ``live_pull_factor`` times longer:
                                a safety net, the stream tells of changes

Syncs never overlap: every attempt, automatic or tapped, goes through
``SyncEngine.start``, which hands back the run already in progress.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import flet as ft

from app.models.ids import utcnow
from app.sync.errors import SyncError
from app.sync.state import SyncPhase, SyncProgress

if TYPE_CHECKING:
    from app.workbench.workbench import Workbench

log = logging.getLogger(__name__)

# Failures of the way to the store, not of the store's judgement: probe until it answers.
UNREACHABLE = frozenset({"sync.network", "sync.timeout", "sync.server"})
# Failures no retry can mend: the user must sign in again (or update the app).
NEEDS_THE_USER = ("auth.", "protocol.too_old")


def backoff(failures: int, *, base: float, cap: float, jitter: float = 1.0) -> float:
    """Seconds before the next attempt after ``failures`` failed ones in a row: ``base``
    doubled per failure up to ``cap``, then scaled into its upper half by ``jitter``
    (0..1), so devices that lost the network together do not come back in step."""
    nominal = min(cap, base * 2 ** max(0, failures - 1))
    return nominal * (0.5 + 0.5 * jitter)


@ft.observable
@dataclass
class AutoSyncState:
    """What the sync bar says about the next automatic attempt."""

    failures: int = 0  # attempts failed in a row (0: the last one worked)
    next_at: datetime | None = None  # UTC; when the next automatic attempt is due
    delay: float = 0.0  # seconds from scheduling to ``next_at`` (tests read it)
    retrying: bool = False  # the next attempt is a retry after a failure
    seconds_left: int | None = None  # to that retry, counted down each second (0: trying)
    paused: bool = False  # no automatic attempt until the user acts


class AutoSync:
    def __init__(self, workbench: Workbench, *, jitter: Callable[[], float] = random.random):
        self.workbench = workbench
        self.settings = workbench.settings
        self.state = AutoSyncState()
        self.jitter = jitter  # 0..1; tests pin it
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._due: float | None = None  # loop time of the next attempt; None: none scheduled
        self._unreachable = False  # the last failure was the network's: probe first
        self._changed_during_sync = False
        # a poke (or reconnect) came while a sync ran after its pull had begun: pull again
        # (the engine's ``pulls_begun`` when the last such poke came, else None)
        self._poked_at: int | None = None
        self._live = False  # the store's event stream is open: the pull timer relaxes
        self._epoch = 0  # moves on with every settled attempt: a stale probe is ignored
        self._settled: SyncProgress | None = None

    # -- the session's life ------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, *, offline: bool = False) -> None:
        """Begin for a session just entered: a sync at once, or (signed in offline) a
        probe of the store after the first backoff."""
        self.stop()
        self.state.failures, self.state.paused = 0, False
        self._unreachable = offline
        self._task = asyncio.get_running_loop().create_task(self._run())
        if offline:
            self._failed()
        else:
            self._schedule(0, retrying=False)

    def stop(self) -> None:
        """No more automatic attempts (sign-out, the page closed)."""
        if self._task is not None and not self._task.done():
            with contextlib.suppress(RuntimeError):  # its loop already closed
                self._task.cancel()
        self._task = None
        self._due = None
        self.state.next_at, self.state.retrying, self.state.seconds_left = None, False, None

    # -- what the rest of the workbench tells it -----------------------------------------

    def changed(self) -> None:
        """A change was saved on the device: upload it soon if the store is reachable."""
        if not self.running or self.state.paused or self._unreachable:
            return
        if self._due is None or self.workbench.engine.running:
            # a sync is running and may have read the outbox already: once more after it
            self._changed_during_sync = True
            return
        self._schedule(self.settings.sync_debounce_seconds, retrying=False, sooner_only=True)

    def poked(self) -> None:
        """The store says the scope changed: pull soon. It answered, so it is reachable."""
        if not self.running or self.state.paused:
            return
        self._unreachable = False
        self._soon(self.settings.live_poke_debounce_seconds)

    def now(self) -> None:
        """Sync at once (the stream reconnected, the app came back to the foreground); a
        store last found unreachable is probed first, as any retry."""
        if not self.running or self.state.paused:
            return
        self._soon(0)

    def set_live(self, up: bool) -> None:
        """The event stream opened or closed: the pull timer relaxes or tightens again."""
        if up == self._live:
            return
        self._live = up
        if not up and self.running and self._due is not None and not self.state.retrying:
            with contextlib.suppress(RuntimeError):  # no event loop any more: the app closing
                self._schedule(
                    self.settings.pull_interval_seconds, retrying=False, sooner_only=True
                )

    def _soon(self, delay: float) -> None:
        if self._due is None or self.workbench.engine.running:
            # a sync is running (or about to): one more after it, unless its pull begins
            # after this poke (then it reads the change; see ``settled``)
            self._poked_at = self.workbench.engine.pulls_begun
            return
        self._schedule(delay, retrying=self.state.retrying and delay > 0, sooner_only=True)

    def reset(self) -> None:
        """The user asked for a sync: the backoff starts over from it."""
        self.state.failures, self.state.paused = 0, False
        self._unreachable = False

    def settled(self, progress: SyncProgress) -> None:
        """A sync ended (automatic or tapped): schedule the next attempt from its outcome."""
        if progress is self._settled:  # the same run, awaited by the tap and the timer
            return
        self._settled = progress
        self._epoch += 1
        if not self.running:
            return
        if progress.phase == SyncPhase.FAILED:
            code = progress.error_code
            if code.startswith(NEEDS_THE_USER):
                self.state.failures += 1
                self.state.paused = True
                self._due, self.state.next_at, self.state.retrying = None, None, False
                self.state.seconds_left = None
                return
            self._unreachable = code in UNREACHABLE
            self._failed()
            return
        if progress.phase != SyncPhase.DONE:  # cancelled: neither a success nor a failure
            self._schedule(self.settings.sync_interval_seconds, retrying=self.state.failures > 0)
            return
        self.state.failures, self._unreachable = 0, False
        if self._poked_at is not None and self._poked_at >= self.workbench.engine.pulls_begun:
            # told of a change after this sync's pull began: it may have read before it
            delay = self.settings.live_poke_debounce_seconds
        elif self._changed_during_sync:
            delay = self.settings.sync_debounce_seconds
        elif progress.pending:
            delay = self.settings.sync_interval_seconds
        else:
            delay = self.settings.pull_interval_seconds
            if self._live:
                delay *= self.settings.live_pull_factor
        self._changed_during_sync, self._poked_at = False, None
        self._schedule(delay, retrying=False)

    # -- the loop -----------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            await self._until_due()
            if self.workbench.session is None:
                return
            if self._unreachable:
                epoch = self._epoch
                answered = await self._probe()
                if epoch != self._epoch:
                    continue  # a sync settled meanwhile (a tap): its schedule stands
                if not answered:
                    self._failed()
                    continue
            try:
                await self.workbench.sync_in_background()
            except Exception:  # a fault of ours must not end automatic sync for the session
                log.exception("background sync failed unexpectedly")
                self._failed()

    async def _until_due(self) -> None:
        """Sleep until the next attempt is due; while it is a retry, count the seconds
        down on the state (the bar shows them) - here, not in a screen's timer, so the
        count survives the screens being rebuilt."""
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            if self._due is None:
                await self._wake.wait()
                continue
            wait = self._due - loop.time()
            if wait <= 0:
                self._due = None
                if self.state.retrying:
                    self.state.seconds_left = 0
                return
            if self.state.retrying:
                left = math.ceil(wait)
                if self.state.seconds_left != left:
                    self.state.seconds_left = left
                wait -= left - 1  # wake when the shown number changes
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def _probe(self) -> bool:
        """Does the store answer? Off the event loop, quick to give up."""
        try:
            await asyncio.to_thread(self.workbench.client.health)
        except SyncError as exc:
            log.info("central store still unreachable: %s", exc.code)
            return False
        return True

    # -- scheduling ---------------------------------------------------------------------

    def _failed(self) -> None:
        self.state.failures += 1
        delay = backoff(
            self.state.failures,
            base=self.settings.sync_interval_seconds,
            cap=self.settings.sync_backoff_max_seconds,
            jitter=self.jitter(),
        )
        self._schedule(delay, retrying=True)

    def _schedule(self, delay: float, *, retrying: bool, sooner_only: bool = False) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + delay
        if sooner_only and self._due is not None and self._due <= due:
            return
        self._due = due
        self.state.delay = delay
        self.state.next_at = utcnow() + timedelta(seconds=delay)
        self.state.retrying = retrying
        self.state.seconds_left = math.ceil(delay) if retrying else None
        self._wake.set()

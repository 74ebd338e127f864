"""Live updates for one signed-in session: the store's event stream, kept open.

While a session is open one task holds ``GET /sync/events`` (app.sync.events) and
turns what it says into work for ``AutoSync``:

    hello (stream open)     the pull timer relaxes; a sync at once (whatever changed
                            while the stream was closed, or since the last pull)
    poke                    a pull soon (``live_poke_debounce``), merged with others
    the stream drops        the pull timer tightens again; the stream is opened again
                            after ``backoff(failures)``, doubling from
                            ``sync_interval`` to ``sync_backoff_max``, with jitter; a
                            full store's ``Retry-After`` is honoured
    bye / 401 / 426         no more attempts; a sync at once shows the user why
    the app comes back      the stream is opened again at once if it was down, and a
    (foreground)            sync runs at once
    the page goes away      the stream is closed (a closed browser tab's session lives
    (Flet: disconnect)      on for a while: it must not hold a stream and pull on every
                            poke for nobody); back (connect): opened again, a sync

Nothing here blocks the UI: the stream is read by httpx's async client on the page's
event loop; a poke carries no data, the pull is AutoSync's as always.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import flet as ft

from app.sync.errors import AuthError, ProtocolTooOld, StoreBusy, SyncError
from app.sync.events import listen
from app.workbench.autosync import backoff

if TYPE_CHECKING:
    from app.workbench.workbench import Workbench

log = logging.getLogger(__name__)


@ft.observable
@dataclass
class LiveState:
    """What the stream is doing (tests and the sync screen may read it)."""

    connected: bool = False
    failures: int = 0  # attempts to open the stream failed (or dropped) in a row
    delay: float = 0.0  # seconds before the next attempt, after a failure
    pokes: int = 0  # pokes received this session
    stopped_by: str = ""  # the code that ended attempts (a revoked sign-in), else ""


class LiveUpdates:
    def __init__(self, workbench: Workbench, *, jitter: Callable[[], float] = random.random):
        self.workbench = workbench
        self.settings = workbench.settings
        self.state = LiveState()
        self.jitter = jitter  # 0..1; tests pin it
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Open the stream for a session just entered (in the background)."""
        self.stop()
        if not self.settings.live_updates:
            return
        self.state.failures, self.state.stopped_by, self.state.pokes = 0, "", 0
        self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        """Close the stream (sign-out, the page closed or went away); the pull timer
        tightens again."""
        if self._task is not None and not self._task.done():
            with contextlib.suppress(RuntimeError):  # its loop already closed
                self._task.cancel()
        self._task = None
        self.state.connected = False
        self.workbench.autosync.set_live(False)

    def wake(self) -> None:
        """Try again now if the stream is down and waiting (the app came back)."""
        self._wake.set()

    async def _run(self) -> None:
        autosync = self.workbench.autosync
        while self.workbench.session is not None:
            retry_after = 0.0
            try:
                async for event in listen(
                    self.workbench.client, read_timeout=self.settings.live_read_timeout_seconds
                ):
                    if event.kind == "hello":
                        self.state.connected, self.state.failures = True, 0
                        autosync.set_live(True)
                        autosync.now()
                    elif event.kind == "poke":
                        self.state.pokes += 1
                        autosync.poked()
            except (AuthError, ProtocolTooOld) as exc:
                # no retry can mend it: a sync now puts it before the user in words
                log.info("live updates stopped: %s", exc.code)
                self._down()
                self.state.stopped_by = exc.code
                autosync.now()
                return
            except StoreBusy as exc:
                retry_after = float(exc.retry_after)
            except SyncError as exc:
                log.info("live updates dropped: %s", exc.code)
            except Exception:  # a fault of ours must not end live updates for the session
                log.exception("live updates failed unexpectedly")
            self._down()
            self.state.failures += 1
            delay = max(
                retry_after,
                backoff(
                    self.state.failures,
                    base=self.settings.sync_interval_seconds,
                    cap=self.settings.sync_backoff_max_seconds,
                    jitter=self.jitter(),
                ),
            )
            self.state.delay = delay
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    def _down(self) -> None:
        self.state.connected = False
        self.workbench.autosync.set_live(False)

"""Calls a screen makes to the central store while the user waits (管理: import, batches,
the loan queue): run off the UI thread, the call's name in ``state.busy`` while it runs,
and a failure in words in ``state.error_code`` / ``error_message``, never a spinner left
turning."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from app.sync.errors import SyncError, TransportError

log = logging.getLogger(__name__)
T = TypeVar("T")
OFFLINE = "admin.needs_online"


def failure_code(exc: SyncError) -> str:
    """The words for a failed call: offline says so plainly; the store's code otherwise."""
    if isinstance(exc, TransportError):
        return OFFLINE
    return exc.code


class OnlineCalls:
    """For a controller whose ``state`` has ``busy``, ``error_code`` and ``error_message``."""

    state: Any

    async def _call(self, what: str, fn: Callable[..., T], *args: object) -> T | None:
        s = self.state
        s.busy = what
        self._clear_error()
        try:
            return await asyncio.to_thread(fn, *args)
        except SyncError as exc:
            self._fail(failure_code(exc), exc.message)
            return None
        except Exception:  # a bug must not leave the screen spinning
            log.exception("%s %s failed", type(self).__name__, what)
            self._fail("admin.failed")
            return None
        finally:
            s.busy = ""

    def _fail(self, code: str, message: str = "") -> None:
        self.state.error_code, self.state.error_message = code, message

    def _clear_error(self) -> None:
        self.state.error_code, self.state.error_message = "", ""

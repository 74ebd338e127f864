"""Settings: the language and the central store's address, kept on the device; logging
out, which asks first while records wait to be uploaded."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

import flet as ft

from app.sync.state import SyncPhase

if TYPE_CHECKING:
    from app.workbench.workbench import Workbench

LANGUAGES = ("zh", "en")


@ft.observable
@dataclass
class LogoutState:
    """The warning shown when a log-out would lose records not yet uploaded."""

    asking: bool = False  # the warning is up: sync first, discard, or cancel
    syncing: bool = False  # "sync first" is running; the log-out follows if it works
    failed_code: str = ""  # i18n code of the sync that failed: still signed in
    failed_message: str = ""  # the store's words for it, if any
    pending: int = 0  # records waiting to be uploaded
    still_pending: bool = False  # the sync worked, yet records still wait: still signed in


class SettingsController:
    def __init__(self, workbench: Workbench) -> None:
        self.workbench = workbench
        self.logout_state = LogoutState()

    async def set_language(self, lang: str) -> None:
        if lang not in LANGUAGES:
            return
        await asyncio.to_thread(self._save, "lang", lang)
        self.workbench.state.lang = lang

    async def set_server_url(self, url: str) -> bool:
        """Talk to another central store; False (and a notice) for an address that is not one."""
        url = url.strip().rstrip("/")
        if not url.startswith(("http://", "https://")) or len(url) <= len("https://"):
            self.workbench.notify("settings.server_invalid")
            return False
        await asyncio.to_thread(self._save, "server_url", url)
        self.workbench.client.point_to(url)
        self.workbench.state.server_url = url
        self.workbench.notify("settings.server_saved")
        return True

    # -- logging out ------------------------------------------------------------------------

    async def logout(self) -> bool:
        """Log out; False, with the warning up, while records wait to be uploaded."""
        if await self.workbench.logout():
            self._closed()
            return True
        s = self.logout_state
        s.failed_code, s.failed_message, s.still_pending = "", "", False
        s.pending = self.workbench.state.progress.pending
        s.asking = True
        return False

    async def sync_then_logout(self) -> bool:
        """Upload what waits, then log out; when the sync fails (or records still wait)
        the warning stays up and says why."""
        s = self.logout_state
        s.syncing, s.failed_code, s.failed_message, s.still_pending = True, "", "", False
        progress = None
        try:
            # a change saved while the first sync ran goes with a second
            for _ in range(2):
                progress = await self.workbench.sync()
                if progress is None or progress.phase != SyncPhase.DONE or not progress.pending:
                    break
            if progress is not None and progress.phase == SyncPhase.DONE and not progress.pending:
                if await self.workbench.logout():
                    self._closed()
                    return True
            if progress is not None and progress.phase == SyncPhase.FAILED:
                s.failed_code = progress.error_code or "sync.failed"
                s.failed_message = progress.error_message
            s.pending = self.workbench.state.progress.pending
            s.still_pending = not s.failed_code
            return False
        finally:
            s.syncing = False

    async def discard_and_logout(self) -> bool:
        """The user chose to lose the records not yet uploaded."""
        if await self.workbench.logout(discard=True):
            self._closed()
            return True
        return False

    def cancel_logout(self) -> None:
        self._closed()

    def _closed(self) -> None:
        s = self.logout_state
        s.asking, s.syncing, s.still_pending = False, False, False
        s.failed_code, s.failed_message = "", ""

    def _save(self, key: str, value: str) -> None:
        store = self.workbench.store
        with store.transaction() as conn:
            store.put(conn, key, value)

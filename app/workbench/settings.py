"""Settings: the language and the central store's address, kept on the device."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.workbench.workbench import Workbench

LANGUAGES = ("zh", "en")


class SettingsController:
    def __init__(self, workbench: Workbench) -> None:
        self.workbench = workbench

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

    def _save(self, key: str, value: str) -> None:
        store = self.workbench.store
        with store.transaction() as conn:
            store.put(conn, key, value)

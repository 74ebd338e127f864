"""A browser session hears that its tab went away, however the socket ended.

Flet 1.0.5 runs the real ``FletApp.handle`` here over a socket that fails the way a tab
closed mid-update does: the client's frames stop with an error, and the update being
sent at that moment fails too.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from flet.messaging.session import Session
from flet_web.fastapi.flet_app import FletApp
from starlette.datastructures import URL

from app.web_client import disconnect_sessions_however_their_socket_ends


class ClosedTab:
    """A socket whose tab closed while the server was sending it an update."""

    def __init__(self, app: FletApp) -> None:
        self.app = app
        self.heard: list[str] = []
        self.session: Session | None = None
        self.client = None
        self.headers: dict[str, str] = {}
        self.cookies: dict[str, str] = {}
        self.url = URL("ws://127.0.0.1:8550/ws")

    async def accept(self) -> None:
        pass

    async def receive_bytes(self) -> bytes:
        # the session the tab's first frame made (as registering a client does)
        session = Session(self.app)
        session.page.on_disconnect = lambda _e: self.heard.append("disconnect")
        self.app._FletApp__session = self.session = session
        self.app._FletApp__send_queue.put_nowait(b"\x00update")  # a sync's progress
        raise RuntimeError('WebSocket is not connected. Need to call "accept" first.')

    async def send_bytes(self, data: bytes) -> None:
        raise RuntimeError("connection is closing")


async def a_closed_tab(app: FletApp) -> ClosedTab:
    """The tab, once it closed mid-update: what its session's page heard."""
    tab = ClosedTab(app)
    with pytest.raises(RuntimeError):
        await app.handle(tab)
    await asyncio.sleep(0)
    return tab


async def test_a_tab_closed_mid_update_is_heard_as_gone() -> None:
    disconnect_sessions_however_their_socket_ends()
    with ThreadPoolExecutor(1) as executor:
        app = FletApp(
            loop=asyncio.get_running_loop(),
            executor=executor,
            main=lambda page: None,
            before_main=None,
            session_timeout_seconds=60,
        )
        tab = await a_closed_tab(app)
    assert tab.heard == ["disconnect"]  # the page's on_disconnect ran: the stream can close
    assert tab.session is not None
    assert tab.session.expires_at is not None  # and the session expires, not lives for ever

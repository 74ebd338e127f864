"""Map pages (names, positions, credit lines) are served per session, never from a folder.

The workbench draws a map into memory under its session's unguessable token; the web
server (the real Flet ASGI app, as ``main.py run`` serves it) answers that address and
nothing else: another token, a guessed name, or the old public ``/maps/`` folder get
nothing, and a page is gone once its user logs out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import flet as ft
import httpx
import pytest
from starlette.applications import Starlette

from app.config import Settings
from app.web_client import serve_map_pages
from app.workbench import Workbench
from app.workbench.map import MAP_ROUTE, MapPages
from tests.world import PASSWORD, build_world

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def web() -> tuple[Starlette, MapPages]:
    """The web server of ``main.py run``: the Flet app at ``/`` with its public assets,
    and the private map route in front of it."""

    async def main(page: ft.Page) -> None:  # never runs: no browser connects here
        pass

    pages = MapPages()
    app = ft.run(main, export_asgi_app=True, assets_dir=str(ROOT / "assets"), no_cdn=True)
    serve_map_pages(app, pages)
    return app, pages


@pytest.fixture
def workbench(live_server, tmp_path, web) -> Iterator[tuple[Workbench, Path]]:  # type: ignore[no-untyped-def]
    build_world(live_server.engine)
    data = tmp_path / "device"
    wb = Workbench(Settings(server_url=live_server.url, data_dir=data), map_pages=web[1])
    yield wb, tmp_path
    wb.close()


async def test_a_map_page_is_served_only_under_its_sessions_token(workbench, web):
    wb, tmp_path = workbench
    app, pages = web
    transport = httpx.ASGITransport(app=app)
    client = httpx.AsyncClient(transport=transport, base_url="http://workbench.test")
    assert await wb.login.submit("M1", PASSWORD)
    await asyncio.to_thread(wb.engine.sync_once)

    await wb.map.build()

    url = wb.map.state.url
    assert url.startswith(f"{MAP_ROUTE}/")
    token, name = url.removeprefix(f"{MAP_ROUTE}/").split("/")
    assert len(token) >= 40  # 32 random bytes
    page = await client.get(url)
    assert page.status_code == 200
    assert "遵义测试商贸有限公司" in page.text  # the names are in it: it must stay private
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    # the Flet page embeds it under COEP require-corp: without this the frame stays blank
    assert page.headers["cross-origin-embedder-policy"] == "require-corp"
    # nothing written where a web server could serve it
    assert not list(tmp_path.rglob("*.html")) and not (ROOT / "assets" / "maps").exists()
    other = pages.open()  # another browser session
    for probe in (f"{MAP_ROUTE}/{other}/{name}", f"{MAP_ROUTE}/{token}x/{name}", f"/maps/{name}"):
        answer = await client.get(probe)
        assert "遵义测试商贸有限公司" not in answer.text, probe
    assert (await client.get(f"{MAP_ROUTE}/{other}/{name}")).status_code == 404

    assert await wb.logout()
    assert (await client.get(url)).status_code == 404  # gone with the session's user
    await client.aclose()
    assert wb.map.state.url == ""


def test_a_session_keeps_only_its_latest_pages():
    pages = MapPages()
    token = pages.open()
    urls = [pages.put(token, f"<p>{i}</p>") for i in range(4)]
    names = [u.rsplit("/", 1)[1] for u in urls]
    assert [pages.get(token, n) for n in names] == [None, None, "<p>2</p>", "<p>3</p>"]
    pages.close(token)
    assert pages.get(token, names[-1]) is None

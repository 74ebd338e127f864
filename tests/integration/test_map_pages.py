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


async def test_a_popup_opens_the_card_of_a_prospect_on_its_sessions_map(workbench, web):
    """The page's "查看客户" posts the prospect's id beside the page; the session that drew
    it (and only it) is told which card to open; nothing else gets through."""
    wb, _ = workbench
    app, pages = web
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://workbench.test"
    )
    assert await wb.login.submit("M1", PASSWORD)
    await asyncio.to_thread(wb.engine.sync_once)
    await wb.map.build()
    url, shown = wb.map.state.url, wb.map.state.nearest[0].id
    card_url = url.rsplit("/", 1)[0] + "/open"
    assert '"open":"查看客户"' in (await client.get(url)).text

    def post(where: str, body: object, **headers: str):  # type: ignore[no-untyped-def]
        return client.post(where, json=body, headers=headers)

    answer = await post(card_url, {"prospect": shown}, **{"Sec-Fetch-Site": "same-origin"})
    assert answer.status_code == 204
    await asyncio.sleep(0)  # handed to the session's loop
    await asyncio.sleep(0)
    assert wb.map.state.opening == shown
    wb.map.opened()

    other = pages.open(lambda pid: pytest.fail(f"another session was told to open {pid}"))
    refused = [
        (await post(card_url, {"prospect": "not-on-this-map"})).status_code,
        (await post(f"{MAP_ROUTE}/{other}/open", {"prospect": shown})).status_code,
        (await post(card_url, {"prospect": shown}, **{"Sec-Fetch-Site": "cross-site"})).status_code,
        (await post(card_url, {"prospect": ""})).status_code,
        (await post(card_url, {"prospect": shown, "more": 1})).status_code,
        (await post(card_url, {"prospect": "x" * 5000})).status_code,
        (await client.post(card_url, data={"prospect": shown})).status_code,  # a plain form
    ]
    assert refused == [404, 404, 403, 422, 422, 413, 415]
    await asyncio.sleep(0)
    assert wb.map.state.opening is None

    assert await wb.logout()
    assert (await post(card_url, {"prospect": shown})).status_code == 404
    await client.aclose()


async def test_the_count_reads_counting_until_the_map_is_drawn(workbench):
    """Never "0 户" (or the last radius's count) before this map's prospects are counted."""
    wb, _ = workbench
    assert await wb.login.submit("M1", PASSWORD)
    await asyncio.to_thread(wb.engine.sync_once)
    assert wb.map.state.count is None  # nothing counted yet: the screen says 正在统计…
    seen: list[object] = []
    real_read = wb.read

    async def read_and_look(fn):  # type: ignore[no-untyped-def]
        seen.append(wb.map.state.count)  # what the screen shows while the query runs
        return await real_read(fn)

    wb.read = read_and_look  # type: ignore[method-assign]
    await wb.map.build()
    assert wb.map.state.count and wb.map.state.count > 0
    wb.map.set_radius(1.0)
    await wb.map.build()
    assert seen == [None, None]
    assert wb.map.state.counted_radius == 1.0

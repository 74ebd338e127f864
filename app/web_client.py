"""Serving the workbench in the browser: what the Flet web client needs beside the app.

Beside the Flet app and its public assets (fonts, Leaflet), the web server answers one
private route: a session's map pages, from memory, under that session's unguessable
token (``app.workbench.map.MapPages``), and beside them the address a page's popup posts
to to open a prospect's card in that session. Nothing personal is served from a folder.
And every session hears when its tab goes away (``page.on_disconnect``), even when Flet
itself would not tell it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from app.models.wire import EntityId
from app.views.theme import FONT_FAMILY, FONTS
from app.workbench.map import CARD_PATH, MAP_ROUTE, MapPages

# A page holds names and positions of customers: never cached, its address never passed on,
# never read by another origin. The Flet page embeds it under COEP require-corp, so it
# must say the same, or the browser blocks the frame (ERR_BLOCKED_BY_RESPONSE).
_PRIVATE_HEADERS = {
    "Cache-Control": "no-store",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex",
}


_CARD_REQUEST_LIMIT = 1024  # bytes: {"prospect": "<id>"} and room to spare


class CardRequest(BaseModel):
    """What a map page's popup posts: the prospect whose card to open."""

    model_config = ConfigDict(extra="forbid")
    prospect: EntityId


def serve_map_pages(web: Starlette, pages: MapPages) -> None:
    """Answer ``MAP_ROUTE/<token>/<name>`` from ``pages`` before any other route of
    ``web`` (the Flet app mounted at ``/`` would otherwise take every path), and
    ``MAP_ROUTE/<token>/open``: a popup asking that session to open a prospect's card.

    The request must come from the page itself: JSON (another site's form cannot send
    it without a preflight this server never grants), same-origin by the browser's own
    ``Sec-Fetch-Site``, under a live token, for a prospect drawn on that session's map.
    """

    async def map_page(request: Request) -> Response:
        html = pages.get(request.path_params["token"], request.path_params["name"])
        if html is None:
            return PlainTextResponse("Not Found", status_code=404, headers=_PRIVATE_HEADERS)
        return HTMLResponse(html, headers=_PRIVATE_HEADERS)

    async def open_card(request: Request) -> Response:
        def refuse(status: int, why: str) -> Response:
            return PlainTextResponse(why, status_code=status, headers=_PRIVATE_HEADERS)

        if request.headers.get("sec-fetch-site", "same-origin") != "same-origin":
            return refuse(403, "Forbidden")
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return refuse(415, "Unsupported Media Type")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > _CARD_REQUEST_LIMIT:
                return refuse(413, "Content Too Large")
        try:
            wanted = CardRequest.model_validate_json(body)
        except ValidationError:
            return refuse(422, "Unprocessable Content")
        if not pages.pick(request.path_params["token"], wanted.prospect):
            return refuse(404, "Not Found")
        return Response(status_code=204, headers=_PRIVATE_HEADERS)

    routes = [
        Route(f"{MAP_ROUTE}/{{token}}/{CARD_PATH}", open_card, methods=["POST"]),
        Route(f"{MAP_ROUTE}/{{token}}/{{name}}", map_page, methods=["GET"]),
    ]
    web.router.routes[0:0] = routes


def forget_public_maps(assets_dir: Path) -> None:
    """Delete map pages earlier versions wrote under the public ``assets/maps``."""
    shutil.rmtree(assets_dir / "maps", ignore_errors=True)


def write_web_font_manifest(assets_dir: Path) -> Path:
    """Have the web client load the CJK font before it draws its first frame.

    ``page.fonts`` arrive after the first frames; text laid out before then (chips, the
    industry drop-down) kept the widths of missing glyphs and drew cut off or overlapping,
    and Flutter asked for Noto fallbacks that are not served offline. Fonts in the web
    client's ``assets/FontManifest.json`` load during start-up; flet-web takes that file
    from the app's assets when it has one, so this writes flet's own manifest plus ours
    (the path climbs out of ``assets/`` to the app's ``fonts/``: one file, one download).
    """
    from flet_web import get_package_web_dir

    packaged = Path(get_package_web_dir()) / "assets" / "FontManifest.json"
    manifest = [e for e in json.loads(packaged.read_text("utf-8")) if e["family"] != FONT_FAMILY]
    manifest.append(
        {"family": FONT_FAMILY, "fonts": [{"asset": f"../{path}"} for path in FONTS.values()]}
    )
    target = assets_dir / "assets" / "FontManifest.json"
    text = json.dumps(manifest, ensure_ascii=False, indent=1)
    if not target.exists() or target.read_text("utf-8") != text:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, "utf-8")
    return target


def disconnect_sessions_however_their_socket_ends() -> None:
    """Make every browser session hear that its tab went away, however its socket ended.

    Flet 1.0.5's ``FletApp.handle`` marks a session disconnected (``page.on_disconnect``;
    the session then expires after ``FLET_SESSION_TIMEOUT``) only when its socket closes
    cleanly. A tab closed while the server is sending it an update (a sync's progress)
    ends ``handle`` with the send's error first: that session never hears of it and never
    expires, and keeps for the life of the process what it holds: the store's event
    stream, a pull on every poke, its device store. Wrapped here: on such an error the
    session is marked disconnected too (unless another connection has taken it over).
    """
    from flet_web.fastapi.flet_app import FletApp

    if getattr(FletApp.handle, "_disconnects_always", False):
        return
    original = FletApp.handle

    async def handle(self: FletApp, websocket: Any) -> None:
        try:
            await original(self, websocket)
        except Exception:
            session = getattr(self, "_FletApp__session", None)
            timeout = getattr(self, "_FletApp__session_timeout_seconds", 3600)
            if session is not None and session.connection is self:
                await session.disconnect(timeout)
            raise

    handle._disconnects_always = True  # type: ignore[attr-defined]
    FletApp.handle = handle  # type: ignore[method-assign]

"""The map: prospects around the outlet, me, or one prospect; radius 1/3/5/10 km.

A map page holds company names, positions and credit lines, so it is never written to a
folder the web server serves to anyone: each page is kept in memory (``MapPages``) under
its session's unguessable token, served only at ``/private-maps/<token>/<page>`` (see
``app.web_client.serve_map_pages``), and dropped at log-out and when the session ends.

A marker's popup opens that prospect's card: the page posts ``{"prospect": id}`` to
``/private-maps/<token>/open`` (``CARD_PATH``, beside the page); the web server hands the
id to ``MapPages.pick``, which accepts only a prospect drawn on one of that session's
pages and tells the session's ``MapController``; the map screen, observing
``MapState.opening``, navigates to the card. This works wherever the page is shown (the
web client's iframe, a browser tab opened beside a desktop window), with no script
reaching into the app's own page.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import flet as ft
from sqlalchemy import Connection

from app.geo.marker import MapMarker
from app.geo.nearby import within
from app.queries import mapdata
from app.queries.whitelist import outlet_position
from app.workbench.reads import LatestRead

if TYPE_CHECKING:
    from app.workbench.workbench import Workbench

RADII = (1.0, 3.0, 5.0, 10.0)
NEAREST_SHOWN = 20  # listed beside the map
MAP_LIMIT = 20_000  # markers one phone map draws
Centre = Literal["me", "outlet", "prospect"]
MAP_ROUTE = "/private-maps"  # + /<session token>/<page name>
PAGES_KEPT = 2  # per session: the page shown and the one replacing it while it loads
CARD_PATH = "open"  # beside a page: where its popups ask for a prospect's card


class MapPages:
    """Map pages in memory, per session token; thread-safe (one per web server process).

    A token is 32 random bytes (``secrets``): a page's address cannot be guessed, and a
    page is found only under the token of the session that drew it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pages: dict[str, OrderedDict[str, tuple[str, frozenset[str]]]] = {}
        self._listeners: dict[str, Callable[[str], None]] = {}
        self._names = itertools.count(1)

    def open(self, on_pick: Callable[[str], None] | None = None) -> str:
        """A new session's token; ``on_pick`` hears the prospects its pages ask to open."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._pages[token] = OrderedDict()
            if on_pick is not None:
                self._listeners[token] = on_pick
        return token

    def put(self, token: str, html: str, prospects: frozenset[str] = frozenset()) -> str:
        """Keep ``html`` (showing ``prospects``) for ``token``'s session; its address
        (older pages beyond ``PAGES_KEPT`` are forgotten)."""
        name = f"map-{next(self._names)}.html"
        with self._lock:
            pages = self._pages.setdefault(token, OrderedDict())
            pages[name] = (html, prospects)
            while len(pages) > PAGES_KEPT:
                pages.popitem(last=False)
        return f"{MAP_ROUTE}/{token}/{name}"

    def get(self, token: str, name: str) -> str | None:
        with self._lock:
            pages = self._pages.get(token)
            page = None if pages is None else pages.get(name)
            return None if page is None else page[0]

    def pick(self, token: str, prospect_id: str) -> bool:
        """A page of ``token``'s session asks to open ``prospect_id``'s card: tell the
        session, if that prospect is on one of its pages (else False: nothing happens)."""
        with self._lock:
            pages = self._pages.get(token)
            listener = self._listeners.get(token)
            shown = pages is not None and any(prospect_id in ids for _, ids in pages.values())
        if not shown or listener is None:
            return False
        listener(prospect_id)
        return True

    def close(self, token: str) -> None:
        """Forget a session's pages (log-out, session end)."""
        with self._lock:
            self._pages.pop(token, None)
            self._listeners.pop(token, None)


@ft.observable
@dataclass
class MapState:
    radius: float = 3.0
    focus: str | None = None  # a prospect the map centres on (the card's "show on the map")
    focus_name: str = ""
    url: str = ""  # the page, under MAP_ROUTE and this session's token; empty while none
    nearest: list[MapMarker] = field(default_factory=list)
    count: int | None = None  # prospects on the page; None while they are being counted
    counted_radius: float = 3.0  # the radius ``count`` is for
    opening: str | None = None  # a prospect whose card a popup asked for, until it opens


@dataclass(frozen=True)
class _Found:
    center: tuple[float, float] | None
    kind: Centre
    label: str
    markers: list[MapMarker]


class MapController:
    def __init__(self, workbench: Workbench, *, pages: MapPages) -> None:
        self.workbench = workbench
        self.pages = pages
        self._token = pages.open(self._picked)
        self.state = MapState()
        self._reads = LatestRead()
        # the session's loop and context (its Flet page), from build(): a pick comes
        # from a web request, outside both
        self._loop: asyncio.AbstractEventLoop | None = None
        self._context: contextvars.Context | None = None

    def clear(self) -> None:
        """Forget this session's pages and take a new token (log-out)."""
        self.pages.close(self._token)
        self._token = self.pages.open(self._picked)
        self.state.url, self.state.nearest, self.state.count = "", [], None
        self.state.opening = None

    def close(self) -> None:
        self.pages.close(self._token)

    def focus(self, prospect_id: str | None) -> None:
        """Centre the next map on a prospect and its neighbours (None: back to the outlet)."""
        self.state.focus = prospect_id

    def opened(self) -> None:
        """The card a popup asked for is open (or no longer wanted)."""
        self.state.opening = None

    def _picked(self, prospect_id: str) -> None:
        # called by the web server for one of this session's pages (no session context:
        # a state change there would not find the page to redraw)
        loop, context = self._loop, self._context
        if loop is not None and context is not None and not loop.is_closed():
            loop.call_soon_threadsafe(setattr, self.state, "opening", prospect_id, context=context)

    def set_radius(self, radius: float) -> None:
        if radius in RADII:
            self.state.radius = radius

    async def build(self, *, around_me: tuple[float, float] | None = None) -> None:
        """Draw the map around ``around_me`` (a position fix), the focused prospect, or the
        outlet, in the whitelist's scope."""
        workbench, s = self.workbench, self.state
        me = workbench.scope
        radius, lang = s.radius, workbench.state.lang
        focus = None if around_me else s.focus
        view = workbench.whitelist.state.filters.scope

        def find(conn: Connection) -> _Found:
            kind: Centre = "me" if around_me else "outlet"
            label = ""
            center = around_me or outlet_position(conn, me.outlet_id)
            place = mapdata.prospect_place(conn, focus) if focus is not None else None
            if place is not None:
                center, kind, label = (place[0], place[1]), "prospect", place[2]
            if center is None:
                return _Found(None, kind, label, [])
            where, params = mapdata.scope_sql(view, me.user_id, me.outlet_id)
            hits = within(
                conn,
                center[0],
                center[1],
                radius,
                scope_sql=where,
                params=params,
                limit=MAP_LIMIT,
            )
            return _Found(
                center, kind, label, [MapMarker(**m) for m in mapdata.map_markers(conn, hits)]
            )

        def draw(found: _Found) -> str:
            if found.center is None:
                return ""
            from app.geo.maps import build_map_html  # folium: loaded with the first map

            html = build_map_html(
                center=found.center,
                radius_km=radius,
                markers=found.markers,
                tile_url=workbench.settings.tile_url,
                attribution=workbench.settings.tile_attribution,
                asset_base="/leaflet",
                lang=lang,
                center_kind=found.kind,
                center_label=found.label,
                card_url=CARD_PATH,
            )
            return self.pages.put(self._token, html, frozenset(m.id for m in found.markers))

        self._loop, self._context = asyncio.get_running_loop(), contextvars.copy_context()
        ticket = self._reads.begin()
        previous, s.count = s.count, None  # "counting…" until this read lands, not the last
        try:
            found = await workbench.read(find)
            url = await asyncio.to_thread(draw, found)
        except BaseException:
            if self._reads.is_latest(ticket):
                s.count = previous  # the map still shown, and its count, stay
            raise
        if not self._reads.is_latest(ticket):
            return
        s.url = url
        s.nearest, s.count = found.markers[:NEAREST_SHOWN], len(found.markers)
        s.counted_radius = radius
        s.focus_name = found.label

"""The map: prospects around the outlet, me, or one prospect; radius 1/3/5/10 km."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import flet as ft
from sqlalchemy import Connection

from app.geo.maps import MapMarker, build_map_html, write_map
from app.geo.nearby import within
from app.models.ids import utcnow
from app.queries import mapdata
from app.queries.whitelist import outlet_position
from app.workbench.reads import LatestRead

if TYPE_CHECKING:
    from app.workbench.workbench import Workbench

RADII = (1.0, 3.0, 5.0, 10.0)
NEAREST_SHOWN = 20  # listed beside the map
MAP_LIMIT = 20_000  # markers one phone map draws
Centre = Literal["me", "outlet", "prospect"]


@ft.observable
@dataclass
class MapState:
    radius: float = 3.0
    focus: str | None = None  # a prospect the map centres on (the card's "show on the map")
    focus_name: str = ""
    url: str = ""  # the page, served under /maps; empty while none can be drawn
    nearest: list[MapMarker] = field(default_factory=list)
    count: int = 0


@dataclass(frozen=True)
class _Found:
    center: tuple[float, float] | None
    kind: Centre
    label: str
    markers: list[MapMarker]


class MapController:
    def __init__(self, workbench: Workbench, *, maps_dir: Path) -> None:
        self.workbench = workbench
        self.maps_dir = maps_dir  # served by the web server under /maps
        self.state = MapState()
        self._reads = LatestRead()

    def focus(self, prospect_id: str | None) -> None:
        """Centre the next map on a prospect and its neighbours (None: back to the outlet)."""
        self.state.focus = prospect_id

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
            )
            name = f"map-{me.user_id[:8]}-{int(radius * 10)}-{found.kind}.html"
            write_map(self.maps_dir / name, html)
            return name

        ticket = self._reads.begin()
        found = await workbench.read(find)
        name = await asyncio.to_thread(draw, found)
        if not self._reads.is_latest(ticket):
            return
        s.url = f"/maps/{name}?t={int(utcnow().timestamp())}" if name else ""
        s.nearest, s.count = found.markers[:NEAREST_SHOWN], len(found.markers)
        s.focus_name = found.label

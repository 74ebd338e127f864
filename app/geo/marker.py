"""A prospect as the map shows it: light to import (the map page, ``app.geo.maps``, brings
folium, which the first screen does not need)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MapMarker:
    """One prospect on the map (WGS-84 position; ``line`` in 元)."""

    id: str
    name: str
    lat: float
    lon: float
    status: str
    line: int
    distance_km: float | None

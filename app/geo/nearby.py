"""Prospects near a point, from the device store: the map's circle.

Two steps, so that neither SQLite nor Python does the other's work:

1. **Bounding box in SQL.** A circle of radius r km around (lat, lon) lies inside
   the box lat ± r/R and lon ± asin(sin(r/R) / cos lat) (radians; R the earth's mean
   radius, as ``haversine_km`` uses). The index on (lat, lon, id)
   (``app.queries.indexes.LOCAL_GEO_DDL``) turns the box into one index range scan on
   lat, lon checked in the index entries. A selective ``scope_sql`` (one assignee, one
   outlet) may use its own index instead.
2. **Exact distance in Python.** ``haversine_km`` on the box's candidates only; those
   farther than r (the box's corners) are dropped, the rest sorted.

``scope_sql`` narrows the search with the caller's own condition on the ``prospect``
table, aliased ``p`` (e.g. ``app.services.scope.view_sql(view, uid, oid, alias="p.")``),
with its bind ``params``. The whitelist's "within 3 km" is not this: it is
``app.queries.whitelist.query_whitelist`` with ``max_distance_km``.
"""

from __future__ import annotations

from collections.abc import Mapping
from math import asin, cos, degrees, radians, sin

from sqlalchemy import Connection, text

from app.geo.distance import EARTH_RADIUS_KM, haversine_km

DEFAULT_MAP_LIMIT = 50_000  # the most prospects one map draws (DESIGN.md §7)
_MARGIN_DEG = 1e-9  # rounding margin on the box, far below any real spacing

Hit = tuple[str, float]  # (prospect id, km)


def bounding_box(lat: float, lon: float, radius_km: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lon, max_lon) of a box holding every point within radius_km.

    Longitudes are not wrapped at ±180° (China is far from it).
    """
    angle = radius_km / EARTH_RADIUS_KM  # radians
    dlat = degrees(angle) + _MARGIN_DEG
    min_lat, max_lat = lat - dlat, lat + dlat
    cos_lat = cos(radians(lat))
    if max_lat >= 90.0 or min_lat <= -90.0 or sin(angle) >= cos_lat:
        return max(min_lat, -90.0), min(max_lat, 90.0), -180.0, 180.0  # holds a pole
    dlon = degrees(asin(sin(angle) / cos_lat)) + _MARGIN_DEG
    return min_lat, max_lat, lon - dlon, lon + dlon


def within(
    conn: Connection,
    lat: float,
    lon: float,
    radius_km: float,
    *,
    limit: int = DEFAULT_MAP_LIMIT,
    scope_sql: str = "",
    params: Mapping[str, object] | None = None,
) -> list[Hit]:
    """Every prospect within radius_km of (lat, lon), nearest first, at most ``limit``."""
    if limit <= 0 or radius_km < 0:
        return []
    return _within_box(conn, lat, lon, radius_km, scope_sql, params)[:limit]


def _within_box(
    conn: Connection,
    lat: float,
    lon: float,
    radius_km: float,
    scope_sql: str,
    params: Mapping[str, object] | None,
) -> list[Hit]:
    """(id, km) of the prospects within radius_km, sorted by distance then id."""
    min_lat, max_lat, min_lon, max_lon = bounding_box(lat, lon, radius_km)
    where = "p.lat BETWEEN :_min_lat AND :_max_lat AND p.lon BETWEEN :_min_lon AND :_max_lon"
    if scope_sql:
        where += f" AND ({scope_sql})"
    bind = {
        **(params or {}),
        "_min_lat": min_lat,
        "_max_lat": max_lat,
        "_min_lon": min_lon,
        "_max_lon": max_lon,
    }
    rows = conn.execute(text(f"SELECT p.id, p.lat, p.lon FROM prospect p WHERE {where}"), bind)
    ranked = []
    for pid, p_lat, p_lon in rows.all():
        km = haversine_km(lat, lon, p_lat, p_lon)
        if km <= radius_km:  # the box's corners are farther than the radius
            ranked.append((km, pid))
    ranked.sort()  # by distance, then id: the same order every time
    return [(pid, km) for km, pid in ranked]

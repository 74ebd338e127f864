"""Prospects near a point, from the device store: "nearest first" and the map's circle.

Two steps, so that neither SQLite nor Python does the other's work:

1. **Bounding box in SQL.** A circle of radius r km around (lat, lon) lies inside
   the box lat ± r/R and lon ± asin(sin(r/R) / cos lat) (radians; R the earth's mean
   radius, as ``haversine_km`` uses). ``LOCAL_GEO_DDL``'s index on (lat, lon, id) turns
   the box into one index range scan on lat, lon checked in the index entries. A
   selective ``scope_sql`` (one assignee, one outlet) may use its own index instead.
2. **Exact distance in Python.** ``haversine_km`` on the box's candidates only; those
   farther than r (the box's corners) are dropped, the rest sorted.

``nearest`` wants only the first ``limit``, so it does not read the whole radius
when prospects are dense (a city centre may hold tens of thousands within 3 km): it
searches a small box first and widens it until ``limit`` prospects lie within the
searched radius, which proves that nothing outside the box can be nearer. With
prospects sparse it ends at ``radius_km`` after at most a few small queries.

``scope_sql`` narrows the search with the caller's own condition on the ``prospect``
table, aliased ``p`` as in app/services (e.g. ``"p.assignee_id = :uid"``), with its
bind ``params``.
"""

from __future__ import annotations

from collections.abc import Mapping
from math import asin, cos, degrees, radians, sin, sqrt

from sqlalchemy import Connection, text

from app.geo.distance import EARTH_RADIUS_KM, haversine_km

# id makes the index covering: an unscoped search reads no table rows at all (about 3x
# faster than (lat, lon) alone on 100,000 prospects: the rows are wide, the index is not).
LOCAL_GEO_DDL = ["CREATE INDEX IF NOT EXISTS ix_prospect_lat_lon_id ON prospect (lat, lon, id)"]

DEFAULT_MAP_LIMIT = 50_000  # the most prospects one map draws (DESIGN.md §7)
_FIRST_BOX_KM = 0.25  # where nearest() starts looking; widened while too few are found
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


def nearest(
    conn: Connection,
    lat: float,
    lon: float,
    *,
    radius_km: float = 3.0,
    limit: int = 20,
    scope_sql: str = "",
    params: Mapping[str, object] | None = None,
) -> list[Hit]:
    """The ``limit`` prospects nearest to (lat, lon) within radius_km, nearest first."""
    if limit <= 0 or radius_km < 0:
        return []
    searched = min(_FIRST_BOX_KM, radius_km)
    while True:
        hits = _within_box(conn, lat, lon, searched, scope_sql, params)
        if len(hits) >= limit or searched >= radius_km:
            return hits[:limit]
        # Too few so far: widen by the area the density seen suggests (at least 2x).
        grow = max(2.0, 1.3 * sqrt(limit / max(len(hits), 1)))
        searched = min(radius_km, searched * grow)


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

"""Great-circle distances on WGS-84 coordinates.

``haversine_km`` is the fast path for ranking many rows (error < 0.5 % against
geodesic at city scale); ``geodesic_km`` (geopy) is the exact one for a single pair.
"""

from __future__ import annotations

from math import asin, cos, radians, sin, sqrt

from geopy.distance import geodesic

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = radians(lat1), radians(lat2)
    dp, dl = p2 - p1, radians(lon2 - lon1)
    a = sin(dp / 2) ** 2 + cos(p1) * cos(p2) * sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * asin(min(1.0, sqrt(a)))


def geodesic_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return float(geodesic((lat1, lon1), (lat2, lon2)).km)

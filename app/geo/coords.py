"""Conversions between WGS-84, GCJ-02 and BD-09, for the boundary only.

Every coordinate the workbench stores (prospects, outlets, check-ins) is WGS-84, as
GPS and the device's location services give it (DESIGN.md §2). Chinese map
providers work in shifted datums instead:

- **GCJ-02** ("Mars coordinates", 国测局坐标): WGS-84 plus a deliberate, non-linear
  offset of a few hundred metres, computed on the Krasovsky 1940 ellipsoid. Used by
  AutoNavi/Amap, Tencent and Google's China tiles. Not applied outside China.
- **BD-09** (百度坐标): Baidu's further offset of GCJ-02 (the "3000π" formula).

So convert *at the boundary*: a position read from such a provider goes through
``gcj02_to_wgs84`` / ``bd09_to_wgs84`` before it is stored or compared, and a
stored position goes through ``wgs84_to_gcj02`` only to be drawn on a GCJ-02 map.
Never store a converted value.

The forward offsets are closed formulas; the inverses are found by fixed-point
iteration to < 1e-7 degrees (about 1 cm), far better than the one-step
approximation usually published. Every function takes and returns ``(lat, lon)``
in degrees, in that order, like the rest of the project.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from math import atan2, cos, pi, sin, sqrt

# Krasovsky 1940 ellipsoid, as the GCJ-02 algorithm uses it.
_A = 6378245.0  # semi-major axis, metres
_EE = 0.00669342162296594323  # first eccentricity squared
_X_PI = pi * 3000.0 / 180.0  # BD-09's constant
_TOLERANCE_DEG = 1e-7
_MAX_ITERATIONS = 30

LatLon = tuple[float, float]


class Datum(StrEnum):
    """A coordinate system a position may come in or be drawn in."""

    WGS84 = "wgs84"  # GPS; what the workbench stores
    GCJ02 = "gcj02"  # China's offset datum (Amap, Tencent)
    BD09 = "bd09"  # Baidu's offset of GCJ-02


def out_of_china(lat: float, lon: float) -> bool:
    """True outside the rectangle where GCJ-02 applies an offset (the usual bounds)."""
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _offset(lat: float, lon: float) -> LatLon:
    """GCJ-02's offset (dlat, dlon) in degrees at a WGS-84 position inside China."""
    x, y = lon - 105.0, lat - 35.0
    common = (20.0 * sin(6.0 * x * pi) + 20.0 * sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt(abs(x))
    dlat += common
    dlat += (20.0 * sin(y * pi) + 40.0 * sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * sin(y / 12.0 * pi) + 320.0 * sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt(abs(x))
    dlon += common
    dlon += (20.0 * sin(x * pi) + 40.0 * sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * sin(x / 12.0 * pi) + 300.0 * sin(x / 30.0 * pi)) * 2.0 / 3.0
    # From metres on the Krasovsky ellipsoid to degrees at this latitude.
    rad = lat / 180.0 * pi
    magic = 1.0 - _EE * sin(rad) ** 2
    sqrt_magic = sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * cos(rad) * pi)
    return dlat, dlon


def wgs84_to_gcj02(lat: float, lon: float) -> LatLon:
    """WGS-84 → GCJ-02 (unchanged outside China)."""
    if out_of_china(lat, lon):
        return lat, lon
    dlat, dlon = _offset(lat, lon)
    return lat + dlat, lon + dlon


def gcj02_to_bd09(lat: float, lon: float) -> LatLon:
    """GCJ-02 → BD-09 (Baidu's formula)."""
    z = sqrt(lon * lon + lat * lat) + 0.00002 * sin(lat * _X_PI)
    theta = atan2(lat, lon) + 0.000003 * cos(lon * _X_PI)
    return z * sin(theta) + 0.006, z * cos(theta) + 0.0065


def _invert(
    forward: Callable[[float, float], LatLon], lat: float, lon: float, guess: LatLon
) -> LatLon:
    """The position p with forward(p) == (lat, lon), refined from ``guess``.

    Both offsets are small and smooth, so p ← p - (forward(p) - target) converges
    fast (2-4 steps to 1e-7 degrees).
    """
    p_lat, p_lon = guess
    for _ in range(_MAX_ITERATIONS):
        f_lat, f_lon = forward(p_lat, p_lon)
        d_lat, d_lon = f_lat - lat, f_lon - lon
        if abs(d_lat) < _TOLERANCE_DEG and abs(d_lon) < _TOLERANCE_DEG:
            break
        p_lat, p_lon = p_lat - d_lat, p_lon - d_lon
    return p_lat, p_lon


def gcj02_to_wgs84(lat: float, lon: float) -> LatLon:
    """GCJ-02 → WGS-84, by iteration to < 1e-7 degrees (unchanged outside China)."""
    if out_of_china(lat, lon):
        return lat, lon
    dlat, dlon = _offset(lat, lon)  # the offset barely changes over its own few hundred m
    return _invert(wgs84_to_gcj02, lat, lon, (lat - dlat, lon - dlon))


def bd09_to_gcj02(lat: float, lon: float) -> LatLon:
    """BD-09 → GCJ-02: Baidu's published inverse, refined by iteration to < 1e-7 degrees."""
    x, y = lon - 0.0065, lat - 0.006
    z = sqrt(x * x + y * y) - 0.00002 * sin(y * _X_PI)
    theta = atan2(y, x) - 0.000003 * cos(x * _X_PI)
    return _invert(gcj02_to_bd09, lat, lon, (z * sin(theta), z * cos(theta)))


def wgs84_to_bd09(lat: float, lon: float) -> LatLon:
    """WGS-84 → BD-09 (through GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lat, lon))


def bd09_to_wgs84(lat: float, lon: float) -> LatLon:
    """BD-09 → WGS-84 (through GCJ-02)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lat, lon))


_TO_WGS84: dict[Datum, Callable[[float, float], LatLon]] = {
    Datum.WGS84: lambda lat, lon: (lat, lon),
    Datum.GCJ02: gcj02_to_wgs84,
    Datum.BD09: bd09_to_wgs84,
}
_FROM_WGS84: dict[Datum, Callable[[float, float], LatLon]] = {
    Datum.WGS84: lambda lat, lon: (lat, lon),
    Datum.GCJ02: wgs84_to_gcj02,
    Datum.BD09: wgs84_to_bd09,
}


def to_wgs84(lat: float, lon: float, source: Datum | str) -> LatLon:
    """A position from a provider in ``source``'s datum, as the WGS-84 the store keeps."""
    return _TO_WGS84[Datum(source)](lat, lon)


def from_wgs84(lat: float, lon: float, target: Datum | str) -> LatLon:
    """A stored WGS-84 position, for drawing on a map in ``target``'s datum."""
    return _FROM_WGS84[Datum(target)](lat, lon)

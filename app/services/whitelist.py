"""The whitelist's rules over plain values: sorts, follow-up filters, search terms and
the distance arithmetic the device-store query (app/queries/whitelist.py) relies on.

Search: the text splits on white space (after NFKC, so full-width input works) and
every term must match. A term of 4 digits or more is a phone number's tail (or, past
the 8 digits every credit code of a district shares, a credit code's start); any
other term is looked for inside the company name, the legal representative and
(Latin letters and digits only) the credit code, ignoring ASCII case.
"""

from __future__ import annotations

import math
import unicodedata
from enum import StrEnum

from app.geo.distance import EARTH_RADIUS_KM

KM_PER_DEGREE = EARTH_RADIUS_KM * math.pi / 180.0  # along a meridian
DISTRICT_CODE_DIGITS = 8  # a credit code's first 8 digits: every code of a district shares them


class WhitelistSort(StrEnum):
    DISTANCE = "distance"  # nearest first (score first when there is no origin)
    LINE = "line"  # pre-approved line, largest first
    SCORE = "score"  # model score, highest first
    LAST_CONTACT = "last_contact"  # most recently contacted first, never contacted last


class FollowUpFilter(StrEnum):
    DUE = "due"  # next follow-up today or earlier
    OVERDUE = "overdue"  # next follow-up before today


def search_terms(raw: str) -> list[str]:
    """The terms of a search box's text: NFKC (full-width to ASCII), split on white space."""
    return unicodedata.normalize("NFKC", raw or "").split()


def is_phone_tail(term: str) -> bool:
    """Four digits or more: a phone number's tail, or the start of a credit code."""
    return term.isascii() and term.isdigit() and len(term) >= 4


def escape_like(term: str) -> str:
    """``term`` with LIKE's wildcards (and the escape character) escaped by ``\\``."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def distance_margin_km(radius_km: float, lat0: float) -> float:
    """A bound on |equirectangular - haversine| within ``radius_km`` of a point at ``lat0``.

    Using cos(lat0) for the whole circle instead of the cosine at each point's
    latitude errs by about tan(lat0)·d/(2R) of d; the curvature adds (d/R)² more.
    The bound takes 4x of both (checked by a property test).
    """
    if abs(lat0) > 80.0:
        return radius_km  # near a pole: test every row exactly
    rel = 4.0 * (radius_km / EARTH_RADIUS_KM) * (1.0 + abs(math.tan(math.radians(lat0))))
    return radius_km * rel + 1e-6


def box_around(origin: tuple[float, float], radius_km: float) -> tuple[float, float, float, float]:
    """(min lat, max lat, min lon, max lon) of a box holding every point within
    ``radius_km`` of ``origin``, by haversine or equirectangular distance."""
    lat0, lon0 = origin
    dlat = radius_km / KM_PER_DEGREE * (1 + 1e-9) + 1e-9
    far = min(abs(lat0) + dlat, 90.0)
    cos_far = math.cos(math.radians(far))
    if far >= 89.999 or dlat >= 180.0 * cos_far:
        return lat0 - dlat, lat0 + dlat, -180.0, 180.0
    dlon = dlat / cos_far
    return lat0 - dlat, lat0 + dlat, lon0 - dlon, lon0 + dlon

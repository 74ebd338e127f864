"""The whitelist's values and rules: the query a screen asks, the rows it gets back,
sorts, follow-up filters, search terms and the distance arithmetic the device-store
query (app/queries/whitelist.py) relies on.

Search: the text splits on white space (after NFKC, so full-width input works) and
every term must match. A term of 4 digits or more is a phone number's tail (or, past
the 8 digits every credit code of a district shares, a credit code's start); any
other term is looked for inside the company name, the legal representative and
(Latin letters and digits only) the credit code, ignoring ASCII case.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from app.geo.distance import EARTH_RADIUS_KM
from app.services.scope import ViewScope

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


@dataclass(frozen=True)
class WhitelistQuery:
    """One screen of the whitelist: scope, search, filters, sort and page."""

    scope: str = ViewScope.MINE_AND_POOL
    user_id: str | None = None
    outlet_id: str | None = None
    text: str = ""
    batch_id: str | None = None
    product: str | None = None
    statuses: frozenset[str] = frozenset()  # empty: every status
    industry: str | None = None
    follow_up: str | None = None  # FollowUpFilter
    max_distance_km: float | None = None
    origin: tuple[float, float] | None = None  # (lat, lon) WGS-84; None: the outlet's position
    sort: str = WhitelistSort.DISTANCE
    offset: int = 0
    limit: int = 50
    today: date | None = None  # Beijing calendar date; None: now

    def __post_init__(self) -> None:
        # Plain strings from a view become the enums; anything unknown is a caller's bug.
        object.__setattr__(self, "scope", ViewScope(self.scope))
        object.__setattr__(self, "sort", WhitelistSort(self.sort))
        if self.follow_up is not None:
            object.__setattr__(self, "follow_up", FollowUpFilter(self.follow_up))
        object.__setattr__(self, "statuses", frozenset(self.statuses))
        if self.offset < 0 or self.limit < 0:
            raise ValueError("offset and limit must not be negative")
        if self.max_distance_km is not None and self.max_distance_km < 0:
            raise ValueError("max_distance_km must not be negative")


@dataclass(frozen=True)
class WhitelistRow:
    """One prospect of the page, as a row of the list shows it."""

    id: str
    company_name: str
    legal_rep: str
    status: str
    pre_approved_line: int  # 元
    score: int
    industry: str
    batch_product: str
    batch_id: str
    batch_valid_until: date | None
    assignee_id: str | None
    distance_km: float | None  # haversine from the query's origin
    next_follow_up: date | None
    last_contact_at: datetime | None  # naive UTC
    phone_masked: str
    outlet_id: str | None  # whose pool it is in (the policy's reach)


@dataclass(frozen=True)
class WhitelistPage:
    """A page of rows, with the total and the chips' counts."""

    rows: list[WhitelistRow]
    total: int  # prospects matching every condition
    offset: int
    status_counts: dict[str, int]  # matching every condition but the status filter


@dataclass(frozen=True)
class BatchBadge:
    """A whitelist batch with prospects in view, and the days it has left."""

    id: str
    name: str
    product: str
    valid_until: date
    days_left: int  # 0 on the last valid day
    expired: bool
    count: int  # prospects of the batch in scope


@dataclass(frozen=True)
class IndustryCount:
    """An industry of the filter menu, with its prospects in view."""

    industry: str
    count: int


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


# -- the managers' table view ------------------------------------------------------------


class TableSort(StrEnum):
    """The table view's sortable columns (app/queries/whitelist_table.py sorts in SQL)."""

    COMPANY = "company"  # 企业名称
    STATUS = "status"  # 状态, in funnel order
    ASSIGNEE = "assignee"  # 负责人, by name; the pool last
    LINE = "line"  # 预授信额度
    SCORE = "score"  # 评分
    LAST_CONTACT = "last_contact"  # 最近联系; never contacted last
    NEXT_FOLLOW_UP = "next_follow_up"  # 下次跟进; none planned last


@dataclass(frozen=True)
class TableRow:
    """One prospect of the table view."""

    id: str
    company_name: str
    status: str
    assignee_id: str | None
    assignee_name: str | None
    pre_approved_line: int  # 元
    score: int
    last_contact_at: datetime | None  # naive UTC
    next_follow_up: date | None
    outlet_id: str | None


@dataclass(frozen=True)
class TablePage:
    """A page of the table: its rows, how many match, and where the page starts."""

    rows: list[TableRow]
    total: int
    offset: int

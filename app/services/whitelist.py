"""The whitelist a marketer works (home screen) and an outlet manager's unified view.

``query_whitelist(conn, WhitelistQuery(...))`` answers one screen from the device
store: a page of prospects, how many match, and how many match per funnel status
(the chips: every condition applies to them except the status filter itself).

Scopes: ``mine_and_pool`` (a marketer: assigned to me, or my outlet's unassigned
pool), ``mine``, ``pool``, ``outlet`` (a manager) and ``all`` (an admin). A scope
whose user or outlet is missing matches nothing; it never widens.

Search: the text splits on white space (after NFKC, so full-width input works) and
every term must match. A term of 4 digits or more is a phone number's tail (or, past
the 8 digits every credit code of a district shares, a credit code's start); any
other term is looked for inside the company name, the legal representative and
(Latin letters and digits only) the credit code, ignoring ASCII case. Follow-ups
``due`` (today or earlier) and ``overdue`` (before today) leave out disbursed,
declined and invalid prospects, as app/services/followups.py does. Sorts:
``distance`` (nearest first; by ``score`` when there is no origin), ``line``
(pre-approved line, largest first), ``score`` (highest first), ``last_contact``
(most recent first, never contacted last: the work in hand before the untouched
pool). Ties break on the local rowid, so pages neither repeat nor skip a row.

How it stays fast over 100,000 local prospects (``LOCAL_WHITELIST_DDL``):

1. **Counts in SQL, through one index.** ``GROUP BY status`` driven by the most
   selective index (the scope's, else the distance box, follow-up date, industry,
   batch), each holding ``status`` so counting reads no table row. Every other
   condition carries a unary ``+``, which SQLite cannot index: the plan chosen here
   is the plan SQLite runs, with or without ANALYZE statistics.
2. **The page by the cheaper of two plans**, judged on the exact total and on
   which index holds what each plan reads: *filter first* (the matches through the
   driving index, ORDER BY ... LIMIT) or *order first* (walk the sort column's
   index, or grow a box around the origin, until ``offset + limit`` match). Boxes
   may read only what filter-first would cost, so matches clustered far from the
   origin (a district's name, searched from another district) fall back early.
3. **Exact distances.** Distance orders in SQL by the equirectangular
   ``(dlat)² + (dlon·cos lat0)²``; a box holding enough matches bounds how far the
   nearest can be. ``max_distance_km`` is a bounding box plus that test, and only
   rows in a thin band around the radius, whose width bounds the approximation's
   error (``distance_margin_km``), call ``haversine_km`` as a SQL function: counts
   and pages agree with ``haversine_km`` exactly. Page rows get exact distances.
4. **Search: in memory, else one scan.** Two-character Chinese terms are too short
   for an FTS5 trigram index. The device store's ``TextIndex``
   (app/services/text_index.py) holds every prospect's name, legal representative
   and credit code with its status, scope, position, line and score, kept current by
   triggers: it finds a term with ``bytes.find``, counts the matches per status and,
   when nothing but scope, text and status filter the query, sorts the page itself
   (the same arithmetic as ``_ORDER_SQL``) so no table row is read. Otherwise up to
   ``PROBE_LIMIT`` matches stand for the search as a list of rowids. Without the
   index (a first sync still landing), or for a term with more matches than that,
   the text is scanned through the covering ``ix_prospect_search``: one pass yields
   the counts per status and the rowids. Phone tails use ``ix_prospect_phone_tail``.
   Measured alternatives (CPU ms per query, 100,000 prospects; 张菊 rare, 汽车 4,632
   hits)::

       name or legal rep contains the term         rare  common
       LIKE, table scan                            36.7    35.1
       instr, ix_prospect_search                   23.1    23.9
       instr, same, with counts and rowids         21.9    23.0
       FTS5 trigram, fts5vocab prefix terms         1.6     2.5
       Python, str.find over one cached string      4.0     5.3

   FTS5 gives rowids but not the counts, and its triggers cost +240 µs per prospect
   written (+24 s on a first sync); the in-memory index costs ~0.4 s to build after
   a sync and ~10 MB. bench/search.py has the end-to-end figures.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, text

from app.geo.distance import EARTH_RADIUS_KM, haversine_km
from app.services.funnel import TERMINAL
from app.services.masking import mask_phone
from app.services.stored import stored_date, stored_datetime
from app.services.text_index import PageOrder, TextIndex

# The device store runs these once at set-up (app/sync/store.py). Building them after a
# first sync's snapshot is cheaper than keeping them up to date during it.
LOCAL_WHITELIST_DDL: list[str] = [
    # scopes, holding what the chips count and the distance sort reads: a marketer's home
    # screen (mine and pool, nearest first) reads no table row
    "CREATE INDEX IF NOT EXISTS ix_prospect_mine ON prospect"
    " (assignee_id, outlet_id, status, lat, lon)",
    "CREATE INDEX IF NOT EXISTS ix_prospect_pool ON prospect"
    " (outlet_id, assignee_id, status, lat, lon)",
    # the text scan reads this instead of the table (under half as wide), with what
    # nearest-first needs
    "CREATE INDEX IF NOT EXISTS ix_prospect_search ON prospect"
    " (company_name, legal_rep, credit_code, phone, status, lat, lon)",
    # a phone's last four digits (the usual search for a customer who called)
    "CREATE INDEX IF NOT EXISTS ix_prospect_phone_tail ON prospect (substr(phone, -4))",
    # the distance box, with status for the chips
    "CREATE INDEX IF NOT EXISTS ix_prospect_geo_status ON prospect (lat, lon, status)",
    # the sorts walk these when most prospects match
    "CREATE INDEX IF NOT EXISTS ix_prospect_line ON prospect (pre_approved_line)",
    "CREATE INDEX IF NOT EXISTS ix_prospect_score ON prospect (score)",
    "CREATE INDEX IF NOT EXISTS ix_prospect_last_contact ON prospect (last_contact_at)",
    # filters, counted per status without reading rows
    "CREATE INDEX IF NOT EXISTS ix_prospect_industry_status ON prospect (industry, status)",
    "CREATE INDEX IF NOT EXISTS ix_prospect_batch_status ON prospect (batch_id, status)",
    "CREATE INDEX IF NOT EXISTS ix_prospect_follow_up_status ON prospect (next_follow_up, status)",
]

KM_PER_DEGREE = EARTH_RADIUS_KM * math.pi / 180.0  # along a meridian
PROBE_LIMIT = 5_000  # search matches kept as a rowid list; beyond it, the term is common
_DISTRICT_CODE_DIGITS = 8  # a credit code's first 8 digits: every code of a district shares them
_FIRST_BOX_KM = 0.25  # where an unbounded nearest-first search starts looking
_MAX_BOX_KM = 2_500.0  # boxes stop growing here (China fits in one)
_HAVERSINE_SQL = "wl_haversine_km"


class WhitelistScope(StrEnum):
    MINE_AND_POOL = "mine_and_pool"  # marketer: assigned to me, or my outlet's unassigned pool
    MINE = "mine"  # assigned to me
    POOL = "pool"  # my outlet's unassigned pool
    OUTLET = "outlet"  # outlet manager: the whole outlet
    ALL = "all"  # admin: everything on the device


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

    scope: str = WhitelistScope.MINE_AND_POOL
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
        object.__setattr__(self, "scope", WhitelistScope(self.scope))
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


@dataclass(frozen=True)
class WhitelistPage:
    rows: list[WhitelistRow]
    total: int  # prospects matching every condition
    offset: int
    status_counts: dict[str, int]  # matching every condition but the status filter


@dataclass(frozen=True)
class BatchBadge:
    id: str
    name: str
    product: str
    valid_until: date
    days_left: int  # 0 on the last valid day
    expired: bool
    count: int  # prospects of the batch in scope


@dataclass(frozen=True)
class IndustryCount:
    industry: str
    count: int


# -- public API --------------------------------------------------------------------------


def query_whitelist(
    conn: Connection, q: WhitelistQuery, *, text_index: TextIndex | None = None
) -> WhitelistPage:
    """The page, total and per-status counts of a whitelist query, from the device store.

    ``text_index`` (the store's, app/services/text_index.py) answers the text search
    from memory; without it, or before a first sync has landed, SQL scans.
    """
    origin = q.origin if q.origin is not None else outlet_position(conn, q.outlet_id)
    plan = _Plan(q, q.today or beijing_today(), origin)
    if plan.nothing:
        return WhitelistPage(rows=[], total=0, offset=q.offset, status_counts={})
    if plan.needs_haversine:
        _register_haversine(conn)
    reader = _Reader(conn, plan)
    counts = reader.search(text_index) if plan.terms else None
    if counts is None or set(plan.filters) - plan.searched:
        counts = reader.counts()  # conditions the search did not apply
    total = sum(n for s, n in counts.items() if not q.statuses or s in q.statuses)
    page = reader.page_ids if reader.page_ids is not None else reader.page(counts, total)
    rows = _details(conn, page, origin)
    return WhitelistPage(rows=rows, total=total, offset=q.offset, status_counts=counts)


def whitelist_page(
    conn: Connection,
    *,
    user_id: str,
    outlet_id: str | None,
    origin: tuple[float, float] | None = None,
    offset: int = 0,
    limit: int = 50,
) -> WhitelistPage:
    """My prospects and my outlet's unassigned pool, nearest first (``query_whitelist``)."""
    return query_whitelist(
        conn,
        WhitelistQuery(
            scope=WhitelistScope.MINE_AND_POOL, user_id=user_id, outlet_id=outlet_id,
            origin=origin, offset=offset, limit=limit,
        ),
    )  # fmt: skip


def batch_badges(
    conn: Connection,
    today: date | None = None,
    *,
    scope: str = WhitelistScope.ALL,
    user_id: str | None = None,
    outlet_id: str | None = None,
) -> list[BatchBadge]:
    """The batches with prospects in scope: still valid first (soonest to expire), then expired."""
    today = today or beijing_today()
    where = _scope_where(WhitelistScope(scope), user_id, outlet_id)
    if where is None:
        return []
    counts = dict(
        conn.execute(
            text(f"SELECT p.batch_id, count(*) FROM prospect p WHERE {where} GROUP BY p.batch_id"),
            {"uid": user_id, "oid": outlet_id},
        ).all()
    )
    badges = []
    for bid, name, product, valid_until in conn.execute(
        text("SELECT id, name, product, valid_until FROM whitelist_batch")
    ):
        if not counts.get(bid):
            continue
        until = stored_date(valid_until)
        assert until is not None
        left = (until - today).days
        badges.append(BatchBadge(id=bid, name=name, product=product, valid_until=until,
                                 days_left=left, expired=left < 0, count=counts[bid]))  # fmt: skip
    badges.sort(key=lambda b: (b.expired, -b.days_left if b.expired else b.days_left, b.name))
    return badges


def industries(
    conn: Connection,
    *,
    scope: str = WhitelistScope.ALL,
    user_id: str | None = None,
    outlet_id: str | None = None,
) -> list[IndustryCount]:
    """The industries present in scope, most prospects first (the filter menu)."""
    where = _scope_where(WhitelistScope(scope), user_id, outlet_id)
    if where is None:
        return []
    rows = conn.execute(
        text(f"SELECT p.industry, count(*) FROM prospect p WHERE {where} GROUP BY p.industry"),
        {"uid": user_id, "oid": outlet_id},
    )
    found = [IndustryCount(industry=r[0], count=int(r[1])) for r in rows if r[0]]
    found.sort(key=lambda i: (-i.count, i.industry))
    return found


def outlet_position(conn: Connection, outlet_id: str | None) -> tuple[float, float] | None:
    """The outlet's WGS-84 (lat, lon), the default origin of distances."""
    if not outlet_id:
        return None
    row = conn.execute(
        text("SELECT lat, lon FROM outlet WHERE id = :id"), {"id": outlet_id}
    ).first()
    return (float(row[0]), float(row[1])) if row else None


def beijing_today() -> date:
    """Today's calendar date in China (UTC+8): follow-up dates and batch validity use it."""
    return (datetime.now(UTC) + timedelta(hours=8)).date()


def search_terms(raw: str) -> list[str]:
    """The terms of a search box's text: NFKC (full-width to ASCII), split on white space."""
    return unicodedata.normalize("NFKC", raw or "").split()


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


# -- the plan ----------------------------------------------------------------------------

# Conditions by kind. "{h}" before a column is "" where the condition may drive the query
# through its index, and "+" everywhere else: SQLite cannot use an index for "+column", so
# the plan chosen here is the plan SQLite runs, with or without ANALYZE statistics.
_IDS, _SCOPE, _GEO, _FOLLOW_UP, _INDUSTRY, _BATCH, _TEXT, _STATUS = (
    "ids", "scope", "geo", "follow_up", "industry", "batch", "text", "status",
)  # fmt: skip
_DRIVERS = (_IDS, _SCOPE, _GEO, _FOLLOW_UP, _INDUSTRY, _BATCH)  # most selective first
_TEXT_COLUMNS = frozenset({"company_name", "legal_rep", "credit_code", "phone"})
_READS: dict[str, frozenset[str]] = {  # the columns a condition reads (rowid: every index)
    _IDS: frozenset(),
    _SCOPE: frozenset({"assignee_id", "outlet_id"}),
    _GEO: frozenset({"lat", "lon"}),
    _FOLLOW_UP: frozenset({"next_follow_up", "status"}),
    _INDUSTRY: frozenset({"industry"}),
    _BATCH: frozenset({"batch_id"}),
    _TEXT: _TEXT_COLUMNS,
    _STATUS: frozenset({"status"}),
}
_GEO_INDEX = frozenset({"lat", "lon", "status"})
_HOLDS: dict[str, frozenset[str]] = {  # the columns of the index a driver goes through
    _IDS: frozenset(),  # rowids: each one a table lookup
    _SCOPE: frozenset({"assignee_id", "outlet_id", "status", "lat", "lon"}),
    _GEO: _GEO_INDEX,
    _FOLLOW_UP: frozenset({"next_follow_up", "status"}),
    _INDUSTRY: frozenset({"industry", "status"}),
    _BATCH: frozenset({"batch_id", "status"}),
    _STATUS: frozenset({"status"}),
}
_SORT_READS = {
    WhitelistSort.DISTANCE: frozenset({"lat", "lon"}),
    WhitelistSort.LINE: frozenset({"pre_approved_line"}),
    WhitelistSort.SCORE: frozenset({"score"}),
    WhitelistSort.LAST_CONTACT: frozenset({"last_contact_at"}),
}
_SORT_HOLDS = {**_SORT_READS, WhitelistSort.DISTANCE: _GEO_INDEX}  # the index each sort walks
_IN_MEMORY_SORTS = frozenset({WhitelistSort.DISTANCE, WhitelistSort.LINE, WhitelistSort.SCORE})
_SEARCH_INDEX = _TEXT_COLUMNS | {"status", "lat", "lon"}  # what a scan of ix_prospect_search reads
_EQ2 = "((p.lat - :olat) * (p.lat - :olat) + ((p.lon - :olon) * :ocos) * ((p.lon - :olon) * :ocos))"
_ORDER_SQL = {
    WhitelistSort.DISTANCE: f"{_EQ2}, p.rowid",
    WhitelistSort.LINE: "p.pre_approved_line DESC, p.rowid DESC",
    WhitelistSort.SCORE: "p.score DESC, p.rowid DESC",
    WhitelistSort.LAST_CONTACT: "p.last_contact_at DESC, p.rowid DESC",  # NULLs last
}
# Costs in index entries read (measured on the bench machine, rounded): a table row sought
# by rowid, a row of a full table scan, a row of the search index with its text tested,
# a row in a box (the index range is the box's whole band of latitude).
_LOOKUP, _TABLE_ROW, _TEXT_ROW, _BOX_ROW = 20.0, 3.0, 3.0, 4.0
_ID_BUILD = 12.0  # per candidate rowid: each box query rebuilds the IN list (about 4 boxes)
_BOX_STEPS = 6  # boxes tried before giving up on order-first
_BOX_SLACK = 8.0  # rows a grown box reads per row of its page (box vs circle, growth)


@dataclass
class _Plan:
    """A query compiled to SQL conditions by kind, with their bind parameters."""

    q: WhitelistQuery
    today: date
    origin: tuple[float, float] | None
    conds: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    terms: list[str] = field(default_factory=list)
    nothing: bool = False  # the scope lacks its user or outlet, or a radius lacks an origin
    needs_haversine: bool = False
    indexed_text: bool = False  # every term is a phone tail (or credit code start): indexed
    searched: set[str] = field(default_factory=set)  # conditions the search pass applied
    sort: WhitelistSort = WhitelistSort.DISTANCE

    def __post_init__(self) -> None:
        q, params = self.q, self.params
        scope = _scope_where(WhitelistScope(q.scope), q.user_id, q.outlet_id, hint="{h}")
        if scope is None:
            self.nothing = True
            return
        if scope != "1":
            self.conds[_SCOPE] = scope
            params.update(uid=q.user_id, oid=q.outlet_id)
        if q.batch_id is not None:
            self.conds[_BATCH] = "{h}p.batch_id = :batch_id"
            params["batch_id"] = q.batch_id
        elif q.product is not None:
            self.conds[_BATCH] = (
                "{h}p.batch_id IN (SELECT id FROM whitelist_batch WHERE product = :product)"
            )
            params["product"] = q.product
        if q.industry is not None:
            self.conds[_INDUSTRY] = "{h}p.industry = :industry"
            params["industry"] = q.industry
        if q.follow_up is not None:
            op = "<=" if q.follow_up == FollowUpFilter.DUE else "<"
            closed = ", ".join(f":closed{i}" for i in range(len(TERMINAL)))
            self.conds[_FOLLOW_UP] = (
                f"{{h}}p.next_follow_up {op} :today AND +p.status NOT IN ({closed})"
            )
            params["today"] = self.today.isoformat()
            params.update({f"closed{i}": s.value for i, s in enumerate(sorted(TERMINAL))})
        if self.origin is not None:
            lat0, lon0 = self.origin
            params.update(olat=lat0, olon=lon0, ocos=math.cos(math.radians(lat0)))
        if q.max_distance_km is not None:
            if self.origin is None:
                self.nothing = True  # "within 3 km" of nowhere
                return
            self._distance_filter(q.max_distance_km)
        self.terms = search_terms(q.text)
        if self.terms:
            self.conds[_TEXT] = " AND ".join(self._term(i, t) for i, t in enumerate(self.terms))
            self.indexed_text = all(_is_tail(t) for t in self.terms)
        if q.statuses:
            marks = ", ".join(f":st{i}" for i in range(len(q.statuses)))
            self.conds[_STATUS] = f"{{h}}p.status IN ({marks})"
            params.update({f"st{i}": s for i, s in enumerate(sorted(q.statuses))})
        self.sort = WhitelistSort(q.sort)
        if self.sort == WhitelistSort.DISTANCE and self.origin is None:
            self.sort = WhitelistSort.SCORE

    def _distance_filter(self, radius: float) -> None:
        assert self.origin is not None
        margin = distance_margin_km(radius, self.origin[0])
        outer, inner = radius + margin, max(radius - margin, 0.0)
        self.params.update(_box_params("g", self.origin, outer))
        self.params.update(
            gin2=(inner / KM_PER_DEGREE) ** 2, gout2=(outer / KM_PER_DEGREE) ** 2, gmax=radius
        )
        # Inside the band's inner edge: in; past its outer edge: out; in the band: exact.
        self.conds[_GEO] = (
            "{h}p.lat BETWEEN :glat0 AND :glat1 AND {h}p.lon BETWEEN :glon0 AND :glon1"
            f" AND ({_EQ2} <= :gin2 OR ({_EQ2} <= :gout2"
            f" AND {_HAVERSINE_SQL}(:olat, :olon, p.lat, p.lon) <= :gmax))"
        )
        self.needs_haversine = True

    def _term(self, i: int, term: str) -> str:
        """One search term: a phone's tail or a credit code's start (digits), else contained
        in the company name, the legal representative or the credit code."""
        if _is_tail(term):
            # substr(phone, -4) is indexed: the LIKE only checks the longer tails
            self.params.update({f"tl{i}": term[-4:], f"tail{i}": "%" + term})
            ors = [f"(substr(p.phone, -4) = :tl{i} AND p.phone LIKE :tail{i})"]
            if len(term) > _DISTRICT_CODE_DIGITS:
                self.params.update({f"cl{i}": term, f"ch{i}": term + "~"})  # "~" > any code char
                ors.append(f"(p.credit_code >= :cl{i} AND p.credit_code < :ch{i})")
            return "(" + " OR ".join(ors) + ")"
        if any("a" <= c <= "z" for c in term.lower() if c.isascii()):
            # LIKE folds ASCII case; instr is faster and enough for anything else
            self.params[f"t{i}"] = "%" + _escape_like(term) + "%"
            has = f"p.{{}} LIKE :t{i} ESCAPE '\\'"
        else:
            self.params[f"t{i}"] = term
            has = f"instr(p.{{}}, :t{i}) > 0"
        ors = [has.format("company_name")]
        if not term.isdigit():  # digits: neither in a person's name nor a useful code fragment
            ors.append(has.format("legal_rep"))
            if term.isascii() and term.isalnum():
                ors.append(has.format("credit_code"))
        return "(" + " OR ".join(ors) + ")"

    def where(self, kinds: Iterable[str], driver: str | None = None) -> str:
        """The conditions of ``kinds``, only ``driver``'s allowed to use an index."""
        parts = [
            self.conds[k].replace("{h}", "" if k == driver else "+")
            for k in kinds
            if k in self.conds
        ]
        return " AND ".join(parts) or "1"

    @property
    def filters(self) -> list[str]:
        """Every condition but the status filter (what the chips count over)."""
        return [k for k in self.conds if k != _STATUS]

    def driver(self) -> str | None:
        return next((k for k in _DRIVERS if k in self.conds), None)

    def reads(self) -> frozenset[str]:
        return frozenset().union(*(_READS[k] for k in self.conds))

    def use_candidates(self, rowids_json: str, kinds: list[str]) -> None:
        """Replace the conditions of ``kinds`` by the rowids (a JSON array) they found."""
        for kind in kinds:
            del self.conds[kind]
        self.conds[_IDS] = "{h}p.rowid IN (SELECT value FROM json_each(:ids))"
        self.params["ids"] = rowids_json
        self.searched.add(_IDS)


def _scope_where(
    scope: WhitelistScope, user_id: str | None, outlet_id: str | None, hint: str = ""
) -> str | None:
    """The scope's SQL condition on ``p`` (binds :uid, :oid); None when it matches nothing."""
    h = hint
    mine = f"{h}p.assignee_id = :uid"
    pool = f"{h}p.outlet_id = :oid AND {h}p.assignee_id IS NULL"
    if scope == WhitelistScope.ALL:
        return "1"
    if scope == WhitelistScope.MINE:
        return mine if user_id else None
    if scope == WhitelistScope.POOL:
        return f"({pool})" if outlet_id else None
    if scope == WhitelistScope.OUTLET:
        return f"{h}p.outlet_id = :oid" if outlet_id else None
    # mine_and_pool
    if user_id and outlet_id:
        return f"({mine} OR ({pool}))"
    if user_id:
        return mine
    return f"({pool})" if outlet_id else None


def _box_params(prefix: str, origin: tuple[float, float], radius_km: float) -> dict[str, float]:
    """A lat/lon box holding every point within radius_km, by haversine or equirectangular."""
    lat0, lon0 = origin
    dlat = radius_km / KM_PER_DEGREE * (1 + 1e-9) + 1e-9
    far = min(abs(lat0) + dlat, 90.0)
    cos_far = math.cos(math.radians(far))
    if far >= 89.999 or dlat >= 180.0 * cos_far:
        lon_lo, lon_hi = -180.0, 180.0
    else:
        dlon = dlat / cos_far
        lon_lo, lon_hi = lon0 - dlon, lon0 + dlon
    return {
        f"{prefix}lat0": lat0 - dlat,
        f"{prefix}lat1": lat0 + dlat,
        f"{prefix}lon0": lon_lo,
        f"{prefix}lon1": lon_hi,
    }


# -- counts and page ---------------------------------------------------------------------


class _Reader:
    """One query's SQL, with the table size read once."""

    def __init__(self, conn: Connection, plan: _Plan) -> None:
        self.conn, self.plan = conn, plan
        self._size: int | None = None
        self.page_ids: list[int] | None = None  # the page, when the text index sorted it

    def all(self, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
        return list(self.conn.execute(text(sql), self.plan.params | (params or {})).all())

    @property
    def size(self) -> int:
        """Prospects on the device (max rowid: one b-tree descent; count(*) reads an index)."""
        if self._size is None:
            found = self.conn.execute(text("SELECT max(rowid) FROM prospect")).scalar()
            self._size = max(int(found or 0), 1)
        return self._size

    def search(self, text_index: TextIndex | None) -> dict[str, int]:
        """One pass of the search: its matches per status, within the scope when it is small.

        The pass asks the in-memory text index, or reads the narrow search index, or the
        scope's rows when the scope is small, or the phone-tail index; up to
        ``PROBE_LIMIT`` matches then stand for the search (and the scope) as a list of
        rowids.
        """
        plan = self.plan
        if (
            text_index is not None
            and not any(_is_tail(t) for t in plan.terms)
            and text_index.refresh(self.conn)
        ):
            q = plan.q
            kinds = [k for k in (_SCOPE, _TEXT) if k in plan.conds]
            order = None
            if set(plan.conds) <= {_SCOPE, _TEXT, _STATUS} and plan.sort in _IN_MEMORY_SORTS:
                # nothing else to test: the index sorts the page itself, no table read
                origin = plan.params.get("olat"), plan.params.get("olon"), plan.params.get("ocos")
                order = PageOrder(sort=plan.sort.value, offset=q.offset, limit=q.limit,
                                  statuses=q.statuses, origin=origin)  # type: ignore[arg-type]  # fmt: skip
            found = text_index.match(plan.terms, scope=q.scope, user_id=q.user_id,
                                     outlet_id=q.outlet_id, limit=PROBE_LIMIT, order=order)  # fmt: skip
            if found is not None:
                plan.searched = set(kinds)
                if found.page is not None:
                    self.page_ids = found.page
                else:
                    plan.use_candidates(json.dumps(found.rowids), kinds)
                return found.status_counts
            # a common term: scanning in SQL costs less than a long list of rowids
        kinds, driver = [_TEXT], None
        if plan.indexed_text:
            kinds, driver = [k for k in (_SCOPE, _TEXT) if k in plan.conds], _TEXT
        elif _SCOPE in plan.conds:
            sql = f"SELECT count(*) FROM prospect p WHERE {plan.where([_SCOPE], _SCOPE)}"
            if self.all(sql)[0][0] * _LOOKUP < self.size * _TEXT_ROW:
                kinds, driver = [_SCOPE, _TEXT], _SCOPE
        rows = self.all(
            "SELECT p.status, count(*), group_concat(p.rowid) FROM prospect p"
            f" WHERE {plan.where(kinds, driver)} GROUP BY +p.status"
        )
        plan.searched = set(kinds)
        if sum(r[1] for r in rows) <= PROBE_LIMIT:
            plan.use_candidates("[" + ",".join(r[2] for r in rows) + "]", kinds)
        return {str(r[0]): int(r[1]) for r in rows}

    def counts(self) -> dict[str, int]:
        """Matches per status, every condition but the status filter applied."""
        plan = self.plan
        driver = plan.driver()
        # GROUP BY +status keeps SQLite from walking the status index to avoid a sort,
        # which would read every row of the table; with no condition that walk is best.
        group = "+p.status" if plan.filters else "p.status"
        sql = (
            f"SELECT p.status, count(*) FROM prospect p WHERE {plan.where(plan.filters, driver)}"
            f" GROUP BY {group}"
        )
        return {str(s): int(n) for s, n in self.all(sql)}

    def page(self, counts: dict[str, int], total: int) -> list[int]:
        """The page's rowids, by the cheaper of filter-first and order-first."""
        plan, q = self.plan, self.plan.q
        need = q.offset + q.limit
        if q.limit == 0 or q.offset >= total:
            return []
        driver = plan.driver() or (_STATUS if _STATUS in plan.conds else None)
        reads = plan.reads()
        wanted = reads | _SORT_READS[plan.sort]
        if driver is None:  # a scan: of the search index when it holds all, else the table
            filter_first = self.size * (_TEXT_ROW if wanted <= _SEARCH_INDEX else _TABLE_ROW)
        else:
            rows = total if driver == _STATUS else sum(counts.values())
            filter_first = rows * (1.0 if wanted <= _HOLDS[driver] else _LOOKUP)
        walked = need * self.size / total
        covered = reads <= _SORT_HOLDS[plan.sort]
        if plan.sort == WhitelistSort.DISTANCE:
            # Growing boxes only over what the geo index holds: the scope or the search,
            # tested row by row, gather in places (a district's name) and boxes explode.
            order_first = walked * _BOX_SLACK * _BOX_ROW if covered else math.inf
            if _IDS in plan.conds:
                order_first += _ID_BUILD * sum(counts.values())
        else:
            order_first = walked * (1.0 if covered else _LOOKUP)
        if order_first < filter_first:
            if plan.sort != WhitelistSort.DISTANCE:
                driver = None  # every condition hinted: SQLite walks the sort column's index
            elif (found := self.nearest(need, filter_first)) is not None:
                return found
        sql = (
            f"SELECT p.rowid FROM prospect p WHERE {plan.where(plan.conds, driver)}"
            f" ORDER BY {_ORDER_SQL[plan.sort]} LIMIT :limit OFFSET :offset"
        )
        return [r[0] for r in self.all(sql, {"limit": q.limit, "offset": q.offset})]

    def nearest(self, need: int, budget: float) -> list[int] | None:
        """Nearest first by growing a box around the origin until its circle holds enough.

        The circle inscribed in a box of half-side r holds every row within r
        (equirectangular), so once it holds ``need`` matches, they are the ``need``
        nearest. The boxes may read rows worth ``budget`` (what filter-first costs):
        matches far from the origin give up early, None, for filter-first.
        """
        plan, q = self.plan, self.plan.q
        assert plan.origin is not None
        cap, bounded = _MAX_BOX_KM, q.max_distance_km is not None
        if q.max_distance_km is not None:  # every match lies inside the circle of this radius
            cap = q.max_distance_km + distance_margin_km(q.max_distance_km, plan.origin[0])
        box = "p.lat BETWEEN :blat0 AND :blat1 AND p.lon BETWEEN :blon0 AND :blon1"
        inside = f"{plan.where(plan.conds)} AND {_EQ2} <= :br2"  # tested per row: the box drives
        left = int(budget / _BOX_ROW)
        radius = min(_FIRST_BOX_KM, cap)
        for _ in range(_BOX_STEPS):
            params = {**_box_params("b", plan.origin, radius), "br2": (radius / KM_PER_DEGREE) ** 2}
            seen, hits = self.all(
                f"SELECT count(*), total(m) FROM (SELECT ({inside}) AS m FROM prospect p"
                f" WHERE {box} LIMIT :left)",
                {**params, "left": left},
            )[0]
            if hits >= need or (bounded and radius >= cap and seen < left):
                sql = (
                    f"SELECT p.rowid FROM prospect p WHERE {box} AND {inside}"
                    f" ORDER BY {_ORDER_SQL[WhitelistSort.DISTANCE]} LIMIT :limit OFFSET :offset"
                )
                return [
                    r[0] for r in self.all(sql, {**params, "limit": q.limit, "offset": q.offset})
                ]
            left -= seen
            if left <= 0 or radius >= cap:
                return None
            grow = 4.0 if hits == 0 else min(4.0, max(1.5, 1.2 * math.sqrt(need / hits)))
            radius = min(radius * grow, cap)
        return None


def _details(
    conn: Connection, rowids: list[int], origin: tuple[float, float] | None
) -> list[WhitelistRow]:
    """The page's rows, in the page's order."""
    if not rowids:
        return []
    found = {}
    for r in conn.execute(
        text(
            "SELECT p.rowid, p.id, p.company_name, p.legal_rep, p.status, p.pre_approved_line,"
            " p.score, p.industry, coalesce(b.product, ''), p.batch_id, b.valid_until,"
            " p.assignee_id, p.lat, p.lon, p.next_follow_up, p.last_contact_at, p.phone"
            " FROM prospect p LEFT JOIN whitelist_batch b ON b.id = p.batch_id"
            " WHERE p.rowid IN (SELECT value FROM json_each(:ids))"
        ),
        {"ids": json.dumps(rowids)},
    ):
        distance = None
        if origin is not None and r[12] is not None and r[13] is not None:
            distance = haversine_km(origin[0], origin[1], float(r[12]), float(r[13]))
        found[r[0]] = WhitelistRow(
            id=r[1], company_name=r[2], legal_rep=r[3], status=r[4],
            pre_approved_line=int(r[5] or 0), score=int(r[6] or 0), industry=r[7],
            batch_product=r[8], batch_id=r[9], batch_valid_until=stored_date(r[10]),
            assignee_id=r[11], distance_km=distance, next_follow_up=stored_date(r[14]),
            last_contact_at=stored_datetime(r[15]), phone_masked=mask_phone(r[16]),
        )  # fmt: skip
    return [found[i] for i in rowids if i in found]


def _register_haversine(conn: Connection) -> None:
    """Make ``haversine_km`` callable from SQL on this connection (the exact distance test)."""
    raw = conn.connection.driver_connection
    raw.create_function(_HAVERSINE_SQL, 4, haversine_km, deterministic=True)  # type: ignore[union-attr]


def _is_tail(term: str) -> bool:
    """Four digits or more: a phone number's tail, or the start of a credit code."""
    return term.isascii() and term.isdigit() and len(term) >= 4


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

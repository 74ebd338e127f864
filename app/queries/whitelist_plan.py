"""The whitelist query's planner and reader: which index drives, which plan reads the page.

How it stays fast over 100,000 local prospects (the indexes: app/queries/indexes.py):

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
   (app/queries/text_index.py) holds every prospect's name, legal representative
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
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, text

from app.geo.distance import haversine_km
from app.queries.text_index import PageOrder, TextIndex
from app.services.funnel import TERMINAL
from app.services.scope import view_sql
from app.services.whitelist import (
    DISTRICT_CODE_DIGITS,
    KM_PER_DEGREE,
    FollowUpFilter,
    WhitelistQuery,
    WhitelistSort,
    box_around,
    distance_margin_km,
    escape_like,
    is_phone_tail,
    search_terms,
)

PROBE_LIMIT = 5_000  # search matches kept as a rowid list; beyond it, the term is common
_FIRST_BOX_KM = 0.25  # where an unbounded nearest-first search starts looking
_MAX_BOX_KM = 2_500.0  # boxes stop growing here (China fits in one)
_HAVERSINE_SQL = "wl_haversine_km"

# -- the plan ----------------------------------------------------------------------------

# Conditions by kind. "{h}" before a column is "" where the condition may drive the query
# through its index, and "+" everywhere else: SQLite cannot use an index for "+column", so
# the plan chosen here is the plan SQLite runs, with or without ANALYZE statistics.
_IDS = "ids"  # rowids a search pass found
_SCOPE = "scope"
_GEO = "geo"  # within a distance
_FOLLOW_UP = "follow_up"
_INDUSTRY = "industry"
_BATCH = "batch"  # a batch, or a product's batches
_TEXT = "text"  # the search terms
_STATUS = "status"  # the chips' status filter
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
# the equirectangular distance from the origin, squared, in degrees of latitude
_SQUARED_DEGREES = (
    "((p.lat - :olat) * (p.lat - :olat) + ((p.lon - :olon) * :ocos) * ((p.lon - :olon) * :ocos))"
)
_ORDER_SQL = {
    WhitelistSort.DISTANCE: f"{_SQUARED_DEGREES}, p.rowid",
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
class Plan:
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
        # "{h}p.": the scope's columns carry the index hint like every other condition's
        scope = view_sql(q.scope, q.user_id, q.outlet_id, alias="{h}p.")
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
            self.indexed_text = all(is_phone_tail(t) for t in self.terms)
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
            f" AND ({_SQUARED_DEGREES} <= :gin2 OR ({_SQUARED_DEGREES} <= :gout2"
            f" AND {_HAVERSINE_SQL}(:olat, :olon, p.lat, p.lon) <= :gmax))"
        )
        self.needs_haversine = True

    def _term(self, i: int, term: str) -> str:
        """One search term: a phone's tail or a credit code's start (digits), else contained
        in the company name, the legal representative or the credit code."""
        if is_phone_tail(term):
            # substr(phone, -4) is indexed: the LIKE only checks the longer tails
            self.params.update({f"tl{i}": term[-4:], f"tail{i}": "%" + term})
            ors = [f"(substr(p.phone, -4) = :tl{i} AND p.phone LIKE :tail{i})"]
            if len(term) > DISTRICT_CODE_DIGITS:
                self.params.update({f"cl{i}": term, f"ch{i}": term + "~"})  # "~" > any code char
                ors.append(f"(p.credit_code >= :cl{i} AND p.credit_code < :ch{i})")
            return "(" + " OR ".join(ors) + ")"
        if any("a" <= c <= "z" for c in term.lower() if c.isascii()):
            # LIKE folds ASCII case; instr is faster and enough for anything else
            self.params[f"t{i}"] = "%" + escape_like(term) + "%"
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


def _box_params(prefix: str, origin: tuple[float, float], radius_km: float) -> dict[str, float]:
    """``box_around`` as bind parameters ``{prefix}lat0`` .. ``{prefix}lon1``."""
    lat0, lat1, lon0, lon1 = box_around(origin, radius_km)
    return {
        f"{prefix}lat0": lat0,
        f"{prefix}lat1": lat1,
        f"{prefix}lon0": lon0,
        f"{prefix}lon1": lon1,
    }


# -- counts and page ---------------------------------------------------------------------


class Reader:
    """One query's SQL, with the table size read once."""

    def __init__(self, conn: Connection, plan: Plan) -> None:
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
            and not any(is_phone_tail(t) for t in plan.terms)
            and text_index.refresh(self.conn)
        ):
            q = plan.q
            kinds = [k for k in (_SCOPE, _TEXT) if k in plan.conds]
            order = None
            if set(plan.conds) <= {_SCOPE, _TEXT, _STATUS} and plan.sort in _IN_MEMORY_SORTS:
                # nothing else to test: the index sorts the page itself, no table read
                origin = plan.params.get("olat"), plan.params.get("olon"), plan.params.get("ocos")
                order = PageOrder(
                    sort=plan.sort.value,
                    offset=q.offset,
                    limit=q.limit,
                    statuses=q.statuses,
                    origin=origin,  # type: ignore[arg-type]
                )
            found = text_index.match(
                plan.terms,
                scope=q.scope,
                user_id=q.user_id,
                outlet_id=q.outlet_id,
                limit=PROBE_LIMIT,
                order=order,
            )
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
        inside = f"{plan.where(plan.conds)} AND {_SQUARED_DEGREES} <= :br2"  # tested per row: the box drives
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


def register_haversine(conn: Connection) -> None:
    """Make ``haversine_km`` callable from SQL on this connection (the exact distance test)."""
    raw = conn.connection.driver_connection
    raw.create_function(_HAVERSINE_SQL, 4, haversine_km, deterministic=True)  # type: ignore[union-attr]

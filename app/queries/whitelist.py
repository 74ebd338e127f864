"""The whitelist a marketer works (home screen) and an outlet manager's unified view.

``query_whitelist(conn, WhitelistQuery(...))`` answers one screen from the device
store: a page of prospects, how many match, and how many match per funnel status
(the chips: every condition applies to them except the status filter itself).

Scopes are the views of app/services/scope.py (``ViewScope``): ``mine_and_pool`` (a
marketer: assigned to me, or my outlet's unassigned pool), ``mine``, ``pool``,
``outlet`` (a manager) and ``all`` (an admin). A view whose user or outlet is missing
matches nothing; it never widens.

Search terms are app/services/whitelist.py's (``search_terms``). Follow-ups
``due`` (today or earlier) and ``overdue`` (before today) leave out disbursed,
declined and invalid prospects, as the follow-up list does. Sorts:
``distance`` (nearest first; by ``score`` when there is no origin), ``line``
(pre-approved line, largest first), ``score`` (highest first), ``last_contact``
(most recent first, never contacted last: the work in hand before the untouched
pool). Ties break on the local rowid, so pages neither repeat nor skip a row.

The query and the rows are plain values (app/services/whitelist.py, re-exported here).
How it stays fast over 100,000 local prospects: app/queries/whitelist_plan.py.
"""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import Connection, text

from app.geo.distance import haversine_km
from app.queries.text_index import TextIndex
from app.queries.whitelist_plan import Plan, Reader, register_haversine
from app.services.clock import beijing_today
from app.services.masking import mask_phone
from app.services.scope import ViewScope, view_sql
from app.services.stored import stored_date, stored_datetime
from app.services.whitelist import (
    BatchBadge,
    FollowUpFilter,
    IndustryCount,
    WhitelistPage,
    WhitelistQuery,
    WhitelistRow,
    WhitelistSort,
)

__all__ = [
    "BatchBadge",
    "FollowUpFilter",
    "IndustryCount",
    "WhitelistPage",
    "WhitelistQuery",
    "WhitelistRow",
    "WhitelistSort",
    "batch_badges",
    "industries",
    "outlet_names",
    "outlet_position",
    "query_whitelist",
]


def query_whitelist(
    conn: Connection, q: WhitelistQuery, *, text_index: TextIndex | None = None
) -> WhitelistPage:
    """The page, total and per-status counts of a whitelist query, from the device store.

    ``text_index`` (the store's, app/queries/text_index.py) answers the text search
    from memory; without it, or before a first sync has landed, SQL scans.
    """
    origin = q.origin if q.origin is not None else outlet_position(conn, q.outlet_id)
    plan = Plan(q, q.today or beijing_today(), origin)
    if plan.nothing:
        return WhitelistPage(rows=[], total=0, offset=q.offset, status_counts={})
    if plan.needs_haversine:
        register_haversine(conn)
    reader = Reader(conn, plan)
    counts = reader.search(text_index) if plan.terms else None
    if counts is None or set(plan.filters) - plan.searched:
        counts = reader.counts()  # conditions the search did not apply
    total = sum(n for s, n in counts.items() if not q.statuses or s in q.statuses)
    page = reader.page_ids if reader.page_ids is not None else reader.page(counts, total)
    rows = _details(conn, page, origin)
    return WhitelistPage(rows=rows, total=total, offset=q.offset, status_counts=counts)


def batch_badges(
    conn: Connection,
    today: date | None = None,
    *,
    scope: str = ViewScope.ALL,
    user_id: str | None = None,
    outlet_id: str | None = None,
) -> list[BatchBadge]:
    """The batches with prospects in scope: still valid first (soonest to expire), then expired."""
    today = today or beijing_today()
    where = view_sql(scope, user_id, outlet_id, alias="p.")
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
        badges.append(
            BatchBadge(
                id=bid,
                name=name,
                product=product,
                valid_until=until,
                days_left=left,
                expired=left < 0,
                count=counts[bid],
            )
        )
    badges.sort(key=lambda b: (b.expired, -b.days_left if b.expired else b.days_left, b.name))
    return badges


def industries(
    conn: Connection,
    *,
    scope: str = ViewScope.ALL,
    user_id: str | None = None,
    outlet_id: str | None = None,
) -> list[IndustryCount]:
    """The industries present in scope, most prospects first (the filter menu)."""
    where = view_sql(scope, user_id, outlet_id, alias="p.")
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
    return (float(row.lat), float(row.lon)) if row else None


def outlet_names(conn: Connection, outlet_id: str | None) -> tuple[str, str]:
    """An outlet's name and its sub-branch's (支行) name; ("", "") when unknown."""
    if not outlet_id:
        return "", ""
    row = conn.execute(
        text("SELECT name, branch_name FROM outlet WHERE id = :id"), {"id": outlet_id}
    ).first()
    return (str(row.name or ""), str(row.branch_name or "")) if row else ("", "")


def _details(
    conn: Connection, rowids: list[int], origin: tuple[float, float] | None
) -> list[WhitelistRow]:
    """The page's rows, in the page's order."""
    if not rowids:
        return []
    found = {}
    for r in conn.execute(
        text(
            "SELECT p.rowid AS row, p.id, p.company_name, p.legal_rep, p.status,"
            " p.pre_approved_line, p.score, p.industry, coalesce(b.product, '') AS product,"
            " p.batch_id, b.valid_until, p.assignee_id, p.lat, p.lon, p.next_follow_up,"
            " p.last_contact_at, p.phone, p.outlet_id"
            " FROM prospect p LEFT JOIN whitelist_batch b ON b.id = p.batch_id"
            " WHERE p.rowid IN (SELECT value FROM json_each(:ids))"
        ),
        {"ids": json.dumps(rowids)},
    ):
        distance = None
        if origin is not None and r.lat is not None and r.lon is not None:
            distance = haversine_km(origin[0], origin[1], float(r.lat), float(r.lon))
        found[r.row] = WhitelistRow(
            id=r.id,
            company_name=r.company_name,
            legal_rep=r.legal_rep,
            status=r.status,
            pre_approved_line=int(r.pre_approved_line or 0),
            score=int(r.score or 0),
            industry=r.industry,
            batch_product=r.product,
            batch_id=r.batch_id,
            batch_valid_until=stored_date(r.valid_until),
            assignee_id=r.assignee_id,
            distance_km=distance,
            next_follow_up=stored_date(r.next_follow_up),
            last_contact_at=stored_datetime(r.last_contact_at),
            phone_masked=mask_phone(r.phone),
            outlet_id=r.outlet_id,
        )
    return [found[i] for i in rowids if i in found]

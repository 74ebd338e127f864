"""The managers' table view of the whitelist: one page, sorted by a column, in SQL.

``table_page(conn, query, sort, descending)`` takes the list's ``WhitelistQuery`` (scope,
search, filters; its ``offset`` and ``limit`` are the table's page) and orders by one of
``TableSort``'s columns with SQLite doing the sort: only the page's rows leave the
database, whatever the number of prospects. Empty values (no contact yet, no follow-up
planned, the pool's unassigned prospects) come last either way; ties break on the local
rowid, so pages neither repeat nor skip a row. The conditions are the list's own
(app/queries/whitelist_plan.py ``Plan``), so the table shows what the list counts.
"""

from __future__ import annotations

import json

from sqlalchemy import Connection, text

from app.queries.whitelist import outlet_position
from app.queries.whitelist_plan import Plan, register_haversine
from app.services.clock import beijing_today
from app.services.funnel import CLOSED, MAIN_LINE, FunnelStatus
from app.services.stored import stored_date, stored_datetime
from app.services.whitelist import TablePage, TableRow, TableSort, WhitelistQuery

# funnel order, then the closed statuses (as the status chips)
_STATUS_ORDER = (*MAIN_LINE, *(s for s in FunnelStatus if s in CLOSED))
_STATUS_RANK = (
    "CASE p.status "
    + " ".join(f"WHEN '{s.value}' THEN {i}" for i, s in enumerate(_STATUS_ORDER))
    + f" ELSE {len(_STATUS_ORDER)} END"
)
# (the sort key, whether empty values need sending last)
_KEYS: dict[TableSort, tuple[str, str | None]] = {
    TableSort.COMPANY: ("p.company_name", None),
    TableSort.STATUS: (_STATUS_RANK, None),
    TableSort.ASSIGNEE: ("u.name", "p.assignee_id IS NULL"),
    TableSort.LINE: ("p.pre_approved_line", None),
    TableSort.SCORE: ("p.score", None),
    TableSort.LAST_CONTACT: ("p.last_contact_at", "p.last_contact_at IS NULL"),
    TableSort.NEXT_FOLLOW_UP: ("p.next_follow_up", "p.next_follow_up IS NULL"),
}


def order_sql(sort: TableSort | str, descending: bool) -> str:
    """The ORDER BY of a column, empty values last, ties on the rowid."""
    key, empty_last = _KEYS[TableSort(sort)]
    way = "DESC" if descending else "ASC"
    parts = [empty_last] if empty_last else []
    return ", ".join([*parts, f"{key} {way}", f"p.rowid {way}"])


def table_page(
    conn: Connection, q: WhitelistQuery, sort: TableSort | str, *, descending: bool = False
) -> TablePage:
    """The page ``q.offset`` .. ``q.offset + q.limit`` of the prospects ``q`` matches,
    ordered by ``sort``, with how many match in all."""
    origin = q.origin if q.origin is not None else outlet_position(conn, q.outlet_id)
    plan = Plan(q, q.today or beijing_today(), origin)
    if plan.nothing:
        return TablePage(rows=[], total=0, offset=q.offset)
    if plan.needs_haversine:
        register_haversine(conn)
    where = plan.where(plan.conds, plan.driver())
    total = int(
        conn.execute(text(f"SELECT count(*) FROM prospect p WHERE {where}"), plan.params).scalar()
        or 0
    )
    if q.limit == 0 or q.offset >= total:
        return TablePage(rows=[], total=total, offset=q.offset)
    rowids = [
        r[0]
        for r in conn.execute(
            text(
                'SELECT p.rowid FROM prospect p LEFT JOIN "user" u ON u.id = p.assignee_id'
                f" WHERE {where} ORDER BY {order_sql(sort, descending)}"
                " LIMIT :limit OFFSET :offset"
            ),
            {**plan.params, "limit": q.limit, "offset": q.offset},
        )
    ]
    return TablePage(rows=_rows(conn, rowids), total=total, offset=q.offset)


def _rows(conn: Connection, rowids: list[int]) -> list[TableRow]:
    if not rowids:
        return []
    found = {}
    for r in conn.execute(
        text(
            "SELECT p.rowid AS row, p.id, p.company_name, p.status, p.assignee_id,"
            " u.name AS assignee_name, p.pre_approved_line, p.score, p.last_contact_at,"
            " p.next_follow_up, p.outlet_id"
            ' FROM prospect p LEFT JOIN "user" u ON u.id = p.assignee_id'
            " WHERE p.rowid IN (SELECT value FROM json_each(:ids))"
        ),
        {"ids": json.dumps(rowids)},
    ):
        found[r.row] = TableRow(
            id=r.id,
            company_name=r.company_name,
            status=r.status,
            assignee_id=r.assignee_id,
            assignee_name=r.assignee_name,
            pre_approved_line=int(r.pre_approved_line or 0),
            score=int(r.score or 0),
            last_contact_at=stored_datetime(r.last_contact_at),
            next_follow_up=stored_date(r.next_follow_up),
            outlet_id=r.outlet_id,
        )
    return [found[i] for i in rowids if i in found]

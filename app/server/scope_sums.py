"""Scope checksums kept up to date by the database itself (PostgreSQL).

A device checks now and then that it holds exactly its scope: per entity, the count of
rows and a digest of their (id, rev) pairs (``app.models.sync.scope_digest``: the sum of
a 32-bit hash of each pair, so it can be added to and taken from). Computing that by
reading the whole scope costs a scan of every row in reach; instead, the store keeps the
count and the sum per *bucket* — an entity's rows at one outlet with one holder — in
``scope_sum``, maintained by statement-level triggers on every synced table (one set-based
statement per write statement, whatever its size), and a scope's checksum adds up its
buckets:

    prospect, its logs, events, transfers   (its outlet, its assignee or "")   withdrawn: none
    field find                              (its outlet, its finder)
    user                                    (their outlet or "", "*" for an admin)
    outlet, whitelist batch                 ("", "")

A prospect that changes placement (or is withdrawn, or comes back) takes its children's
share from the old bucket to the new one in the same statement. On SQLite (the embedded
store, one outlet's size) the checksum is computed by reading the scope; both give the
same digest.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlmodel import Session

from app.models import Role, ScopeSum
from app.models.sync import CHILD_ENTITIES, SYNC_ENTITIES
from app.services.scope import MANAGERS, Scope

_sum = ScopeSum.__table__
ADMIN_HOLDER = "*"
GLOBAL = frozenset({"outlet", "whitelist_batch"})


def _bucket_clause(entity: str, scope: Scope) -> ColumnElement[bool]:
    """The buckets of ``entity`` ``scope`` reaches (as ``pull._scoped`` reads rows)."""
    outlet, holder = _sum.c.outlet, _sum.c.holder
    if entity in GLOBAL:
        return true()
    if entity == "user":
        if scope.role == Role.ADMIN:
            return true()
        outlets = sorted(scope.outlets or {scope.outlet_id or ""})
        return or_(outlet.in_(outlets), holder == ADMIN_HOLDER)
    if scope.role == Role.ADMIN:
        return outlet != ""
    if scope.role in MANAGERS:
        return outlet.in_(sorted(scope.outlets))
    if entity == "field_lead":
        return holder == scope.user_id
    # a marketer: their own, and their outlet's pool
    return or_(holder == scope.user_id, and_(outlet == (scope.outlet_id or ""), holder == ""))


def maintained_checksums(session: Session, scope: Scope) -> dict[str, dict[str, Any]]:
    """Per-entity count and digest of ``scope``, from the maintained buckets."""
    stmt = (
        select(_sum.c.entity, func.sum(_sum.c.rows), func.sum(_sum.c.total))
        .where(or_(*(and_(_sum.c.entity == e, _bucket_clause(e, scope)) for e in SYNC_ENTITIES)))
        .group_by(_sum.c.entity)
    )
    found = {entity: (rows, total) for entity, rows, total in session.execute(stmt)}
    out = {}
    for entity in SYNC_ENTITIES:  # one statement for them all; an empty one counts 0
        rows, total = found.get(entity, (0, 0))
        out[entity] = {"count": int(rows or 0), "digest": str(int(total or 0))}
    return out


# -- the triggers (migration 0009 installs them; tests compare them with a scan) ----------

_HASH = "('x' || substr(md5(r.id || ':' || r.rev::text), 1, 8))::bit(32)::int::bigint"


def _shape(entity: str) -> tuple[str, str, str, str]:
    """(join, outlet, holder, counted) of a row ``r`` of ``entity``."""
    if entity == "prospect":
        return (
            "",
            "coalesce(r.outlet_id, '')",
            "coalesce(r.assignee_id, '')",
            "r.withdrawn_at IS NULL",
        )
    if entity in CHILD_ENTITIES:
        return (
            "JOIN prospect p ON p.id = r.prospect_id",
            "coalesce(p.outlet_id, '')",
            "coalesce(p.assignee_id, '')",
            "p.withdrawn_at IS NULL",
        )
    if entity == "field_lead":
        return "", "coalesce(r.outlet_id, '')", "coalesce(r.finder_id, '')", "TRUE"
    if entity == "user":
        return (
            "",
            "coalesce(r.outlet_id, '')",
            f"CASE WHEN r.role = '{Role.ADMIN}' THEN '{ADMIN_HOLDER}' ELSE '' END",
            "TRUE",
        )
    return "", "''", "''", "TRUE"


_UPSERT = """
    INSERT INTO scope_sum (entity, outlet, holder, rows, total)
    SELECT '{entity}', outlet, holder, sum(d), sum(t) FROM ({rows}) x
     GROUP BY outlet, holder HAVING sum(d) <> 0 OR sum(t) <> 0
    ON CONFLICT (entity, outlet, holder) DO UPDATE
      SET rows = scope_sum.rows + excluded.rows, total = scope_sum.total + excluded.total;"""


def _rows(entity: str, source: str, sign: str) -> str:
    """Each counted row of ``source`` as (outlet, holder, ±1, ±hash)."""
    join, outlet, holder, counted = _shape(entity)
    return (
        f"SELECT {outlet} AS outlet, {holder} AS holder, {sign}1 AS d, {sign}{_HASH} AS t"
        f" FROM {source} r {join} WHERE {counted}"
    )


def _add(entity: str, *parts: tuple[str, str]) -> str:
    """One upsert of the buckets ``parts`` (source, sign) change, netted per bucket: a
    row whose ``rev`` changed in place costs one bucket update."""
    rows = " UNION ALL ".join(_rows(entity, source, sign) for source, sign in parts)
    return _UPSERT.format(entity=entity, rows=rows)


_MOVED = (
    "(o.outlet_id IS DISTINCT FROM n.outlet_id OR o.assignee_id IS DISTINCT FROM n.assignee_id"
    " OR (o.withdrawn_at IS NULL) <> (n.withdrawn_at IS NULL))"
)


def _children_moved() -> str:
    """The children of the prospects whose placement or withdrawal changed, taken from
    the old bucket and put in the new one; nothing to do (one look) for a statement that
    moved none."""
    parts = []
    for child in CHILD_ENTITIES:
        rows = " UNION ALL ".join(
            f"SELECT coalesce({side}.outlet_id, '') AS outlet,"
            f" coalesce({side}.assignee_id, '') AS holder, {sign}1 AS d, {sign}{_HASH} AS t"
            f' FROM old_rows o JOIN new_rows n ON n.id = o.id JOIN "{child}" r'
            f" ON r.prospect_id = o.id WHERE {_MOVED} AND {side}.withdrawn_at IS NULL"
            for side, sign in (("o", "-"), ("n", ""))
        )
        parts.append(_UPSERT.format(entity=child, rows=rows))
    return (
        "IF EXISTS (SELECT 1 FROM old_rows o JOIN new_rows n ON n.id = o.id"
        f" WHERE {_MOVED}) THEN {''.join(parts)} END IF;"
    )


def trigger_sql(entity: str) -> list[str]:
    """The functions and statement-level triggers keeping ``entity``'s buckets."""
    body = {
        "insert": _add(entity, ("new_rows", "")),
        "delete": _add(entity, ("old_rows", "-")),
        "update": _add(entity, ("old_rows", "-"), ("new_rows", "")),
    }
    if entity == "prospect":
        body["update"] += _children_moved()
    statements = []
    for event, sql in body.items():
        name = f"scope_sum_{entity}_{event}"
        tables = {
            "insert": "NEW TABLE AS new_rows",
            "delete": "OLD TABLE AS old_rows",
            "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        }[event]
        statements.append(
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN {sql} RETURN NULL; END $$"
        )
        statements.append(
            f'CREATE TRIGGER {name} AFTER {event.upper()} ON "{entity}"'
            f" REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )
    return statements


def drop_sql(entity: str) -> list[str]:
    out = []
    for event in ("insert", "delete", "update"):
        name = f"scope_sum_{entity}_{event}"
        out.append(f'DROP TRIGGER IF EXISTS {name} ON "{entity}"')
        out.append(f"DROP FUNCTION IF EXISTS {name}()")
    return out


def fill_sql(entity: str) -> str:
    """The buckets of ``entity`` from its rows (the first fill)."""
    return _add(entity, (f'"{entity}"', ""))

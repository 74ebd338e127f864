"""Building pull pages for one user's scope.

A pull without a cursor starts a snapshot: it reads the change-log high-water mark
``h``, then pages each entity of the scope by id (keyset). Changes committed during
the snapshot have seq > h and arrive afterwards from the log, so nothing is missed
and re-sent rows are harmless (devices upsert by id). After the snapshot the cursor
is the last change-log seq the device has seen.

A log page looks at the next ``page_size`` change-log rows. For prospects it sends
the *current* row if the prospect is in scope now, otherwise a removal; a prospect
that entered the scope brings its logs, funnel events and transfers along.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlmodel import Session

from app.models import TABLES_BY_ENTITY, ChangeLog, Role
from app.models.sync import CHILD_ENTITIES, SYNC_COLUMNS, SYNC_ENTITIES
from app.server.errors import StoreError
from app.server.scope import Scope, prospect_clause

_log = ChangeLog.__table__
_prospect = TABLES_BY_ENTITY["prospect"]


# -- cursor -------------------------------------------------------------------------


def encode_cursor(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, scope: Scope) -> dict[str, Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(data, dict) or data.get("p") not in ("s", "l"):
            raise ValueError(cursor)
        if not 0 <= int(data["h"]) < 2**63:
            raise ValueError(cursor)
        # A damaged snapshot position must ask for a resync (409), not fail later (500).
        if data["p"] == "s" and (
            not 0 <= int(data["e"]) < len(SYNC_ENTITIES)
            or not isinstance(data["k"], str)
            or int(data["d"]) < 0
            or int(data["t"]) < 0
        ):
            raise ValueError(cursor)
    except (ValueError, KeyError, TypeError, OverflowError) as exc:
        raise StoreError("sync.cursor_invalid", 409) from exc
    if data.get("sc") != scope.fingerprint:
        raise StoreError("sync.cursor_invalid", 409)
    return data


def cursor_seq(cursor: str, scope: Scope) -> int | None:
    """The change-log seq a finished-snapshot cursor stands at, else None."""
    data = decode_cursor(cursor, scope)
    return int(data["h"]) if data["p"] == "l" else None


def high_water(session: Session) -> int:
    return int(session.execute(select(func.coalesce(func.max(_log.c.seq), 0))).scalar_one())


# -- row encoding ---------------------------------------------------------------------


def _encoders(entity: str) -> list[int]:
    table = TABLES_BY_ENTITY[entity]
    out = []
    for i, name in enumerate(SYNC_COLUMNS[entity]):
        python_type = table.c[name].type.python_type
        if python_type in (datetime, date):
            out.append(i)
    return out


_TEMPORAL = {entity: _encoders(entity) for entity in SYNC_ENTITIES}


def _rows(entity: str, result: Iterable[Sequence[Any]]) -> list[list[Any]]:
    temporal = _TEMPORAL[entity]
    rows = []
    for r in result:
        row = list(r)
        for i in temporal:
            if row[i] is not None:
                row[i] = str(row[i])  # "YYYY-MM-DD HH:MM:SS[.ffffff]" / "YYYY-MM-DD"
        rows.append(row)
    return rows


def _select(entity: str) -> Select[Any]:
    table = TABLES_BY_ENTITY[entity]
    return select(*(table.c[name] for name in SYNC_COLUMNS[entity]))


def _scoped(entity: str, scope: Scope, stmt: Select[Any]) -> Select[Any]:
    if entity == "user" and scope.role != Role.ADMIN:
        # colleagues of the outlet and the admins; other outlets' staff stay on the server
        users = TABLES_BY_ENTITY["user"]
        return stmt.where(or_(users.c.outlet_id == scope.outlet_id, users.c.role == Role.ADMIN))
    if entity == "prospect":
        return stmt.where(prospect_clause(scope, _prospect))
    if entity in CHILD_ENTITIES:
        if scope.role == Role.ADMIN:  # every child is in scope; IN (all ids) would sort them all
            return stmt
        table = TABLES_BY_ENTITY[entity]
        inner = select(_prospect.c.id).where(prospect_clause(scope, _prospect))
        return stmt.where(table.c.prospect_id.in_(inner))
    return stmt


class Page:
    def __init__(self) -> None:
        self.entities: dict[str, dict[str, Any]] = {}

    def upsert(self, entity: str, rows: list[list[Any]]) -> None:
        if rows:
            bucket = self._bucket(entity)
            bucket["rows"].extend(rows)

    def delete(self, entity: str, ids: Iterable[str]) -> None:
        ids = list(ids)
        if ids:
            self._bucket(entity)["deletes"].extend(ids)

    def _bucket(self, entity: str) -> dict[str, Any]:
        if entity not in self.entities:
            self.entities[entity] = {
                "columns": list(SYNC_COLUMNS[entity]),
                "rows": [],
                "deletes": [],
            }
        return self.entities[entity]


# -- pull -----------------------------------------------------------------------------


def pull_page(session: Session, scope: Scope, cursor: str | None, page_size: int) -> dict[str, Any]:
    if cursor:
        state = decode_cursor(cursor, scope)
    else:
        state = _start_snapshot(session, scope)
    if state["p"] == "s":
        return _snapshot_page(session, scope, state, page_size)
    return _log_page(session, scope, state, page_size)


def scope_count(session: Session, scope: Scope) -> int:
    total = 0
    for entity in SYNC_ENTITIES:
        table = TABLES_BY_ENTITY[entity]
        stmt = _scoped(entity, scope, select(func.count()).select_from(table))
        total += int(session.execute(stmt).scalar_one())
    return total


def _start_snapshot(session: Session, scope: Scope) -> dict[str, Any]:
    return {
        "p": "s",
        "h": high_water(session),
        "e": 0,
        "k": "",
        "d": 0,
        "t": scope_count(session, scope),
        "sc": scope.fingerprint,
    }


def _snapshot_page(
    session: Session, scope: Scope, state: dict[str, Any], page_size: int
) -> dict[str, Any]:
    page = Page()
    entity_index, last_key, done = int(state["e"]), str(state["k"]), int(state["d"])
    budget = page_size
    while budget > 0 and entity_index < len(SYNC_ENTITIES):
        entity = SYNC_ENTITIES[entity_index]
        table = TABLES_BY_ENTITY[entity]
        stmt = _scoped(entity, scope, _select(entity)).where(table.c.id > last_key)
        rows = _rows(entity, session.execute(stmt.order_by(table.c.id).limit(budget)))
        page.upsert(entity, rows)
        done += len(rows)
        budget -= len(rows)
        if budget > 0:  # entity exhausted
            entity_index, last_key = entity_index + 1, ""
        else:
            last_key = rows[-1][0]
    if entity_index >= len(SYNC_ENTITIES):
        next_state = {"p": "l", "h": state["h"], "sc": scope.fingerprint}
        snapshot = False
    else:
        next_state = {**state, "e": entity_index, "k": last_key, "d": done}
        snapshot = True
    return {
        "cursor": encode_cursor(next_state),
        "has_more": True,  # after the snapshot the log may hold newer changes
        "snapshot": snapshot,
        "progress": {"done": done, "total": max(int(state["t"]), done)},
        "entities": page.entities,
    }


def _log_page(
    session: Session, scope: Scope, state: dict[str, Any], page_size: int
) -> dict[str, Any]:
    since = int(state["h"])
    high = high_water(session)
    changes = session.execute(
        select(_log)
        .where(_log.c.seq > since, _log.c.seq <= high)
        .order_by(_log.c.seq)
        .limit(page_size)
    ).all()
    page = Page()
    reference: dict[str, set[str]] = {}
    children: dict[str, set[str]] = {}
    touched: set[str] = set()
    entered: set[str] = set()
    for ch in changes:
        if ch.entity == "prospect":
            was = scope.contains(ch.outlet_old, ch.assignee_old)
            now = scope.contains(ch.outlet_new, ch.assignee_new)
            if was or now:
                touched.add(ch.entity_id)
            if now and not was:
                entered.add(ch.entity_id)
        elif ch.entity in CHILD_ENTITIES:
            children.setdefault(ch.entity, set()).add(ch.entity_id)
        else:
            reference.setdefault(ch.entity, set()).add(ch.entity_id)

    for entity in SYNC_ENTITIES:
        table = TABLES_BY_ENTITY[entity]
        if entity in reference:
            stmt = _select(entity).where(table.c.id.in_(reference[entity]))
            page.upsert(entity, _rows(entity, session.execute(_scoped(entity, scope, stmt))))
        elif entity == "prospect" and touched:
            stmt = _scoped(entity, scope, _select(entity).where(table.c.id.in_(touched)))
            rows = _rows(entity, session.execute(stmt))
            page.upsert(entity, rows)
            present = {r[0] for r in rows}
            page.delete(entity, sorted(touched - present))
            entered &= present
        elif entity in CHILD_ENTITIES:
            ids = children.get(entity, set())
            stmt = _select(entity)
            if ids and entered:
                stmt = stmt.where(table.c.id.in_(ids) | table.c.prospect_id.in_(entered))
            elif ids:
                stmt = stmt.where(table.c.id.in_(ids))
            elif entered:
                stmt = stmt.where(table.c.prospect_id.in_(entered))
            else:
                continue
            page.upsert(entity, _rows(entity, session.execute(_scoped(entity, scope, stmt))))

    new_since = int(changes[-1].seq) if len(changes) == page_size else high
    return {
        "cursor": encode_cursor({"p": "l", "h": new_since, "sc": scope.fingerprint}),
        "has_more": new_since < high,
        "snapshot": False,
        "progress": {"done": new_since - since, "total": high - since},
        "entities": page.entities,
    }


def checksums(session: Session, scope: Scope) -> dict[str, dict[str, Any]]:
    """Per-entity count and digest of (id, rev) over the scope."""
    from app.models.sync import scope_digest

    out = {}
    for entity in SYNC_ENTITIES:
        table = TABLES_BY_ENTITY[entity]
        stmt = _scoped(entity, scope, select(table.c.id, table.c.rev))
        pairs = [(r[0], int(r[1])) for r in session.execute(stmt)]
        out[entity] = {"count": len(pairs), "digest": scope_digest(pairs)}
    return out

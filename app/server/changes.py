"""Appending to the change log; must run inside ``db.write_session``.

Each synced row carries ``rev``: the seq of its latest change, which devices use
for checksums. Prospect changes also record the scope before and after, so pull
can send a removal to a device the prospect has left.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, String, bindparam, column, func, insert, select, update, values
from sqlmodel import Session

from app.models import TABLES_BY_ENTITY, ChangeLog

_log = ChangeLog.__table__


def record_change(
    session: Session,
    entity: str,
    entity_id: str,
    *,
    prospect_id: str | None = None,
    old_scope: tuple[str | None, str | None] = (None, None),
    new_scope: tuple[str | None, str | None] = (None, None),
) -> int:
    """Log one change and stamp the row's ``rev``; returns the seq."""
    seq = session.execute(
        insert(_log)
        .values(
            entity=entity,
            entity_id=entity_id,
            prospect_id=prospect_id,
            outlet_old=old_scope[0],
            assignee_old=old_scope[1],
            outlet_new=new_scope[0],
            assignee_new=new_scope[1],
        )
        .returning(_log.c.seq)
    ).scalar_one()
    table = TABLES_BY_ENTITY[entity]
    session.execute(update(table).where(table.c.id == entity_id).values(rev=seq))
    return int(seq)


def bulk_insert(session: Session, entity: str, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many new rows of one entity with their change-log entries (Core, executemany).

    Seqs are allocated as one contiguous block: safe because writers are serialised.
    """
    if not rows:
        return
    table = TABLES_BY_ENTITY[entity]
    start = int(session.execute(select(func.coalesce(func.max(_log.c.seq), 0))).scalar_one())
    log_rows = []
    stamped = []
    for offset, row in enumerate(rows, start=1):
        seq = start + offset
        prospect_id = row["id"] if entity == "prospect" else row.get("prospect_id")
        scope = (row.get("outlet_id"), row.get("assignee_id")) if entity == "prospect" else None
        log_rows.append(
            {
                "seq": seq,
                "entity": entity,
                "entity_id": row["id"],
                "prospect_id": prospect_id,
                "outlet_old": None,
                "assignee_old": None,
                "outlet_new": scope[0] if scope else None,
                "assignee_new": scope[1] if scope else None,
            }
        )
        stamped.append({**row, "rev": seq})
    for chunk in _chunks(stamped, 5000):
        session.execute(insert(table), chunk)
    for chunk in _chunks(log_rows, 5000):
        session.execute(insert(_log), chunk)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(func.setval(func.pg_get_serial_sequence("change_log", "seq"), start + len(rows)))
        )


Placement = tuple[str | None, str | None]


@dataclass(frozen=True)
class Change:
    """One change for ``record_changes``: a new row, or new values for an existing one."""

    entity: str
    row: Mapping[str, Any]  # a new row whole; an update: its "id" and the columns that change
    update: bool = False
    prospect_id: str | None = None  # the prospect it belongs to (a prospect: itself)
    old_scope: Placement = (None, None)  # a prospect's placement before and after
    new_scope: Placement = (None, None)


def record_changes(session: Session, changes: Sequence[Change]) -> None:
    """Many changes with their change-log rows, seqs in the order given (Core, in chunks).

    Seqs are allocated as one contiguous block (writers are serialised), each row's ``rev``
    stamped with its seq. Updates sharing the same new values go together: on SQLite as
    one ``executemany``, on PostgreSQL as ``UPDATE … FROM (VALUES (id, rev), …)``.
    """
    if not changes:
        return
    session.flush()  # the ORM's pending rows first: seqs are read from the table
    start = int(session.execute(select(func.coalesce(func.max(_log.c.seq), 0))).scalar_one())
    log_rows: list[dict[str, Any]] = []
    inserts: dict[str, list[dict[str, Any]]] = {}
    updates: dict[tuple[str, tuple[tuple[str, Any], ...]], list[tuple[str, int]]] = {}
    for offset, ch in enumerate(changes, start=1):
        seq = start + offset
        entity_id = str(ch.row["id"])
        log_rows.append(
            {
                "seq": seq,
                "entity": ch.entity,
                "entity_id": entity_id,
                "prospect_id": ch.prospect_id,
                "outlet_old": ch.old_scope[0],
                "assignee_old": ch.old_scope[1],
                "outlet_new": ch.new_scope[0],
                "assignee_new": ch.new_scope[1],
            }
        )
        if ch.update:
            key = (ch.entity, tuple(sorted((k, v) for k, v in ch.row.items() if k != "id")))
            updates.setdefault(key, []).append((entity_id, seq))
        else:
            inserts.setdefault(ch.entity, []).append({**ch.row, "rev": seq})
    for entity, rows in inserts.items():
        for chunk in _chunks(rows, 5000):
            session.execute(insert(TABLES_BY_ENTITY[entity]), chunk)
    for (entity, new_values), stamps in updates.items():
        _update_stamped(session, entity, dict(new_values), stamps)
    for chunk in _chunks(log_rows, 5000):
        session.execute(insert(_log), chunk)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(
                func.setval(func.pg_get_serial_sequence("change_log", "seq"), start + len(changes))
            )
        )


def _update_stamped(
    session: Session, entity: str, new_values: dict[str, Any], stamps: list[tuple[str, int]]
) -> None:
    """Set ``new_values`` on the rows ``stamps`` names, each with its own ``rev``."""
    table = TABLES_BY_ENTITY[entity]
    if session.get_bind().dialect.name != "postgresql":
        stmt = (
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values(**new_values, rev=bindparam("_rev"))
        )
        session.execute(stmt, [{"_id": i, "_rev": r} for i, r in stamps])
        return
    for i in range(0, len(stamps), 2000):
        pairs = values(column("id", String), column("rev", BigInteger), name="v").data(
            stamps[i : i + 2000]
        )
        stmt = update(table).where(table.c.id == pairs.c.id).values(**new_values, rev=pairs.c.rev)
        session.execute(stmt)


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterable[list[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]

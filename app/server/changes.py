"""Appending to the change log; must run inside ``db.write_session``.

Each synced row carries ``rev``: the seq of its latest change, which devices use
for checksums. Prospect changes also record the scope before and after, so pull
can send a removal to a device the prospect has left.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlmodel import Session

from app.models import TABLES_BY_ENTITY, ChangeLog

_log = ChangeLog.__table__
Placement = tuple[str | None, str | None]


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


def bulk_record(
    session: Session,
    entity: str,
    changes: Sequence[tuple[str, Placement, Placement]],
) -> list[int]:
    """Log changes of many existing rows of one entity (entity id, placement before,
    placement after): one change-log entry each, Core executemany, seqs allocated as
    one contiguous block (writers are serialised, as for ``bulk_insert``). Returns the
    seqs in order; the caller stamps each row's ``rev`` with its own, in the same
    statement that changes the row. Placements matter for prospects only (the scope before and after, for removals)."""
    if not changes:
        return []
    start = _last_seq(session)
    log_rows = [
        {
            "seq": start + offset,
            "entity": entity,
            "entity_id": entity_id,
            "prospect_id": entity_id if entity == "prospect" else None,
            "outlet_old": old[0],
            "assignee_old": old[1],
            "outlet_new": new[0],
            "assignee_new": new[1],
        }
        for offset, (entity_id, old, new) in enumerate(changes, start=1)
    ]
    for chunk in _chunks(log_rows, 5000):
        session.execute(insert(_log), chunk)
    _advance(session, start + len(changes))
    return [start + offset for offset in range(1, len(changes) + 1)]


def _last_seq(session: Session) -> int:
    return int(session.execute(select(func.coalesce(func.max(_log.c.seq), 0))).scalar_one())


def _advance(session: Session, seq: int) -> None:
    """On PostgreSQL, move the sequence past seqs written explicitly."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.setval(func.pg_get_serial_sequence("change_log", "seq"), seq)))


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterable[list[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]

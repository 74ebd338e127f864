"""Appending to the change log; must run inside ``db.write_session``.

Each synced row carries ``rev``: the seq of its latest change, which devices use
for checksums. Prospect changes also record the scope before and after, so pull
can send a removal to a device the prospect has left.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
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


class BulkChanges:
    """Changes gathered in order, then written at once with their change-log rows.

    Seqs are allocated as one contiguous block after the last one (writers are
    serialised), each row's ``rev`` stamped with its seq. Rows go through the driver
    itself, not one SQLAlchemy parameter set per row (100,000 handovers are half a
    million rows): ``executemany`` on SQLite, ``COPY`` on PostgreSQL; updates setting
    the same new values go together (on PostgreSQL as ``UPDATE … FROM (VALUES (id,
    rev), …)``). Must run inside ``db.write_session``.
    """

    def __init__(self, session: Session) -> None:
        session.flush()  # the ORM's pending rows first: seqs are read from the table
        self.session = session
        self.start = int(
            session.execute(select(func.coalesce(func.max(_log.c.seq), 0))).scalar_one()
        )
        self.seq = self.start
        self.log: list[tuple[Any, ...]] = []
        self.inserts: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
        self.updates: dict[tuple[str, tuple[tuple[str, Any], ...]], list[tuple[str, int]]] = {}

    def insert(self, entity: str, row: Mapping[str, Any], *, prospect_id: str | None) -> int:
        """A new row (every row of an entity with the same keys, in the same order)."""
        self.seq += 1
        self.log.append((self.seq, entity, row["id"], prospect_id, None, None, None, None))
        found = self.inserts.get(entity)
        if found is None:
            found = self.inserts[entity] = ([*row.keys(), "rev"], [])
        found[1].append((*row.values(), self.seq))
        return self.seq

    def update(
        self,
        entity: str,
        entity_id: str,
        values: tuple[tuple[str, Any], ...],
        *,
        prospect_id: str | None,
        old_scope: Placement = (None, None),
        new_scope: Placement = (None, None),
    ) -> int:
        """New ``values`` (column, value pairs) for an existing row."""
        self.seq += 1
        self.log.append((self.seq, entity, entity_id, prospect_id, *old_scope, *new_scope))
        self.updates.setdefault((entity, values), []).append((entity_id, self.seq))
        return self.seq

    def write(self) -> None:
        if self.seq == self.start:
            return
        raw = self.session.connection().connection.dbapi_connection
        postgres = self.session.get_bind().dialect.name == "postgresql"
        write = _copy if postgres else _insert_many
        for entity, (columns, rows) in self.inserts.items():
            write(raw, entity, columns, rows)
        for (entity, values), stamps in self.updates.items():
            (_update_values if postgres else _update_many)(raw, entity, dict(values), stamps)
        write(raw, "change_log", list(_LOG_COLUMNS), self.log)
        if postgres:
            sequence = func.pg_get_serial_sequence("change_log", "seq")
            self.session.execute(select(func.setval(sequence, self.seq)))


_LOG_COLUMNS = (
    "seq",
    "entity",
    "entity_id",
    "prospect_id",
    "outlet_old",
    "assignee_old",
    "outlet_new",
    "assignee_new",
)


def _sqlite_value(value: Any) -> Any:
    """As SQLAlchemy stores it in SQLite: times as text with microseconds, booleans 0/1."""
    if isinstance(value, datetime):
        return value.isoformat(" ", "microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def _insert_many(raw: Any, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" * len(columns))
    types = TABLES_BY_ENTITY[table].c if table in TABLES_BY_ENTITY else _log.c
    convert = [
        i
        for i, c in enumerate(columns)
        if types[c].type.python_type in (datetime, date, bool)  # the rest go as they are
    ]
    if convert:
        fixed = []
        for r in rows:
            row = list(r)
            for i in convert:
                row[i] = _sqlite_value(row[i])
            fixed.append(row)
        rows = fixed  # type: ignore[assignment]
    cur = raw.cursor()
    try:
        cur.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)
    finally:
        cur.close()


def _update_many(
    raw: Any, table: str, new_values: dict[str, Any], stamps: list[tuple[str, int]]
) -> None:
    sets = ", ".join(f'"{c}" = ?' for c in new_values)
    consts = tuple(map(_sqlite_value, new_values.values()))
    cur = raw.cursor()
    try:
        cur.executemany(
            f'UPDATE "{table}" SET {sets}, rev = ? WHERE id = ?',
            [(*consts, rev, i) for i, rev in stamps],
        )
    finally:
        cur.close()


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value: Any) -> str:
    """One field of PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat(" ")
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    return str(value)


def _copy(raw: Any, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    names = ", ".join(f'"{c}"' for c in columns)
    text = "".join("\t".join(map(_copy_value, r)) + "\n" for r in rows)
    cur = raw.cursor()
    try:
        cur.copy_expert(f'COPY "{table}" ({names}) FROM STDIN', io.StringIO(text))
    finally:
        cur.close()


def _update_values(
    raw: Any, table: str, new_values: dict[str, Any], stamps: list[tuple[str, int]]
) -> None:
    from psycopg2.extras import execute_values

    cur = raw.cursor()
    try:
        sets = ", ".join(f'"{c}" = %s' for c in new_values)
        sets = cur.mogrify(sets, tuple(new_values.values())).decode().replace("%", "%%")
        execute_values(
            cur,
            f'UPDATE "{table}" SET {sets}, rev = v.rev FROM (VALUES %s) AS v (id, rev)'
            f' WHERE "{table}".id = v.id',
            stamps,
            page_size=5000,
        )
    finally:
        cur.close()


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterable[list[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]

"""Appending to the change log; must run inside ``db.write_session``.

Each synced row carries ``rev``: the seq of its latest change, which devices use
for checksums. Prospect changes also record the scope before and after, so pull
can send a removal to a device the prospect has left.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import String, Table, delete, func, insert, select, text, update
from sqlalchemy.schema import CreateIndex, CreateTable
from sqlmodel import AutoString, Session

from app.models import TABLES_BY_ENTITY, ChangeLog

_log = ChangeLog.__table__
ANALYZE_AFTER = 10_000  # rows one bulk insert adds before PostgreSQL re-reads the table
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
    start = last_seq(session)
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
    insert_rows(session, table, stamped)
    insert_rows(session, _log, log_rows)
    advance_seq(session, start + len(rows))
    if len(rows) >= ANALYZE_AFTER and session.get_bind().dialect.name == "postgresql":
        # the planner's statistics now, not when autovacuum next looks (a manager's
        # auto-assign may follow the import within seconds)
        session.execute(text(f'ANALYZE "{table.name}"'))


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
    start = last_seq(session)
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
    insert_rows(session, _log, log_rows)
    advance_seq(session, start + len(changes))
    return [start + offset for offset in range(1, len(changes) + 1)]


def last_seq(session: Session) -> int:
    """The newest seq in the change log (0 when empty)."""
    return int(session.execute(select(func.coalesce(func.max(_log.c.seq), 0))).scalar_one())


def advance_seq(session: Session, seq: int) -> None:
    """On PostgreSQL, move the sequence past seqs written explicitly."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.setval(func.pg_get_serial_sequence("change_log", "seq"), seq)))


@contextmanager
def staged(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> Iterator[None]:
    """``rows`` in the temporary ``table`` for set-based statements (``UPDATE … FROM``,
    ``INSERT … SELECT``): the table is created on the connection if it is not there yet
    (with its indexes), loaded by ``insert_rows``, analysed on PostgreSQL when large (the
    planner knows nothing of a new table), and emptied afterwards."""
    conn = session.connection()
    conn.execute(CreateTable(table, if_not_exists=True))
    for index in table.indexes:
        conn.execute(CreateIndex(index, if_not_exists=True))
    insert_rows(session, table, rows)
    if conn.dialect.name == "postgresql" and len(rows) >= 20_000:
        conn.exec_driver_sql(f'ANALYZE "{table.name}"')
    yield
    # emptied on success only: after an error the transaction (or its savepoint) is rolled
    # back, rows and all, and a failed PostgreSQL transaction accepts no further statement
    session.execute(delete(table))


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many rows, when every row has the same keys: on PostgreSQL by ``COPY …
    FROM STDIN`` (about ten times faster than multi-row INSERTs), on SQLite by the
    driver's own executemany (values stored as SQLAlchemy stores them); else Core
    executemany in chunks."""
    if not rows:
        return
    keys = list(rows[0])
    dialect = session.get_bind().dialect.name
    if any(len(r) != len(keys) for r in rows) or dialect not in ("postgresql", "sqlite"):
        for chunk in _chunks(list(rows), 5000):
            session.execute(insert(table), chunk)
        return
    if dialect == "sqlite":
        _sqlite_insert(session, table, rows)
        return
    names = [c.name for c in table.columns if c.name in rows[0]]
    # a column a row leaves out takes its Python-side default, as an INSERT would
    fixed = {
        c.name: c.default.arg
        for c in table.columns
        if c.name not in rows[0] and c.default is not None and c.default.is_scalar
    }
    columns = ", ".join(f'"{n}"' for n in [*names, *fixed])
    tail = [_copy_value(v) for v in fixed.values()]
    cursor = session.connection().connection.cursor()
    try:
        for start in range(0, len(rows), 20_000):
            buf = io.StringIO()
            for row in rows[start : start + 20_000]:
                buf.write(",".join([*(_copy_value(row[n]) for n in names), *tail]))
                buf.write("\n")
            buf.seek(0)
            cursor.copy_expert(f'COPY "{table.name}" ({columns}) FROM STDIN WITH (FORMAT csv)', buf)
    finally:
        cursor.close()


def _sqlite_insert(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    names = [c.name for c in table.columns if c.name in rows[0]]
    defaults = [
        c
        for c in table.columns
        if c.name not in rows[0] and c.default is not None and c.default.is_scalar
    ]
    fixed = tuple(_sqlite_value(c.default.arg) for c in defaults)  # type: ignore[union-attr]
    columns = ", ".join(f'"{n}"' for n in [*names, *(c.name for c in defaults)])
    marks = ", ".join("?" * (len(names) + len(defaults)))
    sql = f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})'
    # only dates, times and booleans need converting; text and numbers go as they are
    convert = [i for i, n in enumerate(names) if not _plain_column(table, n)]
    pick = itemgetter(*names)
    conn = session.connection()
    for start in range(0, len(rows), 5000):
        values = []
        for row in rows[start : start + 5000]:
            picked = pick(row)
            value = list(picked) if len(names) > 1 else [picked]
            for i in convert:
                value[i] = _sqlite_value(value[i])
            values.append((*value, *fixed))
        conn.exec_driver_sql(sql, values)


_PLAIN = (str, int, float, type(None))


def _plain_column(table: Table, name: str) -> bool:
    """Whether the driver stores the column's values as they are (text, numbers)."""
    column_type = table.c[name].type
    if isinstance(column_type, String | AutoString):  # AutoString's python_type is object
        return True
    try:
        kind = column_type.python_type
    except NotImplementedError:
        return False
    return kind in (str, int, float)


def _sqlite_value(value: Any) -> Any:
    """A value as SQLAlchemy's SQLite dialect stores it (datetimes with microseconds)."""
    if type(value) in _PLAIN:
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}.{value.microsecond:06d}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int | float):
        return value
    return str(value)


def _copy_value(value: Any) -> str:
    """One value in COPY's CSV: NULL unquoted and empty, text always quoted."""
    kind = type(value)
    if kind is str:
        return '"' + value.replace('"', '""') + '"'
    if value is None:
        return ""
    if kind is int:
        return str(value)
    if kind is float:
        return repr(value)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, int | float):
        return str(value)
    return '"' + str(value).replace('"', '""') + '"'


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterable[list[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]

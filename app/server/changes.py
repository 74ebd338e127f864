"""Appending to the change log; must run inside ``db.write_session``.

The log is kept per branch (``app.models.change``): a change goes to the branch of the
outlet it happened in (a prospect that moves to another branch leaves a row in each, so
the old branch's devices drop it and the new one's take it), head office's reference
rows (outlets, users, batches) to the branch ``""``. Seqs are counted per branch in
``change_clock``, reserved in blocks under that branch's lock, which the transaction must
hold (``write_session(engine, branches=…)``; the whole-store session holds every branch):
recording in a branch it does not hold raises ``BranchNotLocked`` and nothing is written.

Each synced row carries ``rev``: the seq of its latest change, which devices use for
checksums. Every row says where it happened (placement before and after), so pull reads
an outlet's rows by index and the live hub knows whose devices to poke.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    BigInteger,
    String,
    Table,
    column,
    delete,
    insert,
    select,
    text,
    update,
    values,
)
from sqlalchemy.orm.util import identity_key
from sqlalchemy.schema import CreateIndex, CreateTable
from sqlmodel import AutoString, Session

from app.models import TABLES_BY_ENTITY, ChangeClock, ChangeLog, Prospect
from app.models.change import GLOBAL_BRANCH
from app.models.sync import CHILD_ENTITIES

_log = ChangeLog.__table__
_clock = ChangeClock.__table__
_outlet = TABLES_BY_ENTITY["outlet"]
_prospect = TABLES_BY_ENTITY["prospect"]
_lead = TABLES_BY_ENTITY["field_lead"]
ANALYZE_AFTER = 10_000  # rows one bulk insert adds before PostgreSQL re-reads the table
Placement = tuple[str | None, str | None]
NOWHERE: Placement = (None, None)
GLOBAL_ENTITIES = frozenset({"outlet", "user", "whitelist_batch"})
# session.info keys: the branches this transaction holds (None: every branch), and what
# it wrote (for the live hub)
LOCKED = "puhui.branches"
WRITTEN = "puhui.written"
PENDING = "puhui.pending"
_BRANCH_OF = "puhui.branch_of"


class BranchNotLocked(Exception):
    """A change in a branch the transaction does not hold; the caller retries holding it."""

    def __init__(self, branch: str) -> None:
        super().__init__(f"branch {branch!r} is not locked by this transaction")
        self.branch = branch


@dataclass
class Written:
    """What one transaction appended: each branch's newest seq, how many rows, and where
    (entity, placement before, after) the changes happened, for ``app.server.live``."""

    heads: dict[str, int] = field(default_factory=dict)
    places: set[tuple[str, Placement, Placement]] = field(default_factory=set)
    overflow: bool = False  # too many places to list: every device is poked
    rows: int = 0


MAX_PLACES = 10_000


def written(session: Session) -> Written | None:
    """What this transaction appended to the change log so far (None: nothing)."""
    return session.info.get(WRITTEN)


def branch_of(session: Session, outlet_id: str | None) -> str:
    """The branch (支行) of ``outlet_id``: its ``branch_name``; "" for none or unknown."""
    if outlet_id is None:
        return GLOBAL_BRANCH
    cache: dict[str, str] = session.info.setdefault(_BRANCH_OF, {})
    if outlet_id not in cache:
        name = session.execute(
            select(_outlet.c.branch_name).where(_outlet.c.id == outlet_id)
        ).scalar_one_or_none()
        cache[outlet_id] = name or GLOBAL_BRANCH
    return cache[outlet_id]


def branches_of(session: Session, outlet_ids: Iterable[str | None]) -> dict[str | None, str]:
    """``branch_of`` for many outlets, one query for those not seen yet."""
    cache: dict[str, str] = session.info.setdefault(_BRANCH_OF, {})
    wanted = {o for o in outlet_ids if o is not None and o not in cache}
    ids = sorted(wanted)
    for i in range(0, len(ids), 5000):
        chunk = ids[i : i + 5000]
        for oid, name in session.execute(
            select(_outlet.c.id, _outlet.c.branch_name).where(_outlet.c.id.in_(chunk))
        ):
            cache[oid] = name or GLOBAL_BRANCH
    for oid in wanted:
        cache.setdefault(oid, GLOBAL_BRANCH)
    return {None: GLOBAL_BRANCH, **cache}


def reserve(session: Session, branch: str, n: int) -> int:
    """Reserve ``n`` consecutive seqs of ``branch``; returns the first. Takes the branch's
    clock row (held to commit), after checking the transaction holds the branch."""
    locked = session.info.get(LOCKED)
    if locked is not None and branch not in locked:
        raise BranchNotLocked(branch)
    head = session.execute(
        update(_clock)
        .where(_clock.c.branch == branch)
        .values(seq=_clock.c.seq + n)
        .returning(_clock.c.seq)
    ).scalar_one_or_none()
    if head is None:
        session.execute(insert(_clock).values(branch=branch, seq=n))
        head = n
    return int(head) - n + 1


def noted(
    session: Session,
    branch: str,
    last: int,
    places: Iterable[tuple[str, Placement, Placement]],
    count: int,
) -> None:
    """Note rows appended to ``branch`` (its newest seq now ``last``; 0: unchanged), where
    they happened, and how many: ``written`` reads it."""
    w: Written = session.info.setdefault(WRITTEN, Written())
    if last:
        w.heads[branch] = max(w.heads.get(branch, 0), last)
    w.rows += count
    if not w.overflow:
        w.places.update(places)
        w.overflow = len(w.places) > MAX_PLACES


def placement_of(
    session: Session, entity: str, entity_id: str, prospect_id: str | None
) -> Placement:
    """Where a child row (its prospect's placement) or a find (outlet, finder) stands."""
    if entity == "field_lead":
        row = session.execute(
            select(_lead.c.outlet_id, _lead.c.finder_id).where(_lead.c.id == entity_id)
        ).first()
        return (row[0], row[1]) if row else NOWHERE
    if entity in CHILD_ENTITIES and prospect_id is not None:
        held = session.identity_map.get(identity_key(Prospect, prospect_id))
        if held is not None:  # the transaction holds it (a push's): as it now stands
            return NOWHERE if held.withdrawn_at is not None else (held.outlet_id, held.assignee_id)
        row = session.execute(
            select(_prospect.c.outlet_id, _prospect.c.assignee_id, _prospect.c.withdrawn_at).where(
                _prospect.c.id == prospect_id
            )
        ).first()
        # a withdrawn prospect is in no one's scope: its logs reach no device
        return (row[0], row[1]) if row and row[2] is None else NOWHERE
    return NOWHERE


def _entries(
    session: Session,
    entity: str,
    entity_id: str,
    prospect_id: str | None,
    old: Placement,
    new: Placement,
) -> list[tuple[str, Placement, Placement]]:
    """The (branch, old, new) rows one change writes: one, or two for a prospect that
    changed branch (the first is the row its ``rev`` takes)."""
    if entity in GLOBAL_ENTITIES:
        return [(GLOBAL_BRANCH, NOWHERE, NOWHERE)]
    if entity != "prospect":
        here = placement_of(session, entity, entity_id, prospect_id)
        return [(branch_of(session, here[0]), here, here)]
    if old == NOWHERE and new == NOWHERE:  # sent again where it stands (or stood)
        row = session.execute(
            select(_prospect.c.outlet_id).where(_prospect.c.id == entity_id)
        ).scalar_one_or_none()
        return [(branch_of(session, row), old, new)]
    home = branch_of(session, new[0] if new[0] is not None else old[0])
    entries = [(home, old, new)]
    if old[0] is not None and new[0] is not None:
        before = branch_of(session, old[0])
        if before != home:
            entries.append((before, old, new))
    return entries


@dataclass(frozen=True)
class _Pending:
    """A change-log row recorded, its seq taken when the transaction ends."""

    branch: str
    entity: str
    entity_id: str
    prospect_id: str | None
    old: Placement
    new: Placement
    stamps: bool  # whether the row's ``rev`` takes this one's seq (a prospect's home row)


def record_change(
    session: Session,
    entity: str,
    entity_id: str,
    *,
    prospect_id: str | None = None,
    old_scope: Placement = NOWHERE,
    new_scope: Placement = NOWHERE,
) -> None:
    """Log one change; the row's ``rev`` is stamped with its seq. Where it happened is read
    now; the seq is taken, the log row written and the ``rev`` stamped when the transaction
    ends (``flush_changes``), all changes of the transaction at once: the branch's clock is
    then held for the database's own work only, and a push of 500 mutations costs a few
    statements, not a few per mutation. A change in a branch the transaction does not hold
    is refused at once (``BranchNotLocked``)."""
    locked = session.info.get(LOCKED)
    queue: list[_Pending] = session.info.setdefault(PENDING, [])
    entries = _entries(session, entity, entity_id, prospect_id, old_scope, new_scope)
    for i, (branch, old, new) in enumerate(entries):
        if locked is not None and branch not in locked:
            raise BranchNotLocked(branch)
        queue.append(_Pending(branch, entity, entity_id, prospect_id, old, new, stamps=i == 0))


def pending_mark(session: Session) -> int:
    """Where the changes recorded so far end: a savepoint rolled back drops those after it
    (``drop_pending``)."""
    return len(session.info.get(PENDING, ()))


def drop_pending(session: Session, mark: int) -> None:
    """Forget the changes recorded after ``mark`` (their savepoint was rolled back)."""
    queue = session.info.get(PENDING)
    if queue is not None:
        del queue[mark:]


def flush_changes(session: Session) -> None:
    """Write the recorded changes (``record_change``): per branch one block of seqs (in
    one order of branches), the log rows in one insert, each row's ``rev`` in one
    statement per entity. ``db.write_session`` calls it before committing."""
    queue: list[_Pending] = session.info.pop(PENDING, [])
    if not queue:
        return
    session.flush()  # the rows to stamp are written first
    seqs = _blocks([p.branch for p in queue], session)
    log_rows = [
        {
            "branch": p.branch,
            "seq": seq,
            "entity": p.entity,
            "entity_id": p.entity_id,
            "prospect_id": p.prospect_id,
            "outlet_old": p.old[0],
            "assignee_old": p.old[1],
            "outlet_new": p.new[0],
            "assignee_new": p.new[1],
        }
        for p, seq in zip(queue, seqs, strict=True)
    ]
    insert_rows(session, _log, log_rows)
    _note_rows(session, log_rows)
    revs: dict[str, dict[str, int]] = {}
    for p, seq in zip(queue, seqs, strict=True):
        if p.stamps:
            entity = revs.setdefault(p.entity, {})
            entity[p.entity_id] = max(entity.get(p.entity_id, 0), seq)
    for entity, by_id in sorted(revs.items()):
        _stamp(session, TABLES_BY_ENTITY[entity], by_id)


def _stamp(session: Session, table: Table, revs: dict[str, int]) -> None:
    """``rev`` of each row to its seq, in one statement per thousand rows. These seqs are
    the transaction's last (taken after any a bulk write of it took in the same branch),
    so a row changed twice ends with the newer."""
    ids = sorted(revs)
    if session.get_bind().dialect.name != "postgresql":  # in-process: a statement is cheap
        session.connection().exec_driver_sql(
            f'UPDATE "{table.name}" SET rev = ? WHERE id = ?', [(revs[i], i) for i in ids]
        )
        return
    for i in range(0, len(ids), 1000):
        chunk = ids[i : i + 1000]
        given = values(column("id", String), column("rev", BigInteger), name="stamp").data(
            [(entity_id, revs[entity_id]) for entity_id in chunk]
        )
        session.execute(update(table).where(table.c.id == given.c.id).values(rev=given.c.rev))


def _bulk_entries(
    session: Session, entity: str, rows: Sequence[dict[str, Any]]
) -> list[tuple[str, Placement]]:
    """(branch, placement) of each new row of ``entity``, looked up in bulk."""
    if entity in GLOBAL_ENTITIES:
        return [(GLOBAL_BRANCH, NOWHERE)] * len(rows)
    if entity == "prospect":
        places = [(r.get("outlet_id"), r.get("assignee_id")) for r in rows]
    elif entity == "field_lead":
        places = [(r.get("outlet_id"), r.get("finder_id")) for r in rows]
    else:
        ids = sorted({r["prospect_id"] for r in rows if r.get("prospect_id")})
        where: dict[str, Placement] = {}
        for i in range(0, len(ids), 5000):
            chunk = ids[i : i + 5000]
            for pid, oid, aid in session.execute(
                select(_prospect.c.id, _prospect.c.outlet_id, _prospect.c.assignee_id).where(
                    _prospect.c.id.in_(chunk)
                )
            ):
                where[pid] = (oid, aid)
        places = [where.get(r.get("prospect_id"), NOWHERE) for r in rows]
    branches = branches_of(session, (p[0] for p in places))
    return [(branches[p[0]], p) for p in places]


def _blocks(branches: Sequence[str], session: Session) -> list[int]:
    """A seq for each position, reserved per branch as one block each."""
    counts: dict[str, int] = {}
    for b in branches:
        counts[b] = counts.get(b, 0) + 1
    nexts = {b: reserve(session, b, n) for b, n in sorted(counts.items())}
    seqs = []
    for b in branches:
        seqs.append(nexts[b])
        nexts[b] += 1
    return seqs


def bulk_insert(session: Session, entity: str, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many new rows of one entity with their change-log entries (Core, COPY on
    PostgreSQL); seqs are reserved per branch, one block each."""
    if not rows:
        return
    table = TABLES_BY_ENTITY[entity]
    where = _bulk_entries(session, entity, rows)
    seqs = _blocks([b for b, _ in where], session)
    log_rows = []
    stamped = []
    for row, (branch, place), seq in zip(rows, where, seqs, strict=True):
        prospect_id = row["id"] if entity == "prospect" else row.get("prospect_id")
        log_rows.append(
            {
                "branch": branch,
                "seq": seq,
                "entity": entity,
                "entity_id": row["id"],
                "prospect_id": prospect_id,
                "outlet_old": None if entity == "prospect" else place[0],
                "assignee_old": None if entity == "prospect" else place[1],
                "outlet_new": place[0],
                "assignee_new": place[1],
            }
        )
        stamped.append({**row, "rev": seq})
    insert_rows(session, table, stamped)
    insert_rows(session, _log, log_rows)
    _note_rows(session, log_rows)
    if len(rows) >= ANALYZE_AFTER and session.get_bind().dialect.name == "postgresql":
        # the planner's statistics now, not when autovacuum next looks (a manager's
        # auto-assign may follow the import within seconds)
        session.execute(text(f'ANALYZE "{table.name}"'))


def _note_rows(session: Session, log_rows: Sequence[dict[str, Any]]) -> None:
    heads: dict[str, int] = {}
    for r in log_rows:
        heads[r["branch"]] = max(heads.get(r["branch"], 0), r["seq"])
    places = {
        (r["entity"], (r["outlet_old"], r["assignee_old"]), (r["outlet_new"], r["assignee_new"]))
        for r in log_rows
    }
    for branch, head in heads.items():
        noted(session, branch, head, (), 0)
    noted(session, GLOBAL_BRANCH, 0, places, len(log_rows))


def bulk_record(
    session: Session,
    entity: str,
    changes: Sequence[tuple[str, Placement, Placement]],
    prospect_ids: Sequence[str | None] | None = None,
) -> list[int]:
    """Log changes of many existing rows of one entity (entity id, placement before,
    placement after): one change-log entry each (two for a prospect that changed branch),
    Core executemany, seqs reserved per branch. Returns the seq each row's ``rev`` takes, in
    order; the caller stamps it in the same statement that changes the row. For prospects
    the placements are the scope before and after (for removals); for a child, where its
    prospect stands, with ``prospect_ids`` its prospects."""
    if not changes:
        return []
    homes: list[tuple[str, Placement, Placement]] = []
    extra: list[tuple[str, str, Placement, Placement]] = []
    outlets = {p[0] for _, old, new in changes for p in (old, new)}
    branches = branches_of(session, outlets)
    for entity_id, old, new in changes:
        home = branches[new[0] if new[0] is not None else old[0]]
        homes.append((home, old, new))
        if old[0] is not None and new[0] is not None and branches[old[0]] != home:
            extra.append((branches[old[0]], entity_id, old, new))
    seqs = _blocks([h[0] for h in homes] + [e[0] for e in extra], session)
    owners = dict(zip((c[0] for c in changes), prospect_ids or (), strict=False))
    log_rows = [
        {
            "branch": branch,
            "seq": seq,
            "entity": entity,
            "entity_id": entity_id,
            "prospect_id": entity_id if entity == "prospect" else owners.get(entity_id),
            "outlet_old": old[0],
            "assignee_old": old[1],
            "outlet_new": new[0],
            "assignee_new": new[1],
        }
        for (branch, entity_id, old, new), seq in zip(
            [(h[0], c[0], h[1], h[2]) for h, c in zip(homes, changes, strict=True)] + extra,
            seqs,
            strict=True,
        )
    ]
    insert_rows(session, _log, log_rows)
    _note_rows(session, log_rows)
    return seqs[: len(changes)]


def clock(session: Session, branches: Iterable[str]) -> tuple[dict[str, int], dict[str, int]]:
    """Each of ``branches``' newest seq (0 with no change yet) and its floor (its rows up to
    it were pruned, ``app.server.pruning``), in one statement: what a pull asks."""
    wanted = sorted(set(branches))
    stmt = select(_clock.c.branch, _clock.c.seq, _clock.c.floor)
    found = {
        b: (int(s), int(f)) for b, s, f in session.execute(stmt.where(_clock.c.branch.in_(wanted)))
    }
    return (
        {b: found.get(b, (0, 0))[0] for b in wanted},
        {b: found[b][1] for b in wanted if b in found},
    )


def heads(session: Session, branches: Iterable[str] | None = None) -> dict[str, int]:
    """Each branch's newest seq (all branches when ``branches`` is None; 0 for one that
    has no change yet)."""
    stmt = select(_clock.c.branch, _clock.c.seq)
    wanted = None if branches is None else sorted(set(branches))
    if wanted is not None:
        stmt = stmt.where(_clock.c.branch.in_(wanted))
    found = {b: int(s) for b, s in session.execute(stmt)}
    if wanted is not None:
        return {b: found.get(b, 0) for b in wanted}
    return found


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

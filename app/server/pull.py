"""Building pull pages for one user's scope.

The change log is kept per branch (``app.models.change``). A scope reads some branches
(``reach``): a marketer's or outlet manager's own outlet's rows of its branch (by index),
a sub-branch manager's branch whole, an admin every branch; and everyone the head-office
branch "" (outlets, users, batches). A cursor holds a position per branch.

A pull without a cursor starts a snapshot: it reads each branch's newest seq, then pages
each entity of the scope by id (keyset). Changes committed during the snapshot have a
higher seq and arrive afterwards from the log, so nothing is missed and re-sent rows are
harmless (devices upsert by id). After the snapshot the cursor holds, per branch, the last
seq the device has seen.

A log page looks at the next ``page_size`` change-log rows of its branches (writers of a
branch are serialised, so a branch's rows become visible in seq order). For prospects it sends
the *current* row if the prospect is in scope now, otherwise a removal; a prospect
that entered the scope brings its logs, funnel events and transfers along.

Personal data (DESIGN.md §4): a prospect row carries its phone number and credit code
in clear only to the user it is assigned to; every other device receives them masked
(``app.services.masking``), and a reveal there is an audited online call. Whether a
row is masked depends only on its assignee, and every change of assignee is a change
of the prospect, so the row is sent again (clear to its new holder, masked to the one
it left). Masking leaves ``rev`` alone: checksums over (id, rev) agree either way.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, any_, case, cast, func, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session

from app.models import TABLES_BY_ENTITY, ChangeLog, Role
from app.models.change import GLOBAL_BRANCH
from app.models.sync import CHILD_ENTITIES, SYNC_COLUMNS, SYNC_ENTITIES, scope_digest
from app.server import row_json
from app.server.changes import branch_of, branches_of, clock, heads
from app.server.errors import StoreError
from app.server.scope import Scope, outlet_clause, prospect_clause
from app.server.scope_sums import maintained_checksums
from app.services.masking import mask_credit_code, mask_phone

_log = ChangeLog.__table__
_prospect = TABLES_BY_ENTITY["prospect"]
# What a page holds for the same scope; a cursor of another version is refused (409),
# so its device pulls its scope again. 2: personal data masked outside one's own prospects.
ROWS_VERSION = 2


# -- cursor -------------------------------------------------------------------------


class Phase(StrEnum):
    SNAPSHOT = "snapshot"  # paging the scope entity by entity, bounded by positions
    LOG = "log"  # following each branch's change log after its position


@dataclass(frozen=True)
class Cursor:
    """Where a device stands; sent as base64 JSON, opaque to the device."""

    phase: Phase
    # per branch of the scope: snapshot — the seq it is bounded by; log — the last seen
    positions: dict[str, int]
    scope: str  # the fingerprint of the scope it was issued for
    entity: int = 0  # snapshot: index into SYNC_ENTITIES
    after_key: str = ""  # snapshot: the last id sent of that entity
    done: int = 0  # snapshot: rows sent so far
    total: int = 0  # snapshot: rows in the scope when it started


_LOG_KEYS = ("phase", "positions", "scope")
_SNAPSHOT_KEYS = (*_LOG_KEYS, "entity", "after_key", "done", "total")


def encode_cursor(cursor: Cursor, where: Reach) -> str:
    """The cursor as base64 JSON; positions in the order of ``where.branches`` (the scope's
    branches, bound by ``issued_for``), so a cursor costs a number per branch."""
    data = {
        k: v for k, v in asdict(cursor).items() if cursor.phase == Phase.SNAPSHOT or k in _LOG_KEYS
    }
    data["positions"] = [cursor.positions.get(b, 0) for b in where.branches]
    raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(text: str, scope: Scope, where: Reach) -> Cursor:
    """The cursor ``text`` stands for; ``sync.cursor_invalid`` (409: the device starts
    its pull again) if it is damaged, of another format, of another scope or of other
    branches (a check before ``zip`` would be redundant: the scope binds the branches)."""
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if not isinstance(data, dict):
            raise ValueError(text)
        phase = Phase(data["phase"])
        keys = _SNAPSHOT_KEYS if phase == Phase.SNAPSHOT else _LOG_KEYS
        if set(data) != set(keys):
            raise ValueError(text)
        positions = data["positions"]
        if not isinstance(positions, list):
            raise ValueError(text)
        cursor = Cursor(
            phase=phase,
            positions={b: _count(v) for b, v in zip(where.branches, positions, strict=True)},
            scope=str(data["scope"]),
            entity=_count(data.get("entity", 0)),
            after_key=data.get("after_key", ""),
            done=_count(data.get("done", 0)),
            total=_count(data.get("total", 0)),
        )
        # A damaged snapshot position must ask for a resync (409), not fail later (500).
        if cursor.entity >= len(SYNC_ENTITIES) or not isinstance(cursor.after_key, str):
            raise ValueError(text)
    except (ValueError, KeyError, TypeError, OverflowError) as exc:
        raise StoreError("sync.cursor_invalid", 409) from exc
    if cursor.scope != issued_for(scope, where):
        raise StoreError("sync.cursor_invalid", 409)
    return cursor


def issued_for(scope: Scope, where: Reach) -> str:
    """What a cursor is bound to: the scope, the branches it reads (a new branch makes an
    admin pull again; an outlet moved to another branch, its staff) and the version of
    what its pages hold."""
    branches = hashlib.sha256("\n".join(where.branches).encode()).hexdigest()[:12]
    return f"{scope.fingerprint}/v{ROWS_VERSION}/{branches}"


def _count(value: object) -> int:
    """A non-negative 64-bit integer, or ValueError (floats and booleans included)."""
    if type(value) is not int or not 0 <= value < 2**63:
        raise ValueError(value)
    return value


# -- the branches of a scope ------------------------------------------------------------


@dataclass(frozen=True)
class Reach:
    """Which branches' logs a scope reads, and which outlets' rows in them (None: all)."""

    branches: tuple[str, ...]
    outlets: frozenset[str] | None


def reach(session: Session, scope: Scope) -> Reach:
    """A marketer or outlet manager reads its outlet's rows of its branch; a sub-branch
    manager its branch whole (the branch is its outlets); an admin every branch. Everyone
    reads the head-office branch ("") whole: outlets, users, batches."""
    if scope.role in (Role.MARKETER, Role.OUTLET_MANAGER) and scope.outlet_id is not None:
        home = branch_of(session, scope.outlet_id)
        return Reach(tuple(sorted({GLOBAL_BRANCH, home})), frozenset({scope.outlet_id}))
    if scope.role == Role.SUBBRANCH_MANAGER and scope.outlets:
        found = branches_of(session, scope.outlets)
        homes = {found[o] for o in scope.outlets}
        return Reach(tuple(sorted({GLOBAL_BRANCH, *homes})), None)
    return Reach(tuple(sorted({GLOBAL_BRANCH, *heads(session)})), None)


def cursor_position(session: Session, text: str, scope: Scope) -> dict[str, int] | None:
    """The positions of a finished-snapshot cursor (branch → last seq seen), else None."""
    cursor = decode_cursor(text, scope, reach(session, scope))
    return cursor.positions if cursor.phase == Phase.LOG else None


def scope_heads(session: Session, scope: Scope) -> dict[str, int]:
    """The newest seq of each branch ``scope`` reads."""
    return heads(session, reach(session, scope).branches)


def behind(positions: dict[str, int], newest: dict[str, int]) -> bool:
    """Whether a device at ``positions`` has not seen everything up to ``newest``."""
    return any(positions.get(b, 0) < seq for b, seq in newest.items())


# -- row encoding ---------------------------------------------------------------------
#
# Every value leaves as JSON without NaN or Infinity. A stored value that cannot be
# sent (a NaN coordinate, a time past year 9999 or PostgreSQL's 'infinity', text
# that is no date) must not fail every pull covering its row for ever: the row is
# left out of the page and reported (``SkippedRow``), and the route records it as an
# incident for the admins to correct. Leaving the row out rather than sending null
# keeps the device's NOT NULL columns whole; the scope checksum then disagrees until
# the row is fixed, which is the truth.


@dataclass(frozen=True)
class SkippedRow:
    """A stored row a pull could not encode."""

    entity: str
    entity_id: str
    column: str
    value: str  # repr of what was stored

    @property
    def reason(self) -> str:
        return f"{self.entity} {self.entity_id}: {self.column} = {self.value} cannot be sent"


_KINDS = row_json.COLUMN_KINDS


def _rows(
    entity: str, result: Iterable[Sequence[Any]], skipped: list[SkippedRow]
) -> tuple[list[list[Any]], int, str | None]:
    """The rows that can be sent, how many were read and the last id read."""
    temporal, floats = _KINDS[entity]
    names = SYNC_COLUMNS[entity]
    rows: list[list[Any]] = []
    seen, last_id = 0, None
    for r in result:
        row = list(r)
        seen, last_id = seen + 1, row[0]
        bad = _first_bad(row, temporal, floats)
        if bad is not None:
            skipped.append(SkippedRow(entity, str(row[0]), names[bad], repr(r[bad])[:200]))
            continue
        rows.append(row)
    return rows, seen, last_id


def _first_bad(row: list[Any], temporal: dict[int, type], floats: list[int]) -> int | None:
    """Normalise ``row`` in place; the position of the first value that cannot be sent."""
    for i, kind in temporal.items():
        if row[i] is None:
            continue
        try:  # "YYYY-MM-DD HH:MM:SS[.ffffff]" / "YYYY-MM-DD", as devices read them
            row[i] = str(kind.fromisoformat(str(row[i])))  # type: ignore[attr-defined]
        except ValueError:
            return i
    for i in floats:
        if row[i] is not None and not math.isfinite(row[i]):
            return i
    return None


def _as_text(column: ColumnElement[Any], kind: type, dialect: str) -> ColumnElement[Any]:
    """A temporal column read as ISO text, so no stored value can fail the driver
    (psycopg2 raises on a year past 9999 or 'infinity'; SQLite's parser on garbage).
    PostgreSQL's text form depends on DateStyle, hence ``to_char``; a value with no
    Python counterpart reads as text no parser takes."""
    if dialect != "postgresql":
        return cast(column, String)
    fmt = "YYYY-MM-DD" if kind is date else "YYYY-MM-DD HH24:MI:SS.US"
    valid = and_(func.isfinite(column), func.extract("year", column).between(1, 9999))
    return case(
        (column.is_(None), None),
        (valid, func.to_char(column, fmt)),
        else_=cast(column, String),
    )


_PHONE, _CREDIT_CODE, _ASSIGNEE = (
    SYNC_COLUMNS["prospect"].index(name) for name in ("phone", "credit_code", "assignee_id")
)


def _masked(entity: str, scope: Scope, rows: list[list[Any]]) -> list[list[Any]]:
    """Rows of ``entity`` as ``scope``'s device receives them: prospects not assigned to
    its user with their phone number and credit code masked."""
    if entity == "prospect":
        for row in rows:
            if row[_ASSIGNEE] != scope.user_id:
                row[_PHONE] = mask_phone(row[_PHONE])
                row[_CREDIT_CODE] = mask_credit_code(row[_CREDIT_CODE])
    return rows


def _select(session: Session, entity: str) -> Select[Any]:
    return _select_for(entity, session.get_bind().dialect.name)


@functools.cache
def _select_for(entity: str, dialect: str) -> Select[Any]:
    """The sync columns of ``entity`` (built once: a statement is immutable, each
    ``where`` makes a new one)."""
    table = TABLES_BY_ENTITY[entity]
    temporal, _ = _KINDS[entity]
    columns = []
    for i, name in enumerate(SYNC_COLUMNS[entity]):
        column = table.c[name]
        kind = temporal.get(i)
        columns.append(_as_text(column, kind, dialect).label(name) if kind else column)
    return select(*columns)


def _scoped(entity: str, scope: Scope, stmt: Select[Any], dialect: str = "") -> Select[Any]:
    """``stmt`` over ``entity`` narrowed to ``scope``. On PostgreSQL a child row's prospect
    is looked up by index in the array of the scope's prospects (``= ANY``): an ``IN``
    there reads every log of the store to keep a marketer's few."""
    if entity == "user" and scope.role != Role.ADMIN:
        # colleagues of the outlet(s) and the admins; other outlets' staff stay on the server
        users = TABLES_BY_ENTITY["user"]
        outlets = scope.outlets or frozenset({scope.outlet_id})
        return stmt.where(or_(users.c.outlet_id.in_(sorted(outlets)), users.c.role == Role.ADMIN))
    if entity == "field_lead":
        # a finder's own finds; a manager's outlets' finds for review
        leads = TABLES_BY_ENTITY["field_lead"]
        if scope.role == Role.MARKETER:
            return stmt.where(leads.c.finder_id == scope.user_id)
        return stmt.where(outlet_clause(scope, leads.c.outlet_id))
    if entity == "prospect":
        return stmt.where(prospect_clause(scope, _prospect))
    if entity in CHILD_ENTITIES:
        if scope.role == Role.ADMIN:  # every child is in scope; IN (all ids) would sort them all
            return stmt
        table = TABLES_BY_ENTITY[entity]
        if dialect == "postgresql":
            ids = select(func.array_agg(_prospect.c.id)).where(prospect_clause(scope, _prospect))
            array = cast(ids.scalar_subquery(), ARRAY(String))  # the array, not a row set
            return stmt.where(table.c.prospect_id == any_(array))
        inner = select(_prospect.c.id).where(prospect_clause(scope, _prospect))
        return stmt.where(table.c.prospect_id.in_(inner))
    return stmt


class Page:
    def __init__(self) -> None:
        self.entities: dict[str, dict[str, Any]] = {}
        self.skipped: list[SkippedRow] = []  # rows left out: not JSON

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


def pull_page(
    session: Session, scope: Scope, cursor: str | None, page_size: int
) -> tuple[dict[str, Any], list[SkippedRow]]:
    """The next page after ``cursor``, and the stored rows it had to leave out."""
    where = reach(session, scope)
    state = (
        decode_cursor(cursor, scope, where) if cursor else _start_snapshot(session, scope, where)
    )
    page = Page()
    if state.phase == Phase.SNAPSHOT:
        return _snapshot_page(session, scope, where, state, page_size, page), page.skipped
    return _log_page(session, scope, where, state, page_size, page), page.skipped


def scope_count(session: Session, scope: Scope) -> int:
    """Rows in ``scope``: on PostgreSQL the counts its triggers keep (``scope_sums``)."""
    if session.get_bind().dialect.name == "postgresql":
        return sum(int(e["count"]) for e in maintained_checksums(session, scope).values())
    total = 0
    for entity in SYNC_ENTITIES:
        table = TABLES_BY_ENTITY[entity]
        stmt = _scoped(entity, scope, select(func.count()).select_from(table))
        total += int(session.execute(stmt).scalar_one())
    return total


def _start_snapshot(session: Session, scope: Scope, where: Reach) -> Cursor:
    return Cursor(
        phase=Phase.SNAPSHOT,
        positions=heads(session, where.branches),
        scope=issued_for(scope, where),
        total=scope_count(session, scope),
    )


def _snapshot_page(
    session: Session, scope: Scope, where: Reach, state: Cursor, page_size: int, page: Page
) -> dict[str, Any]:
    entity_index, last_key, done = state.entity, state.after_key, state.done
    budget = page_size
    while budget > 0 and entity_index < len(SYNC_ENTITIES):
        entity = SYNC_ENTITIES[entity_index]
        if session.get_bind().dialect.name == "postgresql":
            rows, seen, last_id = _json_rows(session, entity, scope, last_key, budget, page)
        else:
            rows, seen, last_id = _python_rows(session, entity, scope, last_key, budget, page)
        page.upsert(entity, rows)
        done += seen
        budget -= seen
        if budget > 0:  # entity exhausted
            entity_index, last_key = entity_index + 1, ""
        else:
            last_key = str(last_id)
    if entity_index >= len(SYNC_ENTITIES):
        next_state = Cursor(Phase.LOG, state.positions, issued_for(scope, where))
        snapshot = False
    else:
        next_state = replace(state, entity=entity_index, after_key=last_key, done=done)
        snapshot = True
    return {
        "cursor": encode_cursor(next_state, where),
        "has_more": True,  # after the snapshot the log may hold newer changes
        "snapshot": snapshot,
        "progress": {"done": done, "total": max(state.total, done)},
        "entities": page.entities,
    }


def _python_rows(
    session: Session, entity: str, scope: Scope, after: str, budget: int, page: Page
) -> tuple[list[Any], int, str | None]:
    """A snapshot page's rows of ``entity``, read and masked in Python."""
    table = TABLES_BY_ENTITY[entity]
    stmt = _scoped(entity, scope, _select(session, entity)).where(table.c.id > after)
    result = session.execute(stmt.order_by(table.c.id).limit(budget))
    rows, seen, last_id = _rows(entity, result, page.skipped)
    return _masked(entity, scope, rows), seen, last_id


def _json_rows(
    session: Session, entity: str, scope: Scope, after: str, budget: int, page: Page
) -> tuple[list[Any], int, str | None]:
    """A snapshot page's rows of ``entity`` as PostgreSQL encodes them (``row_json``); a
    row it cannot render as the Python path would is read and masked that way instead."""
    table = TABLES_BY_ENTITY[entity]
    stmt = _scoped(entity, scope, row_json.json_rows(entity, scope.user_id), "postgresql")
    stmt = stmt.where(table.c.id > after).order_by(table.c.id).limit(budget)
    rows: list[Any] = []
    odd: list[str] = []
    seen, last_id = 0, None
    for row_id, plain, text in session.execute(stmt):
        seen, last_id = seen + 1, row_id
        if plain:
            rows.append(row_json.Fragment(text))
        else:
            odd.append(row_id)
    if odd:
        stmt = _select(session, entity).where(table.c.id.in_(odd)).order_by(table.c.id)
        result = session.execute(stmt)
        rows.extend(_masked(entity, scope, _rows(entity, result, page.skipped)[0]))
    return rows, seen, last_id


def encode_page(page: dict[str, Any]) -> str:
    """The page as the JSON the device reads; rows the database encoded
    (``row_json.Fragment``) are written as they are."""
    if not any(
        bucket["rows"] and isinstance(bucket["rows"][0], row_json.Fragment)
        for bucket in page.get("entities", {}).values()
    ):
        return _dumps(page)
    head = _dumps({k: v for k, v in page.items() if k != "entities"})
    buckets = ",".join(
        f'{_dumps(entity)}:{{"columns":{_dumps(bucket["columns"])},"rows":[{_rows_json(bucket["rows"])}],"deletes":{_dumps(bucket["deletes"])}}}'
        for entity, bucket in page["entities"].items()
    )
    return f'{head[:-1]},"entities":{{{buckets}}}}}'


def _rows_json(rows: list[Any]) -> str:
    return ",".join(r if isinstance(r, row_json.Fragment) else _dumps(r) for r in rows)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _changes(
    session: Session,
    where: Reach,
    positions: dict[str, int],
    newest: dict[str, int],
    floors: dict[str, int],
    limit: int,
) -> tuple[list[Any], dict[str, int]]:
    """Up to ``limit`` change-log rows after ``positions`` (branch by branch, each up to its
    newest), only its outlets' rows where the scope reads one outlet; and the positions
    after them."""
    rows: list[Any] = []
    after = dict(positions)
    for branch in where.branches:
        since, head = positions.get(branch, 0), newest.get(branch, 0)
        if since > head:  # a cursor from the future: the store was replaced
            raise StoreError("sync.cursor_invalid", 409)
        if since < floors.get(branch, 0):  # what it has not seen was pruned
            raise StoreError("sync.cursor_expired", 409)
        if since == head:
            continue
        budget = limit - len(rows)
        if budget <= 0:
            break
        stmt = select(_log).where(_log.c.branch == branch, _log.c.seq > since, _log.c.seq <= head)
        if where.outlets is not None and branch != GLOBAL_BRANCH:
            outlets = sorted(where.outlets)
            stmt = stmt.where(or_(_log.c.outlet_new.in_(outlets), _log.c.outlet_old.in_(outlets)))
        found = session.execute(stmt.order_by(_log.c.seq).limit(budget)).all()
        rows.extend(found)
        after[branch] = int(found[-1].seq) if len(found) == budget else head
    return rows, after


def _log_page(
    session: Session, scope: Scope, where: Reach, state: Cursor, page_size: int, page: Page
) -> dict[str, Any]:
    since = state.positions
    newest, floors = clock(session, where.branches)
    changes, after = _changes(session, where, since, newest, floors, page_size)
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
            stmt = _select(session, entity).where(table.c.id.in_(reference[entity]))
            result = session.execute(_scoped(entity, scope, stmt))
            page.upsert(entity, _rows(entity, result, page.skipped)[0])
        elif entity == "prospect" and touched:
            stmt = _select(session, entity).where(table.c.id.in_(touched))
            sent_before = len(page.skipped)
            rows = _masked(
                entity,
                scope,
                _rows(entity, session.execute(_scoped(entity, scope, stmt)), page.skipped)[0],
            )
            page.upsert(entity, rows)
            # a row left out is still in scope: not a removal
            present = {r[0] for r in rows} | {s.entity_id for s in page.skipped[sent_before:]}
            page.delete(entity, sorted(touched - present))
            entered &= present
        elif entity in CHILD_ENTITIES:
            ids = children.get(entity, set())
            if not ids and not entered:
                continue
            stmt = _select(session, entity)
            if ids and entered:
                stmt = stmt.where(table.c.id.in_(ids) | table.c.prospect_id.in_(entered))
            elif ids:
                stmt = stmt.where(table.c.id.in_(ids))
            else:
                stmt = stmt.where(table.c.prospect_id.in_(entered))
            result = session.execute(_scoped(entity, scope, stmt))
            page.upsert(entity, _rows(entity, result, page.skipped)[0])

    done = sum(after.get(b, 0) - since.get(b, 0) for b in newest)
    total = sum(seq - since.get(b, 0) for b, seq in newest.items())
    return {
        "cursor": encode_cursor(Cursor(Phase.LOG, after, issued_for(scope, where)), where),
        "has_more": behind(after, newest),
        "snapshot": False,
        "progress": {"done": done, "total": total},
        "entities": page.entities,
    }


def checksums(session: Session, scope: Scope) -> dict[str, dict[str, Any]]:
    """Per-entity count and digest of (id, rev) over the scope: on PostgreSQL from the
    buckets its triggers keep (``app.server.scope_sums``), on SQLite by reading the scope."""
    if session.get_bind().dialect.name == "postgresql":
        return maintained_checksums(session, scope)
    return scanned_checksums(session, scope)


def scanned_checksums(session: Session, scope: Scope) -> dict[str, dict[str, Any]]:
    """The checksums by reading every row of the scope."""
    out = {}
    for entity in SYNC_ENTITIES:
        table = TABLES_BY_ENTITY[entity]
        stmt = _scoped(entity, scope, select(table.c.id, table.c.rev))
        pairs = [(r[0], int(r[1])) for r in session.execute(stmt)]
        out[entity] = {"count": len(pairs), "digest": scope_digest(pairs)}
    return out

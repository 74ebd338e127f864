"""Whitelist batches in the central store: committing an import, new versions, withdrawal
and expiry, and the batch list.

``app.services.whitelist_import.preview`` reads a file and checks every row against an
``ImportContext`` (``import_context`` reads it here); ``commit`` stores the valid rows
in one ``db.write_session`` transaction: all of them or nothing (mode ``all`` refuses a
file with any problem), or, chosen explicitly, the valid rows only (``valid_only``).

Where a row goes: the outlet its 网点代码 names, which must be in the importer's reach
(an admin reaches every outlet, a sub-branch manager the outlets of its 支行, an outlet
manager its own); a row without one goes to the nearest outlet in that reach (for an
outlet manager: its own outlet).

A new batch is version 1: every row becomes an unassigned prospect of the outlet's pool.
Importing a batch again (``batch_id``) makes version n+1, matched by credit code, over
the entries in the importer's reach only (a manager's file speaks for its outlets):

* an entry the file no longer lists is **withdrawn** (``withdrawn_reason`` "removed"):
  its change moves it to placement (None, None), so every device drops it at its next
  pull; its logs, events and transfers stay here;
* an entry whose business fields changed (name, legal representative, phone, industry,
  address, position, line, score, tags) is **updated**; its funnel status and assignee
  are never touched. An unassigned entry follows its row to another outlet; an assigned
  one keeps its outlet (its marketer is working it), whatever the row now says;
* an entry the file lists unchanged is left alone (its ``batch_version`` moves on);
* a row new to the batch is **added**; a withdrawn entry the file lists again is
  **reinstated** where it stood (counted among the added: it arrives on devices again).

In ``valid_only`` mode an entry whose row was refused is not withdrawn: the file does
list it, if badly (rows whose credit code could not be read at all are the exception:
they cannot be matched).

Batches whose ``valid_until`` is before today (Beijing) expire: ``expire_batches``
withdraws their entries with reason "expired", the same way. An admin withdraws bad rows
that marketers' feedback flagged (``withdraw_bad_rows``, reason "quality"), the same way
again; each such entry also leaves an audit event naming the admin.

The batch list carries each batch's list quality within the reader's reach
(``app.server.quality``; the definitions are ``app.services.quality``'s).

Every bulk path writes with Core executemany in chunks and one change-log entry per
changed row (``changes.bulk_insert``, ``changes.bulk_record``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from math import cos, radians
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    MetaData,
    String,
    Table,
    and_,
    func,
    insert,
    select,
    update,
)
from sqlmodel import Session

from app.models import (
    AuditEvent,
    Outlet,
    Prospect,
    Role,
    User,
    WhitelistBatch,
    WhitelistBatchVersion,
)
from app.models.audit import WITHDRAW_AUDIT
from app.models.batch import BatchSource
from app.models.ids import new_id, utcnow
from app.models.prospect import FunnelStatus, WithdrawReason
from app.server.changes import (
    Placement,
    bulk_insert,
    bulk_record,
    record_change,
    staged,
)
from app.server.db import read_session, write_session
from app.server.errors import StoreError
from app.server.quality import batch_summaries
from app.server.scope import Scope, scope_of
from app.services import whitelist_import
from app.services.clock import beijing_today
from app.services.import_cells import cell_text, read_credit_code
from app.services.import_read import read_table
from app.services.quality import Quality
from app.services.whitelist_import import (
    Datum,
    ImportContext,
    ImportField,
    ImportPreview,
    ImportRow,
)

log = logging.getLogger(__name__)

IMPORTERS = frozenset({Role.ADMIN, Role.SUBBRANCH_MANAGER, Role.OUTLET_MANAGER})
MODES = ("all", "valid_only")
CHUNK = 5000

_p = Prospect.__table__
_b = WhitelistBatch.__table__
_o = Outlet.__table__
_v = WhitelistBatchVersion.__table__

# The columns an import may change on an existing entry (never status or assignee).
BUSINESS = (
    "company_name",
    "legal_rep",
    "phone",
    "industry",
    "address",
    "lat",
    "lon",
    "pre_approved_line",
    "score",
    "tags",
)
_FLOATS = frozenset({"lat", "lon"})


@dataclass(frozen=True)
class BatchMeta:
    """What a new batch is: its name, product, source and validity (Beijing days)."""

    name: str
    product: str
    source: BatchSource
    valid_from: date
    valid_until: date


@dataclass(frozen=True)
class CommitResult:
    batch_id: str
    version: int
    added: int  # new entries, and withdrawn ones listed again (reinstated)
    updated: int
    unchanged: int
    withdrawn: int
    reinstated: int
    rows_bad: int  # rows left out (valid_only)


@dataclass(frozen=True)
class OutletPoint:
    id: str
    code: str
    name: str
    lat: float
    lon: float


# -- who imports where ----------------------------------------------------------------


def importer_scope(session: Session, user: User) -> Scope:
    """``user``'s scope, or 403 ``auth.forbidden`` unless they may import."""
    if user.role not in IMPORTERS or not user.active:
        raise StoreError("auth.forbidden", 403)
    return scope_of(session, user)


@dataclass(frozen=True)
class Reach:
    """The outlets an importer may send rows to, and every outlet by code."""

    outlets: tuple[OutletPoint, ...]  # in reach
    by_code: dict[str, OutletPoint]  # every outlet

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(o.id for o in self.outlets)

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(o.code for o in self.outlets)


def reach_of(session: Session, scope: Scope) -> Reach:
    rows = session.execute(select(_o.c.id, _o.c.code, _o.c.name, _o.c.lat, _o.c.lon)).all()
    every = [OutletPoint(r[0], r[1], r[2], float(r[3]), float(r[4])) for r in rows]
    mine = tuple(sorted((o for o in every if scope.reaches_outlet(o.id)), key=lambda o: o.code))
    return Reach(mine, {o.code: o for o in every})


def _reach_clause(scope: Scope, reach: Reach) -> Any:
    if scope.role == Role.ADMIN:
        return None
    return _p.c.outlet_id.in_(sorted(reach.ids))


def import_context(
    session: Session,
    scope: Scope,
    batch_id: str | None = None,
    *,
    datum: Datum = Datum.WGS84,
    mapping: dict[str, ImportField | str] | None = None,
    today: date | None = None,
) -> ImportContext:
    """What a preview checks rows against: the outlet codes in ``scope``'s reach, and the
    credit codes of every live entry of an active batch (not withdrawn, batch not expired)
    with its batch's name, leaving out ``batch_id``'s own entries in reach (a re-import
    lists them again)."""
    today = today or beijing_today()
    reach = reach_of(session, scope)
    stmt = (
        select(_p.c.credit_code, _b.c.name)
        .join(_b, _b.c.id == _p.c.batch_id)
        .where(_p.c.withdrawn_at.is_(None), _b.c.valid_until >= today)
    )
    if batch_id is not None:
        own = _p.c.batch_id == batch_id
        clause = _reach_clause(scope, reach)
        stmt = stmt.where(~own if clause is None else ~and_(own, clause))
    active = {r[0]: r[1] for r in session.execute(stmt)}
    return ImportContext(
        outlet_codes=reach.codes,
        all_outlet_codes=frozenset(reach.by_code),
        active_credit_codes=active,
        datum=datum,
        mapping=dict(mapping or {}),
    )


# -- routing: which outlet takes a row -------------------------------------------------


class _Nearest:
    """The nearest of a few outlets to a point (equirectangular distance, exact enough to
    rank outlets within a province; 38 outlets × 100,000 rows in well under a second)."""

    def __init__(self, outlets: Sequence[OutletPoint]) -> None:
        self.outlets = list(outlets)
        self._points = [(o.lat, o.lon) for o in outlets]
        self._cache: dict[tuple[float, float], OutletPoint] = {}

    def __call__(self, lat: float, lon: float) -> OutletPoint:
        key = (lat, lon)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        k = cos(radians(lat)) ** 2
        best, best_d = 0, float("inf")
        for i, (olat, olon) in enumerate(self._points):
            d = (olat - lat) ** 2 + k * (olon - lon) ** 2
            if d < best_d:
                best, best_d = i, d
        found = self.outlets[best]
        self._cache[key] = found
        return found


def route_rows(rows: Sequence[ImportRow], reach: Reach) -> list[OutletPoint | None]:
    """The outlet each row goes to: the one its code names if in reach, else None (the
    row is out of scope); without a code, the nearest outlet in reach."""
    if not reach.outlets:
        return [None] * len(rows)
    nearest = _Nearest(reach.outlets)
    allowed = reach.ids
    out: list[OutletPoint | None] = []
    for row in rows:
        if row.outlet_code:
            target = reach.by_code.get(row.outlet_code)
            out.append(target if target is not None and target.id in allowed else None)
        else:
            out.append(nearest(row.lat, row.lon))
    return out


def outlet_counts(targets: Iterable[OutletPoint | None]) -> dict[str, int]:
    """Rows per outlet code (the preview's ``outlets``)."""
    counts: dict[str, int] = {}
    for target in targets:
        if target is not None:
            counts[target.code] = counts.get(target.code, 0) + 1
    return dict(sorted(counts.items()))


# -- commit ------------------------------------------------------------------------------


def commit(
    session: Session,
    user: User,
    preview: ImportPreview,
    *,
    mode: str = "all",
    meta: BatchMeta | None = None,
    batch_id: str | None = None,
    keep: frozenset[str] = frozenset(),
    now: datetime | None = None,
) -> CommitResult:
    """Store ``preview``'s rows as a new batch (``meta``) or a new version of ``batch_id``,
    inside the caller's ``write_session`` (one transaction: an error leaves nothing).
    ``keep``: credit codes on refused rows (``refused_credit_codes``), whose entries a
    ``valid_only`` new version does not withdraw.

    Refusals (``StoreError``, nothing written): ``import.mode_invalid``,
    ``import.has_errors`` (mode ``all`` with problems), ``import.no_valid_rows``,
    ``import.batch_unknown`` (404), ``import.outlet_out_of_scope`` (a row for an outlet
    out of reach), ``import.meta_missing``."""
    scope = importer_scope(session, user)
    if mode not in MODES:
        raise StoreError("import.mode_invalid", 422)
    if mode == "all" and preview.problems:
        raise StoreError("import.has_errors", 422, count=preview.bad_lines)
    rows = preview.rows
    if not rows:
        raise StoreError("import.no_valid_rows", 422)
    reach = reach_of(session, scope)
    targets = route_rows(rows, reach)
    for row, target in zip(rows, targets, strict=True):
        if target is None:
            raise StoreError("import.outlet_out_of_scope", 422, code=row.outlet_code or "")
    placed: list[tuple[ImportRow, OutletPoint]] = [
        (row, target) for row, target in zip(rows, targets, strict=True) if target is not None
    ]
    now = now or utcnow()
    rows_bad = preview.bad_lines if mode == "valid_only" else 0
    if batch_id is None:
        if meta is None:
            raise StoreError("import.meta_missing", 422)
        return _new_batch(session, user, preview, placed, meta, mode, rows_bad, now)
    kept = keep if mode == "valid_only" else frozenset()
    return _new_version(
        session, user, scope, reach, preview, placed, batch_id, mode, rows_bad, kept, now
    )


def refused_credit_codes(data: bytes, preview: ImportPreview) -> frozenset[str]:
    """The credit codes on the file's refused rows, where they can be read (a row refused
    for its phone still names its entry; a mangled code names nothing)."""
    bad = {p.line for p in preview.problems}
    header = next((h for h, f in preview.mapping.items() if f == ImportField.CREDIT_CODE), None)
    if not bad or header is None:
        return frozenset()

    def is_header(cells: Sequence[object]) -> bool:
        return any(cell_text(c) == header for c in cells)

    table = read_table(data, max_bytes=len(data) + 1, is_header=is_header)
    index: int | None = None
    codes: set[str] = set()
    last = max(bad)
    for line, cells in table.rows:
        if index is None:
            texts = [cell_text(c) for c in cells]
            if header in texts:
                index = texts.index(header)
            continue
        if line > last:
            break
        if line in bad and index < len(cells):
            try:
                codes.add(read_credit_code(cell_text(cells[index])))
            except ValueError:
                continue
    return frozenset(codes)


def _business(row: ImportRow) -> dict[str, Any]:
    return {
        "company_name": row.company_name,
        "legal_rep": row.legal_rep,
        "phone": row.phone,
        "industry": row.industry,
        "address": row.address,
        "lat": row.lat,
        "lon": row.lon,
        "pre_approved_line": row.pre_approved_line,
        "score": row.score,
        "tags": _tags_json(row.tags),
    }


_TAGS: dict[tuple[str, ...], str] = {}


def _tags_json(tags: tuple[str, ...]) -> str:
    """Tags as stored (a JSON list); a whitelist has few distinct sets, each made once."""
    text = _TAGS.get(tags)
    if text is None:
        text = json.dumps(list(tags), ensure_ascii=False)
        if len(_TAGS) < 10_000:
            _TAGS[tags] = text
    return text


def _new_prospect(
    row: ImportRow, batch_id: str, outlet_id: str, version: int, now: datetime
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "batch_id": batch_id,
        "credit_code": row.credit_code,
        **_business(row),
        "outlet_id": outlet_id,
        "assignee_id": None,
        "status": FunnelStatus.UNASSIGNED.value,
        "disbursed_amount": None,
        "last_contact_at": None,
        "next_follow_up": None,
        "updated_at": now,
        "batch_version": version,
        "withdrawn_at": None,
        "withdrawn_reason": "",
        "assigned_at": None,
    }


def _new_batch(
    session: Session,
    user: User,
    preview: ImportPreview,
    placed: list[tuple[ImportRow, OutletPoint]],
    meta: BatchMeta,
    mode: str,
    rows_bad: int,
    now: datetime,
) -> CommitResult:
    batch_id = new_id()
    batch = {
        "id": batch_id,
        "name": meta.name,
        "product": meta.product,
        "source": meta.source.value,
        "valid_from": meta.valid_from,
        "valid_until": meta.valid_until,
        "version": 1,
        "created_at": now,
        "outlet_id": None,
        "created_by": user.id,
    }
    bulk_insert(session, "whitelist_batch", [batch])
    prospects = [_new_prospect(row, batch_id, target.id, 1, now) for row, target in placed]
    bulk_insert(session, "prospect", by_outlet(prospects))
    result = CommitResult(batch_id, 1, len(prospects), 0, 0, 0, 0, rows_bad)
    _record_version(session, user, preview, result, mode, now)
    return result


def _record_version(
    session: Session,
    user: User,
    preview: ImportPreview,
    result: CommitResult,
    mode: str,
    now: datetime,
) -> None:
    session.execute(
        insert(_v).values(
            id=new_id(),
            batch_id=result.batch_id,
            version=result.version,
            file_name=preview.file_name[:255],
            mode=mode,
            imported_at=now,
            imported_by=user.id,
            rows_total=preview.total,
            rows_bad=result.rows_bad,
            added=result.added,
            updated=result.updated,
            unchanged=result.unchanged,
            withdrawn=result.withdrawn,
        )
    )


def _same(column: str, old: Any, new: Any) -> bool:
    if column in _FLOATS:
        return old is not None and abs(float(old) - float(new)) < 1e-9
    return bool(old == new)


def _new_version(
    session: Session,
    user: User,
    scope: Scope,
    reach: Reach,
    preview: ImportPreview,
    placed: list[tuple[ImportRow, OutletPoint]],
    batch_id: str,
    mode: str,
    rows_bad: int,
    kept: frozenset[str],
    now: datetime,
) -> CommitResult:
    batch = session.execute(select(_b.c.id, _b.c.version).where(_b.c.id == batch_id)).first()
    if batch is None:
        raise StoreError("import.batch_unknown", 404)
    version = int(batch.version) + 1
    clause = _reach_clause(scope, reach)
    stmt = select(
        _p.c.id,
        _p.c.credit_code,
        *(_p.c[c] for c in BUSINESS),
        _p.c.outlet_id,
        _p.c.assignee_id,
        _p.c.withdrawn_at,
    ).where(_p.c.batch_id == batch_id)
    if clause is not None:
        stmt = stmt.where(clause)
    existing: dict[str, Any] = {}
    for r in session.execute(stmt):
        held = existing.get(r.credit_code)
        if held is None or (held.withdrawn_at is not None and r.withdrawn_at is None):
            existing[r.credit_code] = r  # a live entry wins over a withdrawn one

    added: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    log: list[tuple[str, Placement, Placement]] = []
    unchanged = reinstated = 0
    for row, target in placed:
        entry = existing.pop(row.credit_code, None)
        if entry is None:
            added.append(_new_prospect(row, batch_id, target.id, version, now))
            continue
        fields = _business(row)
        outlet_id = entry.outlet_id
        if entry.assignee_id is None:  # in a pool: follows its row
            outlet_id = target.id
        differs = outlet_id != entry.outlet_id or not all(
            _same(c, entry._mapping[c], fields[c]) for c in BUSINESS
        )
        withdrawn = entry.withdrawn_at is not None
        if not differs and not withdrawn:
            unchanged += 1
            continue
        reinstated += withdrawn
        old: Placement = (None, None) if withdrawn else (entry.outlet_id, entry.assignee_id)
        changed.append(
            {
                "b_id": entry.id,
                **{f"v_{c}": fields[c] for c in BUSINESS},
                "v_outlet_id": outlet_id,
                "v_batch_version": version,
                "v_updated_at": now,
            }
        )
        log.append((entry.id, old, (outlet_id, entry.assignee_id)))

    gone = [
        (e.id, (e.outlet_id, e.assignee_id))
        for code, e in existing.items()
        if e.withdrawn_at is None and code not in kept
    ]
    _update_entries(session, changed, log)
    withdraw(session, gone, WithdrawReason.REMOVED, now)
    bulk_insert(session, "prospect", by_outlet(added))
    # every live entry in reach is listed by this version now (withdrawn ones are not)
    listed = update(_p).where(_p.c.batch_id == batch_id, _p.c.withdrawn_at.is_(None))
    if clause is not None:
        listed = listed.where(clause)
    session.execute(listed.values(batch_version=version))
    session.execute(update(_b).where(_b.c.id == batch_id).values(version=version))
    record_change(session, "whitelist_batch", batch_id)
    result = CommitResult(
        batch_id=batch_id,
        version=version,
        added=len(added) + reinstated,
        updated=len(changed) - reinstated,
        unchanged=unchanged,
        withdrawn=len(gone),
        reinstated=reinstated,
        rows_bad=rows_bad,
    )
    _record_version(session, user, preview, result, mode, now)
    return result


def by_outlet(prospects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """New prospects in the order they are written: an outlet's together (file order within
    it). Nearly everything after an import works one outlet at a time (its devices' pulls,
    its manager's table, its auto-assign), and rows written together share pages: an
    outlet's 2,600 handovers then rewrite a few hundred pages, not every page of the batch."""
    return sorted(prospects, key=itemgetter("outlet_id"))


_UPDATED = (*BUSINESS, "outlet_id", "batch_version", "updated_at", "rev")


def _update_entries(
    session: Session, values: list[dict[str, Any]], log: list[tuple[str, Placement, Placement]]
) -> None:
    """Rewrite changed entries (business fields, outlet, back from withdrawn), each with
    its change-log entry. Set-based: the new values go into a temporary table
    (``changes.staged``), then one UPDATE … FROM it; a row-by-row executemany UPDATE would cost
    a round trip per entry on PostgreSQL."""
    if not values:
        return
    seqs = bulk_record(session, "prospect", log)
    rows = [
        {"id": v["b_id"], **{c: v[f"v_{c}"] for c in _UPDATED if c != "rev"}, "rev": seq}
        for v, seq in zip(values, seqs, strict=True)
    ]
    with staged(session, _IMPORT_STAGE, rows):
        session.execute(
            update(_p)
            .where(_p.c.id == _IMPORT_STAGE.c.id)
            .values(
                {c: _IMPORT_STAGE.c[c] for c in _UPDATED}
                | {"withdrawn_at": None, "withdrawn_reason": ""}
            )
        )


_IMPORT_STAGE = Table(
    "import_update",
    MetaData(),
    Column("id", String, primary_key=True),
    *(Column(c, _p.c[c].type) for c in _UPDATED),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)


# -- withdrawal and expiry --------------------------------------------------------------


def withdraw(
    session: Session,
    entries: Sequence[tuple[str, Placement]],
    reason: WithdrawReason,
    now: datetime,
) -> int:
    """Withdraw prospects (id, placement where they stand): out of everyone's scope, so
    each device drops them at its next pull; their logs stay. Set-based: one change-log
    entry each, then one UPDATE … FROM the log stamps them."""
    if not entries:
        return 0
    seqs = bulk_record(session, "prospect", [(pid, was, (None, None)) for pid, was in entries])
    stamps = [{"id": pid, "rev": seq} for (pid, _), seq in zip(entries, seqs, strict=True)]
    with staged(session, _WITHDRAW_STAGE, stamps):
        session.execute(
            update(_p)
            .where(_p.c.id == _WITHDRAW_STAGE.c.id)
            .values(
                rev=_WITHDRAW_STAGE.c.rev,
                withdrawn_at=now,
                withdrawn_reason=reason.value,
                updated_at=now,
            )
        )
    return len(entries)


_WITHDRAW_STAGE = Table(
    "withdraw_stage",
    MetaData(),
    Column("id", String, primary_key=True),
    Column("rev", BigInteger, nullable=False),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)


def withdraw_bad_rows(
    session: Session,
    admin: User,
    batch_id: str,
    prospect_ids: Sequence[str],
    reason: str,
    now: datetime | None = None,
) -> tuple[int, int]:
    """An admin withdraws entries of ``batch_id`` that head office judged bad rows (reason
    "quality"), inside ``write_session``: each leaves every device at its next pull, its
    logs and events stay, an audit event names the admin. Returns (withdrawn now, named
    but withdrawn before: left as they were). All or nothing: 403 ``auth.forbidden``
    unless an admin, 404 ``import.batch_unknown``, 422 ``quality.not_in_batch`` when an id
    is not an entry of this batch. ``reason`` (the admin's words) stays with each entry's
    audit event (``note``), which the quality report shows."""
    if admin.role != Role.ADMIN or not admin.active:
        raise StoreError("auth.forbidden", 403)
    _known_batch(session, batch_id)
    ids = sorted(set(prospect_ids))
    found: dict[str, tuple[Placement, bool]] = {}
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        stmt = select(_p.c.id, _p.c.outlet_id, _p.c.assignee_id, _p.c.withdrawn_at).where(
            _p.c.batch_id == batch_id, _p.c.id.in_(chunk)
        )
        for r in session.execute(stmt):
            found[r[0]] = ((r[1], r[2]), r[3] is not None)
    missing = [i for i in ids if i not in found]
    if missing:
        raise StoreError("quality.not_in_batch", 422, count=len(missing), first=missing[0])
    live = [(pid, where) for pid, (where, gone) in found.items() if not gone]
    live.sort()
    now = now or utcnow()
    done = withdraw(session, live, WithdrawReason.QUALITY, now)
    audit = [
        {
            "id": new_id(),
            "user_id": admin.id,
            "action": WITHDRAW_AUDIT,
            "prospect_id": pid,
            "device_id": "",
            "occurred_at": now,
            "recorded_at": now,
            "note": reason,
        }
        for pid, _ in live
    ]
    for start in range(0, len(audit), CHUNK):
        session.execute(insert(AuditEvent.__table__), audit[start : start + CHUNK])  # type: ignore[attr-defined]
    log.info(
        "admin %s withdrew %d entries of batch %s as bad rows: %s", admin.id, done, batch_id, reason
    )
    return done, len(ids) - done


def expire_batches(session: Session, today: date | None = None, now: datetime | None = None) -> int:
    """Withdraw (reason "expired") the live entries of every batch whose ``valid_until`` is
    before ``today`` (Beijing); run inside ``write_session``. Returns how many."""
    today = today or beijing_today()
    stmt = (
        select(_p.c.id, _p.c.outlet_id, _p.c.assignee_id)
        .join(_b, _b.c.id == _p.c.batch_id)
        .where(_b.c.valid_until < today, _p.c.withdrawn_at.is_(None))
        .order_by(_p.c.id)
    )
    entries = [(r[0], (r[1], r[2])) for r in session.execute(stmt)]
    return withdraw(session, entries, WithdrawReason.EXPIRED, now or utcnow())


# -- the batch list ----------------------------------------------------------------------


def list_batches(session: Session, scope: Scope, today: date | None = None) -> list[dict[str, Any]]:
    """Every batch with entries in ``scope``'s reach (an admin: every batch), newest first,
    with its live entries counted by status and by outlet (within reach), and its list
    quality within reach (``quality``: worked, invalid, wrong contact and the rates)."""
    today = today or beijing_today()
    reach = reach_of(session, scope)
    names = {o.id: o for o in reach.by_code.values()}
    stmt = (
        select(_p.c.batch_id, _p.c.outlet_id, _p.c.status, func.count())
        .where(_p.c.withdrawn_at.is_(None))
        .group_by(_p.c.batch_id, _p.c.outlet_id, _p.c.status)
    )
    clause = _reach_clause(scope, reach)
    if clause is not None:
        stmt = stmt.where(clause)
    counts: dict[str, list[tuple[str, str, int]]] = {}
    for batch_id, outlet_id, status, n in session.execute(stmt):
        counts.setdefault(batch_id, []).append((outlet_id, status, int(n)))
    withdrawn_stmt = (
        select(_p.c.batch_id, func.count())
        .where(_p.c.withdrawn_at.is_not(None))
        .group_by(_p.c.batch_id)
    )
    if clause is not None:
        withdrawn_stmt = withdrawn_stmt.where(clause)
    withdrawn = {r[0]: int(r[1]) for r in session.execute(withdrawn_stmt)}
    judged = batch_summaries(session, scope)
    batches = session.execute(select(_b).order_by(_b.c.created_at.desc(), _b.c.id)).all()
    out = []
    for b in batches:
        mine = counts.get(b.id, [])
        if scope.role != Role.ADMIN and not mine and b.created_by != scope.user_id:
            continue
        by_status: dict[str, int] = {}
        by_outlet: dict[str, int] = {}
        for outlet_id, status, n in mine:
            by_status[status] = by_status.get(status, 0) + n
            by_outlet[outlet_id] = by_outlet.get(outlet_id, 0) + n
        outlets = []
        for outlet_id, n in by_outlet.items():
            point = names.get(outlet_id)
            outlets.append(
                {
                    "outlet_id": outlet_id,
                    "code": point.code if point else "",
                    "name": point.name if point else "",
                    "count": n,
                }
            )
        outlets.sort(key=lambda o: (-o["count"], o["code"]))
        out.append(
            {
                "id": b.id,
                "name": b.name,
                "product": b.product,
                "source": b.source,
                "version": int(b.version),
                "valid_from": b.valid_from,
                "valid_until": b.valid_until,
                "created_at": b.created_at,
                "expired": b.valid_until < today,
                "total": sum(by_status.values()),
                "withdrawn": withdrawn.get(b.id, 0),
                "by_status": dict(sorted(by_status.items())),
                "by_outlet": outlets,
                "quality": _quality_summary(judged.get(b.id)),
            }
        )
    return out


def _quality_summary(q: Quality | None) -> dict[str, Any]:
    q = q or Quality()
    return {
        "worked": q.worked,
        "invalid": q.invalid,
        "wrong_contact": q.wrong_contact,
        "invalid_rate": q.invalid_rate,
        "wrong_contact_rate": q.wrong_contact_rate,
    }


def batch_versions(session: Session, scope: Scope, batch_id: str) -> list[dict[str, Any]]:
    """The imports of a batch in reach, newest first; 404 ``import.batch_unknown``."""
    visible = [b["id"] for b in list_batches(session, scope)]
    if batch_id not in visible:
        raise StoreError("import.batch_unknown", 404)
    users = _u = User.__table__
    stmt = (
        select(_v, users.c.name.label("imported_by_name"))
        .outerjoin(_u, _u.c.id == _v.c.imported_by)
        .where(_v.c.batch_id == batch_id)
        .order_by(_v.c.version.desc())
    )
    return [
        {
            "version": int(r.version),
            "file_name": r.file_name,
            "mode": r.mode,
            "imported_at": r.imported_at,
            "imported_by": r.imported_by,
            "imported_by_name": r.imported_by_name or "",
            "rows_total": int(r.rows_total),
            "rows_bad": int(r.rows_bad),
            "added": int(r.added),
            "updated": int(r.updated),
            "unchanged": int(r.unchanged),
            "withdrawn": int(r.withdrawn),
        }
        for r in session.execute(stmt)
    ]


# -- the doors: the API and the command line share these ---------------------------------


@dataclass(frozen=True)
class Checked:
    """A file checked as one user would import it: the preview, the context it was
    checked against, and how many valid rows each outlet (by code) would take."""

    preview: ImportPreview
    context: ImportContext
    outlets: dict[str, int]
    batch_id: str | None


def check_file(
    engine: Engine,
    user: User,
    data: bytes,
    file_name: str,
    *,
    datum: Datum = Datum.WGS84,
    mapping: dict[str, ImportField | str] | None = None,
    batch_id: str | None = None,
) -> Checked:
    """Read and check a file as ``user`` would import it; nothing stored, no writer's
    lock taken. ``ImportFileError`` for a refused file, ``StoreError`` for a user who may
    not import or an unknown batch."""
    with read_session(engine) as session:
        scope = importer_scope(session, user)
        if batch_id is not None:
            _known_batch(session, batch_id)
        context = import_context(session, scope, batch_id, datum=datum, mapping=mapping)
        reach = reach_of(session, scope)
    found = whitelist_import.preview(data, file_name, context)
    return Checked(found, context, outlet_counts(route_rows(found.rows, reach)), batch_id)


def commit_checked(
    engine: Engine,
    user: User,
    data: bytes,
    checked: Checked,
    *,
    mode: str = "all",
    meta: BatchMeta | None = None,
) -> CommitResult:
    """Commit a checked file in one transaction (``commit``'s refusals apply).

    The file was read before the writers' lock is taken (a 100,000-row file takes
    seconds); inside it the context is read again, and the file checked again only if
    what it was checked against has changed meanwhile (another import listed one of its
    credit codes, or the importer's reach changed)."""
    found, batch_id = checked.preview, checked.batch_id
    if mode not in MODES:
        raise StoreError("import.mode_invalid", 422)
    if batch_id is None and meta is None:
        raise StoreError("import.meta_missing", 422)
    if mode == "all" and found.problems:  # refused before any lock is taken
        raise StoreError("import.has_errors", 422, count=found.bad_lines)
    with write_session(engine) as session:
        scope = importer_scope(session, user)
        before = checked.context
        fresh = import_context(
            session, scope, batch_id, datum=before.datum, mapping=dict(before.mapping)
        )
        if _stale(found, before, fresh):
            found = whitelist_import.preview(data, found.file_name, fresh)
        keep: frozenset[str] = frozenset()
        if mode == "valid_only" and batch_id is not None and found.problems:
            keep = refused_credit_codes(data, found)
        return commit(session, user, found, mode=mode, meta=meta, batch_id=batch_id, keep=keep)


def import_file(
    engine: Engine,
    user: User,
    data: bytes,
    file_name: str,
    *,
    mode: str = "all",
    meta: BatchMeta | None = None,
    batch_id: str | None = None,
    datum: Datum = Datum.WGS84,
    mapping: dict[str, ImportField | str] | None = None,
) -> tuple[ImportPreview, CommitResult]:
    """``check_file`` then ``commit_checked``."""
    if mode not in MODES:
        raise StoreError("import.mode_invalid", 422)
    if batch_id is None and meta is None:
        raise StoreError("import.meta_missing", 422)
    checked = check_file(
        engine, user, data, file_name, datum=datum, mapping=mapping, batch_id=batch_id
    )
    return checked.preview, commit_checked(engine, user, data, checked, mode=mode, meta=meta)


def parse_meta(
    name: str | None,
    product: str | None,
    source: str | None,
    valid_from: str | None,
    valid_until: str | None,
) -> BatchMeta:
    """A new batch's description from text (a form, the command line), checked: 422
    ``import.meta_missing``, ``import.date_invalid``, ``import.dates_order``,
    ``import.source_invalid``."""
    start, end = _date(valid_from, "valid_from"), _date(valid_until, "valid_until")
    name, product = (name or "").strip(), (product or "").strip()
    if not name or not product or start is None or end is None:
        raise StoreError("import.meta_missing", 422)
    if len(name) > 200 or len(product) > 100:
        raise StoreError("import.meta_missing", 422)
    if end < start:
        raise StoreError("import.dates_order", 422)
    try:
        kind = BatchSource((source or BatchSource.HEAD_OFFICE).strip())
    except ValueError as exc:
        raise StoreError("import.source_invalid", 422) from exc
    return BatchMeta(name, product, kind, start, end)


def _date(text: str | None, field: str) -> date | None:
    if text is None or not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise StoreError("import.date_invalid", 422, field=field) from exc


def _known_batch(session: Session, batch_id: str) -> None:
    if session.execute(select(_b.c.id).where(_b.c.id == batch_id)).first() is None:
        raise StoreError("import.batch_unknown", 404)


def _stale(found: ImportPreview, before: ImportContext, now: ImportContext) -> bool:
    if before.outlet_codes != now.outlet_codes:
        return True
    active = now.active_credit_codes
    return any(r.credit_code in active for r in found.rows)


def expire(engine: Engine, today: date | None = None) -> int:
    """``expire_batches`` in its own transaction (the housekeeping runner, the CLI)."""
    with write_session(engine) as session:
        return expire_batches(session, today)

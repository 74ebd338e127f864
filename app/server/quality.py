"""List quality in the central store: the counts behind ``app.services.quality`` (whose
docstring holds the definitions), the report per batch and outlet, and the flagged entries
head office reviews before withdrawing them (``batches.withdraw_bad_rows``).

Who reads what: an admin every outlet; a sub-branch or outlet manager its outlets only
(``scope.outlet_clause``); a marketer nothing (403 ``auth.forbidden``). A batch with no
entry in the reader's reach answers as an unknown one (404 ``import.batch_unknown``).

A closed entry's reason is read from the applied funnel event that closed it: the latest
applied event to its current (closed) status. Closing is final, so there is one; the
"latest" only makes the read deterministic should a store hold two.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, case, func, or_, select
from sqlmodel import Session

from app.models import AuditEvent, FunnelEvent, Outlet, Prospect, Role, User, WhitelistBatch
from app.models.audit import WITHDRAW_AUDIT
from app.models.feedback import FeedbackReason
from app.models.prospect import CLOSED_STATUSES
from app.models.quality import (
    QualityEntriesOut,
    QualityEntryOut,
    QualityNoteOut,
    QualityOutletOut,
    QualityReportOut,
    ReasonCountOut,
    ReasonFilter,
)
from app.server.errors import StoreError
from app.server.scope import Scope, outlet_clause, scope_of
from app.services import quality
from app.services.quality import REASONS, UNSPECIFIED, Quality, QualityCount

READERS = frozenset({Role.ADMIN, Role.SUBBRANCH_MANAGER, Role.OUTLET_MANAGER})

_p = Prospect.__table__  # type: ignore[attr-defined]
_fe = FunnelEvent.__table__  # type: ignore[attr-defined]
_b = WhitelistBatch.__table__  # type: ignore[attr-defined]
_o = Outlet.__table__  # type: ignore[attr-defined]
_u = User.__table__  # type: ignore[attr-defined]
_a = AuditEvent.__table__  # type: ignore[attr-defined]
_CLOSED = sorted(CLOSED_STATUSES)
_GIVEN = [r.value for r in FeedbackReason]


def reader_scope(session: Session, user: User) -> Scope:
    """``user``'s scope, or 403 ``auth.forbidden`` unless they may read list quality."""
    if user.role not in READERS or not user.active:
        raise StoreError("auth.forbidden", 403)
    return scope_of(session, user)


def _closing(column: str) -> Any:
    """``column`` of the applied event that closed ``prospect`` (correlated to it alone;
    the module says which event that is)."""
    e = _fe.alias("closing")
    return (
        select(e.c[column])
        .where(e.c.prospect_id == _p.c.id, e.c.applied.is_(True), e.c.to_status == _p.c.status)
        .order_by(e.c.recorded_at.desc(), e.c.id.desc())
        .limit(1)
        .correlate(_p)
        .scalar_subquery()
    )


def counts(
    session: Session, scope: Scope, batch_id: str | None = None, outlet_id: str | None = None
) -> list[QualityCount]:
    """Entries in ``scope``'s reach (withdrawn ones included) alike in batch, outlet,
    status, reason and withdrawal, counted; of one batch or of all, of one outlet or of
    every one in reach."""
    reason = _closing("close_reason")
    inner = select(
        _p.c.batch_id,
        _p.c.outlet_id,
        _p.c.status,
        case((_p.c.status.in_(_CLOSED), func.coalesce(reason, "")), else_="").label("reason"),
        case((_p.c.withdrawn_at.is_(None), 0), else_=1).label("withdrawn"),
    ).where(outlet_clause(scope, _p.c.outlet_id))
    if batch_id is not None:
        inner = inner.where(_p.c.batch_id == batch_id)
    if outlet_id is not None:
        inner = inner.where(_p.c.outlet_id == outlet_id)
    sub = inner.subquery()
    keys = (sub.c.batch_id, sub.c.outlet_id, sub.c.status, sub.c.reason, sub.c.withdrawn)
    stmt = select(*keys, func.count()).group_by(*keys)
    return [
        QualityCount(
            batch_id=str(r[0]),
            outlet_id=str(r[1]),
            status=str(r[2]),
            reason=str(r[3] or ""),
            withdrawn=bool(r[4]),
            n=int(r[5]),
        )
        for r in session.execute(stmt)
    ]


def batch_summaries(session: Session, scope: Scope) -> dict[str, Quality]:
    """Every batch's list quality within ``scope``'s reach (the batch list's column)."""
    return quality.by_batch(counts(session, scope))


def visible_batch(session: Session, scope: Scope, batch_id: str) -> Row[Any]:
    """The batch, if it has an entry in ``scope``'s reach (an admin: if it exists); else
    404 ``import.batch_unknown``, the answer an unknown batch gets."""
    batch = session.execute(select(_b).where(_b.c.id == batch_id)).first()
    if batch is None:
        raise StoreError("import.batch_unknown", 404)
    if scope.role != Role.ADMIN:
        held = session.execute(
            select(_p.c.id)
            .where(_p.c.batch_id == batch_id, outlet_clause(scope, _p.c.outlet_id))
            .limit(1)
        ).first()
        if held is None:
            raise StoreError("import.batch_unknown", 404)
    return batch


def _reasons(q: Quality) -> list[ReasonCountOut]:
    out = []
    for reason in REASONS:
        invalid, declined = q.reasons[reason]["invalid"], q.reasons[reason]["declined"]
        out.append(
            ReasonCountOut(
                reason=reason, invalid=invalid, declined=declined, total=invalid + declined
            )
        )
    return out


def _figures(q: Quality) -> dict[str, Any]:
    return {
        "entries": q.entries,
        "withdrawn": q.withdrawn,
        "worked": q.worked,
        "invalid": q.invalid,
        "declined": q.declined,
        "wrong_contact": q.wrong_contact,
        "invalid_rate": q.invalid_rate,
        "wrong_contact_rate": q.wrong_contact_rate,
    }


def report(session: Session, scope: Scope, batch_id: str) -> QualityReportOut:
    """The batch's list quality within ``scope``'s reach: the whole, each outlet (worst
    invalid rate first), the reasons, and the latest notes."""
    batch = visible_batch(session, scope, batch_id)
    rows = counts(session, scope, batch_id)
    whole = quality.tally(rows)
    outlets = {r[0]: r for r in session.execute(select(_o.c.id, _o.c.code, _o.c.name))}
    per_outlet = []
    for outlet_id, q in quality.by_outlet(rows).items():
        known = outlets.get(outlet_id)
        per_outlet.append(
            QualityOutletOut(
                outlet_id=outlet_id,
                code=known.code if known else "",
                name=known.name if known else "",
                reasons=_reasons(q),
                **_figures(q),
            )
        )
    per_outlet.sort(
        key=lambda o: (o.invalid_rate is None, -(o.invalid_rate or 0.0), o.code, o.outlet_id)
    )
    return QualityReportOut(
        batch_id=batch.id,
        name=batch.name,
        product=batch.product,
        version=int(batch.version),
        valid_from=batch.valid_from,
        valid_until=batch.valid_until,
        reasons=_reasons(whole),
        outlets=per_outlet,
        notes=latest_notes(session, scope, batch_id),
        **_figures(whole),
    )


def _closed_in_batch(scope: Scope, batch_id: str) -> ColumnElement[bool]:
    """Closed entries of the batch in reach, joined to the event that closed them."""
    return and_(
        _p.c.batch_id == batch_id,
        outlet_clause(scope, _p.c.outlet_id),
        _p.c.status.in_(_CLOSED),
        _fe.c.id == _closing("id"),
    )


def latest_notes(
    session: Session, scope: Scope, batch_id: str, limit: int = quality.NOTES_SHOWN
) -> list[QualityNoteOut]:
    """The newest closing notes (as the store heard them: device clocks order nothing)."""
    stmt = (
        select(
            _p.c.id,
            _p.c.company_name,
            _o.c.code,
            _p.c.status,
            _fe.c.close_reason,
            _fe.c.close_note,
            _fe.c.occurred_at,
        )
        .select_from(
            _p.join(_fe, _fe.c.prospect_id == _p.c.id).outerjoin(_o, _o.c.id == _p.c.outlet_id)
        )
        .where(_closed_in_batch(scope, batch_id), _fe.c.close_note != "")
        .order_by(_fe.c.recorded_at.desc(), _fe.c.id.desc())
        .limit(limit)
    )
    return [
        QualityNoteOut(
            prospect_id=r[0],
            company_name=r[1],
            outlet_code=r[2] or "",
            status=r[3],
            reason=quality.reason_of(r[3], r[4]),
            note=r[5],
            at=r[6],
        )
        for r in session.execute(stmt)
    ]


def _reason_clause(reason: ReasonFilter) -> ColumnElement[bool]:
    if reason == ReasonFilter.UNSPECIFIED:
        return or_(_fe.c.close_reason.is_(None), _fe.c.close_reason.not_in(_GIVEN))
    return _fe.c.close_reason == reason.value


def entries(
    session: Session,
    scope: Scope,
    batch_id: str,
    *,
    reason: ReasonFilter | None = None,
    status: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> QualityEntriesOut:
    """The batch's closed entries in reach (of one reason, one closing status), the most
    recently closed first, a page at a time; withdrawn ones say so."""
    visible_batch(session, scope, batch_id)
    where = [_closed_in_batch(scope, batch_id)]
    if reason is not None:
        where.append(_reason_clause(reason))
    if status is not None:
        where.append(_p.c.status == status)
    joined = _p.join(_fe, _fe.c.prospect_id == _p.c.id)
    total = session.execute(select(func.count()).select_from(joined).where(*where)).scalar_one()
    holder = _u.alias("holder")
    closer = _u.alias("closer")
    stmt = (
        select(
            _p.c.id,
            _p.c.company_name,
            _p.c.outlet_id,
            _o.c.code,
            _o.c.name,
            _p.c.assignee_id,
            holder.c.name,
            _p.c.status,
            _fe.c.close_reason,
            _fe.c.close_note,
            _fe.c.occurred_at,
            _fe.c.actor_id,
            closer.c.name,
            _p.c.withdrawn_at,
            _p.c.withdrawn_reason,
        )
        .select_from(
            joined.outerjoin(_o, _o.c.id == _p.c.outlet_id)
            .outerjoin(holder, holder.c.id == _p.c.assignee_id)
            .outerjoin(closer, closer.c.id == _fe.c.actor_id)
        )
        .where(*where)
        .order_by(_fe.c.recorded_at.desc(), _p.c.id)
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    items = _with_withdrawals(session, [_entry(r) for r in session.execute(stmt)])
    return QualityEntriesOut(items=items, total=int(total), page=page, page_size=page_size)


def _with_withdrawals(session: Session, items: list[QualityEntryOut]) -> list[QualityEntryOut]:
    """The page's entries head office withdrew as bad rows, with its words and who: the
    latest ``withdraw_quality`` audit event of each (one query over the page)."""
    ids = [e.prospect_id for e in items if e.withdrawn and e.withdrawn_reason == "quality"]
    if not ids:
        return items
    stmt = (
        select(_a.c.prospect_id, _a.c.note, _u.c.name)
        .select_from(_a.outerjoin(_u, _u.c.id == _a.c.user_id))
        .where(_a.c.action == WITHDRAW_AUDIT, _a.c.prospect_id.in_(ids))
        .order_by(_a.c.occurred_at)
    )
    found = {pid: (note or "", name or "") for pid, note, name in session.execute(stmt)}
    return [
        e.model_copy(
            update={
                "withdrawn_note": found[e.prospect_id][0],
                "withdrawn_by_name": found[e.prospect_id][1],
            }
        )
        if e.prospect_id in found
        else e
        for e in items
    ]


def _entry(r: Sequence[Any]) -> QualityEntryOut:
    return QualityEntryOut(
        prospect_id=r[0],
        company_name=r[1],
        outlet_id=r[2],
        outlet_code=r[3] or "",
        outlet_name=r[4] or "",
        assignee_id=r[5],
        assignee_name=r[6] or "",
        status=r[7],
        reason=quality.reason_of(r[7], r[8]) or UNSPECIFIED,
        note=r[9] or "",
        closed_at=r[10],
        closed_by=r[11],
        closed_by_name=r[12] or "",
        withdrawn=r[13] is not None,
        withdrawn_reason=r[14] or "",
    )

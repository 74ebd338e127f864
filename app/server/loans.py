"""The loan-system feed (贷款回流): loan events in, matched to prospects, funnel moved,
credit shared (分润); the admin's queue of the unmatched; shares and ratios by hand.

The loan system (a service account, ``app.server.api_keys``) posts up to 500 events at a
time to ``POST /loans/events``; ``main.py import-loans FILE`` reads the same fields from a
CSV for a bank without an API (``source`` "csv"). Both call ``report_events``. One event is
one status of one loan: external loan id, credit code, status, amount in 元, business
date, booking outlet's code, originator's and booker's employee numbers, product.

Each event is judged alone, in its own savepoint: it is taken whole or not at all, and
its answer is one of

- ``rejected`` with a code, nothing stored:
  the event breaks the wire model (``LoanEventIn``: ``loan.field_missing``,
  ``loan.amount_invalid`` for 0, negative or over 10,000,000 元, ``loan.date_future``, …);
  the credit code's check characters are wrong (GB 32100, ``validation.credit_code.*``);
  the booking outlet's code or an employee number names no one
  (``loan.outlet_unknown``, ``loan.originator_unknown``, ``loan.booker_unknown``);
  the same (loan id, status) was reported before with other content (amount, date,
  credit code, outlet, people, product: ``loan.conflict``);
  or the status goes backwards for that loan (``loan.status_backwards``): a loan's
  statuses come in the order applied < approved < disbursed < overdue < repaid, so a
  loan reported ``disbursed`` cannot then report ``applied``, and an overdue loan may be
  repaid but a repaid one cannot fall overdue. Skipping a status is fine;
- ``duplicate``: the same (loan id, status) with the same content again: nothing changes
  (the loan system may resend freely);
- ``queued``: no live (not withdrawn) prospect carries the credit code; stored as
  ``unmatched`` for an admin (``GET /loans/unmatched``), who matches it to a prospect
  (``POST /loans/unmatched/{id}/match``: then applied as below) or dismisses it with a
  reason (``…/dismiss``);
- ``applied`` or ``recorded``: matched to its prospect: the prospect an earlier event of
  the same loan went to, while it is live; else the live prospect with that credit code,
  one held by a marketer before one in a pool, then the most recently updated.

A matched ``applied``, ``approved`` or ``disbursed`` is a funnel move by the loan system
(``FunnelEvent.actor_id`` = ``LOAN_SYSTEM_ACTOR``, dated the business day's start in
Beijing), judged by the funnel's one rule (``funnel.move_refusal``) against the status the
store holds, except that the pool's "claim first" is for people: the loan exists whether
or not a marketer took the prospect. A move the rule allows changes the prospect's status
(a disbursement also its amount) and is ``applied``; one it refuses (the prospect is
already there or beyond, or closed) stays recorded as an unapplied funnel event with the
rule's code, like a device's stale move, and the loan event is ``recorded``. Either way
the rows go out with their change-log entries, so devices pull them. ``repaid`` and
``overdue`` are kept with the loan (``recorded``) and move no funnel.

Every matched disbursement (applied or recorded) is shared out at once (``ProfitShare``,
the rule in ``app.services.shares``): the marketer is the prospect's assignee at that
moment, the originator the named employee, the booking outlet the loan's; the ratio the
product's (``share_ratio``), else the settings'. An admin may re-split a loan by hand
(``set_shares``: the shares must sum to the loan's amount exactly; the change is kept with
its reason, before and after, in ``share_adjustment``).

No input answers 5xx: a body the envelope refuses is 422 ``request.invalid``; within it,
each event has its answer; an unforeseen failure of one event rolls back that event
alone, is kept as an incident for the admins and answered ``loan.incident``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import and_, delete, exists, func, or_, select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlmodel import Session

from app.config import Settings
from app.i18n import Msg, t
from app.models import FunnelEvent, Incident, Outlet, Prospect, User
from app.models.ids import new_id, utcnow
from app.models.loan import (
    LOAN_AMOUNT_MAX,
    LOAN_SYSTEM_ACTOR,
    LoanEvent,
    LoanEventIn,
    LoanEventOut,
    LoanEventResult,
    LoanEventsPage,
    LoanEventState,
    LoanListItem,
    LoanOutcome,
    LoanSharesOut,
    LoansPage,
    LoansQuery,
    LoanStatus,
    ProfitShare,
    ShareAdjustment,
    ShareAdjustmentOut,
    ShareOut,
    ShareParty,
    ShareRatio,
    ShareRatioOut,
    ShareRatiosIn,
    ShareRatiosOut,
    SharesIn,
)
from app.models.user import Role
from app.server.changes import record_change
from app.server.errors import StoreError
from app.server.scope import outlet_clause, placement, scope_of
from app.services.clock import utc_midnight
from app.services.funnel import move_refusal
from app.services.masking import mask_credit_code
from app.services.shares import Ratio, ratio_problem, split
from app.services.validation import ValidationError as CodeError
from app.services.validation import validate_credit_code

log = logging.getLogger(__name__)

# A loan's statuses in the order the loan system reports them (an overdue loan may still
# be repaid; a repaid one does not fall overdue).
STATUS_ORDER: dict[str, int] = {
    LoanStatus.APPLIED: 0,
    LoanStatus.APPROVED: 1,
    LoanStatus.DISBURSED: 2,
    LoanStatus.OVERDUE: 3,
    LoanStatus.REPAID: 4,
}
FUNNEL_STATUSES = frozenset({LoanStatus.APPLIED, LoanStatus.APPROVED, LoanStatus.DISBURSED})
INCIDENT_KIND = "loan_event"
CHUNK = 500  # events per transaction from a file, as many as one request may carry
_le = LoanEvent.__table__  # type: ignore[attr-defined]
_p = Prospect.__table__  # type: ignore[attr-defined]
_share = ProfitShare.__table__  # type: ignore[attr-defined]
_outlet = Outlet.__table__  # type: ignore[attr-defined]
# the content of an event: what a replay must repeat to be a duplicate
_CONTENT = (
    "amount",
    "occurred_on",
    "credit_code",
    "product",
    "booking_outlet_id",
    "originator_id",
    "booker_id",
)
# which code a broken field of ``LoanEventIn`` answers
_FIELD_CODES = {
    "loan_id": "loan.loan_id_invalid",
    "status": "loan.status_unknown",
    "amount": "loan.amount_invalid",
    "occurred_on": "loan.date_invalid",
    "booking_outlet_code": "loan.outlet_code_invalid",
    "originator_employee_no": "loan.employee_no_invalid",
    "booker_employee_no": "loan.employee_no_invalid",
    "product": "loan.product_invalid",
}


class Refused(Exception):
    """One event refused; ``code`` is an i18n key, ``params`` fill it."""

    def __init__(self, code: str, /, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Source:
    """Where a batch of events came from."""

    name: str  # "api" / "csv" / "demo" (the demo data's feed, app.server.admin)
    api_key_id: str | None = None


def default_ratio(settings: Settings) -> Ratio:
    """The store's split for a product without its own (settings ``share_*``)."""
    return Ratio(
        settings.share_marketer_bp,
        settings.share_originator_bp,
        settings.share_booking_outlet_bp,
        settings.share_remainder_to,
    )


# -- the feed ----------------------------------------------------------------------------


def report_events(
    session: Session,
    items: Sequence[object],
    *,
    source: Source,
    ratio: Ratio,
    indexes: Sequence[int] | None = None,
) -> list[LoanEventResult]:
    """Take each event (a JSON value: an object as ``LoanEventIn`` reads it) in its own
    savepoint, inside ``db.write_session``; one answer each, in order. ``indexes`` name
    them in the answers (a CSV's lines); by default their places from 0."""
    results = []
    for i, item in enumerate(items):
        index = indexes[i] if indexes is not None else i
        results.append(_report_one(session, index, item, source, ratio))
    return results


def _report_one(
    session: Session, index: int, item: object, source: Source, ratio: Ratio
) -> LoanEventResult:
    loan_id, status = _names(item)
    try:
        event = _read(item)
        loan_id, status = event.loan_id, event.status
        with session.begin_nested():
            outcome, code = _take(session, event, source, ratio)
        return _result(index, loan_id, status, outcome, code)
    except Refused as exc:
        return _result(index, loan_id, status, LoanOutcome.REJECTED, exc.code, **exc.params)
    except (OperationalError, InterfaceError):
        raise  # the database is gone: nothing to record the answer in
    except Exception as exc:  # one bad event never stops the others
        incident = _incident(session, item, exc)
        return _result(
            index, loan_id, status, LoanOutcome.REJECTED, "loan.incident", incident=incident
        )


def _result(
    index: int, loan_id: str, status: str, outcome: LoanOutcome, code: str, /, **params: object
) -> LoanEventResult:
    return LoanEventResult(
        index=index,
        loan_id=loan_id,
        status=status,
        outcome=outcome,
        code=code,
        message=t(code, **params) if code else "",
    )


def _names(item: object) -> tuple[str, str]:
    """The loan id and status an answer names, as far as the item has them."""
    if not isinstance(item, dict):
        return "", ""
    loan_id, status = item.get("loan_id"), item.get("status")
    clean = lambda v: v[:64] if isinstance(v, str) and _storable(v) else ""  # noqa: E731
    return clean(loan_id), clean(status)


def _storable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate ("\ud800" is valid JSON)
        return False
    return "\x00" not in text


def _read(item: object) -> LoanEventIn:
    """The event as the wire model reads it, its credit code checked (GB 32100)."""
    if not isinstance(item, dict):
        raise Refused("loan.invalid", detail="not an object")
    if any(isinstance(v, str) and not _storable(v) for v in item.values()):
        raise Refused("loan.invalid", detail="unreadable text")
    try:
        event = LoanEventIn.model_validate(item)
    except ValidationError as exc:
        raise _refusal(item, exc) from None
    try:
        validate_credit_code(event.credit_code)
    except CodeError as exc:
        raise Refused(exc.code) from None
    return event


def _refusal(item: dict[str, Any], exc: ValidationError) -> Refused:
    """The first broken field's code (in the model's field order)."""
    order = list(LoanEventIn.model_fields)
    errors = sorted(
        exc.errors(),
        key=lambda e: order.index(e["loc"][0]) if e["loc"] and e["loc"][0] in order else 99,
    )
    error = errors[0]
    field = str(error["loc"][0]) if error["loc"] else ""
    if error["type"] == "missing":
        return Refused("loan.field_missing", field=field)
    if error["type"] == "extra_forbidden":
        return Refused("loan.field_unknown", field=field[:64])
    if field == "credit_code":
        raw = item.get("credit_code")
        try:
            validate_credit_code(raw if isinstance(raw, str) else "")
        except CodeError as bad:
            return Refused(bad.code)
        return Refused("validation.credit_code.charset")  # e.g. full-width: NFKC'd only here
    if field == "occurred_on" and "future" in str(error.get("msg", "")):
        return Refused("loan.date_future")
    if field == "amount":
        return Refused("loan.amount_invalid", max=f"{LOAN_AMOUNT_MAX:,}")
    return Refused(_FIELD_CODES.get(field, "loan.invalid"), detail=str(error.get("msg", ""))[:200])


def _take(
    session: Session, event: LoanEventIn, source: Source, ratio: Ratio
) -> tuple[LoanOutcome, str]:
    """Store one valid event and apply it (module docstring); its outcome and code."""
    outlet_id = _outlet_id(session, event.booking_outlet_code)
    originator = _user_id(session, event.originator_employee_no, "loan.originator_unknown")
    booker = _user_id(session, event.booker_employee_no, "loan.booker_unknown")
    content = {
        "amount": event.amount,
        "occurred_on": event.occurred_on,
        "credit_code": event.credit_code,
        "product": event.product,
        "booking_outlet_id": outlet_id,
        "originator_id": originator,
        "booker_id": booker,
    }
    stored = session.execute(
        select(LoanEvent).where(LoanEvent.loan_id == event.loan_id)  # type: ignore[arg-type]
    ).scalars()
    earlier = list(stored)
    same = next((e for e in earlier if e.status == event.status), None)
    if same is not None:
        if all(getattr(same, k) == v for k, v in content.items()):
            return LoanOutcome.DUPLICATE, ""
        raise Refused("loan.conflict")
    rank = STATUS_ORDER[event.status]
    latest = max(earlier, key=lambda e: STATUS_ORDER.get(e.status, -1), default=None)
    if latest is not None and STATUS_ORDER.get(latest.status, -1) > rank:
        raise Refused(
            "loan.status_backwards",
            status=Msg(f"loan.status.{event.status}"),
            latest=Msg(f"loan.status.{latest.status}"),
        )
    row = LoanEvent(
        id=new_id(),
        loan_id=event.loan_id,
        status=event.status,
        **content,
        state=LoanEventState.UNMATCHED,
        source=source.name,
        api_key_id=source.api_key_id,
        received_at=utcnow(),
    )
    session.add(row)
    session.flush()
    prospect = _match(session, event.loan_id, event.credit_code, earlier)
    if prospect is None:
        return LoanOutcome.QUEUED, ""
    code = apply_to(session, row, prospect, ratio)
    outcome = LoanOutcome.APPLIED if row.state == LoanEventState.APPLIED else LoanOutcome.RECORDED
    return outcome, code


def _outlet_id(session: Session, code: str) -> str:
    outlets = Outlet.__table__  # type: ignore[attr-defined]
    found = session.execute(
        select(outlets.c.id)
        .where(func.upper(outlets.c.code) == code.upper())
        .order_by(outlets.c.code)
    ).first()
    if found is None:
        raise Refused("loan.outlet_unknown", code=code)
    return str(found[0])


def _user_id(session: Session, employee_no: str | None, code: str) -> str | None:
    if employee_no is None:
        return None
    users = User.__table__  # type: ignore[attr-defined]
    found = session.execute(
        select(users.c.id)
        .where(func.upper(users.c.employee_no) == employee_no.upper())
        .order_by(users.c.employee_no)
    ).first()
    if found is None:
        raise Refused(code, employee_no=employee_no)
    return str(found[0])


def _match(
    session: Session, loan_id: str, credit_code: str, earlier: Sequence[LoanEvent]
) -> Prospect | None:
    """The loan's prospect: the one an earlier event of the loan went to, while live;
    else the live prospect with the credit code (held before pooled, newest first)."""
    for previous in sorted(earlier, key=lambda e: (e.received_at, e.id)):
        if previous.prospect_id is None:
            continue
        prospect = session.get(Prospect, previous.prospect_id)
        if prospect is not None and prospect.withdrawn_at is None:
            return prospect
    found = session.execute(
        select(_p.c.id)
        .where(_p.c.credit_code == credit_code, _p.c.withdrawn_at.is_(None))
        .order_by(_p.c.assignee_id.is_(None), _p.c.updated_at.desc(), _p.c.id)
        .limit(1)
    ).first()
    return session.get(Prospect, found[0]) if found is not None else None


def apply_to(session: Session, row: LoanEvent, prospect: Prospect, ratio: Ratio) -> str:
    """Apply a stored event to its prospect (module docstring): the funnel move, judged,
    and a disbursement's shares. Sets ``row.state``; the funnel's refusal code, or ""."""
    row.prospect_id = prospect.id
    code = ""
    if row.status in FUNNEL_STATUSES:
        disbursed = row.status == LoanStatus.DISBURSED
        amount = row.amount if disbursed else None
        code = move_refusal(prospect.status, row.status, amount, by_person=False)
        now = utcnow()
        funnel = FunnelEvent(
            id=new_id(),
            prospect_id=prospect.id,
            actor_id=LOAN_SYSTEM_ACTOR,
            from_status=prospect.status,
            to_status=row.status,
            applied=not code,
            reason_code=code,
            amount=amount,
            occurred_at=utc_midnight(row.occurred_on),
            recorded_at=now,
        )
        session.add(funnel)
        session.flush()
        record_change(session, "funnel_event", funnel.id, prospect_id=prospect.id)
        row.funnel_event_id = funnel.id
        if not code:
            scope = placement(prospect)
            prospect.status = row.status
            if disbursed:
                prospect.disbursed_amount = row.amount
            prospect.updated_at = now
            session.flush()
            record_change(
                session,
                "prospect",
                prospect.id,
                prospect_id=prospect.id,
                old_scope=scope,
                new_scope=placement(prospect),
            )
        if disbursed:
            _share_out(session, row, prospect, ratio)
    row.state = (
        LoanEventState.APPLIED
        if row.status in FUNNEL_STATUSES and not code
        else LoanEventState.RECORDED
    )
    session.flush()
    return code


def _share_out(session: Session, row: LoanEvent, prospect: Prospect, default: Ratio) -> None:
    """The disbursement's profit shares (``app.services.shares``)."""
    own = session.get(ShareRatio, row.product) if row.product else None
    ratio = default
    if own is not None:
        ratio = Ratio(own.marketer_bp, own.originator_bp, own.booking_outlet_bp, own.remainder_to)
    marketer = session.get(User, prospect.assignee_id) if prospect.assignee_id else None
    originator = session.get(User, row.originator_id) if row.originator_id else None
    people = {ShareParty.MARKETER: marketer, ShareParty.ORIGINATOR: originator}
    parts = split(
        row.amount, ratio, has_marketer=marketer is not None, has_originator=originator is not None
    )
    for party, part in parts.items():
        user = people.get(party)
        session.add(
            ProfitShare(
                id=new_id(),
                loan_id=row.loan_id,
                loan_event_id=row.id,
                prospect_id=prospect.id,
                party=party,
                user_id=user.id if user is not None else None,
                outlet_id=(user.outlet_id if user is not None else None) or row.booking_outlet_id,
                ratio_bp=part.bp,
                amount_fen=part.fen,
                occurred_on=row.occurred_on,
                product=row.product,
            )
        )


def _incident(session: Session, item: object, exc: Exception) -> str:
    incident_id = new_id()
    log.error("incident %s: a loan event failed", incident_id, exc_info=exc)
    try:
        payload = json.dumps(item, ensure_ascii=False, default=str)
        payload.encode("utf-8")
    except (TypeError, ValueError):
        payload = json.dumps(item, default=str)  # escaped: a database takes it
    session.add(
        Incident(
            id=incident_id,
            occurred_at=utcnow(),
            kind=INCIDENT_KIND,
            error_class=type(exc).__name__,
            error_message=str(exc)[:2000],
            payload=payload[:20_000],
        )
    )
    return incident_id


# -- the admin's queue ---------------------------------------------------------------------


def require_admin(user: User) -> None:
    if user.role != Role.ADMIN:
        raise StoreError("auth.forbidden", 403)


def unmatched(session: Session, *, offset: int, limit: int) -> LoanEventsPage:
    """The events waiting for an admin, oldest first."""
    waiting = _le.c.state == LoanEventState.UNMATCHED
    total = session.execute(select(func.count()).select_from(_le).where(waiting)).scalar_one()
    rows = session.execute(
        select(LoanEvent)
        .where(waiting)
        .order_by(_le.c.received_at, _le.c.id)
        .offset(offset)
        .limit(limit)
    ).scalars()
    items = [_out(session, r) for r in rows]
    return LoanEventsPage(items=items, total=int(total), offset=offset, limit=limit)


def _out(session: Session, row: LoanEvent) -> LoanEventOut:
    outlet = session.get(Outlet, row.booking_outlet_id)
    return LoanEventOut.model_validate(
        {**row.model_dump(), "booking_outlet_code": outlet.code if outlet else ""}
    )


def _waiting(session: Session, event_id: str) -> LoanEvent:
    row = session.get(LoanEvent, event_id)
    if row is None:
        raise StoreError("loan.event_not_found", 404)
    if row.state != LoanEventState.UNMATCHED:
        raise StoreError("loan.not_unmatched", 409, state=Msg(f"loan.state.{row.state}"))
    return row


def match(
    session: Session, *, event_id: str, prospect_id: str, admin: User, ratio: Ratio
) -> LoanEventResult:
    """An admin's match: the waiting event applied to ``prospect_id`` as if matched."""
    row = _waiting(session, event_id)
    prospect = session.get(Prospect, prospect_id)
    if prospect is None:
        raise StoreError("prospect.not_found", 404)
    if prospect.withdrawn_at is not None:
        raise StoreError("loan.prospect_withdrawn", 422)
    code = apply_to(session, row, prospect, ratio)
    row.resolved_by = admin.id
    row.resolved_at = utcnow()
    outcome = LoanOutcome.APPLIED if row.state == LoanEventState.APPLIED else LoanOutcome.RECORDED
    return _result(0, row.loan_id, row.status, outcome, code)


def dismiss(session: Session, *, event_id: str, reason: str, admin: User) -> LoanEventOut:
    """An admin sets a waiting event aside, saying why; it stays stored (a replay of it is
    a duplicate), matched to nothing."""
    row = _waiting(session, event_id)
    row.state = LoanEventState.DISMISSED
    row.resolution_note = reason
    row.resolved_by = admin.id
    row.resolved_at = utcnow()
    session.flush()
    return _out(session, row)


# -- shares by hand --------------------------------------------------------------------------


def _disbursal(session: Session, loan_id: str) -> LoanEvent:
    """The loan's matched disbursement (the one with shares); 404 ``loan.no_shares``."""
    row = session.execute(
        select(LoanEvent).where(
            LoanEvent.loan_id == loan_id,  # type: ignore[arg-type]
            LoanEvent.status == LoanStatus.DISBURSED,  # type: ignore[arg-type]
            LoanEvent.state.in_([LoanEventState.APPLIED, LoanEventState.RECORDED]),  # type: ignore[attr-defined]
        )
    ).scalar_one_or_none()
    if row is None:
        raise StoreError("loan.no_shares", 404)
    return row


def _shares_of(session: Session, loan_id: str) -> list[ProfitShare]:
    return list(
        session.execute(
            select(ProfitShare)
            .where(ProfitShare.loan_id == loan_id)  # type: ignore[arg-type]
            .order_by(_share.c.party, _share.c.user_id, _share.c.outlet_id, _share.c.id)
        ).scalars()
    )


def _as_json(shares: Sequence[ProfitShare]) -> list[dict[str, Any]]:
    return [
        {
            "party": s.party,
            "user_id": s.user_id,
            "outlet_id": s.outlet_id,
            "ratio_bp": s.ratio_bp,
            "amount_fen": s.amount_fen,
        }
        for s in shares
    ]


def shares(session: Session, loan_id: str) -> LoanSharesOut:
    """The loan's split with each share's person and outlet by name, and every
    adjustment made to it with its admin's name, oldest first."""
    row = _disbursal(session, loan_id)
    found = _shares_of(session, loan_id)
    adjustments = list(
        session.execute(
            select(ShareAdjustment)
            .where(ShareAdjustment.loan_id == loan_id)  # type: ignore[arg-type]
            .order_by(ShareAdjustment.at, ShareAdjustment.id)  # type: ignore[arg-type]
        ).scalars()
    )
    user_ids: set[str | None] = {s.user_id for s in found}
    user_ids.update(a.admin_id for a in adjustments)
    outlet_ids: set[str | None] = {s.outlet_id for s in found}
    outlet_ids.add(row.booking_outlet_id)
    people = _by_id(session, User, user_ids)
    outlets = _by_id(session, Outlet, outlet_ids)
    prospect = session.get(Prospect, row.prospect_id) if row.prospect_id else None
    booking = outlets.get(row.booking_outlet_id)

    def share_out(s: ProfitShare) -> ShareOut:
        person = people.get(s.user_id or "")
        outlet = outlets.get(s.outlet_id)
        return ShareOut.model_validate(
            {
                **s.model_dump(),
                "user_name": person.name if person else "",
                "employee_no": person.employee_no if person else "",
                "outlet_name": outlet.name if outlet else "",
            }
        )

    def adjustment_out(a: ShareAdjustment) -> ShareAdjustmentOut:
        admin = people.get(a.admin_id)
        return ShareAdjustmentOut(
            admin_id=a.admin_id,
            reason=a.reason,
            at=a.at,
            before=json.loads(a.before),
            after=json.loads(a.after),
            admin_name=admin.name if admin else "",
            admin_employee_no=admin.employee_no if admin else "",
        )

    return LoanSharesOut(
        loan_id=loan_id,
        amount=row.amount,
        amount_fen=row.amount * 100,
        occurred_on=row.occurred_on,
        product=row.product,
        prospect_id=row.prospect_id,
        adjusted=any(s.adjusted for s in found),
        shares=[share_out(s) for s in found],
        adjustments=[adjustment_out(a) for a in adjustments],
        company_name=prospect.company_name if prospect else "",
        booking_outlet_name=booking.name if booking else "",
    )


def _by_id(session: Session, model: Any, ids: set[str | None]) -> dict[str, Any]:
    wanted = sorted(i for i in ids if i)
    if not wanted:
        return {}
    rows = session.execute(select(model).where(model.id.in_(wanted))).scalars()
    return {r.id: r for r in rows}


def disbursed_loans(session: Session, user: User, query: LoansQuery) -> LoansPage:
    """The matched disbursed loans in ``user``'s reach (by booking outlet) whose loan id,
    credit code or company name holds ``query.q`` (any case), newest first, a page."""
    adjusted = exists().where(_share.c.loan_id == _le.c.loan_id, _share.c.adjusted.is_(True))
    where = [
        _le.c.status == LoanStatus.DISBURSED,
        _le.c.state.in_([LoanEventState.APPLIED, LoanEventState.RECORDED]),
        outlet_clause(scope_of(session, user), _le.c.booking_outlet_id),
    ]
    text = query.q
    if text:
        code = "".join(text.split()).upper()
        where.append(
            or_(
                _le.c.loan_id.icontains(text, autoescape=True),
                _le.c.credit_code.contains(code, autoescape=True),
                _p.c.company_name.icontains(text, autoescape=True),
            )
        )
    joined = _le.outerjoin(_p, _p.c.id == _le.c.prospect_id).outerjoin(
        _outlet, _outlet.c.id == _le.c.booking_outlet_id
    )
    total = session.execute(
        select(func.count()).select_from(joined).where(and_(*where))
    ).scalar_one()
    rows = session.execute(
        select(
            _le.c.loan_id,
            _le.c.amount,
            _le.c.occurred_on,
            _le.c.product,
            _le.c.credit_code,
            _p.c.company_name,
            _outlet.c.name.label("outlet_name"),
            adjusted.label("adjusted"),
        )
        .select_from(joined)
        .where(and_(*where))
        .order_by(_le.c.occurred_on.desc(), _le.c.loan_id)
        .offset((query.page - 1) * query.page_size)
        .limit(query.page_size)
    ).all()
    items = [
        LoanListItem(
            loan_id=r.loan_id,
            amount=r.amount,
            occurred_on=r.occurred_on,
            product=r.product,
            company_name=r.company_name or "",
            credit_code_masked=mask_credit_code(r.credit_code),
            booking_outlet_name=r.outlet_name or "",
            adjusted=bool(r.adjusted),
        )
        for r in rows
    ]
    return LoansPage(items=items, total=int(total), page=query.page, page_size=query.page_size)


def set_shares(session: Session, loan_id: str, body: SharesIn, admin: User) -> LoanSharesOut:
    """Replace the loan's split by the admin's: every party valid, people and outlets
    real, the fen summing to the loan's amount exactly; audited with the reason."""
    row = _disbursal(session, loan_id)
    fen = row.amount * 100
    given = sum(s.amount_fen for s in body.shares)
    if given != fen:
        raise StoreError("share.sum_mismatch", 422, expected=f"{fen:,}", got=f"{given:,}")
    new_rows = []
    for share in body.shares:
        user = None
        if share.party == ShareParty.BOOKING_OUTLET:
            if share.user_id is not None:
                raise StoreError("share.outlet_no_user", 422)
        else:
            if share.user_id is None:
                raise StoreError(
                    "share.user_required", 422, party=Msg(f"share.party.{share.party}")
                )
            user = session.get(User, share.user_id)
            if user is None:
                raise StoreError("user.not_found", 422)
        outlet_id = share.outlet_id or (user.outlet_id if user else None) or row.booking_outlet_id
        if session.get(Outlet, outlet_id) is None:
            raise StoreError("share.outlet_unknown", 422)
        new_rows.append(
            ProfitShare(
                id=new_id(),
                loan_id=loan_id,
                loan_event_id=row.id,
                prospect_id=row.prospect_id,
                party=share.party,
                user_id=user.id if user else None,
                outlet_id=outlet_id,
                ratio_bp=share.amount_fen * 10_000 // fen,
                amount_fen=share.amount_fen,
                occurred_on=row.occurred_on,
                product=row.product,
                adjusted=True,
            )
        )
    before = _as_json(_shares_of(session, loan_id))
    session.execute(delete(_share).where(_share.c.loan_id == loan_id))
    session.add_all(new_rows)
    session.flush()
    session.add(
        ShareAdjustment(
            id=new_id(),
            loan_id=loan_id,
            admin_id=admin.id,
            reason=body.reason,
            before=json.dumps(before, ensure_ascii=False),
            after=json.dumps(_as_json(_shares_of(session, loan_id)), ensure_ascii=False),
            at=utcnow(),
        )
    )
    session.flush()
    return shares(session, loan_id)


# -- ratios per product --------------------------------------------------------------------


def ratios(session: Session, default: Ratio) -> ShareRatiosOut:
    rows = session.execute(select(ShareRatio).order_by(ShareRatio.product)).scalars()  # type: ignore[arg-type]
    return ShareRatiosOut(
        default=ShareRatioOut(
            product="",
            marketer_bp=default.marketer_bp,
            originator_bp=default.originator_bp,
            booking_outlet_bp=default.booking_outlet_bp,
            remainder_to=default.remainder_to,
        ),
        ratios=[ShareRatioOut.model_validate(r, from_attributes=True) for r in rows],
    )


def set_ratios(
    session: Session, body: ShareRatiosIn, admin: User, default: Ratio
) -> ShareRatiosOut:
    """Set the listed products' ratios (others stay); each must sum to 10,000. They
    share the disbursements judged from now on; shares already made stay as they are."""
    now: datetime = utcnow()
    for given in body.ratios:
        problem = ratio_problem(
            given.marketer_bp, given.originator_bp, given.booking_outlet_bp, given.remainder_to
        )
        if problem:
            raise StoreError(problem, 422, product=given.product)
        row = session.get(ShareRatio, given.product)
        if row is None:
            row = ShareRatio(
                product=given.product,
                marketer_bp=0,
                originator_bp=0,
                booking_outlet_bp=0,
                updated_at=now,
            )
            session.add(row)
        row.marketer_bp = given.marketer_bp
        row.originator_bp = given.originator_bp
        row.booking_outlet_bp = given.booking_outlet_bp
        row.remainder_to = given.remainder_to
        row.updated_by = admin.id
        row.updated_at = now
    session.flush()
    return ratios(session, default)

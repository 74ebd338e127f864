"""Exactly-once application of pushed mutations.

For each device (and user) the store keeps ``last_seq``; a mutation at or below it
is a replay and gets its recorded answer again without touching anything (or
``sync.seq_unknown`` if the stream passed it without one: never a false
``applied``). Only ``last_seq + 1`` is applied next; a later one is a gap, answered
``sync.seq_gap`` with the expected sequence and not recorded, so the device sends
again from there. ``first_seq`` in the request moves the stream past numbers the
device declares it no longer holds.

A mutation is applied inside its own savepoint; a domain refusal (``Rejected``), or
any unexpected error (kept as an ``Incident`` for admins, answered
``mutation.incident``), rolls back only its own effects, is recorded (quarantined
for managers) and still advances ``last_seq``, so one bad mutation never blocks the
queue. Only a database that cannot be reached fails the push (5xx). Effects, the
record and ``last_seq`` commit in the same transaction. Order is the store's:
device clocks are data only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlmodel import Session

from app.i18n import t
from app.models import (
    AuditEvent,
    DeviceState,
    FunnelEvent,
    Incident,
    MarketingLog,
    MutationRecord,
    Prospect,
    Transfer,
    User,
)
from app.models.ids import new_id, utcnow
from app.models.marketing_log import MarketingLogCreate
from app.models.sync import (
    PAYLOADS,
    SEQ_GAP,
    AssignPayload,
    ClaimPayload,
    FunnelMovePayload,
    Mutation,
    MutationKind,
    MutationResult,
    MutationStatus,
    PushResponse,
    RevealPayload,
)
from app.server.changes import record_change
from app.server.errors import Rejected
from app.services.funnel import FunnelStatus, handover, move_refusal
from app.services.marketing import log_effect
from app.services.policy import Action, AssigneeFacts, ProspectFacts, decide, decide_assignee
from app.services.scope import Scope

log = logging.getLogger(__name__)


def apply_push(
    session: Session,
    *,
    user: User,
    device_id: str,
    mutations: list[Mutation],
    first_seq: int | None = None,
) -> PushResponse:
    """Apply a batch in device order; must run inside ``db.write_session``."""
    state = session.get(DeviceState, (device_id, user.id))
    if state is None:
        state = DeviceState(device_id=device_id, user_id=user.id, last_seq=0)
        session.add(state)
    state.last_seen_at = utcnow()
    if first_seq is not None and first_seq - 1 > state.last_seq:
        # The device holds nothing below first_seq: those numbers were answered, discarded
        # at sign-out, or used by another user of the device. Later arrivals of them get
        # sync.seq_unknown.
        state.last_seq = first_seq - 1
    results: list[MutationResult] = []
    for m in sorted(mutations, key=lambda m: m.seq):
        if m.seq <= state.last_seq:
            results.append(_replayed(session, device_id, user.id, m.seq))
        elif m.seq > state.last_seq + 1:
            # A gap: applying it would pass over a mutation that may still come, which would
            # then be taken for a replay. Nothing is recorded; the device sends again.
            expected = state.last_seq + 1
            message = t(SEQ_GAP, expected=expected)
            results.append(
                MutationResult(
                    seq=m.seq,
                    status=MutationStatus.REJECTED,
                    code=SEQ_GAP,
                    message=message,
                    expected_seq=expected,
                )
            )
        else:
            results.append(_apply_one(session, user, device_id, m))
            state.last_seq = m.seq
    session.flush()
    return PushResponse(results=results, last_seq=state.last_seq)


def _apply_one(session: Session, user: User, device_id: str, m: Mutation) -> MutationResult:
    """Apply one mutation in its own savepoint and record its answer.

    A refusal (``Rejected``) or any unexpected error rolls back only this mutation's
    effects; an unexpected one also leaves an incident for the admins. Only a database
    that cannot be reached escapes (the push answers 5xx and the device tries again).
    """
    payload: BaseModel | None = None
    params: dict[str, object] = {}
    try:
        payload = _parse(PAYLOADS[m.kind], m.payload)
        with session.begin_nested():
            code = _HANDLERS[m.kind](session, user, device_id, payload)
    except Rejected as exc:
        code, params = exc.code, exc.params
    except (OperationalError, InterfaceError):
        raise  # the database is down or gone: nothing to record it in
    except Exception as exc:  # one bad mutation never blocks the queue (DESIGN §3.3)
        incident = _incident(session, user, device_id, m, exc)
        code, params = "mutation.incident", {"incident": incident}
    status = MutationStatus.REJECTED if code else MutationStatus.APPLIED
    if code and payload is not None:
        _resend_prospect(session, getattr(payload, "prospect_id", None))
    message = t(code, **params) if code else ""
    session.add(
        MutationRecord(
            device_id=device_id,
            seq=m.seq,
            mutation_id=m.id,
            user_id=user.id,
            kind=m.kind,
            payload=_as_text(m.payload),
            status=status,
            code=code,
            message=message,
            recorded_at=utcnow(),
        )
    )
    return MutationResult(seq=m.seq, status=status, code=code, message=message)


def _incident(session: Session, user: User, device_id: str, m: Mutation, exc: Exception) -> str:
    """Keep an unexpected failure where an admin sees it; returns the incident id."""
    incident_id = new_id()
    log.error(
        "incident %s: %s seq %s of device %s failed",
        incident_id,
        m.kind,
        m.seq,
        device_id,
        exc_info=exc,
    )
    session.add(
        Incident(
            id=incident_id,
            occurred_at=utcnow(),
            device_id=device_id,
            user_id=user.id,
            seq=m.seq,
            kind=m.kind,
            error_class=type(exc).__name__,
            error_message=str(exc)[:2000],
            payload=_as_text(m.payload),
        )
    )
    return incident_id


def _as_text(payload: dict[str, Any]) -> str:
    """The payload as kept for managers: readable JSON, or escaped if it holds text no
    database encoding takes (a lone surrogate)."""
    text = json.dumps(payload, ensure_ascii=False, default=str)
    try:
        text.encode()
    except UnicodeEncodeError:
        return json.dumps(payload, default=str)
    return text


def _resend_prospect(session: Session, prospect_id: str | None) -> None:
    """After a refusal, send the prospect's true state again, so no device keeps an
    optimistic local change the store did not accept."""
    prospect = session.get(Prospect, prospect_id) if prospect_id else None
    if prospect is not None:
        scope = (prospect.outlet_id, prospect.assignee_id)
        record_change(
            session,
            "prospect",
            prospect.id,
            prospect_id=prospect.id,
            old_scope=scope,
            new_scope=scope,
        )


def _replayed(session: Session, device_id: str, user_id: str, seq: int) -> MutationResult:
    """The first answer to ``seq`` again; a number the stream passed without a record
    (declared skipped by ``first_seq``) was never applied, and is not said to be."""
    rec = session.get(MutationRecord, (device_id, user_id, seq))
    if rec is None:
        code = "sync.seq_unknown"
        return MutationResult(
            seq=seq, status=MutationStatus.REJECTED, code=code, message=t(code, seq=seq)
        )
    return MutationResult(seq=seq, status=rec.status, code=rec.code, message=rec.message)


P = TypeVar("P", bound=BaseModel)


def _parse(model: type[P], payload: dict[str, Any]) -> P:
    """The payload as its wire model, or ``mutation.invalid`` naming each bad field."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise Rejected("mutation.invalid", detail=detail[:300]) from exc


def _prospect(session: Session, prospect_id: str) -> Prospect:
    stmt = select(Prospect).where(Prospect.id == prospect_id)
    prospect = session.execute(stmt).scalar_one_or_none()
    if prospect is None:
        raise Rejected("prospect.not_found")
    return prospect


def _scope(user: User) -> Scope:
    return Scope(user.id, user.role, user.outlet_id)


def _allow(user: User, action: Action, prospect: Prospect) -> None:
    """Ask the policy the device asked; a refusal is the mutation's answer."""
    facts = ProspectFacts(prospect.outlet_id, prospect.assignee_id, prospect.status)
    decision = decide(_scope(user), action, facts)
    if not decision:
        raise Rejected(decision.code)


def _touch(session: Session, p: Prospect, old_scope: tuple[str | None, str | None]) -> None:
    p.updated_at = utcnow()
    session.flush()
    record_change(
        session,
        "prospect",
        p.id,
        prospect_id=p.id,
        old_scope=old_scope,
        new_scope=(p.outlet_id, p.assignee_id),
    )


def _log_create(session: Session, user: User, device_id: str, data: MarketingLogCreate) -> str:
    if session.get(MarketingLog, data.id) is not None:
        return ""  # the same log pushed again under a new seq: already here
    prospect = _prospect(session, data.prospect_id)
    _allow(user, Action.LOG, prospect)  # logs are facts: accepted even out of scope
    log = MarketingLog(**data.row(), author_id=user.id, device_id=device_id, recorded_at=utcnow())
    session.add(log)
    session.flush()
    record_change(session, "marketing_log", log.id, prospect_id=prospect.id)
    scope = (prospect.outlet_id, prospect.assignee_id)
    effect = log_effect(prospect.last_contact_at, data)
    prospect.last_contact_at = effect.last_contact_at
    prospect.next_follow_up = effect.next_follow_up
    _touch(session, prospect, scope)
    return ""


def _funnel_move(session: Session, user: User, device_id: str, data: FunnelMovePayload) -> str:
    if session.get(FunnelEvent, data.event_id) is not None:
        return ""
    prospect = _prospect(session, data.prospect_id)
    _allow(user, Action.MOVE, prospect)  # the funnel then judges the step, recorded either way
    code = move_refusal(prospect.status, data.to_status, data.amount)
    if code == "funnel.amount_required":
        raise Rejected(code)  # a malformed request, not a step to record
    _add_event(
        session,
        data.event_id,
        prospect,
        user,
        data.to_status,
        data.occurred_at,
        applied=not code,
        reason_code=code,
        amount=data.amount,
    )
    if not code:
        scope = (prospect.outlet_id, prospect.assignee_id)
        prospect.status = data.to_status
        if data.to_status == FunnelStatus.DISBURSED:
            prospect.disbursed_amount = data.amount
        _touch(session, prospect, scope)
    return code


def _add_event(
    session: Session,
    event_id: str,
    prospect: Prospect,
    user: User,
    to_status: str,
    occurred_at: datetime,
    *,
    applied: bool = True,
    reason_code: str = "",
    amount: int | None = None,
) -> None:
    """Every requested move stays recorded, applied or not."""
    event = FunnelEvent(
        id=event_id,
        prospect_id=prospect.id,
        actor_id=user.id,
        from_status=prospect.status,
        to_status=to_status,
        applied=applied,
        reason_code=reason_code,
        amount=amount,
        occurred_at=occurred_at,
        recorded_at=utcnow(),
    )
    session.add(event)
    session.flush()
    record_change(session, "funnel_event", event.id, prospect_id=prospect.id)


def _claim(session: Session, user: User, device_id: str, data: ClaimPayload) -> str:
    prospect = _prospect(session, data.prospect_id)
    if prospect.assignee_id == user.id:
        return ""  # already mine: a repeated claim changes nothing
    if session.get(Transfer, data.transfer_id) is not None:
        # This handover happened once (the claim re-sent from another device after the
        # prospect went back to the pool): taking it again would undo the manager.
        raise Rejected("transfer.duplicate")
    _allow(user, Action.CLAIM, prospect)
    _move(session, prospect, user, user, data.transfer_id, "", data.occurred_at)
    return ""


def _assign(session: Session, user: User, device_id: str, data: AssignPayload) -> str:
    prospect = _prospect(session, data.prospect_id)
    _allow(user, Action.ASSIGN, prospect)
    target = None
    if data.to_user_id is not None:
        target = session.get(User, data.to_user_id)
        if target is None:
            raise Rejected("user.not_found")
    facts = AssigneeFacts(target.role, target.outlet_id, target.active) if target else None
    decision = decide_assignee(_scope(user), facts)
    if not decision:
        raise Rejected(decision.code)
    if session.get(Transfer, data.transfer_id) is not None:
        return ""
    _move(session, prospect, user, target, data.transfer_id, data.reason, data.occurred_at)
    return ""


def _move(
    session: Session,
    prospect: Prospect,
    actor: User,
    target: User | None,
    transfer_id: str,
    reason: str,
    occurred_at: datetime,
) -> None:
    """Assign, re-assign or return to the pool, with its transfer and funnel event."""
    old_scope = (prospect.outlet_id, prospect.assignee_id)
    after = handover(
        prospect.status,
        prospect.outlet_id,
        target.id if target else None,
        target.outlet_id if target else None,
    )
    transfer = Transfer(
        id=transfer_id,
        prospect_id=prospect.id,
        from_user_id=prospect.assignee_id,
        to_user_id=target.id if target else None,
        from_outlet_id=prospect.outlet_id,
        to_outlet_id=after.outlet_id,
        by_user_id=actor.id,
        reason=reason,
        created_at=utcnow(),
    )
    session.add(transfer)
    prospect.assignee_id, prospect.outlet_id = after.assignee_id, after.outlet_id
    if after.status != prospect.status:  # taken from the pool: its funnel event
        _add_event(session, f"{transfer_id}-assign", prospect, actor, after.status, occurred_at)
        prospect.status = after.status
    session.flush()
    record_change(session, "transfer", transfer.id, prospect_id=prospect.id)
    _touch(session, prospect, old_scope)


def _reveal(session: Session, user: User, device_id: str, data: RevealPayload) -> str:
    if session.get(AuditEvent, data.event_id) is not None:
        return ""
    _allow(user, Action.REVEAL, _prospect(session, data.prospect_id))
    session.add(
        AuditEvent(
            id=data.event_id,
            user_id=user.id,
            action=f"reveal_{data.field}",
            prospect_id=data.prospect_id,
            device_id=device_id,
            occurred_at=data.occurred_at,
            recorded_at=utcnow(),
        )
    )
    return ""


_HANDLERS: dict[MutationKind, Callable[[Session, User, str, Any], str]] = {
    MutationKind.LOG_CREATE: _log_create,
    MutationKind.FUNNEL_MOVE: _funnel_move,
    MutationKind.PROSPECT_CLAIM: _claim,
    MutationKind.PROSPECT_ASSIGN: _assign,
    MutationKind.AUDIT_REVEAL: _reveal,
}

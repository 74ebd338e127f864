"""Exactly-once application of pushed mutations.

For each device (and user) the store keeps ``last_seq``; a mutation at or below it
is a replay and gets its recorded answer again without touching anything (or
``sync.seq_unknown`` if the stream passed it without one: never a false
``applied``). Only ``last_seq + 1`` is applied next; a later one is a gap, answered
``sync.seq_gap`` with the expected sequence and not recorded, so the device sends
again from there. ``first_seq`` in the request moves the stream past numbers the
device declares it no longer holds.

A new mutation is judged by the one policy (``policy.ACTION_OF`` names the action of
every kind; an unknown prospect answers as one out of reach, so ids can't be probed)
and applied inside its own savepoint; a domain refusal (``Rejected``), or
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
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session

from app.i18n import t
from app.models import (
    AuditEvent,
    BatchSource,
    DeviceState,
    FieldLead,
    FunnelEvent,
    Incident,
    MarketingLog,
    MutationRecord,
    Outlet,
    Prospect,
    Role,
    Transfer,
    User,
    WhitelistBatch,
)
from app.models.field_lead import LeadDecision, LeadRejectReason, LeadStatus
from app.models.ids import new_id, utcnow
from app.models.marketing_log import MarketingLogCreate
from app.models.sync import (
    PAYLOADS,
    SEQ_GAP,
    AssignPayload,
    ClaimPayload,
    FunnelMovePayload,
    LeadCreatePayload,
    LeadReviewPayload,
    Mutation,
    MutationKind,
    MutationResult,
    MutationStatus,
    PushResponse,
    RevealPayload,
)
from app.models.wire import EntityId, rule_code
from app.server.changes import (
    BranchNotLocked,
    branches_of,
    drop_pending,
    pending_mark,
    record_change,
)
from app.server.errors import Rejected
from app.server.moves import Handing, Move, Standing, write_moves
from app.server.scope import placement, scope_of
from app.services.clock import beijing_today
from app.services.funnel import FunnelStatus, handover, move_refusal
from app.services.leads import HOLDING_STATUSES, LeadRuleError, checked_lead
from app.services.marketing import log_effect, status_after_log
from app.services.policy import (
    ACTION_OF,
    NO_LEAD,
    NOWHERE,
    Action,
    AssigneeFacts,
    LeadFacts,
    ProspectFacts,
    decide,
    decide_assignee,
    decide_lead,
    left_reach,
    sets_plan,
)
from app.services.scope import Scope

log = logging.getLogger(__name__)


class FastPathMissed(Exception):
    """A push applied without savepoints (``apply_push(savepoints=False)``) met a refusal or
    an error: its transaction is rolled back whole and the push applied again, each
    mutation in its own savepoint."""


def apply_push(
    session: Session,
    *,
    user: User,
    device_id: str,
    mutations: list[Mutation],
    first_seq: int | None = None,
    prepared: list[BaseModel | Rejected] | None = None,
    savepoints: bool = True,
) -> PushResponse:
    """Apply a batch in device order; must run inside ``db.write_session``. ``prepared``:
    ``prepare(mutations)``, done before the writer's locks are taken.

    ``savepoints`` off: the usual push, every mutation applied, in one go — no savepoint
    per mutation, the writes of all of them in one flush (an insert per table, not per
    row). Any refusal or error then raises ``FastPathMissed`` and the caller rolls the
    transaction back and applies the push again with savepoints, so one bad mutation
    still costs only itself."""
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
    ready = prepared if prepared is not None else prepare(mutations)
    held = _prefetch(session, ready)  # kept: the session holds its objects weakly
    # Each answer is recorded, and last_seq moved, once at the end: one statement each, not
    # one per mutation. ``answered``: a seq sent twice in this push is a replay of the first.
    answered: dict[int, MutationResult] = {}
    records: list[MutationRecord] = []
    last_seq = state.last_seq
    for m, payload in sorted(zip(mutations, ready, strict=True), key=lambda pair: pair[0].seq):
        if m.seq in answered:
            results.append(answered[m.seq])
        elif m.seq <= last_seq:
            results.append(_replayed(session, state, m.seq))
        elif m.seq > last_seq + 1:
            # A gap: applying it would pass over a mutation that may still come, which would
            # then be taken for a replay. Nothing is recorded; the device sends again.
            expected = last_seq + 1
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
            result, record = _apply_one(session, user, device_id, m, payload, savepoints)
            results.append(answered.setdefault(m.seq, result))
            records.append(record)
            last_seq = m.seq
    state.last_seq = last_seq
    session.add_all(records)
    session.info.pop(_ABSENT, None)
    del held
    if savepoints:
        session.flush()
    else:
        try:
            session.flush()  # every mutation's writes at once
        except (OperationalError, InterfaceError):
            raise
        except Exception as exc:  # a write the database refused: judge them one by one
            raise FastPathMissed from exc
    return PushResponse(results=results, last_seq=state.last_seq)


# The rows a push's mutations are checked against, by the payload (and its field) naming
# them: read for the whole push at once (``_prefetch``), then found in the session (``_held``).
_PREFETCHED: tuple[tuple[type[Any], type[BaseModel] | None, str], ...] = (
    (Prospect, None, "prospect_id"),  # judged, then changed
    (MarketingLog, MarketingLogCreate, "id"),  # a log sent again under a new seq
    (FunnelEvent, FunnelMovePayload, "event_id"),  # a move sent again
)
_ABSENT = "apply.absent"  # session.info: (model, id) the prefetch found not stored


def _prefetch(session: Session, ready: list[BaseModel | Rejected]) -> list[Any]:
    """Read the rows the push's mutations will judge and change, one statement per kind of
    row, not one per mutation; returns them (the session holds its objects weakly)."""
    held: list[Any] = []
    absent: set[tuple[type[Any], str]] = set()
    for model, payload, field in _PREFETCHED:
        named = (p for p in ready if payload is None or isinstance(p, payload))
        ids = sorted({i for p in named if isinstance(i := getattr(p, field, None), str)})
        if not ids:
            continue
        found = list(session.execute(select(model).where(model.id.in_(ids))).scalars())
        held.extend(found)
        absent |= {(model, i) for i in set(ids) - {row.id for row in found}}
    session.info[_ABSENT] = absent
    return held


def _held(session: Session, model: type[Any], key: str) -> Any:
    """``session.get``, without asking the database again for a row the push's prefetch
    found absent (one this push wrote since is in the session)."""
    if (model, key) in session.info.get(_ABSENT, ()):
        found = session.identity_map.get(identity_key(model, key))
        return found if isinstance(found, model) else None
    return session.get(model, key)


def push_branches(session: Session, user: User, mutations: list[Mutation]) -> set[str]:
    """The branches a push will likely change: the user's own, and those of the prospects
    and finds its mutations name. A guess, read before any lock: a change in a branch it
    missed raises ``BranchNotLocked`` and the push is applied again holding that one too."""
    outlets: set[str | None] = {user.outlet_id}
    prospects = _ids(mutations, "prospect_id")
    leads = _ids(mutations, "lead_id")
    if prospects:
        outlets |= set(
            session.execute(select(Prospect.outlet_id).where(Prospect.id.in_(sorted(prospects))))
            .scalars()
            .all()
        )
    if leads:
        outlets |= set(
            session.execute(select(FieldLead.outlet_id).where(FieldLead.id.in_(sorted(leads))))
            .scalars()
            .all()
        )
    found = branches_of(session, outlets)
    return {found[o] for o in outlets}


_ENTITY_ID = TypeAdapter(EntityId)


def _ids(mutations: list[Mutation], key: str) -> set[str]:
    """The well-formed ids the payloads give under ``key`` (the rest is judged later)."""
    found = set()
    for m in mutations:
        try:
            found.add(_ENTITY_ID.validate_python(m.payload.get(key)))
        except ValidationError:
            continue
    return found


def prepare(mutations: list[Mutation]) -> list[BaseModel | Rejected]:
    """Each mutation's payload as its wire model, or the refusal its checks give: work
    done before a writer takes its locks, so the locked part is the database's."""
    ready: list[BaseModel | Rejected] = []
    for m in mutations:
        try:
            ready.append(_parse(PAYLOADS[m.kind], m.payload))
        except Rejected as exc:
            ready.append(exc)
    return ready


def _apply_one(
    session: Session,
    user: User,
    device_id: str,
    m: Mutation,
    prepared: BaseModel | Rejected,
    savepoint: bool = True,
) -> tuple[MutationResult, MutationRecord]:
    """Apply one mutation in its own savepoint; its answer, and the record that keeps it.

    A refusal (``Rejected``) or any unexpected error rolls back only this mutation's
    effects; an unexpected one also leaves an incident for the admins. Only a database
    that cannot be reached escapes (the push answers 5xx and the device tries again).
    Without a savepoint there is nothing to roll back to: any refusal or error raises
    ``FastPathMissed`` (the push is applied again, with savepoints).
    """
    payload = None if isinstance(prepared, Rejected) else prepared
    params: dict[str, object] = {}
    mark = pending_mark(session)
    try:
        if isinstance(prepared, Rejected):
            raise prepared
        if savepoint:
            with session.begin_nested():
                code = _apply(session, user, device_id, m.kind, prepared)
        else:
            code = _apply(session, user, device_id, m.kind, prepared)
    except (OperationalError, InterfaceError):
        raise  # the database is down or gone: nothing to record it in
    except BranchNotLocked:
        raise  # the push is applied again, holding that branch too
    except Exception as exc:  # one bad mutation never blocks the queue (DESIGN §3.3)
        if not savepoint:
            raise FastPathMissed from exc
        drop_pending(session, mark)  # its savepoint was rolled back: so are its changes
        if isinstance(exc, Rejected):
            code, params = exc.code, exc.params
        else:
            incident = _incident(session, user, device_id, m, exc)
            code, params = "mutation.incident", {"incident": incident}
    status = MutationStatus.REJECTED if code else MutationStatus.APPLIED
    if code and payload is not None:
        _resend_prospect(session, getattr(payload, "prospect_id", None))
        _resend_lead(session, getattr(payload, "lead_id", None))
    message = t(code, **params) if code else ""
    record = MutationRecord(
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
    return MutationResult(seq=m.seq, status=status, code=code, message=message), record


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


def _replayed(session: Session, state: DeviceState, seq: int) -> MutationResult:
    """The first answer to ``seq`` again. Without a record: pruned past the horizon (only
    applied ones are: ``app.server.pruning``) it was applied; else a number the stream
    passed (declared skipped by ``first_seq``) was never applied, and is not said to be."""
    rec = session.get(MutationRecord, (state.device_id, state.user_id, seq))
    if rec is None and seq <= state.pruned_through:
        return MutationResult(seq=seq, status=MutationStatus.APPLIED)
    if rec is None:
        code = "sync.seq_unknown"
        return MutationResult(
            seq=seq, status=MutationStatus.REJECTED, code=code, message=t(code, seq=seq)
        )
    return MutationResult(seq=seq, status=rec.status, code=rec.code, message=rec.message)


P = TypeVar("P", bound=BaseModel)


def _parse(model: type[P], payload: dict[str, Any]) -> P:
    """The payload as its wire model; else the rule it breaks (``wire.rule``), or
    ``mutation.invalid`` naming each bad field."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise Rejected(rule_code(exc) or "mutation.invalid", detail=detail[:300]) from exc


def judge(session: Session, user: User, action: Action, prospect_id: str) -> Prospect:
    """The prospect ``user`` asks to ``action``, once the policy allows it; a refusal is
    raised as ``Rejected``. An unknown id is judged as ``NOWHERE``: the same answer as a
    prospect out of reach, so no request can probe which ids exist."""
    scope = _scope(session, user)
    prospect = session.get(Prospect, prospect_id)
    facts = NOWHERE if prospect is None else _facts(session, scope, action, prospect)
    decision = decide(scope, action, facts)
    if not decision:
        raise Rejected(decision.code)
    assert prospect is not None  # NOWHERE is in nobody's reach
    return prospect


def _facts(session: Session, scope: Scope, action: Action, p: Prospect) -> ProspectFacts:
    """What the policy needs of ``p``; whether it left ``scope`` (its transfers) only for a
    log out of reach, the one decision that asks."""
    outlet_id, assignee_id = placement(p)  # a withdrawn entry is in nobody's reach
    left = False
    if action == Action.LOG and not scope.contains(outlet_id, assignee_id):
        stmt = select(Transfer.from_outlet_id, Transfer.from_user_id).where(
            Transfer.prospect_id == p.id
        )
        was = [(row[0], row[1]) for row in session.execute(stmt)]
        if p.withdrawn_at is not None:  # it left everyone where it last stood
            was.append((p.outlet_id, p.assignee_id))
        left = left_reach(scope, was)
    return ProspectFacts(outlet_id, assignee_id, p.status, left_actor=left)


def _scope(session: Session, user: User) -> Scope:
    return scope_of(session, user)


def _repeat(existing: object | None, author_id: str | None, user: User) -> bool:
    """Whether a mutation whose record (by its device-made id) is ``existing`` was applied
    already (the same change pushed again under a new seq). An id another user's record
    holds is refused: it is not this user's change to repeat."""
    if existing is None:
        return False
    if author_id != user.id:
        raise Rejected("mutation.invalid", detail="id already used")
    return True


def _touch(session: Session, p: Prospect, old_scope: tuple[str | None, str | None]) -> None:
    p.updated_at = utcnow()
    record_change(
        session,
        "prospect",
        p.id,
        prospect_id=p.id,
        old_scope=old_scope,
        new_scope=placement(p),
    )


def _log_done(session: Session, user: User, data: MarketingLogCreate) -> bool:
    log = _held(session, MarketingLog, data.id)
    return _repeat(log, log.author_id if log else None, user)


def _log_create(
    session: Session, user: User, device_id: str, data: MarketingLogCreate, prospect: Prospect
) -> str:
    log = MarketingLog(**data.row(), author_id=user.id, device_id=device_id, recorded_at=utcnow())
    session.add(log)
    record_change(session, "marketing_log", log.id, prospect_id=prospect.id)
    scope = placement(prospect)
    facts = ProspectFacts(*scope, prospect.status)
    holds = sets_plan(_scope(session, user), facts)
    effect = log_effect(
        prospect.last_contact_at, data, next_follow_up=prospect.next_follow_up, sets_plan=holds
    )
    prospect.last_contact_at = effect.last_contact_at
    prospect.next_follow_up = effect.next_follow_up
    moved_to = status_after_log(prospect.status, data.outcome, holds=holds)
    if moved_to is not None:  # the visit's step, judged against the status held here
        _add_event(session, f"{data.id}-log", prospect, user, moved_to, data.occurred_at)
        prospect.status = moved_to
    _touch(session, prospect, scope)
    return ""


def _move_done(session: Session, user: User, data: FunnelMovePayload) -> bool:
    event = _held(session, FunnelEvent, data.event_id)
    return _repeat(event, event.actor_id if event else None, user)


def _funnel_move(
    session: Session, user: User, device_id: str, data: FunnelMovePayload, prospect: Prospect
) -> str:
    # the policy allowed it; the funnel now judges the step, recorded either way
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
        close_reason=data.close_reason or "",
        close_note=data.close_note,
    )
    if not code:
        scope = placement(prospect)
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
    close_reason: str = "",
    close_note: str = "",
) -> None:
    """Every requested move stays recorded, applied or not (a closing one with its reason)."""
    event = FunnelEvent(
        id=event_id,
        prospect_id=prospect.id,
        actor_id=user.id,
        from_status=prospect.status,
        to_status=to_status,
        applied=applied,
        reason_code=reason_code,
        amount=amount,
        close_reason=close_reason,
        close_note=close_note,
        occurred_at=occurred_at,
        recorded_at=utcnow(),
    )
    session.add(event)
    record_change(session, "funnel_event", event.id, prospect_id=prospect.id)


def _claim_done(session: Session, user: User, data: ClaimPayload) -> bool:
    """Already mine: a repeated claim changes nothing."""
    prospect = session.get(Prospect, data.prospect_id)
    return prospect is not None and prospect.assignee_id == user.id


def _claim(
    session: Session, user: User, device_id: str, data: ClaimPayload, prospect: Prospect
) -> str:
    if session.get(Transfer, data.transfer_id) is not None:
        # This handover happened once (the claim re-sent from another device after the
        # prospect went back to the pool): taking it again would undo the manager.
        raise Rejected("transfer.duplicate")
    _move(session, prospect, user, user, data.transfer_id, "", data.occurred_at)
    return ""


def _assign_done(session: Session, user: User, data: AssignPayload) -> bool:
    transfer = session.get(Transfer, data.transfer_id)
    return _repeat(transfer, transfer.by_user_id if transfer else None, user)


def _assign(
    session: Session, user: User, device_id: str, data: AssignPayload, prospect: Prospect
) -> str:
    target = None
    if data.to_user_id is not None:
        target = session.get(User, data.to_user_id)
        if target is None:
            raise Rejected("user.not_found")
    facts = AssigneeFacts(target.role, target.outlet_id, target.active) if target else None
    decision = decide_assignee(_scope(session, user), facts)
    if not decision:
        raise Rejected(decision.code)
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
    """Assign, re-assign or return to the pool, with its transfer and funnel event
    (``app.server.moves``: the writer auto-assign and the pool return use too)."""
    after = handover(
        prospect.status,
        prospect.outlet_id,
        target.id if target else None,
        target.outlet_id if target else None,
    )
    standing = Standing(
        prospect.id,
        prospect.outlet_id,
        prospect.assignee_id,
        prospect.status,
        withdrawn=prospect.withdrawn_at is not None,
    )
    handing = Handing(actor.id, reason, occurred_at, utcnow())
    write_moves(session, [Move(standing, after, transfer_id)], handing)
    session.expire(prospect)  # written through the driver: read again when next asked


def _reveal_done(session: Session, user: User, data: RevealPayload) -> bool:
    event = session.get(AuditEvent, data.event_id)
    return _repeat(event, event.user_id if event else None, user)


def _reveal(
    session: Session, user: User, device_id: str, data: RevealPayload, prospect: Prospect
) -> str:
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


def _judge_prospect(session: Session, user: User, action: Action, data: Any) -> Prospect:
    return judge(session, user, action, data.prospect_id)


# -- field finds (外拓线索) ------------------------------------------------------------------

FIELD_BATCH_PRODUCT = "普惠外拓"
FIELD_BATCH_DAYS = 365  # a field batch stays valid a year from its latest approval
FIELD_TAG = "外拓"
NO_POSITION_TAG = "无定位"
APPROVED_REASON = "field find approved"


def _resend_lead(session: Session, lead_id: str | None) -> None:
    """After a refused review, send the find's true state again (the reviewer's device
    marked it reviewed at once)."""
    lead = session.get(FieldLead, lead_id) if lead_id else None
    if lead is not None:
        record_change(session, "field_lead", lead.id)


def _lead_done(session: Session, user: User, data: LeadCreatePayload) -> bool:
    lead = session.get(FieldLead, data.id)
    return _repeat(lead, lead.finder_id if lead else None, user)


def _judge_proposal(session: Session, user: User, action: Action, data: Any) -> None:
    """A find is its finder's outlet's: the policy asks only that there is one."""
    decision = decide_lead(_scope(session, user), action, LeadFacts(user.outlet_id, user.id))
    if not decision:
        raise Rejected(decision.code)


def _lead_create(
    session: Session, user: User, device_id: str, data: LeadCreatePayload, _subject: None
) -> str:
    """Keep the find; a credit code the store already lists (a live prospect, or another
    find pending or approved) marks it ``duplicate``, whoever's it is (its finder is told
    no more than that)."""
    try:
        data = checked_lead(data)
    except LeadRuleError as exc:
        raise Rejected(exc.code) from None
    duplicate = _listed(session, data.credit_code, except_lead=data.id)
    lead = FieldLead(
        **data.model_dump(exclude={"occurred_at"}),
        finder_id=user.id,
        outlet_id=user.outlet_id,
        status=LeadStatus.DUPLICATE if duplicate else LeadStatus.PENDING,
        review_reason=LeadRejectReason.DUPLICATE if duplicate else "",
        created_at=data.occurred_at,
        recorded_at=utcnow(),
    )
    session.add(lead)
    session.flush()
    record_change(session, "field_lead", lead.id)
    return ""


def _listed(session: Session, credit_code: str, *, except_lead: str) -> bool:
    """Whether a live prospect or another holding find carries ``credit_code``."""
    prospects, leads = Prospect.__table__, FieldLead.__table__
    live = select(prospects.c.id).where(
        prospects.c.credit_code == credit_code, prospects.c.withdrawn_at.is_(None)
    )
    if session.execute(live.limit(1)).first() is not None:
        return True
    holding = select(leads.c.id).where(
        leads.c.credit_code == credit_code,
        leads.c.status.in_(sorted(HOLDING_STATUSES)),
        leads.c.id != except_lead,
    )
    return session.execute(holding.limit(1)).first() is not None


def _review_done(session: Session, user: User, data: LeadReviewPayload) -> bool:
    """The same verdict by the same reviewer, already recorded."""
    lead = session.get(FieldLead, data.lead_id)
    if lead is None or lead.reviewed_by != user.id:
        return False
    if data.decision == LeadDecision.APPROVE:
        return lead.status == LeadStatus.APPROVED and lead.prospect_id == data.prospect_id
    return lead.status == LeadStatus.REJECTED


def _judge_review(session: Session, user: User, action: Action, data: Any) -> FieldLead:
    """The find ``user`` reviews, once the policy allows it; an unknown id is judged as
    ``NO_LEAD``, the answer a find out of reach gets."""
    lead = session.get(FieldLead, data.lead_id)
    facts = NO_LEAD if lead is None else LeadFacts(lead.outlet_id, lead.finder_id)
    decision = decide_lead(_scope(session, user), action, facts)
    if not decision:
        raise Rejected(decision.code)
    assert lead is not None  # NO_LEAD is in nobody's reach
    return lead


def _lead_review(
    session: Session, user: User, device_id: str, data: LeadReviewPayload, lead: FieldLead
) -> str:
    """Approved, the find becomes a prospect of its outlet's field batch handed to its
    finder (a transfer and the funnel's unassigned → assigned, as any assignment); sent
    back, its finder reads why."""
    if lead.status != LeadStatus.PENDING:
        raise Rejected("lead.not_pending")
    if data.decision == LeadDecision.APPROVE:
        if _listed(session, lead.credit_code, except_lead=lead.id):
            raise Rejected("lead.already_listed")  # listed since it was found
        if session.get(Prospect, data.prospect_id) is not None:
            raise Rejected("mutation.invalid", detail="id already used")
        prospect = _field_prospect(session, user, lead, data.prospect_id)
        finder = session.get(User, lead.finder_id)
        if finder is not None and finder.active and finder.role == Role.MARKETER:
            _move(
                session,
                prospect,
                user,
                finder,
                data.transfer_id,
                APPROVED_REASON,
                data.occurred_at,
            )
        else:  # a manager's own find has no marketer to hold it: the outlet's pool
            _touch(session, prospect, (None, None))
        lead.status = LeadStatus.APPROVED
        lead.prospect_id = prospect.id
    else:
        lead.status = LeadStatus.REJECTED
        lead.review_reason = str(data.reason or "")
        lead.review_note = data.note
    lead.reviewed_by = user.id
    lead.reviewed_at = utcnow()
    session.flush()
    record_change(session, "field_lead", lead.id)
    return ""


def _field_prospect(session: Session, user: User, lead: FieldLead, prospect_id: str) -> Prospect:
    """A new entry of the outlet's field batch for ``lead``, in its outlet's pool."""
    batch = _field_batch(session, user, lead.outlet_id)
    lat, lon, tags = lead.lat, lead.lon, [FIELD_TAG]
    if lat is None or lon is None:
        # the column needs a point: the outlet's, and a tag saying it is not the business's
        outlet = session.get(Outlet, lead.outlet_id)
        lat, lon = (outlet.lat, outlet.lon) if outlet is not None else (0.0, 0.0)
        tags.append(NO_POSITION_TAG)
    prospect = Prospect(
        id=prospect_id,
        batch_id=batch.id,
        company_name=lead.company_name,
        credit_code=lead.credit_code,
        legal_rep=lead.contact_name,
        phone=lead.phone,
        industry=lead.industry,
        address=lead.address,
        lat=lat,
        lon=lon,
        tags=json.dumps(tags, ensure_ascii=False),
        outlet_id=lead.outlet_id,
        assignee_id=None,
        status=FunnelStatus.UNASSIGNED,
        updated_at=utcnow(),
        batch_version=batch.version,
    )
    session.add(prospect)
    session.flush()
    return prospect


def _field_batch(session: Session, user: User, outlet_id: str) -> WhitelistBatch:
    """The outlet's field batch (外拓名单), made at its first approval; each approval keeps
    it valid a year from today (Beijing)."""
    batches = WhitelistBatch.__table__
    batch_id = session.execute(
        select(batches.c.id)
        .where(batches.c.source == BatchSource.FIELD, batches.c.outlet_id == outlet_id)
        .order_by(batches.c.created_at)
        .limit(1)
    ).scalar_one_or_none()
    batch = session.get(WhitelistBatch, batch_id) if batch_id else None
    today = beijing_today()
    until = today + timedelta(days=FIELD_BATCH_DAYS)
    if batch is None:
        outlet = session.get(Outlet, outlet_id)
        batch = WhitelistBatch(
            id=new_id(),
            name=f"{outlet.name if outlet else ''}外拓名单",
            product=FIELD_BATCH_PRODUCT,
            source=BatchSource.FIELD,
            valid_from=today,
            valid_until=until,
            version=1,
            created_at=utcnow(),
            outlet_id=outlet_id,
            created_by=user.id,
        )
        session.add(batch)
    elif batch.valid_until >= until:
        return batch
    else:
        batch.valid_until = until
    session.flush()
    record_change(session, "whitelist_batch", batch.id)
    return batch


@dataclass(frozen=True)
class _Handler:
    """How the store applies one mutation kind: ``done`` tells a repeat of a change
    already applied (answered "applied" again, before any judgement, as the first time),
    ``judge`` asks the policy and returns what the change is about (a prospect, unless
    the kind says otherwise), ``apply`` makes the change once the policy has allowed it."""

    done: Callable[[Session, User, Any], bool]
    apply: Callable[[Session, User, str, Any, Any], str]
    judge: Callable[[Session, User, Action, Any], Any] = _judge_prospect


_HANDLERS: dict[MutationKind, _Handler] = {
    MutationKind.LOG_CREATE: _Handler(_log_done, _log_create),
    MutationKind.FUNNEL_MOVE: _Handler(_move_done, _funnel_move),
    MutationKind.PROSPECT_CLAIM: _Handler(_claim_done, _claim),
    MutationKind.PROSPECT_ASSIGN: _Handler(_assign_done, _assign),
    MutationKind.AUDIT_REVEAL: _Handler(_reveal_done, _reveal),
    MutationKind.LEAD_CREATE: _Handler(_lead_done, _lead_create, _judge_proposal),
    MutationKind.LEAD_REVIEW: _Handler(_review_done, _lead_review, _judge_review),
}


def _apply(session: Session, user: User, device_id: str, kind: MutationKind, data: Any) -> str:
    """One mutation: a repeat answers as before; anything new is judged by the policy
    (``ACTION_OF[kind]``) before its handler runs; "" when applied, else its code."""
    handler = _HANDLERS[kind]
    if handler.done(session, user, data):
        return ""
    subject = handler.judge(session, user, ACTION_OF[kind], data)
    return handler.apply(session, user, device_id, data, subject)

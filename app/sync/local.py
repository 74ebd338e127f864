"""Device-side use cases: each local change and its outbox row in one transaction.

Every change is asked of ``app.services.policy`` first, with the same facts the
central store will judge it by, so an offline device refuses what the store would
refuse (``LocalError`` with the store's code) and saves nothing. Each payload is
built as its wire model and queued as that model's JSON; the store parses the same
model. Ids are made here, on the device, so a record exists from the moment it is
saved. The store's verdict still arrives with the next sync.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import Connection, text

from app.models.ids import new_id, utcnow
from app.models.marketing_log import MarketingLogCreate
from app.models.sync import (
    AssignPayload,
    ClaimPayload,
    FunnelMovePayload,
    MutationKind,
    RevealPayload,
)
from app.models.wire import rule_code
from app.services.funnel import handover, move_refusal
from app.services.marketing import log_effect, status_after_log
from app.services.policy import (
    Action,
    AssigneeFacts,
    ProspectFacts,
    decide,
    decide_assignee,
    left_reach,
    sets_plan,
)
from app.services.scope import Scope
from app.services.stored import stored_date, stored_datetime
from app.sync import outbox
from app.sync.store import DeviceStore


class LocalError(ValueError):
    """A local change refused before it is saved; ``code`` is an i18n key."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def record_log(store: DeviceStore, actor: Scope, log: MarketingLogCreate) -> str:
    """Save a marketing log on the device and queue it; returns its id."""
    log = _checked(log)
    with store.transaction() as conn:
        facts = _require_prospect(conn, log.prospect_id, actor)
        _allow(actor, Action.LOG, facts)
        conn.execute(
            text(
                "INSERT INTO marketing_log (id, prospect_id, author_id, channel, occurred_at,"
                " outcome, note, next_follow_up, lat, lon, attachments, device_id, rev)"
                " VALUES (:id, :prospect_id, :author, :channel, :occurred_at, :outcome, :note,"
                " :next_follow_up, :lat, :lon, :attachments, :device, 0)"
            ),
            {
                **_sqlite_values(log.row()),
                "author": actor.user_id,
                "device": DeviceStore.get(conn, "device_id"),
            },
        )
        last, plan = conn.execute(
            text("SELECT last_contact_at, next_follow_up FROM prospect WHERE id = :id"),
            {"id": log.prospect_id},
        ).one()
        holds = sets_plan(actor, facts)
        effect = log_effect(
            stored_datetime(last), log, next_follow_up=stored_date(plan), sets_plan=holds
        )
        # the visit moves the funnel here at once; the store moves it again on arrival
        status = status_after_log(facts.status, log.outcome, holds=holds) or facts.status
        conn.execute(
            text(
                "UPDATE prospect SET last_contact_at = :at, next_follow_up = :nf, status = :s"
                " WHERE id = :id"
            ),
            _sqlite_values(
                {
                    "at": effect.last_contact_at,
                    "nf": effect.next_follow_up,
                    "s": status,
                    "id": log.prospect_id,
                }
            ),
        )
        _enqueue(conn, MutationKind.LOG_CREATE, log.prospect_id, log)
    return log.id


def move_funnel(
    store: DeviceStore,
    actor: Scope,
    *,
    prospect_id: str,
    to_status: str,
    amount: int | None = None,
    occurred_at: datetime | None = None,
    close_reason: str | None = None,
    close_note: str = "",
) -> str:
    """Change a prospect's status locally (checked by policy and funnel) and queue it; a
    closing move with its reason (``FeedbackReason``; a note for ``other``)."""
    move = _build(
        FunnelMovePayload,
        event_id=new_id(),
        prospect_id=prospect_id,
        to_status=to_status,
        amount=amount,
        occurred_at=occurred_at or utcnow(),
        close_reason=close_reason,
        close_note=close_note,
    )
    with store.transaction() as conn:
        facts = _require_prospect(conn, prospect_id)
        _allow(actor, Action.MOVE, facts)
        refusal = move_refusal(facts.status, move.to_status, move.amount)
        if refusal:
            raise LocalError(refusal)
        conn.execute(
            text("UPDATE prospect SET status = :s WHERE id = :id"),
            {"s": move.to_status, "id": prospect_id},
        )
        _enqueue(conn, MutationKind.FUNNEL_MOVE, prospect_id, move)
    return move.event_id


def claim(store: DeviceStore, actor: Scope, *, prospect_id: str) -> None:
    """Take an unassigned prospect from the outlet pool (claiming one's own: nothing)."""
    payload = _build(
        ClaimPayload, transfer_id=new_id(), prospect_id=prospect_id, occurred_at=utcnow()
    )
    with store.transaction() as conn:
        facts = _require_prospect(conn, prospect_id)
        if facts.assignee_id == actor.user_id:
            return  # as the store answers a repeated claim
        _allow(actor, Action.CLAIM, facts)
        _hand_over(conn, prospect_id, facts, actor.user_id, actor.outlet_id)
        _enqueue(conn, MutationKind.PROSPECT_CLAIM, prospect_id, payload)


def assign(
    store: DeviceStore, actor: Scope, *, prospect_id: str, to_user_id: str | None, reason: str = ""
) -> None:
    """Manager: assign or transfer a prospect to a marketer (None: back to the pool)."""
    payload = _build(
        AssignPayload,
        transfer_id=new_id(),
        prospect_id=prospect_id,
        to_user_id=to_user_id,
        reason=reason,
        occurred_at=utcnow(),
    )
    with store.transaction() as conn:
        facts = _require_prospect(conn, prospect_id)
        _allow(actor, Action.ASSIGN, facts)
        target = None if to_user_id is None else _require_user(conn, to_user_id)
        decision = decide_assignee(actor, target)
        if not decision:
            raise LocalError(decision.code)
        _hand_over(conn, prospect_id, facts, to_user_id, target.outlet_id if target else None)
        _enqueue(conn, MutationKind.PROSPECT_ASSIGN, prospect_id, payload)


@dataclass(frozen=True)
class BulkResult:
    """What a bulk assignment did: the prospects handed over (in the order asked, one
    outbox row each), those refused with the policy's code, and those already there."""

    assigned: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # prospect id -> i18n code
    unchanged: list[str] = field(default_factory=list)  # already with that marketer


def assign_many(
    store: DeviceStore,
    actor: Scope,
    *,
    prospect_ids: Sequence[str],
    to_user_id: str | None,
    reason: str = "",
) -> BulkResult:
    """Manager: assign many prospects to one marketer (None: back to the pool) in ONE
    local transaction: each prospect is judged by the policy as ``assign`` judges one,
    those refused are left as they are and reported; every one handed over gets its own
    ``prospect.assign`` outbox row, in the order asked, for the store to judge again.
    A marketer the actor may not hand to refuses the whole (``LocalError``), and any
    failure part-way leaves nothing written."""
    result = BulkResult()
    with store.transaction() as conn:
        target = None if to_user_id is None else _require_user(conn, to_user_id)
        decision = decide_assignee(actor, target)
        if not decision:
            raise LocalError(decision.code)
        outlet_id = target.outlet_id if target else None
        for prospect_id in dict.fromkeys(prospect_ids):  # each once, in the order asked
            try:
                facts = _require_prospect(conn, prospect_id)
                _allow(actor, Action.ASSIGN, facts)
            except LocalError as exc:
                result.refused[prospect_id] = exc.code
                continue
            if facts.assignee_id == to_user_id:
                result.unchanged.append(prospect_id)
                continue
            payload = _build(
                AssignPayload,
                transfer_id=new_id(),
                prospect_id=prospect_id,
                to_user_id=to_user_id,
                reason=reason,
                occurred_at=utcnow(),
            )
            _hand_over(conn, prospect_id, facts, to_user_id, outlet_id)
            _enqueue(conn, MutationKind.PROSPECT_ASSIGN, prospect_id, payload)
            result.assigned.append(prospect_id)
    return result


def record_reveal(store: DeviceStore, actor: Scope, *, prospect_id: str, field: str) -> None:
    """An audited reveal of a masked phone number or credit code."""
    payload = _build(
        RevealPayload, event_id=new_id(), prospect_id=prospect_id, field=field, occurred_at=utcnow()
    )
    with store.transaction() as conn:
        _allow(actor, Action.REVEAL, _require_prospect(conn, prospect_id))
        _enqueue(conn, MutationKind.AUDIT_REVEAL, prospect_id, payload)


# -- helpers -----------------------------------------------------------------------------


M = TypeVar("M", bound=BaseModel)


def _build(model: type[M], **values: object) -> M:
    """A payload as its wire model; ``LocalError`` with the rule it breaks, or
    ``mutation.invalid`` if a value is out of bounds (the store's codes alike)."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise LocalError(rule_code(exc) or "mutation.invalid") from exc


def _checked(log: MarketingLogCreate) -> MarketingLogCreate:
    """``log`` validated again: a model built without validation is caught here too."""
    return _build(MarketingLogCreate, **log.model_dump())


def _enqueue(conn: Connection, kind: MutationKind, prospect_id: str, payload: BaseModel) -> None:
    outbox.enqueue(conn, kind, prospect_id, payload.model_dump(mode="json"))


def _allow(actor: Scope, action: Action, facts: ProspectFacts) -> None:
    decision = decide(actor, action, facts)
    if not decision:
        raise LocalError(decision.code)


def _require_prospect(
    conn: Connection, prospect_id: str, logger: Scope | None = None
) -> ProspectFacts:
    """The policy's facts of a prospect the device holds; for a log by ``logger`` out of
    its reach, also whether it left that reach (the transfers the device holds)."""
    row = conn.execute(
        text("SELECT outlet_id, assignee_id, status FROM prospect WHERE id = :id"),
        {"id": prospect_id},
    ).first()
    if row is None:
        raise LocalError("prospect.not_found")
    left = False
    if logger is not None and not logger.contains(row[0], row[1]):
        transfers = conn.execute(
            text("SELECT from_outlet_id, from_user_id FROM transfer WHERE prospect_id = :id"),
            {"id": prospect_id},
        )
        left = left_reach(logger, [(t[0], t[1]) for t in transfers])
    return ProspectFacts(row[0], row[1], str(row[2]), left_actor=left)


def _require_user(conn: Connection, user_id: str) -> AssigneeFacts:
    row = conn.execute(
        text('SELECT role, outlet_id, active FROM "user" WHERE id = :id'), {"id": user_id}
    ).first()
    if row is None:
        raise LocalError("user.not_found")
    return AssigneeFacts(role=str(row[0]), outlet_id=row[1], active=bool(row[2]))


def _hand_over(
    conn: Connection,
    prospect_id: str,
    facts: ProspectFacts,
    user_id: str | None,
    outlet_id: str | None,
) -> None:
    """As the store hands a prospect over (``funnel.handover``)."""
    after = handover(facts.status, facts.outlet_id, user_id, outlet_id)
    conn.execute(
        text("UPDATE prospect SET assignee_id = :u, outlet_id = :o, status = :s WHERE id = :id"),
        {"u": after.assignee_id, "o": after.outlet_id, "s": after.status, "id": prospect_id},
    )


def _sqlite_values(values: dict[str, object]) -> dict[str, object]:
    """Dates and times as the device stores them (``str``: ``2026-03-10 08:00:00``)."""
    return {k: str(v) if isinstance(v, datetime | date) else v for k, v in values.items()}

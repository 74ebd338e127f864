"""Device-side use cases: each local change and its outbox row in one transaction.

Rules come from ``app.services``; the store's verdict arrives with the next sync.
Ids are made here, on the device, so a record exists from the moment it is saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import text

from app.models.ids import new_id, utcnow
from app.models.sync import MutationKind
from app.services.funnel import FunnelError, check_transition, needs_amount
from app.sync import outbox
from app.sync.store import DeviceStore


class LocalError(ValueError):
    """A local change refused before it is saved; ``code`` is an i18n key."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Actor:
    user_id: str
    role: str
    outlet_id: str | None


def record_log(
    store: DeviceStore,
    actor: Actor,
    *,
    prospect_id: str,
    channel: str,
    outcome: str,
    note: str = "",
    occurred_at: datetime | None = None,
    next_follow_up: date | None = None,
    lat: float | None = None,
    lon: float | None = None,
) -> str:
    """Save a marketing log on the device and queue it; returns its id."""
    log_id = new_id()
    when = occurred_at or utcnow()
    payload = {
        "id": log_id,
        "prospect_id": prospect_id,
        "channel": channel,
        "occurred_at": str(when),
        "outcome": outcome,
        "note": note,
        "next_follow_up": next_follow_up.isoformat() if next_follow_up else None,
        "lat": lat,
        "lon": lon,
        "attachments": "[]",
    }
    with store.transaction() as conn:
        _require_prospect(conn, prospect_id)
        conn.execute(
            text(
                "INSERT INTO marketing_log (id, prospect_id, author_id, channel, occurred_at,"
                " outcome, note, next_follow_up, lat, lon, attachments, device_id, rev)"
                " VALUES (:id, :prospect_id, :author, :channel, :occurred_at, :outcome, :note,"
                " :next_follow_up, :lat, :lon, :attachments, :device, 0)"
            ),
            {**payload, "author": actor.user_id, "device": DeviceStore.get(conn, "device_id")},
        )
        # As the store does: the newest log sets the plan, whatever its device clock says.
        conn.execute(
            text(
                "UPDATE prospect SET next_follow_up = :nf, last_contact_at = CASE WHEN"
                " last_contact_at IS NULL OR last_contact_at < :at THEN :at"
                " ELSE last_contact_at END WHERE id = :id"
            ),
            {"at": str(when), "nf": payload["next_follow_up"], "id": prospect_id},
        )
        outbox.enqueue(conn, MutationKind.LOG_CREATE, prospect_id, payload)
    return log_id


def move_funnel(
    store: DeviceStore,
    actor: Actor,
    *,
    prospect_id: str,
    to_status: str,
    amount: int | None = None,
    occurred_at: datetime | None = None,
) -> str:
    """Change a prospect's status locally (checked by the funnel rules) and queue it."""
    if needs_amount(to_status) and not amount:
        raise LocalError("funnel.amount_required")
    event_id = new_id()
    with store.transaction() as conn:
        current = _require_prospect(conn, prospect_id)
        try:
            check_transition(current, to_status)
        except FunnelError as exc:
            raise LocalError(exc.code) from exc
        conn.execute(
            text("UPDATE prospect SET status = :s WHERE id = :id"),
            {"s": to_status, "id": prospect_id},
        )
        outbox.enqueue(
            conn,
            MutationKind.FUNNEL_MOVE,
            prospect_id,
            {
                "event_id": event_id,
                "prospect_id": prospect_id,
                "to_status": to_status,
                "amount": amount,
                "occurred_at": str(occurred_at or utcnow()),
            },
        )
    return event_id


def claim(store: DeviceStore, actor: Actor, *, prospect_id: str) -> None:
    """Take an unassigned prospect from the outlet pool."""
    with store.transaction() as conn:
        _require_prospect(conn, prospect_id)
        conn.execute(
            text(
                "UPDATE prospect SET assignee_id = :u, status = 'assigned'"
                " WHERE id = :id AND assignee_id IS NULL"
            ),
            {"u": actor.user_id, "id": prospect_id},
        )
        outbox.enqueue(conn, MutationKind.PROSPECT_CLAIM, prospect_id,
                       {"transfer_id": new_id(), "prospect_id": prospect_id,
                        "occurred_at": str(utcnow())})  # fmt: skip


def assign(
    store: DeviceStore, actor: Actor, *, prospect_id: str, to_user_id: str | None, reason: str = ""
) -> None:
    """Manager: assign or transfer a prospect to a marketer (None: back to the pool)."""
    with store.transaction() as conn:
        _require_prospect(conn, prospect_id)
        conn.execute(
            text("UPDATE prospect SET assignee_id = :u WHERE id = :id"),
            {"u": to_user_id, "id": prospect_id},
        )
        outbox.enqueue(conn, MutationKind.PROSPECT_ASSIGN, prospect_id,
                       {"transfer_id": new_id(), "prospect_id": prospect_id,
                        "to_user_id": to_user_id, "reason": reason,
                        "occurred_at": str(utcnow())})  # fmt: skip


def record_reveal(store: DeviceStore, actor: Actor, *, prospect_id: str, field: str) -> None:
    """An audited reveal of a masked phone number or credit code."""
    with store.transaction() as conn:
        outbox.enqueue(conn, MutationKind.AUDIT_REVEAL, prospect_id,
                       {"event_id": new_id(), "prospect_id": prospect_id, "field": field,
                        "occurred_at": str(utcnow())})  # fmt: skip


def _require_prospect(conn, prospect_id: str) -> str:  # type: ignore[no-untyped-def]
    row = conn.execute(
        text("SELECT status FROM prospect WHERE id = :id"), {"id": prospect_id}
    ).first()
    if row is None:
        raise LocalError("prospect.not_found")
    return str(row[0])

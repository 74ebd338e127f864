"""A prospect's timeline read from the device store: logs, funnel events, transfers
and, on request, the funnel moves still in the outbox (app/services/timeline.py)."""

from __future__ import annotations

import json
import logging

from sqlalchemy import Connection, text

from app.geo.distance import haversine_km
from app.models.sync import MutationKind
from app.services.stored import stored_date, stored_datetime
from app.services.timeline import TimelineItem, TimelineKind, newest_first

log = logging.getLogger(__name__)


def timeline(
    conn: Connection, prospect_id: str, *, include_outbox: bool = False, me: str | None = None
) -> list[TimelineItem]:
    """Everything that happened to a prospect, newest first.

    ``include_outbox`` adds the funnel moves not yet pushed; ``me`` (the signed-in
    user) is shown as their actor.
    """
    params = {"pid": prospect_id}
    items: list[TimelineItem] = []
    for r in conn.execute(
        text(
            "SELECT l.id, l.occurred_at, l.author_id, u.name AS author_name, l.channel,"
            " l.outcome, l.note, l.next_follow_up, l.rev, l.lat, l.lon,"
            " p.lat AS home_lat, p.lon AS home_lon FROM marketing_log l"
            ' LEFT JOIN "user" u ON u.id = l.author_id'
            " LEFT JOIN prospect p ON p.id = l.prospect_id WHERE l.prospect_id = :pid"
        ),
        params,
    ):
        items.append(
            TimelineItem(
                kind=TimelineKind.LOG,
                id=r.id,
                when=stored_datetime(r.occurred_at),
                actor_id=r.author_id,
                actor_name=r.author_name,
                pending=int(r.rev or 0) == 0,  # not yet back from the store
                channel=r.channel,
                outcome=r.outcome,
                note=r.note,
                next_follow_up=stored_date(r.next_follow_up),
                check_in_km=_check_in_km(r.lat, r.lon, r.home_lat, r.home_lon),
            )
        )
    event_ids = set()
    store_status = None  # the last applied move, in the store's order (rev)
    for r in conn.execute(
        text(
            "SELECT e.id, e.occurred_at, e.actor_id, u.name AS actor_name, e.from_status,"
            " e.to_status, e.applied, e.reason_code, e.amount, e.close_reason, e.close_note"
            " FROM funnel_event e"
            ' LEFT JOIN "user" u ON u.id = e.actor_id WHERE e.prospect_id = :pid'
            " ORDER BY e.rev, e.recorded_at"
        ),
        params,
    ):
        event_ids.add(r.id)
        if r.applied:
            store_status = r.to_status
        items.append(
            TimelineItem(
                kind=TimelineKind.STATUS,
                id=r.id,
                when=stored_datetime(r.occurred_at),
                actor_id=r.actor_id,
                actor_name=r.actor_name,
                from_status=r.from_status,
                to_status=r.to_status,
                applied=bool(r.applied),
                reason_code=r.reason_code or "",
                amount=r.amount,
                close_reason=r.close_reason or "",
                close_note=r.close_note or "",
            )
        )
    if include_outbox:
        items.extend(_pending_moves(conn, prospect_id, event_ids, store_status, me))
    for r in conn.execute(
        text(
            "SELECT t.id, t.created_at, t.by_user_id, b.name AS by_name, t.from_user_id,"
            " f.name AS from_user_name, t.to_user_id, u.name AS to_user_name,"
            " t.from_outlet_id, fo.name AS from_outlet_name, t.to_outlet_id,"
            " tou.name AS to_outlet_name, t.reason FROM transfer t"
            ' LEFT JOIN "user" b ON b.id = t.by_user_id'
            ' LEFT JOIN "user" f ON f.id = t.from_user_id'
            ' LEFT JOIN "user" u ON u.id = t.to_user_id'
            " LEFT JOIN outlet fo ON fo.id = t.from_outlet_id"
            " LEFT JOIN outlet tou ON tou.id = t.to_outlet_id"
            " WHERE t.prospect_id = :pid"
        ),
        params,
    ):
        items.append(
            TimelineItem(
                kind=TimelineKind.TRANSFER,
                id=r.id,
                when=stored_datetime(r.created_at),
                actor_id=r.by_user_id,
                actor_name=r.by_name,
                from_user_id=r.from_user_id,
                from_user_name=r.from_user_name,
                to_user_id=r.to_user_id,
                to_user_name=r.to_user_name,
                from_outlet_id=r.from_outlet_id,
                from_outlet_name=r.from_outlet_name,
                to_outlet_id=r.to_outlet_id,
                to_outlet_name=r.to_outlet_name,
                reason=r.reason or "",
            )
        )
    return newest_first(items)


def _check_in_km(
    lat: float | None, lon: float | None, home_lat: float | None, home_lon: float | None
) -> float | None:
    """From a log's check-in to the registered address; None without both positions."""
    if lat is None or lon is None or home_lat is None or home_lon is None:
        return None
    return haversine_km(lat, lon, home_lat, home_lon)


def _pending_moves(
    conn: Connection, prospect_id: str, known: set[str], last: str | None, me: str | None
) -> list[TimelineItem]:
    """Funnel moves still in the outbox: made here, not yet judged by the store."""
    name = None
    if me is not None:
        row = conn.execute(text('SELECT name FROM "user" WHERE id = :id'), {"id": me}).first()
        name = row.name if row else None
    out = []
    for r in conn.execute(
        text("SELECT seq, payload FROM outbox WHERE kind = :k AND entity_id = :pid ORDER BY seq"),
        {"k": MutationKind.FUNNEL_MOVE.value, "pid": prospect_id},
    ):
        try:
            move = json.loads(r.payload)
            event_id = str(move.get("event_id") or f"outbox-{r.seq}")
            when = stored_datetime(move["occurred_at"])
            to_status = str(move["to_status"])
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("unreadable funnel move in the outbox (seq %s)", r.seq)
            continue
        if event_id in known:  # already back from the store
            continue
        amount = move.get("amount")
        out.append(
            TimelineItem(
                kind=TimelineKind.STATUS,
                id=event_id,
                when=when,
                actor_id=me,
                actor_name=name,
                pending=True,
                from_status=last,
                to_status=to_status,
                applied=None,
                amount=int(amount) if amount is not None else None,
                close_reason=str(move.get("close_reason") or ""),
                close_note=str(move.get("close_note") or ""),
            )
        )
        last = to_status
    return out

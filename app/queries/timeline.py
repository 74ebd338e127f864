"""A prospect's timeline read from the device store: logs, funnel events, transfers
and, on request, the funnel moves still in the outbox (app/services/timeline.py)."""

from __future__ import annotations

import json
import logging

from sqlalchemy import Connection, text

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
            "SELECT l.id, l.occurred_at, l.author_id, u.name, l.channel, l.outcome, l.note,"
            " l.next_follow_up, l.rev FROM marketing_log l"
            ' LEFT JOIN "user" u ON u.id = l.author_id WHERE l.prospect_id = :pid'
        ),
        params,
    ):
        items.append(
            TimelineItem(
                kind=TimelineKind.LOG,
                id=r[0],
                when=stored_datetime(r[1]),
                actor_id=r[2],
                actor_name=r[3],
                pending=int(r[8] or 0) == 0,
                channel=r[4],
                outcome=r[5],
                note=r[6],
                next_follow_up=stored_date(r[7]),
            )
        )
    event_ids = set()
    store_status = None  # the last applied move, in the store's order (rev)
    for r in conn.execute(
        text(
            "SELECT e.id, e.occurred_at, e.actor_id, u.name, e.from_status, e.to_status,"
            " e.applied, e.reason_code, e.amount FROM funnel_event e"
            ' LEFT JOIN "user" u ON u.id = e.actor_id WHERE e.prospect_id = :pid'
            " ORDER BY e.rev, e.recorded_at"
        ),
        params,
    ):
        event_ids.add(r[0])
        if r[6]:
            store_status = r[5]
        items.append(
            TimelineItem(
                kind=TimelineKind.STATUS,
                id=r[0],
                when=stored_datetime(r[1]),
                actor_id=r[2],
                actor_name=r[3],
                from_status=r[4],
                to_status=r[5],
                applied=bool(r[6]),
                reason_code=r[7] or "",
                amount=r[8],
            )
        )
    if include_outbox:
        items.extend(_pending_moves(conn, prospect_id, event_ids, store_status, me))
    for r in conn.execute(
        text(
            "SELECT t.id, t.created_at, t.by_user_id, b.name, t.from_user_id, f.name,"
            " t.to_user_id, u.name, t.from_outlet_id, fo.name, t.to_outlet_id, tou.name,"
            " t.reason FROM transfer t"
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
                id=r[0],
                when=stored_datetime(r[1]),
                actor_id=r[2],
                actor_name=r[3],
                from_user_id=r[4],
                from_user_name=r[5],
                to_user_id=r[6],
                to_user_name=r[7],
                from_outlet_id=r[8],
                from_outlet_name=r[9],
                to_outlet_id=r[10],
                to_outlet_name=r[11],
                reason=r[12] or "",
            )
        )
    return newest_first(items)


def _pending_moves(
    conn: Connection, prospect_id: str, known: set[str], last: str | None, me: str | None
) -> list[TimelineItem]:
    """Funnel moves still in the outbox: made here, not yet judged by the store."""
    name = None
    if me is not None:
        row = conn.execute(text('SELECT name FROM "user" WHERE id = :id'), {"id": me}).first()
        name = row[0] if row else None
    out = []
    for r in conn.execute(
        text("SELECT seq, payload FROM outbox WHERE kind = :k AND entity_id = :pid ORDER BY seq"),
        {"k": MutationKind.FUNNEL_MOVE.value, "pid": prospect_id},
    ):
        try:
            move = json.loads(r[1])
            event_id = str(move.get("event_id") or f"outbox-{r[0]}")
            when = stored_datetime(move["occurred_at"])
            to_status = str(move["to_status"])
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("unreadable funnel move in the outbox (seq %s)", r[0])
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
            )
        )
        last = to_status
    return out

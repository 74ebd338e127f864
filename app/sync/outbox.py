"""The outbox: local changes waiting for the central store, in device order.

``enqueue`` must be called inside the same transaction as the local change it
describes. Sequence numbers come from ``sync_state.next_seq`` and are never
reused, even after acknowledged rows are deleted (the store would take a reused
number for a replay and drop the mutation).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from app.models.ids import new_id, utcnow
from app.services.stored import stored_datetime
from app.sync.state import StateKey
from app.sync.store import DeviceStore


def enqueue(conn: Connection, kind: str, entity_id: str, payload: dict[str, Any]) -> int:
    seq = int(DeviceStore.get(conn, StateKey.NEXT_SEQ) or 1)
    DeviceStore.put(conn, StateKey.NEXT_SEQ, str(seq + 1))
    conn.execute(
        text(
            "INSERT INTO outbox (seq, mutation_id, kind, entity_id, payload, created_at, attempts)"
            " VALUES (:seq, :mid, :kind, :eid, :payload, :created, 0)"
        ),
        {
            "seq": seq,
            "mid": new_id(),
            "kind": kind,
            "eid": entity_id,
            "payload": json.dumps(payload, ensure_ascii=False, default=str),
            "created": utcnow(),
        },
    )
    return seq


def pending(conn: Connection, limit: int) -> list[dict[str, Any]]:
    """The oldest ``limit`` mutations as wire dicts."""
    rows = conn.execute(
        text(
            "SELECT seq, mutation_id, kind, entity_id, payload, created_at FROM outbox"
            " ORDER BY seq LIMIT :n"
        ),
        {"n": limit},
    ).all()
    return [
        {
            "seq": r.seq,
            "id": r.mutation_id,
            "kind": r.kind,
            "entity_id": r.entity_id,
            "payload": json.loads(r.payload),
            "created_at": str(r.created_at),
        }
        for r in rows
    ]


def count(conn: Connection) -> int:
    return int(conn.execute(text("SELECT count(*) FROM outbox")).scalar_one())


def pending_kinds(conn: Connection, kind: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        text("SELECT payload FROM outbox WHERE kind = :k ORDER BY seq"), {"k": kind}
    ).all()
    return [json.loads(r.payload) for r in rows]


@dataclass(frozen=True)
class Rejection:
    """A local change the central store refused, kept for the user to see."""

    seq: int
    kind: str
    entity_id: str
    code: str
    message: str  # the store's words, in its language
    rejected_at: datetime | None  # naive UTC


def rejections(conn: Connection, limit: int = 100) -> list[Rejection]:
    """The newest refusals first."""
    rows = conn.execute(
        text(
            "SELECT seq, kind, entity_id, code, message, rejected_at FROM rejection"
            " ORDER BY seq DESC LIMIT :limit"
        ),
        {"limit": limit},
    )
    return [
        Rejection(
            seq=int(r[0]),
            kind=str(r[1]),
            entity_id=str(r[2]),
            code=str(r[3] or ""),
            message=str(r[4] or ""),
            rejected_at=stored_datetime(r[5]),
        )
        for r in rows
    ]

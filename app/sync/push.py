"""Push: send the outbox in batches; settle each mutation by the store's answer.

Applied mutations leave the outbox; rejected ones move to ``rejection`` (kept for
the user to read) in the same transaction. A lost response is harmless: the next
push sends the same sequences and the store answers them again.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlalchemy import text

from app.models.ids import utcnow
from app.sync import outbox
from app.sync.client import SyncClient
from app.sync.store import DeviceStore


def push_outbox(
    store: DeviceStore,
    client: SyncClient,
    *,
    batch_size: int = 100,
    on_batch: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> tuple[int, int]:
    """Push until the outbox is empty; returns (applied, rejected)."""
    applied = rejected = 0
    with store.read() as conn:
        total = outbox.count(conn)
    while not should_stop():
        with store.read() as conn:
            batch = outbox.pending(conn, batch_size)
        if not batch:
            break
        wire = [{k: m[k] for k in ("seq", "id", "kind", "payload", "created_at")} for m in batch]
        answer = client.push(store.device_id, wire)
        by_seq = {m["seq"]: m for m in batch}
        with store.transaction() as conn:
            for result in answer["results"]:
                m = by_seq.get(result["seq"])
                if m is None:
                    continue
                if result["status"] == "rejected":
                    rejected += 1
                    conn.execute(
                        text(
                            "INSERT OR REPLACE INTO rejection (seq, mutation_id, kind, entity_id,"
                            " payload, code, message, rejected_at) VALUES (:seq, :mid, :kind,"
                            " :eid, :payload, :code, :message, :at)"
                        ),
                        {
                            "seq": m["seq"],
                            "mid": m["id"],
                            "kind": m["kind"],
                            "eid": m["entity_id"],
                            "payload": json.dumps(m["payload"], ensure_ascii=False),
                            "code": result.get("code", ""),
                            "message": result.get("message", ""),
                            "at": utcnow(),
                        },
                    )
                else:
                    applied += 1
                conn.execute(text("DELETE FROM outbox WHERE seq = :s"), {"s": m["seq"]})
        if on_batch:
            on_batch(applied + rejected, total)
        if not answer["results"]:
            break  # the store settled nothing: do not spin
    return applied, rejected

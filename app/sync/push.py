"""Push: send the outbox in batches; settle each mutation by the store's answer.

Applied mutations leave the outbox; rejected ones move to ``rejection`` (kept for
the user to read) in the same transaction. A lost response is harmless: the next
push sends the same sequences and the store answers them again.

Each push declares ``first_seq``, the oldest sequence still in the outbox: every
lower one was answered (or discarded at sign-out, or another user's), so the store
need not wait for it. A ``sync.seq_gap`` answer is no refusal: the mutation stays in
the outbox and the next batch starts again from the oldest one, which is the
sequence the store expects; if the store answers the same gap again, the outbox
does not hold that sequence and the push stops with ``SeqGap``, keeping everything.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial

from sqlalchemy import text

from app.models.ids import utcnow
from app.models.sync import SEQ_GAP
from app.sync import outbox
from app.sync.busy import Patience
from app.sync.client import SyncClient
from app.sync.errors import SeqGap
from app.sync.store import DeviceStore


def push_outbox(
    store: DeviceStore,
    client: SyncClient,
    *,
    batch_size: int = 100,
    on_batch: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    patience: Patience | None = None,
) -> tuple[int, int]:
    """Push until the outbox is empty; returns (applied, rejected). With ``patience``, a
    batch the store is too busy to take is sent again after its ``Retry-After``."""
    applied = rejected = 0
    last_gap: int | None = None  # the sequence a gap answer asked for last
    with store.read() as conn:
        total = outbox.count(conn)
    while not should_stop():
        with store.read() as conn:
            batch = outbox.pending(conn, batch_size)
        if not batch:
            break
        wire = [{k: m[k] for k in ("seq", "id", "kind", "payload", "created_at")} for m in batch]
        send = partial(client.push, store.device_id, wire, first_seq=batch[0]["seq"])
        answer = patience.call(send) if patience is not None else send()
        by_seq = {m["seq"]: m for m in batch}
        settled = 0
        expected: int | None = None
        with store.transaction() as conn:
            for result in answer["results"]:
                m = by_seq.get(result["seq"])
                if m is None:
                    continue
                if result.get("code") == SEQ_GAP:
                    expected = result.get("expected_seq")
                    continue  # kept: sent again from the expected sequence
                settled += 1
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
        if expected is not None and not settled:
            if expected == last_gap:
                # Sent again from the expected sequence and still a gap: the outbox does
                # not hold it. Stop rather than spin; nothing is dropped.
                raise SeqGap(f"the store expects seq {expected}", expected=expected)
            last_gap = expected
    return applied, rejected

"""Handing prospects over: the one way the store moves a prospect between people and pools.

    plan_move(prospect, after, ...)  -> Move     what the handover writes (rows and values)
    write_moves(session, moves)                  writes them with their change-log rows

A move is a ``Transfer``, the prospect's new placement (``funnel.handover`` or
``funnel.returned_to_pool`` says where it stands afterwards), a ``FunnelEvent`` when the
handover changes its status (taken from the pool: ``assigned``; back to the pool untouched:
``unassigned``), and ``assigned_at``, the pool-return clock, reset whenever the assignee
changes. A pushed claim or assignment writes one move (``app.server.apply``); the
manager's auto-assign and the pool return write thousands at once (``app.server.
distribution``): the same rows through the same writer, in bulk (``changes.BulkChanges``).
Logs and follow-ups hang off the prospect's id, so they move with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from app.server.changes import BulkChanges, Placement
from app.services.funnel import FunnelStatus, Handover


@dataclass(frozen=True)
class Standing:
    """Where a prospect stands before a move."""

    id: str
    outlet_id: str
    assignee_id: str | None
    status: str
    withdrawn: bool = False

    @property
    def placement(self) -> Placement:
        return (None, None) if self.withdrawn else (self.outlet_id, self.assignee_id)


@dataclass(frozen=True)
class Move:
    prospect_id: str
    transfer: dict[str, Any]  # the Transfer row
    event: dict[str, Any] | None  # the FunnelEvent row, when the status changes
    values: dict[str, Any]  # the prospect's new column values
    old_scope: Placement
    new_scope: Placement


def plan_move(
    p: Standing,
    after: Handover,
    *,
    actor_id: str,
    transfer_id: str,
    reason: str,
    occurred_at: datetime,
    now: datetime,
) -> Move:
    """The rows of handing ``p`` over to where ``after`` places it."""
    transfer = {
        "id": transfer_id,
        "prospect_id": p.id,
        "from_user_id": p.assignee_id,
        "to_user_id": after.assignee_id,
        "from_outlet_id": p.outlet_id,
        "to_outlet_id": after.outlet_id,
        "by_user_id": actor_id,
        "reason": reason,
        "created_at": now,
    }
    values: dict[str, Any] = {"assignee_id": after.assignee_id, "updated_at": now}
    if after.outlet_id != p.outlet_id:  # a column left alone keeps its index untouched
        values["outlet_id"] = after.outlet_id
    if after.assignee_id != p.assignee_id:  # the pool return counts from here
        values["assigned_at"] = now if after.assignee_id else None
    event = None
    if after.status != p.status:
        suffix = "assign" if after.status == FunnelStatus.ASSIGNED else "pool"
        event = {
            "id": f"{transfer_id}-{suffix}",
            "prospect_id": p.id,
            "actor_id": actor_id,
            "from_status": p.status,
            "to_status": after.status,
            "applied": True,
            "reason_code": "",
            "amount": None,
            "close_reason": "",
            "close_note": "",
            "occurred_at": occurred_at,
            "recorded_at": now,
        }
        values["status"] = after.status
    new_scope = (None, None) if p.withdrawn else (after.outlet_id, after.assignee_id)
    return Move(p.id, transfer, event, values, p.placement, new_scope)


def write_moves(session: Session, moves: Sequence[Move]) -> None:
    """Write the moves with their change-log rows (inside ``db.write_session``): for each,
    its funnel event, its transfer, then the prospect (the order a device pulls them in)."""
    if not moves:
        return
    bulk = BulkChanges(session)
    for m in moves:
        if m.event is not None:
            bulk.insert("funnel_event", m.event, prospect_id=m.prospect_id)
        bulk.insert("transfer", m.transfer, prospect_id=m.prospect_id)
        bulk.update(
            "prospect",
            m.prospect_id,
            tuple(m.values.items()),
            prospect_id=m.prospect_id,
            old_scope=m.old_scope,
            new_scope=m.new_scope,
        )
    bulk.write()

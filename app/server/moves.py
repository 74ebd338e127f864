"""Handing prospects over: the one way the store moves a prospect between people and pools.

    write_moves(session, moves, handing)     the handovers, with their change-log rows

A move is a ``Transfer``, the prospect's new placement (``funnel.handover`` or
``funnel.returned_to_pool`` says where it stands afterwards), a ``FunnelEvent`` when the
handover changes its status (taken from the pool: ``assigned``; back to the pool untouched:
``unassigned``), and ``assigned_at``, the pool-return clock, reset whenever the assignee
changes. A pushed claim or assignment writes one move (``app.server.apply``); the
manager's auto-assign and the pool return write thousands at once (``app.server.
distribution``): the same statements either way. Logs and follow-ups hang off the
prospect's id, so they move with it.

Set-based: moves that differ only in the prospect and the transfer's id form a *shape*
(where they stood, where they go). Each move's ids and first seq go into a temporary
table (``changes.staged``); per shape, one ``INSERT … SELECT`` writes the funnel events,
one the transfers, one ``UPDATE … FROM`` the prospects and one ``INSERT … SELECT`` their
change-log rows. 100,000 handovers are half a million rows: written row by row from
Python they cost seconds of conversion and, on PostgreSQL, round trips.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    literal,
    literal_column,
    null,
    select,
    union_all,
    update,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from app.models import TABLES_BY_ENTITY, ChangeLog
from app.server.changes import Placement, branches_of, noted, reserve, staged
from app.services.funnel import FunnelStatus, Handover


class Standing(NamedTuple):  # tuples: auto-assign makes 100,000 of them at a time
    """Where a prospect stands before a move."""

    id: str
    outlet_id: str
    assignee_id: str | None
    status: str
    withdrawn: bool = False  # out of every scope: its change-log rows name no placement


class Move(NamedTuple):
    """One prospect handed over: where it stands, where ``after`` places it, and the id of
    its transfer (a device's own, for a pushed move)."""

    standing: Standing
    after: Handover
    transfer_id: str


@dataclass(frozen=True)
class Handing:
    """Who hands the prospects over, why and when: the same for every move of one write."""

    actor_id: str
    reason: str
    occurred_at: datetime  # the funnel event's (a pushed move: when it happened on the device)
    now: datetime


_STAGE = Table(
    "move_stage",
    MetaData(),
    Column("prospect_id", String, nullable=False),
    Column("transfer_id", String, nullable=False),
    Column("base", BigInteger, nullable=False),  # the seq before the move's first row
    # a move to another branch: the seq of the prospect's row in the branch it left
    Column("gone", BigInteger, nullable=True),
    Column("shape", Integer, nullable=False, index=True),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
_p = TABLES_BY_ENTITY["prospect"]
_transfer = TABLES_BY_ENTITY["transfer"]
_event = TABLES_BY_ENTITY["funnel_event"]
_log = ChangeLog.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class _Shape:
    outlet_id: str
    assignee_id: str | None
    status: str
    withdrawn: bool
    after: Handover
    home: str  # the branch it goes to: its rows' branch
    left: str  # the branch it stood in

    @property
    def moved_branch(self) -> bool:
        """Whether it leaves a branch (whose devices must then drop it)."""
        return self.left != self.home and not self.withdrawn

    @property
    def placements(self) -> tuple[Placement, Placement]:
        """Where it stood and goes, as its change-log rows say (nowhere once withdrawn)."""
        if self.withdrawn:
            return (None, None), (None, None)
        return (self.outlet_id, self.assignee_id), (self.after.outlet_id, self.after.assignee_id)

    @property
    def event(self) -> bool:
        return self.after.status != self.status


def write_moves(session: Session, moves: Sequence[Move], handing: Handing) -> None:
    """Write the moves with their change-log rows (inside ``db.write_session``): for each,
    its funnel event, its transfer, then the prospect (the order a device pulls them in),
    on consecutive seqs of the branch it goes to; a move to another branch also leaves a
    row for the prospect in the branch it left."""
    if not moves:
        return
    branches = branches_of(
        session, {m.after.outlet_id for m in moves} | {m.standing.outlet_id for m in moves}
    )
    shapes: dict[tuple[Any, ...], tuple[int, _Shape]] = {}
    placed = []
    counts: dict[str, int] = {}
    for (pid, outlet_id, assignee_id, status, withdrawn), after, transfer_id in moves:
        key = (outlet_id, assignee_id, status, withdrawn, after)
        found = shapes.get(key)
        if found is None:
            shape = _Shape(*key, home=branches[after.outlet_id], left=branches[outlet_id])
            found = shapes[key] = (len(shapes), shape)
        shape = found[1]
        counts[shape.home] = counts.get(shape.home, 0) + (3 if shape.event else 2)
        if shape.moved_branch:
            counts[shape.left] = counts.get(shape.left, 0) + 1
        placed.append((pid, transfer_id, found))
    nexts = {b: reserve(session, b, n) for b, n in sorted(counts.items())}
    rows = []
    for pid, transfer_id, (number, shape) in placed:
        base = nexts[shape.home] - 1
        nexts[shape.home] += 3 if shape.event else 2
        gone = None
        if shape.moved_branch:
            gone = nexts[shape.left]
            nexts[shape.left] += 1
        rows.append(
            {
                "prospect_id": pid,
                "transfer_id": transfer_id,
                "base": base,
                "gone": gone,
                "shape": number,
            }
        )
    with staged(session, _STAGE, rows):
        for number, shape in shapes.values():
            _write_shape(session, number, shape, handing)
    for _, shape in shapes.values():
        was, now_at = shape.placements
        places = [("prospect", was, now_at), ("transfer", now_at, now_at)]
        noted(session, shape.home, nexts[shape.home] - 1, places, 0)
        if shape.moved_branch:
            noted(session, shape.left, nexts[shape.left] - 1, (), 0)
    noted(session, shape.home, 0, (), sum(counts.values()))


def _write_shape(session: Session, number: int, shape: _Shape, handing: Handing) -> None:
    stage = _STAGE
    after = shape.after
    mine = stage.c.shape == number
    base = stage.c.base
    offset = 1
    logged: list[Any] = []
    home = shape.home
    # children are placed where the prospect goes (a withdrawn one: nowhere)
    was, now_at = shape.placements
    if shape.event:
        suffix = "assign" if after.status == FunnelStatus.ASSIGNED else "pool"
        event_id = stage.c.transfer_id + f"-{suffix}"
        event = {
            "id": event_id,
            "prospect_id": stage.c.prospect_id,
            "actor_id": _const(_event, "actor_id", handing.actor_id),
            "from_status": _const(_event, "from_status", shape.status),
            "to_status": _const(_event, "to_status", after.status),
            "applied": _const(_event, "applied", True),
            "reason_code": _const(_event, "reason_code", ""),
            "amount": null(),
            "close_reason": _const(_event, "close_reason", ""),
            "close_note": _const(_event, "close_note", ""),
            "occurred_at": _const(_event, "occurred_at", handing.occurred_at),
            "recorded_at": _const(_event, "recorded_at", handing.now),
            "rev": base + offset,
        }
        session.execute(_insert(_event, event, mine))
        logged.append(_log_row(home, base + offset, "funnel_event", event_id, now_at, now_at))
        offset += 1
    transfer = {
        "id": stage.c.transfer_id,
        "prospect_id": stage.c.prospect_id,
        "from_user_id": _const(_transfer, "from_user_id", shape.assignee_id),
        "to_user_id": _const(_transfer, "to_user_id", after.assignee_id),
        "from_outlet_id": _const(_transfer, "from_outlet_id", shape.outlet_id),
        "to_outlet_id": _const(_transfer, "to_outlet_id", after.outlet_id),
        "by_user_id": _const(_transfer, "by_user_id", handing.actor_id),
        "reason": _const(_transfer, "reason", handing.reason),
        "created_at": _const(_transfer, "created_at", handing.now),
        "rev": base + offset,
    }
    session.execute(_insert(_transfer, transfer, mine))
    logged.append(_log_row(home, base + offset, "transfer", stage.c.transfer_id, now_at, now_at))
    offset += 1
    values: dict[str, Any] = {
        "assignee_id": after.assignee_id,
        "updated_at": handing.now,
        "rev": base + offset,
    }
    if after.outlet_id != shape.outlet_id:  # a column left alone keeps its index untouched
        values["outlet_id"] = after.outlet_id
    if after.assignee_id != shape.assignee_id:  # the pool return counts from here
        values["assigned_at"] = handing.now if after.assignee_id else None
    if shape.event:
        values["status"] = after.status
    session.execute(update(_p).where(_p.c.id == stage.c.prospect_id, mine).values(values))
    logged.append(_log_row(home, base + offset, "prospect", stage.c.prospect_id, was, now_at))
    if shape.moved_branch:  # the branch it left: its devices drop it
        logged.append(
            _log_row(shape.left, stage.c.gone, "prospect", stage.c.prospect_id, was, now_at)
        )
    names = [c.name for c in _log.columns if c.name != "at"]  # "at": the database's clock
    session.execute(
        insert(_log).from_select(
            names,
            union_all(*(select(*row).where(mine) for row in logged)).order_by(
                literal_column("1"), literal_column("2")
            ),
        )
    )


def _const(table: Table, column: str, value: Any) -> ColumnElement[Any]:
    """``value`` as a constant of ``table.column``'s type (converted as that column would)."""
    if value is None:
        return null()
    return literal(value, table.c[column].type)


def _insert(table: Table, row: dict[str, Any], where: ColumnElement[bool]) -> Any:
    selected = select(*(expr.label(name) for name, expr in row.items())).where(where)
    return insert(table).from_select(list(row), selected)


def _log_row(
    branch: str,
    seq: ColumnElement[Any],
    entity: str,
    entity_id: Any,
    was: Placement,
    now_at: Placement,
) -> list[ColumnElement[Any]]:
    """A change-log row as select columns, in the table's column order."""
    return [
        _const(_log, "branch", branch),
        seq,
        _const(_log, "entity", entity),
        entity_id,
        _STAGE.c.prospect_id,
        _const(_log, "outlet_old", was[0]),
        _const(_log, "assignee_old", was[1]),
        _const(_log, "outlet_new", now_at[0]),
        _const(_log, "assignee_new", now_at[1]),
    ]

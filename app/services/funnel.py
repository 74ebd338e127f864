"""The prospect funnel as pure rules.

    unassigned → assigned → contacted → interested → applied → approved → disbursed
    any open status → declined | invalid   (closed; they end the funnel)

A move is allowed only forwards along the main line (skipping stages is fine: a
customer can agree to apply on the first call) or from an open status to a closed
one. Nothing moves backwards, so a stale offline write can never undo progress;
the central store judges every move against the status it holds, in its own order.
A person must claim a prospect from the pool before working it ("claim first"); the
loan system, reporting what already happened at the bank, is not held to that rule
(``move_refusal(..., by_person=False)``), to every other.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.models.prospect import CLOSED_STATUSES, FunnelStatus

__all__ = [
    "CLOSED",
    "MAIN_LINE",
    "TERMINAL",
    "FunnelError",
    "FunnelStatus",
    "can_transition",
    "check_transition",
    "needs_amount",
    "next_steps",
    "parse_status",
    "rank",
    "returned_to_pool",
]


MAIN_LINE: tuple[FunnelStatus, ...] = (
    FunnelStatus.UNASSIGNED,
    FunnelStatus.ASSIGNED,
    FunnelStatus.CONTACTED,
    FunnelStatus.INTERESTED,
    FunnelStatus.APPLIED,
    FunnelStatus.APPROVED,
    FunnelStatus.DISBURSED,
)
CLOSED: frozenset[FunnelStatus] = frozenset(FunnelStatus(s) for s in CLOSED_STATUSES)
TERMINAL: frozenset[FunnelStatus] = CLOSED | {FunnelStatus.DISBURSED}
_RANK = {status: i for i, status in enumerate(MAIN_LINE)}


class FunnelError(ValueError):
    """A move the funnel does not allow; ``code`` is an i18n key."""

    def __init__(self, code: str, current: str, target: str) -> None:
        super().__init__(f"{code}: {current} -> {target}")
        self.code = code
        self.current = current
        self.target = target


def parse_status(value: str) -> FunnelStatus:
    try:
        return FunnelStatus(value)
    except ValueError as exc:
        raise FunnelError("funnel.unknown_status", value, value) from exc


def rank(status: str) -> int:
    """Position on the main line; closed statuses rank after everything."""
    s = parse_status(status)
    return len(MAIN_LINE) if s in CLOSED else _RANK[s]


def check_transition(current: str, target: str) -> None:
    """Raise ``FunnelError`` unless ``current → target`` is allowed."""
    cur, new = parse_status(current), parse_status(target)
    if cur == new:
        raise FunnelError("funnel.same_status", cur, new)
    if cur in TERMINAL:
        raise FunnelError("funnel.closed", cur, new)
    if new in CLOSED:
        return
    if new == FunnelStatus.UNASSIGNED:
        raise FunnelError("funnel.backwards", cur, new)
    if _RANK[new] < _RANK[cur]:
        raise FunnelError("funnel.backwards", cur, new)
    if new == FunnelStatus.ASSIGNED:
        return  # only assignment moves a prospect here
    if cur == FunnelStatus.UNASSIGNED:
        raise FunnelError("funnel.not_assigned", cur, new)


def can_transition(current: str, target: str) -> bool:
    try:
        check_transition(current, target)
    except FunnelError:
        return False
    return True


def next_steps(current: str) -> list[FunnelStatus]:
    """The statuses a user may choose from ``current``, in display order."""
    return [s for s in FunnelStatus if s != FunnelStatus.ASSIGNED and can_transition(current, s)]


def needs_amount(target: str) -> bool:
    return parse_status(target) == FunnelStatus.DISBURSED


def move_refusal(
    current: str, target: str, amount: int | None = None, *, by_person: bool = True
) -> str:
    """Why a requested move may not happen, or "" when it may: the one judgement of a
    move, asked by the device before it saves and by the central store before it applies.
    ``by_person=False``: the loan system's report, which a pool prospect's missing claim
    does not stop (the loan exists whether or not a marketer took the prospect)."""
    if target == FunnelStatus.ASSIGNED:
        return "funnel.use_claim"  # only a claim or an assignment moves a prospect there
    if needs_amount(target) and not amount:
        return "funnel.amount_required"
    try:
        check_transition(current, target)
    except FunnelError as exc:
        if exc.code == "funnel.not_assigned" and not by_person:
            return ""  # the last check of a move: every other rule has passed
        return exc.code
    return ""


@dataclass(frozen=True)
class Handover:
    """Where a prospect stands once it is handed over."""

    assignee_id: str | None
    outlet_id: str | None
    status: str


def handover(
    status: str, outlet_id: str | None, to_user_id: str | None, to_outlet_id: str | None
) -> Handover:
    """A prospect handed to a marketer (None: back to the pool) moves to their outlet, and
    out of ``unassigned`` when someone takes it; nothing else changes."""
    taken = to_user_id is not None and status == FunnelStatus.UNASSIGNED
    return Handover(
        assignee_id=to_user_id,
        outlet_id=to_outlet_id or outlet_id,
        status=FunnelStatus.ASSIGNED if taken else status,
    )


def returned_to_pool(status: str, outlet_id: str | None) -> Handover:
    """A prospect that goes back to its outlet's pool untouched (公海: still ``assigned``)
    is unassigned again; one further along keeps its status (only the holder changes)."""
    untouched = status == FunnelStatus.ASSIGNED
    return Handover(
        assignee_id=None,
        outlet_id=outlet_id,
        status=FunnelStatus.UNASSIGNED if untouched else status,
    )

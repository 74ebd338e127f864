"""The prospect funnel as pure rules.

    unassigned → assigned → contacted → interested → applied → approved → disbursed
    any open status → declined | invalid   (closed; they end the funnel)

A move is allowed only forwards along the main line (skipping stages is fine: a
customer can agree to apply on the first call) or from an open status to a closed
one. Nothing moves backwards, so a stale offline write can never undo progress;
the central store judges every move against the status it holds, in its own order.
"""

from __future__ import annotations

from app.models.prospect import FunnelStatus

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
CLOSED: frozenset[FunnelStatus] = frozenset({FunnelStatus.DECLINED, FunnelStatus.INVALID})
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

"""Who may do what to which prospect: one answer for the card and the central store.

    decide(actor, action, prospect) -> Decision(allowed, code)

The card asks it which buttons to show, the device asks it before saving a change,
and the central store asks it again when the change arrives (the device's answer is
a courtesy; the store's is the verdict). A refusal carries an i18n code.

    action   roles                         and the prospect must be
    claim    marketer                      unassigned, in the marketer's outlet
    assign   outlet manager, admin         in the actor's reach (scope)
    move     everyone                      in reach (the funnel then judges the step)
    log      everyone                      anywhere: logs are append-only facts
    reveal   everyone                      in reach
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.models.user import Role
from app.services.funnel import FunnelStatus, next_steps
from app.services.scope import Scope


class Action(StrEnum):
    CLAIM = "claim"  # take an unassigned prospect from my outlet's pool
    ASSIGN = "assign"  # assign, transfer, or return to the pool
    MOVE = "move"  # ask for a funnel status change
    LOG = "log"  # write a marketing log
    REVEAL = "reveal"  # see a masked phone number or credit code (audited)


EVERYONE = frozenset(Role)
ROLES: dict[Action, frozenset[str]] = {
    Action.CLAIM: frozenset({Role.MARKETER}),
    Action.ASSIGN: frozenset({Role.OUTLET_MANAGER, Role.ADMIN}),
    Action.MOVE: EVERYONE,
    Action.LOG: EVERYONE,
    Action.REVEAL: EVERYONE,
}


@dataclass(frozen=True)
class ProspectFacts:
    """What a decision needs to know of a prospect."""

    outlet_id: str | None
    assignee_id: str | None
    status: str


@dataclass(frozen=True)
class AssigneeFacts:
    """What a decision needs to know of the marketer a prospect is handed to."""

    role: str
    outlet_id: str | None
    active: bool = True


@dataclass(frozen=True)
class Decision:
    allowed: bool
    code: str = ""  # why not: an i18n key

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Decision(True)


def refused(code: str) -> Decision:
    return Decision(False, code)


def decide(actor: Scope, action: Action, prospect: ProspectFacts) -> Decision:
    """May ``actor`` do ``action`` to ``prospect``, and if not, why."""
    if actor.role not in ROLES[action]:
        return refused("auth.forbidden")
    in_reach = actor.contains(prospect.outlet_id, prospect.assignee_id)
    match action:
        case Action.CLAIM:
            if prospect.assignee_id is not None:
                return refused("prospect.already_assigned")
            if prospect.outlet_id is None or prospect.outlet_id != actor.outlet_id:
                return refused("prospect.out_of_scope")
        case Action.LOG:
            pass
        case Action.ASSIGN | Action.MOVE | Action.REVEAL:
            if not in_reach:
                return refused("prospect.out_of_scope")
    return ALLOWED


def decide_assignee(actor: Scope, target: AssigneeFacts | None) -> Decision:
    """May ``actor`` hand a prospect to ``target`` (None: back to the outlet pool)."""
    if target is None:
        return ALLOWED
    if not target.active:
        return refused("user.not_found")
    if target.role != Role.MARKETER:
        return refused("user.not_marketer")
    if actor.role != Role.ADMIN and target.outlet_id != actor.outlet_id:
        return refused("user.other_outlet")
    return ALLOWED


def allowed_actions(actor: Scope, prospect: ProspectFacts) -> frozenset[Action]:
    """Every action ``actor`` may take on ``prospect`` (the card's buttons)."""
    return frozenset(a for a in Action if decide(actor, a, prospect))


def next_statuses(actor: Scope, prospect: ProspectFacts) -> list[FunnelStatus]:
    """The statuses ``actor`` may move ``prospect`` to, in display order."""
    if not decide(actor, Action.MOVE, prospect):
        return []
    return next_steps(prospect.status)

"""Who may do what to which prospect: one answer for the card and the central store.

    decide(actor, action, prospect) -> Decision(allowed, code)

The card asks it which buttons to show, the device asks it before saving a change,
and the central store asks it again when the change arrives (the device's answer is
a courtesy; the store's is the verdict). A refusal carries an i18n code.

    action   roles                         and the prospect must be
    claim    marketer                      in reach and unassigned (the marketer's outlet pool)
    assign   outlet manager, sub-branch    in the actor's reach (scope); the marketer it
             manager, admin                goes to works at an outlet the actor reaches whole
    move     everyone                      in reach (the funnel then judges the step)
    log      everyone                      in reach, or it left the actor's reach (DESIGN
                                           §3.3: logs are append-only facts, so a visit
                                           logged offline before a transfer still counts)
    reveal   everyone                      in reach

A field find (外拓线索) is judged on its outlet, not a prospect (``decide_lead``):

    propose  marketer, outlet manager,     the actor has an outlet (the find is its outlet's)
             sub-branch manager
    review   outlet manager, sub-branch    the find's outlet is one the actor reaches whole
             manager, admin                (``Scope.reaches_outlet``); an unknown find is
                                           judged as ``NO_LEAD``, answered as one out of reach

A target (营销任务) is judged on its subject, an outlet or a marketer (``decide_target``,
``sees_target``):

    set or remove  an outlet's     admin (any outlet), sub-branch manager (its outlets)
                   a marketer's    outlet manager (its outlet's marketers), sub-branch
                                   manager (its outlets' marketers)
                   a subject unknown or out of the actor's reach is judged as
                   ``NO_SUBJECT``: an id cannot be probed for existence
    see            an admin every target; a manager those of its outlets and their
                   marketers; a marketer its own and its outlet's

Every mutation kind a device can push is one of these actions (``ACTION_OF``), so no
kind reaches the store's tables without this judgement. A prospect the store does not
know is judged as ``NOWHERE`` (out of everyone's reach), so its answer is the one an
existing prospect out of reach gets: an id cannot be probed for existence. For the same
reason reach is checked before anything else about the prospect (a marketer claiming
another outlet's assigned prospect hears ``out_of_scope``, not ``already_assigned``).

A log by an actor the prospect has left is kept, but it no longer plans the prospect's
next follow-up (``sets_plan``: the plan belongs to whoever holds it now); its contact
time still counts as the prospect's last contact, which is a fact about the customer
that the new holder needs (not to call the same customer twice in a day).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from app.models.sync import MutationKind
from app.models.target import TargetSubject
from app.models.user import Role
from app.services.funnel import FunnelStatus, next_steps
from app.services.scope import Scope


class Action(StrEnum):
    CLAIM = "claim"  # take an unassigned prospect from my outlet's pool
    ASSIGN = "assign"  # assign, transfer, or return to the pool
    MOVE = "move"  # ask for a funnel status change
    LOG = "log"  # write a marketing log
    REVEAL = "reveal"  # see a masked phone number or credit code (audited)
    PROPOSE = "propose"  # add a business found in the field, for review
    REVIEW = "review"  # approve or send back a field find


EVERYONE = frozenset(Role)
ROLES: dict[Action, frozenset[str]] = {
    Action.CLAIM: frozenset({Role.MARKETER}),
    Action.ASSIGN: frozenset({Role.OUTLET_MANAGER, Role.SUBBRANCH_MANAGER, Role.ADMIN}),
    Action.MOVE: EVERYONE,
    Action.LOG: EVERYONE,
    Action.REVEAL: EVERYONE,
    Action.PROPOSE: frozenset({Role.MARKETER, Role.OUTLET_MANAGER, Role.SUBBRANCH_MANAGER}),
    Action.REVIEW: frozenset({Role.OUTLET_MANAGER, Role.SUBBRANCH_MANAGER, Role.ADMIN}),
}
# The actions on a field find (``decide_lead``); every other one is on a prospect.
LEAD_ACTIONS = frozenset({Action.PROPOSE, Action.REVIEW})
PROSPECT_ACTIONS = frozenset(Action) - LEAD_ACTIONS

# What each pushed mutation asks for (tests hold it to cover every ``MutationKind``).
ACTION_OF: dict[MutationKind, Action] = {
    MutationKind.LOG_CREATE: Action.LOG,
    MutationKind.FUNNEL_MOVE: Action.MOVE,
    MutationKind.PROSPECT_CLAIM: Action.CLAIM,
    MutationKind.PROSPECT_ASSIGN: Action.ASSIGN,
    MutationKind.AUDIT_REVEAL: Action.REVEAL,
    MutationKind.LEAD_CREATE: Action.PROPOSE,
    MutationKind.LEAD_REVIEW: Action.REVIEW,
}


@dataclass(frozen=True)
class ProspectFacts:
    """What a decision needs to know of a prospect."""

    outlet_id: str | None
    assignee_id: str | None
    status: str
    # The prospect was once in the actor's reach and has left it (a transfer from it is
    # recorded): the caller reads it from its transfers (``left_reach``).
    left_actor: bool = False


# A prospect nobody reaches: how an unknown id is judged, so it answers as one out of reach.
NOWHERE = ProspectFacts(outlet_id=None, assignee_id=None, status="")


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
            if not in_reach:
                return refused("prospect.out_of_scope")
            if prospect.assignee_id is not None:
                return refused("prospect.already_assigned")
        case Action.LOG:
            if not (in_reach or prospect.left_actor):
                return refused("prospect.out_of_scope")
        case Action.ASSIGN | Action.MOVE | Action.REVEAL:
            if not in_reach:
                return refused("prospect.out_of_scope")
        case Action.PROPOSE | Action.REVIEW:  # about a find, not a prospect: decide_lead
            return refused("auth.forbidden")
    return ALLOWED


@dataclass(frozen=True)
class LeadFacts:
    """What a decision needs to know of a field find."""

    outlet_id: str | None
    finder_id: str | None


# A find nobody reaches: how an unknown id is judged, so it answers as one out of reach.
NO_LEAD = LeadFacts(outlet_id=None, finder_id=None)


def decide_lead(actor: Scope, action: Action, lead: LeadFacts) -> Decision:
    """May ``actor`` propose (``lead``: the find it would make) or review ``lead``."""
    if action not in LEAD_ACTIONS or actor.role not in ROLES[action]:
        return refused("auth.forbidden")
    if action == Action.PROPOSE:
        if actor.outlet_id is None:
            return refused("lead.no_outlet")
        if lead.outlet_id != actor.outlet_id or lead.finder_id != actor.user_id:
            return refused("lead.out_of_scope")
    elif not actor.reaches_outlet(lead.outlet_id):
        return refused("lead.out_of_scope")
    return ALLOWED


def left_reach(actor: Scope, transfers_from: Iterable[tuple[str | None, str | None]]) -> bool:
    """Whether a prospect left ``actor``'s reach, from the (outlet, assignee) it was
    transferred away from each time: some of them were in reach."""
    return any(actor.contains(outlet_id, assignee_id) for outlet_id, assignee_id in transfers_from)


def sets_plan(actor: Scope, prospect: ProspectFacts) -> bool:
    """Whether a log by ``actor`` plans ``prospect``'s next follow-up: only while in reach."""
    return actor.contains(prospect.outlet_id, prospect.assignee_id)


def decide_assignee(actor: Scope, target: AssigneeFacts | None) -> Decision:
    """May ``actor`` hand a prospect to ``target`` (None: back to the outlet pool)."""
    if target is None:
        return ALLOWED
    if not target.active:
        return refused("user.not_found")
    if target.role != Role.MARKETER:
        return refused("user.not_marketer")
    if not actor.reaches_outlet(target.outlet_id):
        return refused("user.other_outlet")
    return ALLOWED


def allowed_actions(actor: Scope, prospect: ProspectFacts) -> frozenset[Action]:
    """Every action ``actor`` may take on ``prospect`` (the card's buttons)."""
    return frozenset(a for a in PROSPECT_ACTIONS if decide(actor, a, prospect))


def next_statuses(actor: Scope, prospect: ProspectFacts) -> list[FunnelStatus]:
    """The statuses ``actor`` may move ``prospect`` to, in display order."""
    if not decide(actor, Action.MOVE, prospect):
        return []
    return next_steps(prospect.status)


# -- targets (营销任务) ----------------------------------------------------------------

# Who may set (and remove) a target of each kind of subject.
SETS_TARGETS: dict[TargetSubject, frozenset[str]] = {
    TargetSubject.OUTLET: frozenset({Role.ADMIN, Role.SUBBRANCH_MANAGER}),
    TargetSubject.MARKETER: frozenset({Role.OUTLET_MANAGER, Role.SUBBRANCH_MANAGER}),
}
TARGET_SETTERS = frozenset().union(*SETS_TARGETS.values())


@dataclass(frozen=True)
class TargetFacts:
    """What a decision needs to know of a target's subject: the outlet (itself, or the
    marketer's), and for a person their role and whether the account is active."""

    subject: str  # a TargetSubject value
    subject_id: str
    outlet_id: str | None
    role: str | None = None  # a person's; None for an outlet
    active: bool = True


# A subject nobody reaches: how an unknown outlet or person is judged.
NO_SUBJECT = TargetFacts(subject="", subject_id="", outlet_id=None)


def decide_target(actor: Scope, subject: TargetFacts) -> Decision:
    """May ``actor`` set (or remove) a target of ``subject``, and if not, why."""
    if actor.role not in TARGET_SETTERS:
        return refused("auth.forbidden")
    if not subject.active or not actor.reaches_outlet(subject.outlet_id):
        return refused("target.subject_not_found")
    kind = TargetSubject(subject.subject)
    if kind == TargetSubject.MARKETER and subject.role != Role.MARKETER:
        return refused("target.not_marketer")
    if actor.role not in SETS_TARGETS[kind]:
        return refused(f"target.not_yours.{kind.value}")
    return ALLOWED


def sees_target(actor: Scope, subject: TargetFacts) -> bool:
    """Whether ``actor`` may see a target of ``subject`` (and how far it has come)."""
    if actor.role in (Role.ADMIN, Role.OUTLET_MANAGER, Role.SUBBRANCH_MANAGER):
        return actor.reaches_outlet(subject.outlet_id)
    if subject.subject == TargetSubject.MARKETER:
        return subject.subject_id == actor.user_id
    return subject.outlet_id is not None and subject.outlet_id == actor.outlet_id

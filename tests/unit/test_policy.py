"""The one permission policy: role × action × the prospect's place → allowed, or why not."""

from __future__ import annotations

import pytest

from app.services.policy import (
    Action,
    AssigneeFacts,
    ProspectFacts,
    allowed_actions,
    decide,
    decide_assignee,
    next_statuses,
)
from app.services.scope import Scope

MARKETER = Scope("m1", "marketer", "outlet-a")
MANAGER = Scope("g1", "outlet_manager", "outlet-a")
ADMIN = Scope("a1", "admin", None)

MINE = ProspectFacts("outlet-a", "m1", "assigned")
POOL = ProspectFacts("outlet-a", None, "unassigned")
COLLEAGUES = ProspectFacts("outlet-a", "m2", "contacted")
OTHER_POOL = ProspectFacts("outlet-b", None, "unassigned")
OTHER_OUTLETS = ProspectFacts("outlet-b", "m3", "interested")


@pytest.mark.parametrize(
    ("actor", "prospect", "expected"),
    [
        (MARKETER, MINE, {Action.MOVE, Action.LOG, Action.REVEAL}),
        (MARKETER, POOL, {Action.CLAIM, Action.MOVE, Action.LOG, Action.REVEAL}),
        (MARKETER, COLLEAGUES, {Action.LOG}),
        (MARKETER, OTHER_POOL, {Action.LOG}),
        (MANAGER, COLLEAGUES, {Action.ASSIGN, Action.MOVE, Action.LOG, Action.REVEAL}),
        (MANAGER, POOL, {Action.ASSIGN, Action.MOVE, Action.LOG, Action.REVEAL}),
        (MANAGER, OTHER_OUTLETS, {Action.LOG}),
        (ADMIN, OTHER_OUTLETS, {Action.ASSIGN, Action.MOVE, Action.LOG, Action.REVEAL}),
    ],
)
def test_what_each_role_may_do_where(actor, prospect, expected):
    assert allowed_actions(actor, prospect) == expected


@pytest.mark.parametrize(
    ("actor", "action", "prospect", "code"),
    [
        (MANAGER, Action.CLAIM, POOL, "auth.forbidden"),
        (MARKETER, Action.ASSIGN, MINE, "auth.forbidden"),
        (MARKETER, Action.CLAIM, COLLEAGUES, "prospect.already_assigned"),
        (MARKETER, Action.CLAIM, OTHER_POOL, "prospect.out_of_scope"),
        (MARKETER, Action.MOVE, COLLEAGUES, "prospect.out_of_scope"),
        (MANAGER, Action.REVEAL, OTHER_OUTLETS, "prospect.out_of_scope"),
    ],
)
def test_a_refusal_says_why(actor, action, prospect, code):
    decision = decide(actor, action, prospect)
    assert not decision and decision.code == code


def test_logs_are_facts_accepted_anywhere():
    """Append-only: a visit logged after the prospect left me still counts (DESIGN §3.3)."""
    assert decide(MARKETER, Action.LOG, OTHER_OUTLETS)


@pytest.mark.parametrize(
    ("actor", "target", "code"),
    [
        (MANAGER, AssigneeFacts("marketer", "outlet-a"), ""),
        (MANAGER, AssigneeFacts("marketer", "outlet-b"), "user.other_outlet"),
        (ADMIN, AssigneeFacts("marketer", "outlet-b"), ""),
        (MANAGER, AssigneeFacts("outlet_manager", "outlet-a"), "user.not_marketer"),
        (MANAGER, AssigneeFacts("marketer", "outlet-a", active=False), "user.not_found"),
        (MANAGER, None, ""),  # back to the pool
    ],
)
def test_who_a_prospect_may_be_handed_to(actor, target, code):
    decision = decide_assignee(actor, target)
    assert (bool(decision), decision.code) == (not code, code)


def test_the_steps_offered_follow_the_funnel_and_the_reach():
    assert next_statuses(MARKETER, MINE)[0] == "contacted"
    assert "assigned" not in next_statuses(MARKETER, MINE)  # only a claim or assignment
    assert next_statuses(MARKETER, COLLEAGUES) == []  # not mine to move
    assert next_statuses(MARKETER, ProspectFacts("outlet-a", "m1", "disbursed")) == []

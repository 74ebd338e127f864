"""The one permission policy: role × action × the prospect's place → allowed, or why not."""

from __future__ import annotations

import pytest

from app.models.sync import MutationKind
from app.server.apply import _HANDLERS
from app.services.policy import (
    ACTION_OF,
    NOWHERE,
    Action,
    AssigneeFacts,
    ProspectFacts,
    allowed_actions,
    decide,
    decide_assignee,
    left_reach,
    next_statuses,
    sets_plan,
)
from app.services.scope import Scope

MARKETER = Scope("m1", "marketer", "outlet-a")
MANAGER = Scope("g1", "outlet_manager", "outlet-a")
# sits at outlet A; its sub-branch holds A and C (B is another sub-branch's)
SUBBRANCH = Scope("z1", "subbranch_manager", "outlet-a", frozenset({"outlet-a", "outlet-c"}))
ADMIN = Scope("a1", "admin", None)

MINE = ProspectFacts("outlet-a", "m1", "assigned")
POOL = ProspectFacts("outlet-a", None, "unassigned")
COLLEAGUES = ProspectFacts("outlet-a", "m2", "contacted")
OTHER_POOL = ProspectFacts("outlet-b", None, "unassigned")
OTHER_OUTLETS = ProspectFacts("outlet-b", "m3", "interested")
LEFT_ME = ProspectFacts("outlet-b", "m3", "interested", left_actor=True)
SISTER_POOL = ProspectFacts("outlet-c", None, "unassigned")  # A's sister outlet C
SISTERS = ProspectFacts("outlet-c", "m4", "contacted")
ALL_BUT_CLAIM = {Action.ASSIGN, Action.MOVE, Action.LOG, Action.REVEAL}


@pytest.mark.parametrize(
    ("actor", "prospect", "expected"),
    [
        (MARKETER, MINE, {Action.MOVE, Action.LOG, Action.REVEAL}),
        (MARKETER, POOL, {Action.CLAIM, Action.MOVE, Action.LOG, Action.REVEAL}),
        (MARKETER, COLLEAGUES, set()),
        (MARKETER, OTHER_POOL, set()),
        (MARKETER, LEFT_ME, {Action.LOG}),
        (MANAGER, COLLEAGUES, {Action.ASSIGN, Action.MOVE, Action.LOG, Action.REVEAL}),
        (MANAGER, POOL, {Action.ASSIGN, Action.MOVE, Action.LOG, Action.REVEAL}),
        (MANAGER, OTHER_OUTLETS, set()),
        (MANAGER, NOWHERE, set()),
        (ADMIN, NOWHERE, set()),
        (ADMIN, OTHER_OUTLETS, {Action.ASSIGN, Action.MOVE, Action.LOG, Action.REVEAL}),
        (MANAGER, SISTER_POOL, set()),  # its outlet's sister is not its outlet
        (MANAGER, SISTERS, set()),
        (MARKETER, SISTER_POOL, set()),
        (SUBBRANCH, POOL, ALL_BUT_CLAIM),  # never claims: it hands prospects out
        (SUBBRANCH, COLLEAGUES, ALL_BUT_CLAIM),
        (SUBBRANCH, SISTER_POOL, ALL_BUT_CLAIM),
        (SUBBRANCH, SISTERS, ALL_BUT_CLAIM),
        (SUBBRANCH, OTHER_POOL, set()),  # another sub-branch's
        (SUBBRANCH, OTHER_OUTLETS, set()),
        (SUBBRANCH, NOWHERE, set()),
        (SUBBRANCH, ProspectFacts("outlet-b", "z1", "assigned"), set()),  # reach is by outlet
    ],
)
def test_what_each_role_may_do_where(actor, prospect, expected):
    assert allowed_actions(actor, prospect) == expected


@pytest.mark.parametrize(
    ("actor", "action", "prospect", "code"),
    [
        (MANAGER, Action.CLAIM, POOL, "auth.forbidden"),
        (MARKETER, Action.ASSIGN, MINE, "auth.forbidden"),
        (MARKETER, Action.CLAIM, MINE, "prospect.already_assigned"),
        # out of reach before anything else: the answer an unknown id gets
        (MARKETER, Action.CLAIM, COLLEAGUES, "prospect.out_of_scope"),
        (MARKETER, Action.CLAIM, OTHER_OUTLETS, "prospect.out_of_scope"),
        (MARKETER, Action.LOG, COLLEAGUES, "prospect.out_of_scope"),
        (MARKETER, Action.CLAIM, OTHER_POOL, "prospect.out_of_scope"),
        (MARKETER, Action.MOVE, COLLEAGUES, "prospect.out_of_scope"),
        (MANAGER, Action.REVEAL, OTHER_OUTLETS, "prospect.out_of_scope"),
        (SUBBRANCH, Action.CLAIM, SISTER_POOL, "auth.forbidden"),
        (SUBBRANCH, Action.ASSIGN, OTHER_POOL, "prospect.out_of_scope"),
        (SUBBRANCH, Action.REVEAL, OTHER_OUTLETS, "prospect.out_of_scope"),
    ],
)
def test_a_refusal_says_why(actor, action, prospect, code):
    decision = decide(actor, action, prospect)
    assert not decision and decision.code == code


def test_a_log_is_accepted_in_reach_or_after_the_prospect_left_the_author():
    """Append-only: a visit logged after the prospect left me still counts (DESIGN §3.3);
    a prospect that was never mine takes no log from me."""
    assert decide(MARKETER, Action.LOG, LEFT_ME)
    assert not decide(MARKETER, Action.LOG, OTHER_OUTLETS)
    assert not sets_plan(MARKETER, LEFT_ME)  # its plan is its new holder's
    assert sets_plan(MARKETER, MINE) and sets_plan(MANAGER, COLLEAGUES)


@pytest.mark.parametrize(
    ("actor", "transfers_from", "left"),
    [
        (MARKETER, [("outlet-a", "m1")], True),  # transferred away from me
        (MARKETER, [("outlet-a", None)], True),  # taken from my outlet's pool
        (MARKETER, [("outlet-a", "m2")], False),  # between colleagues: never mine
        (MARKETER, [("outlet-b", None), ("outlet-b", "m3")], False),
        (MANAGER, [("outlet-a", "m2")], True),  # left my outlet
        (MANAGER, [], False),
        (SUBBRANCH, [("outlet-c", "m4")], True),  # left its sister outlet
        (SUBBRANCH, [("outlet-b", "m3")], False),
    ],
)
def test_whether_a_prospect_left_the_actor_is_read_from_its_transfers(actor, transfers_from, left):
    assert left_reach(actor, transfers_from) is left


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize(
    ("actor", "out_of_reach"),
    [
        (MARKETER, COLLEAGUES),
        (MARKETER, OTHER_OUTLETS),
        (MANAGER, OTHER_OUTLETS),
        (SUBBRANCH, OTHER_POOL),
        (ADMIN, ProspectFacts(None, None, "unassigned")),  # an admin reaches every outlet's
    ],
)
def test_an_unknown_prospect_gets_the_answer_of_one_out_of_reach(actor, out_of_reach, action):
    """NOWHERE stands for an id the store does not know: never allowed, and refused with
    the very code an existing prospect out of reach gets, so ids cannot be probed."""
    assert decide(actor, action, NOWHERE) == decide(actor, action, out_of_reach)
    assert not decide(actor, action, NOWHERE)


def test_every_mutation_kind_is_judged_as_a_policy_action():
    """A new kind of change must name its action here, or the store cannot apply it."""
    assert set(ACTION_OF) == set(MutationKind)
    assert set(_HANDLERS) == set(MutationKind)


@pytest.mark.parametrize(
    ("actor", "target", "code"),
    [
        (MANAGER, AssigneeFacts("marketer", "outlet-a"), ""),
        (MANAGER, AssigneeFacts("marketer", "outlet-b"), "user.other_outlet"),
        (ADMIN, AssigneeFacts("marketer", "outlet-b"), ""),
        (MANAGER, AssigneeFacts("outlet_manager", "outlet-a"), "user.not_marketer"),
        (MANAGER, AssigneeFacts("marketer", "outlet-a", active=False), "user.not_found"),
        (MANAGER, None, ""),  # back to the pool
        (MANAGER, AssigneeFacts("marketer", "outlet-c"), "user.other_outlet"),
        (SUBBRANCH, AssigneeFacts("marketer", "outlet-a"), ""),
        (SUBBRANCH, AssigneeFacts("marketer", "outlet-c"), ""),  # to its sister outlet
        (SUBBRANCH, AssigneeFacts("marketer", "outlet-b"), "user.other_outlet"),
        (SUBBRANCH, AssigneeFacts("marketer", None), "user.other_outlet"),
        (SUBBRANCH, AssigneeFacts("subbranch_manager", "outlet-a"), "user.not_marketer"),
        (SUBBRANCH, None, ""),
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

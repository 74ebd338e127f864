"""Who may set, remove and see a target (营销任务): ``policy.decide_target`` and
``policy.sees_target``, one rule for every door."""

from __future__ import annotations

import pytest

from app.models.user import Role
from app.services.policy import NO_SUBJECT, TargetFacts, decide_target, sees_target
from app.services.scope import Scope

ADMIN = Scope("a1", Role.ADMIN, None)
G1 = Scope("g1", Role.OUTLET_MANAGER, "A")
Z1 = Scope("z1", Role.SUBBRANCH_MANAGER, "A", frozenset({"A", "C"}))
M1 = Scope("m1", Role.MARKETER, "A")

OUTLET_A = TargetFacts("outlet", "A", "A")
OUTLET_B = TargetFacts("outlet", "B", "B")
OUTLET_C = TargetFacts("outlet", "C", "C")
M1_FACTS = TargetFacts("marketer", "m1", "A", Role.MARKETER)
M2_FACTS = TargetFacts("marketer", "m2", "A", Role.MARKETER)
M3_FACTS = TargetFacts("marketer", "m3", "B", Role.MARKETER)
M4_FACTS = TargetFacts("marketer", "m4", "C", Role.MARKETER)
G1_FACTS = TargetFacts("marketer", "g1", "A", Role.OUTLET_MANAGER)
GONE = TargetFacts("marketer", "m9", "A", Role.MARKETER, active=False)


@pytest.mark.parametrize(
    ("actor", "subject", "code"),
    [
        (ADMIN, OUTLET_A, ""),
        (ADMIN, OUTLET_B, ""),
        (ADMIN, M1_FACTS, "target.not_yours.marketer"),
        (ADMIN, NO_SUBJECT, "target.subject_not_found"),
        (Z1, OUTLET_A, ""),
        (Z1, OUTLET_C, ""),
        (Z1, M4_FACTS, ""),
        (Z1, OUTLET_B, "target.subject_not_found"),
        (Z1, M3_FACTS, "target.subject_not_found"),
        (G1, M1_FACTS, ""),
        (G1, M2_FACTS, ""),
        (G1, OUTLET_A, "target.not_yours.outlet"),
        (G1, M3_FACTS, "target.subject_not_found"),
        (G1, M4_FACTS, "target.subject_not_found"),
        (G1, G1_FACTS, "target.not_marketer"),
        (G1, GONE, "target.subject_not_found"),
        (G1, NO_SUBJECT, "target.subject_not_found"),
        (M1, M1_FACTS, "auth.forbidden"),
        (M1, OUTLET_A, "auth.forbidden"),
    ],
)
def test_who_may_set_a_target(actor, subject, code):
    decision = decide_target(actor, subject)
    assert (decision.allowed, decision.code) == (code == "", code)


@pytest.mark.parametrize(
    ("actor", "subject", "seen"),
    [
        (ADMIN, OUTLET_B, True),
        (ADMIN, M3_FACTS, True),
        (Z1, M4_FACTS, True),
        (Z1, OUTLET_B, False),
        (G1, OUTLET_A, True),  # its own outlet's target: seen, not set
        (G1, M2_FACTS, True),
        (G1, M3_FACTS, False),
        (M1, M1_FACTS, True),
        (M1, OUTLET_A, True),
        (M1, M2_FACTS, False),  # a colleague's target is theirs
        (M1, OUTLET_B, False),
        (M1, NO_SUBJECT, False),
    ],
)
def test_who_sees_a_target(actor, subject, seen):
    assert sees_target(actor, subject) is seen

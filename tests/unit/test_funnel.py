"""The funnel rules: forwards only, closed states final, assignment first."""

from __future__ import annotations

import itertools

import pytest

from app.services.funnel import (
    CLOSED,
    MAIN_LINE,
    FunnelError,
    FunnelStatus,
    Handover,
    can_transition,
    check_transition,
    handover,
    move_refusal,
    needs_amount,
    next_steps,
    rank,
)

S = FunnelStatus
OPEN = [s for s in MAIN_LINE if s != S.DISBURSED]
WORKED = MAIN_LINE[1:]  # assigned … disbursed
IN_PROGRESS = MAIN_LINE[1:-1]  # assigned … approved


def _error(current: str, target: str) -> str:
    with pytest.raises(FunnelError) as info:
        check_transition(current, target)
    if info.value.code != "funnel.unknown_status":
        assert (info.value.current, info.value.target) == (current, target)
    return info.value.code


@pytest.mark.parametrize(
    ("current", "target"),
    [(a, b) for a, b in itertools.pairwise(MAIN_LINE)],
)
def test_each_next_stage_is_allowed(current: S, target: S) -> None:
    check_transition(current, target)
    assert can_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.ASSIGNED, S.INTERESTED),
        (S.ASSIGNED, S.APPLIED),
        (S.CONTACTED, S.APPLIED),
        (S.CONTACTED, S.DISBURSED),
        (S.INTERESTED, S.APPROVED),
    ],
)
def test_stages_may_be_skipped_forwards(current: S, target: S) -> None:
    assert can_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [(b, a) for a, b in itertools.combinations(WORKED, 2) if b != S.DISBURSED],
)
def test_nothing_moves_backwards(current: S, target: S) -> None:
    assert _error(current, target) == "funnel.backwards"


@pytest.mark.parametrize("current", IN_PROGRESS)
def test_no_status_returns_to_the_pool(current: S) -> None:
    assert _error(current, S.UNASSIGNED) == "funnel.backwards"


@pytest.mark.parametrize(
    ("current", "target"), [(c, t) for c in [*CLOSED, S.DISBURSED] for t in FunnelStatus if t != c]
)
def test_closed_and_disbursed_are_final(current: S, target: S) -> None:
    assert _error(current, target) == "funnel.closed"


@pytest.mark.parametrize(("current", "target"), [(c, t) for c in OPEN for t in CLOSED])
def test_any_open_status_may_close(current: S, target: S) -> None:
    assert can_transition(current, target)


@pytest.mark.parametrize("target", [S.CONTACTED, S.INTERESTED, S.APPLIED, S.APPROVED, S.DISBURSED])
def test_an_unassigned_prospect_must_be_assigned_first(target: S) -> None:
    assert _error(S.UNASSIGNED, target) == "funnel.not_assigned"


@pytest.mark.parametrize("status", list(FunnelStatus))
def test_a_status_cannot_move_to_itself(status: S) -> None:
    assert _error(status, status) == "funnel.same_status"


def test_unknown_statuses_are_refused() -> None:
    assert _error("assigned", "signed") == "funnel.unknown_status"
    assert _error("lost", "assigned") == "funnel.unknown_status"
    with pytest.raises(FunnelError):
        rank("lost")


def test_plain_strings_work_like_the_enum() -> None:
    assert can_transition("contacted", "interested")
    assert not can_transition("interested", "contacted")


def test_next_steps_offer_forward_moves_and_closing_in_display_order() -> None:
    assert next_steps(S.UNASSIGNED) == [S.DECLINED, S.INVALID]
    assert next_steps(S.ASSIGNED) == [
        S.CONTACTED,
        S.INTERESTED,
        S.APPLIED,
        S.APPROVED,
        S.DISBURSED,
        S.DECLINED,
        S.INVALID,
    ]
    assert next_steps(S.APPROVED) == [S.DISBURSED, S.DECLINED, S.INVALID]
    for final in (S.DISBURSED, S.DECLINED, S.INVALID):
        assert next_steps(final) == []


def test_next_steps_never_offer_assignment_or_a_refused_move() -> None:
    for status in FunnelStatus:
        steps = next_steps(status)
        assert S.ASSIGNED not in steps
        assert all(can_transition(status, s) for s in steps)


def test_rank_orders_the_main_line_and_puts_closed_last() -> None:
    ranks = [rank(s) for s in MAIN_LINE]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)
    assert rank(S.DECLINED) == rank(S.INVALID) > rank(S.DISBURSED)


def test_only_disbursement_needs_an_amount() -> None:
    assert [s for s in FunnelStatus if needs_amount(s)] == [S.DISBURSED]


@pytest.mark.parametrize(
    ("current", "target", "amount", "code"),
    [
        ("assigned", "contacted", None, ""),
        ("unassigned", "assigned", None, "funnel.use_claim"),
        ("approved", "disbursed", None, "funnel.amount_required"),
        ("approved", "disbursed", 0, "funnel.amount_required"),
        ("approved", "disbursed", 500_000, ""),
        ("interested", "contacted", None, "funnel.backwards"),
        ("invalid", "declined", None, "funnel.closed"),
    ],
)
def test_one_judgement_of_a_move_for_device_and_store(current, target, amount, code):
    assert move_refusal(current, target, amount) == code


def test_a_handover_takes_a_pool_prospect_to_the_marketer_and_their_outlet():
    taken = handover("unassigned", "outlet-a", "m3", "outlet-b")
    assert taken == Handover(assignee_id="m3", outlet_id="outlet-b", status="assigned")
    back = handover("interested", "outlet-a", None, None)  # to the pool: progress is kept
    assert back == Handover(assignee_id=None, outlet_id="outlet-a", status="interested")

"""The distribution rules: even split, nearest with capacity, the pool-return clock."""

from __future__ import annotations

import math
import random
from collections import Counter
from datetime import datetime, timedelta

import pytest

from app.services.distribution import (
    plan_even,
    plan_nearest,
    pool_return_due,
    territory,
)
from app.services.funnel import returned_to_pool
from app.services.timeline import reason_text

IDS = [f"p{i:03d}" for i in range(20)]


# -- even -------------------------------------------------------------------------------


def test_even_tops_up_the_least_loaded_first():
    plan = plan_even(IDS[:6], ["a", "b", "c"], {"a": 5, "b": 2, "c": 0}, None)
    got = Counter(plan.values())
    # c to 2 then b and c together to 4 (loads b 2+2, c 0+4): a, already at 5, gets none
    assert got == {"c": 4, "b": 2}
    assert plan["p000"] == "c"  # the first (best) prospect to the lightest


def test_even_levels_loads_and_splits_ties_in_order():
    plan = plan_even(IDS[:7], ["a", "b", "c"], {}, None)
    assert Counter(plan.values()) == {"a": 3, "b": 2, "c": 2}
    assert [plan[p] for p in IDS[:3]] == ["a", "b", "c"]


def test_even_cap_counts_new_prospects_and_leaves_the_rest():
    plan = plan_even(IDS[:10], ["a", "b"], {"a": 0, "b": 100}, 3)
    assert Counter(plan.values()) == {"a": 3, "b": 3}
    assert len(plan) == 6  # four stay in the pool
    assert set(plan) == set(IDS[:6])  # the first ones (the best) go out
    assert plan_even(IDS[:5], ["a"], {}, 0) == {}


def test_even_is_deterministic_and_ignores_repeated_marketers():
    first = plan_even(IDS, ["b", "a", "b"], {"a": 1}, None)
    assert first == plan_even(list(IDS), ["b", "a"], {"a": 1}, None)
    assert Counter(first.values()) == {"b": 11, "a": 9}  # loads end 11 and 10


def test_even_without_marketers_assigns_nothing():
    assert plan_even(IDS, [], {}, None) == {}


# -- nearest ----------------------------------------------------------------------------


def test_nearest_without_cap_is_each_ones_nearest():
    marketers = [("west", 27.70, 106.90), ("east", 27.70, 107.00)]
    prospects = [("p1", 27.70, 106.91), ("p2", 27.71, 106.99), ("p3", 27.69, 106.94)]
    assert plan_nearest(prospects, marketers, None) == {"p1": "west", "p2": "east", "p3": "west"}


def test_nearest_fills_by_distance_then_falls_to_the_next_nearest():
    marketers = [("west", 27.70, 106.90), ("east", 27.70, 107.00)]
    prospects = [(f"w{i}", 27.70, 106.90 + i * 0.005) for i in range(5)]  # all west of 106.95
    plan = plan_nearest(prospects, marketers, 2)
    assert plan == {"w0": "west", "w1": "west", "w4": "east", "w3": "east"}  # w2 waits


def test_nearest_greedy_matches_sorting_every_pair():
    rng = random.Random(7)
    marketers = [(f"m{j}", 27.6 + rng.random() * 0.2, 106.8 + rng.random() * 0.2) for j in range(6)]
    prospects = [
        (f"p{i:04d}", 27.6 + rng.random() * 0.2, 106.8 + rng.random() * 0.2) for i in range(400)
    ]
    cap = 50
    kx = math.cos(math.radians(sum(p[1] for p in prospects) / len(prospects)))
    pairs = sorted(
        (((p[2] - m[2]) * kx) ** 2 + (p[1] - m[1]) ** 2, i, j)
        for i, p in enumerate(prospects)
        for j, m in enumerate(marketers)
    )
    expected: dict[str, str] = {}
    room = Counter({m[0]: cap for m in marketers})
    for _d, i, j in pairs:
        pid, mid = prospects[i][0], marketers[j][0]
        if pid not in expected and room[mid] > 0:
            expected[pid] = mid
            room[mid] -= 1
    assert plan_nearest(prospects, marketers, cap) == expected
    assert len(expected) == 300  # six marketers, fifty each: a hundred stay in the pool


def test_nearest_edge_cases():
    assert plan_nearest([], [("m", 27.7, 106.9)], None) == {}
    assert plan_nearest([("p", 27.7, 106.9)], [], 3) == {}
    assert plan_nearest([("p", 27.7, 106.9)], [("m", 27.7, 106.9)], 0) == {}


def test_nearest_over_a_large_outlet_places_up_to_the_caps():
    # its speed is a figure of bench/auto_assign.py (100,000 over 12 marketers)
    rng = random.Random(1)
    marketers = [
        (f"m{j}", 27.6 + rng.random() * 0.2, 106.8 + rng.random() * 0.2) for j in range(12)
    ]
    prospects = [
        (f"p{i}", 27.6 + rng.random() * 0.2, 106.8 + rng.random() * 0.2) for i in range(20_000)
    ]
    plan = plan_nearest(prospects, marketers, 1000)
    assert Counter(plan.values()) == {m[0]: 1000 for m in marketers}


def test_territory_is_the_centroid_or_the_outlet():
    assert territory([(27.0, 106.0), (28.0, 107.0)], (1.0, 2.0)) == (27.5, 106.5)
    assert territory([], (27.7, 106.9)) == (27.7, 106.9)


# -- pool return ------------------------------------------------------------------------

NOW = datetime(2026, 12, 1, 12, 0)


@pytest.mark.parametrize(
    ("assigned_days_ago", "contact_days_ago", "status", "due"),
    [
        (14, None, "assigned", True),  # exactly N days: due
        (13.99, None, "assigned", False),
        (30, 40, "assigned", True),  # contacted before it was assigned: not since
        (30, 20, "assigned", False),  # contacted since
        (30, 30, "assigned", False),  # contacted at the handover itself
        (30, None, "contacted", False),  # it moved on
        (30, None, "unassigned", False),
        (None, None, "assigned", False),  # no clock: never due
    ],
)
def test_pool_return_due(assigned_days_ago, contact_days_ago, status, due):
    def ago(days: float | None) -> datetime | None:
        return None if days is None else NOW - timedelta(days=days)

    assert pool_return_due(ago(assigned_days_ago), ago(contact_days_ago), status, NOW, 14) is due


def test_an_untouched_prospect_returns_unassigned():
    assert returned_to_pool("assigned", "o1").status == "unassigned"
    assert returned_to_pool("contacted", "o1").status == "contacted"
    assert returned_to_pool("assigned", "o1").assignee_id is None


def test_transfer_reasons_read_as_words():
    assert reason_text("pool_return", "zh") == "超期未跟进，自动退回待领取池"
    assert reason_text("auto_assign:even", "en") == "Auto-assigned (even split)"
    assert reason_text("auto_assign:nearest", "zh") == "自动分配（就近分配）"
    assert reason_text("客户搬迁", "zh") == "客户搬迁"  # a manager's own words stay


def test_the_dialogs_cap_reads_whole_numbers_from_one():
    from app.workbench.distribution import parse_cap

    assert parse_cap("") is None and parse_cap("  ") is None
    assert parse_cap(" 12 ") == 12
    for bad in ("0", "-3", "2.5", "十", "1000001"):
        with pytest.raises(ValueError):
            parse_cap(bad)


def test_bulk_ids_are_uuid7_and_unique():
    import uuid

    from app.models.ids import new_ids

    ids = new_ids(5000)
    assert len(set(ids)) == 5000
    for text in ids[:50]:
        value = uuid.UUID(text)
        assert (str(value), value.version, value.variant) == (text, 7, uuid.RFC_4122)

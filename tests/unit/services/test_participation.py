"""Participation, coverage, conversion and league tables as pure functions: each definition
of ``app.services.participation`` checked by a worked example, counted by hand below."""

from __future__ import annotations

from datetime import date

import pytest

from app.models.dashboard import GroupBy, LeagueMetric, LoanRole
from app.services.participation import (
    Act,
    Disbursal,
    LeagueEntry,
    LoanFact,
    OutletRef,
    Person,
    TypedDisbursal,
    customer_coverage,
    disbursed_tallies,
    is_staff,
    league,
    participation,
    rate,
    window_coverage,
)
from app.services.performance import Period, period_bounds

D = date
DEC = period_bounds(Period.MONTH, D(2026, 12, 1))  # 2026-12-01 .. 2026-12-31
BOOK, MKT, ORIG = LoanRole.BOOKED, LoanRole.MARKETED, LoanRole.ORIGINATED

OUTLETS = [
    OutletRef("o1", "T-001", "汇川旗舰网点", "flagship", "汇川支行"),
    OutletRef("o2", "T-002", "香港路网点", "general", "汇川支行"),
    OutletRef("o3", "T-003", "红花岗网点", "benchmark", "红花岗支行"),
    OutletRef("o4", "T-004", "丁字口网点", "general", "红花岗支行"),
]
PEOPLE = [
    Person("m1", "marketer", "o1"),
    Person("g1", "outlet_manager", "o1"),
    Person("m2", "marketer", "o2"),
    Person("m2x", "marketer", "o2", active=False),  # left: not staff
    Person("m3", "marketer", "o3"),
    Person("z3", "subbranch_manager", "o3"),  # not an outlet's staff
    Person("m4", "marketer", "o4"),
    Person("a1", "admin", None),
]
# December's disbursed loans, as the rollups credit them:
#   L1 booked at o1 by g1, marketed by m1 (o1), originated by m2 (o2's share)
#   L2 booked at o3 by m3, marketed by m3 (o3), no originator named
#   L3 booked at o1 with no booker named, marketed and originated by m1 (o1)
# (L4, booked at o4 by m4 in November, is not in the period: no act.)
ACTS = [
    Act("o1", "g1", BOOK),
    Act("o1", "m1", MKT),
    Act("o2", "m2", ORIG),
    Act("o3", "m3", BOOK),
    Act("o3", "m3", MKT),
    Act("o1", None, BOOK),
    Act("o1", "m1", ORIG),
]


def _figures(row):  # type: ignore[no-untyped-def]
    return (
        row.outlets,
        [row.outlets_by_role[r] for r in (BOOK, MKT, ORIG)],
        row.staff,
        [row.staff_by_role[r] for r in (BOOK, MKT, ORIG)],
        row.staff_any,
    )


def test_staff_are_active_marketers_and_outlet_managers_with_an_outlet() -> None:
    staff = [p.user_id for p in PEOPLE if is_staff(p)]
    assert staff == ["m1", "g1", "m2", "m3", "m4"]


def test_participation_per_outlet() -> None:
    """By outlet (staff in brackets):

    o1 (m1, g1): booked (L1, L3), marketed (L1, L3), originated (L3 by m1) → 3 of 3 ways;
       staff booked g1, marketed m1, originated m1 → 1, 1, 1 of 2; any: m1, g1 → 2.
    o2 (m2; m2x has left): only originated (m2 on L1, booked elsewhere: it still
       counts) → 0, 0, 1; staff 0, 0, 1 of 1; any 1.
    o3 (m3; z3 is a sub-branch manager): booked and marketed by m3 → 1, 1, 0; staff
       1, 1, 0 of 1; any 1.
    o4 (m4): November's loan is out of the period → nothing; 0 of 1.
    """
    rows = participation(OUTLETS, PEOPLE, ACTS, GroupBy.OUTLET)
    assert [(r.key, r.code, r.label) for r in rows] == [
        ("o1", "T-001", "汇川旗舰网点"),
        ("o2", "T-002", "香港路网点"),
        ("o3", "T-003", "红花岗网点"),
        ("o4", "T-004", "丁字口网点"),
    ]
    assert [_figures(r) for r in rows] == [
        (1, [1, 1, 1], 2, [1, 1, 1], 2),
        (1, [0, 0, 1], 1, [0, 0, 1], 1),
        (1, [1, 1, 0], 1, [1, 1, 0], 1),
        (1, [0, 0, 0], 1, [0, 0, 0], 0),
    ]
    o1, _, _, o4 = rows
    assert o1.staff_rate(BOOK) == 0.5 and o1.any_rate == 1.0
    assert o4.outlet_rate(BOOK) == 0.0 and o4.any_rate == 0.0


def test_participation_per_sub_branch_tier_and_branch() -> None:
    """汇川支行 = o1 + o2: outlets booked 1/2, marketed 1/2, originated 2/2; staff m1, g1,
    m2: booked 1 (g1), marketed 1 (m1), originated 2 (m1, m2) of 3; any 3.
    红花岗支行 = o3 + o4: outlets 1/2, 1/2, 0/2; staff m3, m4: 1, 1, 0 of 2; any 1.

    Tiers, flagship first: flagship = o1; benchmark = o3; general = o2 + o4: outlets
    0/2, 0/2, 1/2 (o2); staff m2, m4: 0, 0, 1 of 2; any 1.

    The branch: outlets booked 2/4 (o1, o3), marketed 2/4 (o1, o3), originated 2/4 (o1,
    o2); staff of 5: booked 2 (g1, m3) = 40 %, marketed 2 (m1, m3), originated 2 (m1,
    m2); any 4 (all but m4) = 80 %.
    """
    sub = participation(OUTLETS, PEOPLE, ACTS, GroupBy.SUBBRANCH)
    assert [(r.key, _figures(r)) for r in sub] == [
        ("汇川支行", (2, [1, 1, 2], 3, [1, 1, 2], 3)),
        ("红花岗支行", (2, [1, 1, 0], 2, [1, 1, 0], 1)),
    ]
    tiers = participation(OUTLETS, PEOPLE, ACTS, GroupBy.TIER)
    assert [(r.key, _figures(r)) for r in tiers] == [
        ("flagship", (1, [1, 1, 1], 2, [1, 1, 1], 2)),
        ("benchmark", (1, [1, 1, 0], 1, [1, 1, 0], 1)),
        ("general", (2, [0, 0, 1], 2, [0, 0, 1], 1)),
    ]
    [branch] = participation(OUTLETS, PEOPLE, ACTS, "branch")
    assert _figures(branch) == (4, [2, 2, 2], 5, [2, 2, 2], 4)
    assert [branch.outlet_rate(r) for r in (BOOK, MKT, ORIG)] == [0.5, 0.5, 0.5]
    assert [branch.staff_rate(r) for r in (BOOK, MKT, ORIG)] == [0.4, 0.4, 0.4]
    assert branch.any_rate == 0.8


def test_participation_over_the_outlets_in_reach_only() -> None:
    """An outlet manager of o1 sees o1 alone: the branch row is o1's, and m3's booking at
    o3 is not theirs to count; a group without staff or outlets has no rate."""
    [mine] = participation(OUTLETS[:1], PEOPLE, ACTS, GroupBy.BRANCH)
    assert _figures(mine) == (1, [1, 1, 1], 2, [1, 1, 1], 2)
    [empty] = participation(OUTLETS[3:], [], [], GroupBy.OUTLET)
    assert empty.staff == 0 and empty.any_rate is None and empty.staff_rate(BOOK) is None
    assert participation([], PEOPLE, ACTS, GroupBy.BRANCH) == []


def test_loan_customer_coverage() -> None:
    """December at o1: customers C1 (loans on the 5th and the 20th), C2 (10th), C3 (12th);
    C4's loan on 30 November is another period. C1's first log at o1 is on the 6th,
    after its first December loan (the 5th): not covered, though it was by the 20th.
    C2's is on the 10th, the loan's day: covered. C3 has none on o1's lists: not covered.
    o1: 1 covered of 3 customers. o2 booked C1 on the 8th, worked since 1 November: 1 of 1.
    """
    loans = [
        Disbursal("o1", "C1", D(2026, 12, 5)),
        Disbursal("o1", "C1", D(2026, 12, 20)),
        Disbursal("o1", "C2", D(2026, 12, 10)),
        Disbursal("o1", "C3", D(2026, 12, 12)),
        Disbursal("o1", "C4", D(2026, 11, 30)),
        Disbursal("o2", "C1", D(2026, 12, 8)),
    ]
    first_logs = {
        ("o1", "C1"): D(2026, 12, 6),
        ("o1", "C2"): D(2026, 12, 10),
        ("o1", "C4"): D(2026, 11, 1),
        ("o2", "C1"): D(2026, 11, 1),
    }
    found = customer_coverage(loans, first_logs, *DEC)
    assert found == {"o1": (3, 1), "o2": (1, 1)}
    assert rate(*found["o1"][::-1]) == pytest.approx(1 / 3)
    assert customer_coverage(loans, first_logs, D(2027, 1, 1), D(2027, 1, 31)) == {}


def test_batch_coverage_within_configurable_windows() -> None:
    """A batch valid from 1 December; 25 entries by first contact:
    2 on 28 November (before it opened: within every window), 3 on 7 December (day 6),
    4 on the 8th (day 7), 1 on the 30th (day 29), 5 on the 31st (day 30), 10 never.
    Within 7 days: 2 + 3 = 5 (20 %); within 30: 2 + 3 + 4 + 1 = 10 (40 %).
    Windows (1, 14): 2, and 2 + 3 + 4 = 9.
    """
    firsts = [
        (D(2026, 11, 28), 2),
        (D(2026, 12, 7), 3),
        (D(2026, 12, 8), 4),
        (D(2026, 12, 30), 1),
        (D(2026, 12, 31), 5),
        (None, 10),
    ]
    assert window_coverage(D(2026, 12, 1), firsts, (7, 30)) == [5, 10]
    assert [rate(n, 25) for n in window_coverage(D(2026, 12, 1), firsts, (7, 30))] == [0.2, 0.4]
    assert window_coverage(D(2026, 12, 1), firsts, (1, 14)) == [2, 9]
    assert rate(0, 0) is None


def test_disbursed_counts_each_prospect_once_loans_first() -> None:
    """December. Loans: L1 (P1, 3 Dec, 300,000, booked at o1, marketed by m1); L2 (P2,
    9 Dec, 500,000, booked at o3 though P2 is o2's, marketed by m2); L3 (P3, 20 Nov).
    Typed: T1 (P1, 280,000): P1 has a loan, so the loan counts, not T1; T2 (P4, 15 Dec,
    200,000, o2, m2) counts; T3 (P3, 1 Dec): P3's loan (November) counts instead;
    T4 (P5, 20 Dec, 50,000, o1, nobody assigned) counts for o1 only.

    Outlets: o1 = L1 + T4 = 2, 350,000; o3 = L2 = 1, 500,000; o2 = T2 = 1, 200,000.
    Marketers: m1 = L1 = 1, 300,000; m2 = L2 + T2 = 2, 700,000.
    """
    loans = [
        LoanFact("L1", "P1", D(2026, 12, 3), 300_000, "o1", ("m1",)),
        LoanFact("L2", "P2", D(2026, 12, 9), 500_000, "o3", ("m2",)),
        LoanFact("L3", "P3", D(2026, 11, 20), 100_000, "o1", ("m1",)),
    ]
    typed = [
        TypedDisbursal("P1", D(2026, 12, 2), 280_000, "o1", "m1"),
        TypedDisbursal("P4", D(2026, 12, 15), 200_000, "o2", "m2"),
        TypedDisbursal("P3", D(2026, 12, 1), 100_000, "o1", "m1"),
        TypedDisbursal("P5", D(2026, 12, 20), 50_000, "o1", None),
    ]
    outlets, marketers = disbursed_tallies(loans, typed, *DEC)
    assert outlets == {"o1": (2, 350_000), "o3": (1, 500_000), "o2": (1, 200_000)}
    assert marketers == {"m1": (1, 300_000), "m2": (2, 700_000)}


def test_league_ranks_share_ties_and_list_them_by_code() -> None:
    """Contacts A 10, B 7, C 10, D 3: A and C share 1st (listed by code), B 3rd, D 4th.
    Participation A 50 %, B none (no staff), C 100 %, D 50 %: C 1st, A and D 2nd, B 4th.
    """
    entries = [
        LeagueEntry("a", "T-001", "A", "a", contacts=10, participation=0.5),
        LeagueEntry("b", "T-002", "B", "b", contacts=7, participation=None),
        LeagueEntry("c", "T-003", "C", "c", contacts=10, participation=1.0),
        LeagueEntry("d", "T-004", "D", "d", contacts=3, participation=0.5),
    ]
    by_contacts = league(entries, LeagueMetric.CONTACTS)
    assert [(r.entry.id, r.rank, r.shared) for r in by_contacts] == [
        ("a", 1, 2),
        ("c", 1, 2),
        ("b", 3, 1),
        ("d", 4, 1),
    ]
    by_part = league(entries, "participation")
    assert [(r.entry.id, r.rank) for r in by_part] == [("c", 1), ("a", 2), ("d", 2), ("b", 4)]
    assert [r.rank for r in league(entries, LeagueMetric.DISBURSED_AMOUNT)] == [1, 1, 1, 1]

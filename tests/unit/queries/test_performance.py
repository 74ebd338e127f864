"""Performance reports over a hand-built device store, every figure counted by hand.

The world (TODAY = Wednesday 2026-03-25, Beijing):

outlet A: marketers M1, M2, M4 (inactive), manager G1; outlet B: marketers M3, M5, M6.
batch K1 valid from 2026-03-01, batch K2 valid from 2026-02-01.

    prospect  outlet  assignee  batch  status      furthest stage reached (how)
    p1        A       M1        K1     disbursed   disbursed (300,000 on Mar 24)
    p2        A       M1        K1     approved    approved (skipped contacted)
    p3        A       M1        K1     declined    interested (from_status of the decline;
                                                   a refused move to disbursed does not count)
    p4        A       M1        K1     contacted   contacted
    p5        A       M2        K2     disbursed   disbursed (500,000 on Mar 2, recorded in April)
    p6        A       M2        K2     interested  interested (current status; events stop at contacted)
    p7        A       M2        K2     assigned    assigned
    p8        A       pool      K1     unassigned  unassigned
    p9        A       pool      K2     unassigned  unassigned
    p10       A       M1        K1     invalid     assigned
    p11       B       M3        K1     disbursed   disbursed (500,000 on Mar 23)
    p12       B       M3        K2     disbursed   disbursed (200,000 on Jan 1 00:30 Beijing =
                                                   Dec 31 16:30 UTC)

Marketing logs (UTC → Beijing date):

    L1  p4  M1  03-22 15:59:59 → Sun 03-22     L8   p2   M2  03-25 01:00 → 03-25
    L2  p4  M1  03-22 16:00:00 → Mon 03-23     L9   p8   G1  03-24 06:00 → 03-24
    L3  p1  M1  03-24 01:00 (not yet synced)   L10  p11  M3  03-24 02:00 → 03-24
    L4  p1  M1  03-24 03:00:00.5 → 03-24       L11  p3   M1  03-07 15:59 → Sat 03-07
    L5  p10 M1  02-28 16:30 → Sun 03-01        L12  p2   M1  03-07 16:00 → Sun 03-08
    L6  p5  M2  03-23 02:00 → 03-23            L13  p5   M2  03-02 15:59 → Mon 03-02
    L7  p6  M2  03-10 02:00 → 03-10
"""

from __future__ import annotations

import itertools
import random
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, text

from app.queries.performance import (
    branch_ranking,
    branch_ranks,
    branch_report,
    marketer_breakdown,
    marketer_report,
    outlet_report,
)
from app.services.performance import Period, Subject, outlet_from_store
from app.sync.store import DeviceStore

TODAY = date(2026, 3, 25)  # a Wednesday
D = date


# -- a device store built by hand -----------------------------------------------------


class Seed:
    """Plain-SQL inserts into a device store, with defaults for the columns a test ignores."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.n = 0

    def _insert(self, table: str, row: dict[str, Any]) -> None:
        cols = ", ".join(f'"{c}"' for c in row)
        marks = ", ".join(f":{c}" for c in row)
        self.conn.execute(text(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})'), row)

    def outlet(self, id: str) -> str:
        self._insert(
            "outlet",
            dict(
                id=id,
                code=f"C-{id}",
                name=f"网点{id}",
                tier="general",
                branch_name="汇川支行",
                address="",
                lat=27.7,
                lon=106.9,
                rev=1,
            ),
        )
        return id

    def user(self, id: str, outlet: str | None, role: str = "marketer", active: bool = True) -> str:
        self._insert(
            "user",
            dict(
                id=id,
                employee_no=id,
                name=f"姓名{id}",
                role=role,
                outlet_id=outlet,
                active=active,
                password_hash="",
                rev=1,
            ),
        )
        return id

    def batch(self, id: str, valid_from: date) -> str:
        self._insert(
            "whitelist_batch",
            dict(
                id=id,
                name=f"批次{id}",
                product="经营快贷",
                source="head_office",
                valid_from=valid_from.isoformat(),
                valid_until=(valid_from + timedelta(days=90)).isoformat(),
                created_at="2026-01-01 00:00:00",
                rev=1,
            ),
        )
        return id

    def prospect(
        self, id: str, outlet: str, assignee: str | None, batch: str, status: str, **extra: Any
    ) -> str:
        self.n += 1
        row = dict(
            id=id,
            batch_id=batch,
            company_name=f"公司{id}",
            credit_code=f"CC{self.n:016d}",
            legal_rep="赵六",
            phone="13800000000",
            industry="批发零售",
            address="",
            lat=27.7,
            lon=106.9,
            pre_approved_line=100_000,
            score=70,
            tags="[]",
            outlet_id=outlet,
            assignee_id=assignee,
            status=status,
            disbursed_amount=None,
            last_contact_at=None,
            next_follow_up=None,
            updated_at="2026-01-01 00:00:00",
            rev=1,
        )
        row.update(extra)
        self._insert("prospect", row)
        return id

    def log(self, id: str, prospect: str, author: str, at: str, rev: int = 1) -> None:
        self._insert(
            "marketing_log",
            dict(
                id=id,
                prospect_id=prospect,
                author_id=author,
                channel="phone",
                occurred_at=at,
                outcome="considering",
                note="",
                next_follow_up=None,
                lat=None,
                lon=None,
                attachments="[]",
                device_id="d",
                recorded_at=None if rev == 0 else at,
                rev=rev,
            ),
        )

    def event(
        self,
        prospect: str,
        actor: str,
        from_status: str,
        to_status: str,
        *,
        at: str = "2026-02-10 02:00:00",
        recorded: str | None = None,
        applied: bool = True,
        reason: str = "",
        amount: int | None = None,
    ) -> None:
        self.n += 1
        self._insert(
            "funnel_event",
            dict(
                id=f"e{self.n}",
                prospect_id=prospect,
                actor_id=actor,
                from_status=from_status,
                to_status=to_status,
                applied=applied,
                reason_code=reason,
                amount=amount,
                occurred_at=at,
                recorded_at=recorded or at,
                rev=1,
            ),
        )

    def path(self, prospect: str, actor: str, *steps: str, **last: Any) -> None:
        """Applied events along ``steps`` (from unassigned); ``last`` goes to the final one."""
        chain = ["unassigned", *steps]
        for i, (a, b) in enumerate(itertools.pairwise(chain)):
            self.event(prospect, actor, a, b, **(last if i == len(chain) - 2 else {}))


def build_world(store: DeviceStore) -> None:
    with store.transaction() as conn:
        s = Seed(conn)
        a, b = s.outlet("A"), s.outlet("B")
        for uid, outlet in [("M1", a), ("M2", a), ("M3", b), ("M5", b), ("M6", b)]:
            s.user(uid, outlet)
        s.user("M4", a, active=False)
        s.user("G1", a, role="outlet_manager")
        s.user("AD", None, role="admin")
        k1, k2 = s.batch("K1", D(2026, 3, 1)), s.batch("K2", D(2026, 2, 1))

        s.prospect("p1", a, "M1", k1, "disbursed", disbursed_amount=300_000)
        s.path(
            "p1",
            "M1",
            "assigned",
            "contacted",
            "interested",
            "applied",
            "approved",
            "disbursed",
            at="2026-03-24 02:00:00",
            amount=300_000,
        )
        s.prospect("p2", a, "M1", k1, "approved")
        s.path("p2", "G1", "assigned", "interested", "applied", "approved")
        s.prospect("p3", a, "M1", k1, "declined")
        s.path("p3", "M1", "assigned", "contacted", "interested", "declined")
        s.event(
            "p3",
            "M1",
            "declined",
            "disbursed",
            at="2026-03-24 05:00:00",
            applied=False,
            reason="funnel.closed",
            amount=999_000,
        )
        s.prospect("p4", a, "M1", k1, "contacted")
        s.path("p4", "M1", "assigned", "contacted")
        s.prospect("p5", a, "M2", k2, "disbursed", disbursed_amount=500_000)
        s.path(
            "p5",
            "G1",
            "assigned",
            "applied",
            "approved",
            "disbursed",
            at="2026-03-02 02:00:00",
            recorded="2026-04-02 02:00:00",
            amount=500_000,
        )
        s.prospect("p6", a, "M2", k2, "interested")  # moved here, event not back yet
        s.path("p6", "M2", "assigned", "contacted")
        s.prospect("p7", a, "M2", k2, "assigned")
        s.path("p7", "G1", "assigned")
        s.prospect("p8", a, None, k1, "unassigned")
        s.prospect("p9", a, None, k2, "unassigned")
        s.prospect("p10", a, "M1", k1, "invalid")
        s.path("p10", "M1", "assigned", "invalid")
        s.prospect("p11", b, "M3", k1, "disbursed", disbursed_amount=500_000)
        s.path("p11", "M3", "assigned", "disbursed", at="2026-03-23 03:00:00", amount=500_000)
        s.prospect("p12", b, "M3", k2, "disbursed", disbursed_amount=200_000)
        s.path("p12", "M3", "assigned", "disbursed", at="2025-12-31 16:30:00", amount=200_000)

        for log_id, prospect, author, at, rev in [
            ("L1", "p4", "M1", "2026-03-22 15:59:59", 1),
            ("L2", "p4", "M1", "2026-03-22 16:00:00", 1),
            ("L3", "p1", "M1", "2026-03-24 01:00:00", 0),
            ("L4", "p1", "M1", "2026-03-24 03:00:00.500000", 1),
            ("L5", "p10", "M1", "2026-02-28 16:30:00", 1),
            ("L6", "p5", "M2", "2026-03-23 02:00:00", 1),
            ("L7", "p6", "M2", "2026-03-10 02:00:00", 1),
            ("L8", "p2", "M2", "2026-03-25 01:00:00", 1),
            ("L9", "p8", "G1", "2026-03-24 06:00:00", 1),
            ("L10", "p11", "M3", "2026-03-24 02:00:00", 1),
            ("L11", "p3", "M1", "2026-03-07 15:59:00", 1),
            ("L12", "p2", "M1", "2026-03-07 16:00:00", 1),
            ("L13", "p5", "M2", "2026-03-02 15:59:00", 1),
        ]:
            s.log(log_id, prospect, author, at, rev)


@pytest.fixture
def world(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = DeviceStore(tmp_path / "d.sqlite3")
    build_world(store)
    with store.read() as conn:
        yield conn
    store.close()


# -- reports over the hand-built store --------------------------------------------------


def test_outlet_month_report(world: Connection) -> None:
    r = outlet_report(world, "A", Period.MONTH, TODAY)
    assert (r.subject, r.subject_id, r.start, r.end) == (
        Subject.OUTLET,
        "A",
        D(2026, 3, 1),
        D(2026, 3, 31),
    )
    assert r.prospects == 10
    assert r.status_counts == {
        "unassigned": 2,
        "assigned": 1,
        "contacted": 1,
        "interested": 1,
        "applied": 0,
        "approved": 1,
        "disbursed": 2,
        "declined": 1,
        "invalid": 1,
    }
    assert r.reached == {
        "unassigned": 10,
        "assigned": 8,
        "contacted": 6,
        "interested": 5,
        "applied": 3,
        "approved": 3,
        "disbursed": 2,
    }
    assert [c.rate for c in r.conversions] == pytest.approx([0.8, 0.75, 5 / 6, 0.6, 1.0, 2 / 3])
    assert r.status_mix["unassigned"] == 0.2 and r.status_mix["approved"] == 0.1
    # L1-L9 and L11-L13 (L10 is outlet B's); 8 prospects; the pending L3 counts.
    assert (r.contacts, r.contacted_prospects) == (12, 8)
    # p1 on Mar 24 and p5 on Mar 2 (recorded in April: occurred_at is business time);
    # the refused 999,000 on p3 is no disbursement.
    assert (r.disbursed_count, r.disbursed_amount) == (2, 800_000)
    assert (r.rank, r.rank_of) == (1, 2)  # A 800,000 ahead of B 500,000


def test_outlet_week_report_and_weekly_series(world: Connection) -> None:
    r = outlet_report(world, "A", Period.WEEK, TODAY, weeks=4)
    assert (r.start, r.end) == (D(2026, 3, 23), D(2026, 3, 29))
    # L2 (Mon 00:00 Beijing), L3, L4, L6, L8, L9; L1 is Sunday 23:59:59 Beijing.
    assert (r.contacts, r.contacted_prospects) == (6, 5)
    assert (r.disbursed_count, r.disbursed_amount) == (1, 300_000)
    assert (r.rank, r.rank_of) == (2, 2)  # B's 500,000 on Mar 23 beats A's 300,000
    assert r.weekly_contacts == [
        (D(2026, 3, 2), 3),  # L11, L12 (Sun Mar 8 in Beijing), L13
        (D(2026, 3, 9), 1),  # L7
        (D(2026, 3, 16), 1),  # L1
        (D(2026, 3, 23), 6),
    ]


def test_outlet_batch_coverage(world: Connection) -> None:
    r = outlet_report(world, "A", Period.MONTH, TODAY)
    k1, k2 = r.batches  # newest valid_from first
    # K1 from Mar 1: p3 (day 6) and p10 (Mar 1 Beijing, Feb 28 UTC) within 7; p2's first
    # contact is 00:00 on day 7, p1 / p4 / p8 later in March: all six within 30.
    assert (k1.batch_id, k1.prospects, k1.within_7, k1.within_30) == ("K1", 6, 2, 6)
    assert k1.share_7 == pytest.approx(1 / 3) and k1.share_30 == 1.0
    # K2 from Feb 1: only p5 (Mar 2 23:59 Beijing, day 29) within 30; p6 on day 37; p7, p9 never.
    assert (k2.batch_id, k2.prospects, k2.within_7, k2.within_30) == ("K2", 4, 0, 1)
    assert k2.share_30 == 0.25 and k2.valid_from == D(2026, 2, 1)


def test_marketer_report(world: Connection) -> None:
    r = marketer_report(world, "M1", Period.MONTH, TODAY, weeks=4)
    assert (r.subject, r.subject_id, r.prospects) == (Subject.MARKETER, "M1", 5)
    assert {s: n for s, n in r.status_counts.items() if n} == {
        "contacted": 1,
        "approved": 1,
        "disbursed": 1,
        "declined": 1,
        "invalid": 1,
    }
    assert r.reached == {
        "unassigned": 5,
        "assigned": 5,
        "contacted": 4,
        "interested": 3,
        "applied": 2,
        "approved": 2,
        "disbursed": 1,
    }
    # L1, L2, L3, L4, L5 (Mar 1 in Beijing), L11, L12 — M1's own logs, p2's included.
    assert (r.contacts, r.contacted_prospects) == (7, 5)
    assert (r.disbursed_count, r.disbursed_amount) == (1, 300_000)
    # Month: M2 500,000 / 4 contacts, M3 500,000 / 1 contact, M1 300,000; M5 and M6 nothing.
    assert (r.rank, r.rank_of) == (3, 5)
    assert r.weekly_contacts == [
        (D(2026, 3, 2), 2),
        (D(2026, 3, 9), 0),
        (D(2026, 3, 16), 1),
        (D(2026, 3, 23), 3),
    ]
    [k1] = r.batches  # p1, p2, p3, p4, p10 are all K1
    assert (k1.prospects, k1.within_7, k1.within_30) == (5, 2, 5)


def test_marketer_default_series_has_eight_weeks(world: Connection) -> None:
    r = marketer_report(world, "M1", Period.WEEK, TODAY)
    assert [n for _, n in r.weekly_contacts] == [0, 0, 0, 1, 2, 0, 1, 3]  # L5 in week of Feb 23
    assert r.weekly_contacts[0][0] == D(2026, 2, 2)


def test_marketer_credited_with_disbursements_recorded_by_the_manager(world: Connection) -> None:
    r = marketer_report(world, "M2", Period.MONTH, TODAY)
    assert (r.disbursed_count, r.disbursed_amount) == (1, 500_000)  # G1 recorded p5
    assert (r.contacts, r.contacted_prospects) == (4, 3)  # L6, L7, L8 (on M1's p2), L13
    assert (r.rank, r.rank_of) == (1, 5)


@pytest.mark.parametrize(
    ("period", "ranks"),
    [
        # M1 300k/1/3 contacts, M2 0/0/2, M3 500k/1/1, M5 and M6 nothing: tied fourth.
        (Period.WEEK, {"M3": 1, "M1": 2, "M2": 3, "M5": 4, "M6": 4}),
        # Equal 500k for M2 and M3: more contacts wins.
        (Period.MONTH, {"M2": 1, "M3": 2, "M1": 3, "M5": 4, "M6": 4}),
        # Q1 adds p12's 200k (Jan 1 00:30 Beijing) to M3.
        (Period.QUARTER, {"M3": 1, "M2": 2, "M1": 3, "M5": 4, "M6": 4}),
    ],
)
def test_branch_ranking_of_marketers(
    world: Connection, period: Period, ranks: dict[str, int]
) -> None:
    ranking = branch_ranking(world, period, TODAY)
    assert [(m.user_id, m.rank) for m in ranking.marketers] == sorted(
        ranks.items(), key=lambda kv: (kv[1], kv[0])
    )  # the inactive M4 with nothing to show is not ranked
    for uid, rank in ranks.items():
        report = marketer_report(world, uid, period, TODAY)
        assert (report.rank, report.rank_of) == (rank, 5)


def test_branch_ranking_rows(world: Connection) -> None:
    ranking = branch_ranking(world, Period.QUARTER, TODAY)
    m3 = ranking.marketers[0]
    assert (m3.user_id, m3.name, m3.outlet_id, m3.prospects) == ("M3", "姓名M3", "B", 2)
    assert (m3.disbursed_count, m3.disbursed_amount, m3.contacts) == (2, 700_000, 1)
    assert m3.conversion == 1.0
    a, b = ranking.outlets
    assert (a.outlet_id, a.rank, a.prospects, a.disbursed_amount, a.contacts) == (
        "A",
        1,
        10,
        800_000,
        12,
    )
    assert a.conversion == pytest.approx(2 / 6)
    assert (b.outlet_id, b.rank, b.disbursed_count, b.disbursed_amount) == ("B", 2, 2, 700_000)


def test_quarter_boundary_in_beijing_time(world: Connection) -> None:
    """p12 disbursed Dec 31 16:30 UTC: Q1 2026 in Beijing, not Q4 2025."""
    q1 = marketer_report(world, "M3", Period.QUARTER, TODAY)
    assert (q1.disbursed_count, q1.disbursed_amount) == (2, 700_000)
    q4 = marketer_report(world, "M3", Period.QUARTER, D(2025, 12, 31))
    assert (q4.start, q4.end) == (D(2025, 10, 1), D(2025, 12, 31))
    assert (q4.disbursed_count, q4.disbursed_amount) == (0, 0)
    dec = marketer_report(world, "M3", Period.MONTH, D(2025, 12, 15))
    assert dec.disbursed_count == 0


def test_marketer_breakdown_of_an_outlet(world: Connection) -> None:
    rows = marketer_breakdown(world, "A", Period.MONTH, TODAY)
    assert [(r.user_id, r.rank) for r in rows] == [("M2", 1), ("M1", 2)]
    m2, m1 = rows
    assert (m2.prospects, m2.contacts, m2.contacted_prospects) == (3, 4, 3)
    assert (m2.disbursed_count, m2.disbursed_amount, m2.conversion) == (1, 500_000, 0.5)
    assert (m1.prospects, m1.contacts, m1.contacted_prospects) == (5, 7, 5)
    assert (m1.disbursed_count, m1.disbursed_amount, m1.conversion) == (1, 300_000, 0.25)


def test_branch_ranks_carry_each_outlets_figures(world: Connection) -> None:
    """What the central store sends a marketer's device, which holds only part of its outlet."""
    month = branch_ranks(world, TODAY)["month"]
    # A: L1-L9 and L11-L13 on 8 prospects; p1 300,000 and p5 500,000. B: L10; p11 500,000.
    assert month["outlet_tallies"] == {"A": [12, 8, 2, 800_000], "B": [1, 1, 1, 500_000]}
    for period in Period:
        full = outlet_report(world, "A", period, TODAY)
        sent = branch_ranks(world, TODAY)[period.value]["outlet_tallies"]["A"]
        assert sent == [
            full.contacts,
            full.contacted_prospects,
            full.disbursed_count,
            full.disbursed_amount,
        ]


def test_a_marketers_outlet_is_the_stores_count_not_the_devices_part(world: Connection) -> None:
    """Outlet A as M1's device shows it: the store's figures and rank, for this period only."""
    table = branch_ranks(world, TODAY)
    stored = {
        "today": TODAY.isoformat(),
        "periods": {
            p: {"outlet": e["outlets"]["A"], "outlet_tally": e["outlet_tallies"]["A"]}
            for p, e in table.items()
        },
    }
    shown = outlet_from_store(stored, Period.MONTH, TODAY, "A")
    full = outlet_report(world, "A", Period.MONTH, TODAY)
    assert shown is not None and (shown.subject, shown.subject_id) == (Subject.OUTLET, "A")
    assert (shown.contacts, shown.contacted_prospects) == (full.contacts, full.contacted_prospects)
    assert (shown.disbursed_count, shown.disbursed_amount) == (2, 800_000)
    assert (shown.rank, shown.rank_of) == (1, 2)
    assert shown.batches == [] and shown.weekly_contacts == []  # not on the device: not shown
    next_month = D(2026, 4, 2)  # the last sync was in March: its figures are not April's
    assert outlet_from_store(stored, Period.MONTH, next_month, "A") is None
    assert outlet_from_store({}, Period.MONTH, TODAY, "A") is None  # never synced
    older = {"today": TODAY.isoformat(), "periods": {"month": {"outlet": [1, 2, 1]}}}
    assert outlet_from_store(older, Period.MONTH, TODAY, "A") is None  # an older store


def test_branch_report(world: Connection) -> None:
    r = branch_report(world, Period.QUARTER, TODAY)
    assert (r.subject, r.subject_id, r.rank, r.rank_of) == (Subject.BRANCH, None, None, 0)
    assert r.prospects == 12 and r.status_counts["disbursed"] == 4
    assert (r.contacts, r.contacted_prospects) == (13, 9)
    assert (r.disbursed_count, r.disbursed_amount) == (4, 1_500_000)
    assert r.reached["disbursed"] == 4 and r.reached["contacted"] == 8


def test_a_log_at_beijing_midnight_on_april_first_is_not_march(tmp_path: Path) -> None:
    store = DeviceStore(tmp_path / "d.sqlite3")
    with store.transaction() as conn:
        s = Seed(conn)
        s.outlet("A")
        s.user("M1", "A")
        s.batch("K", D(2026, 3, 1))
        s.prospect("p", "A", "M1", "K", "contacted")
        s.log("x", "p", "M1", "2026-03-31 15:59:59.999999")  # Mar 31 23:59:59 Beijing
        s.log("y", "p", "M1", "2026-03-31 16:00:00")  # Apr 1 00:00 Beijing
    with store.read() as conn:
        march = marketer_report(conn, "M1", Period.MONTH, D(2026, 3, 31))
        april = marketer_report(conn, "M1", Period.MONTH, D(2026, 4, 1))
        q2 = marketer_report(conn, "M1", Period.QUARTER, D(2026, 4, 1))
    store.close()
    assert (march.contacts, april.contacts, q2.contacts) == (1, 1, 1)
    assert (march.rank, march.rank_of) == (1, 1)


def test_empty_store_gives_zeros_not_errors(tmp_path: Path) -> None:
    store = DeviceStore(tmp_path / "d.sqlite3")
    with store.read() as conn:
        r = outlet_report(conn, "nowhere", Period.WEEK, TODAY)
        ranking = branch_ranking(conn, Period.WEEK, TODAY)
    store.close()
    assert r.prospects == 0 and r.contacts == 0 and r.batches == []
    assert all(c.rate is None for c in r.conversions)
    assert (r.rank, r.rank_of) == (None, 0)
    assert ranking.marketers == [] and ranking.outlets == []


# -- volume -----------------------------------------------------------------------------


def test_outlet_report_over_20000_prospects(tmp_path: Path) -> None:
    """A manager's device with 20,000 prospects: the report is computed in SQL (no timing)."""
    rng = random.Random(7)
    store = DeviceStore(tmp_path / "big.sqlite3")
    statuses = [
        "unassigned",
        "assigned",
        "contacted",
        "interested",
        "applied",
        "approved",
        "disbursed",
        "declined",
        "invalid",
    ]
    marketers = [f"M{i}" for i in range(20)]
    prospects, logs, events = [], [], []
    for i in range(20_000):
        status = rng.choice(statuses)
        assignee = None if status == "unassigned" else rng.choice(marketers)
        outlet = "A" if i % 4 else "B"
        pid = f"p{i}"
        prospects.append(
            (
                pid,
                "K" if i % 2 else "K2",
                f"公司{i}",
                f"CC{i:016d}",
                "法人",
                "138",
                "零售",
                "",
                27.7,
                106.9,
                100_000,
                60,
                "[]",
                outlet,
                assignee,
                status,
                "2026-01-01 00:00:00",
                1,
            )
        )
        for j in range(rng.randint(0, 3)):
            at = datetime(2026, 3, 1) + timedelta(minutes=rng.randint(0, 40 * 24 * 60))
            logs.append(
                (
                    f"l{i}-{j}",
                    pid,
                    assignee or "G",
                    "phone",
                    str(at),
                    "considering",
                    "",
                    "[]",
                    "d",
                    1,
                )
            )
        if status == "disbursed":
            events.append(
                (
                    f"e{i}",
                    pid,
                    assignee,
                    "approved",
                    "disbursed",
                    1,
                    "",
                    100_000,
                    "2026-03-20 02:00:00",
                    "2026-03-20 02:00:00",
                    1,
                )
            )
        elif status in ("declined", "invalid"):
            events.append(
                (
                    f"e{i}",
                    pid,
                    assignee,
                    "contacted",
                    status,
                    1,
                    "",
                    None,
                    "2026-03-10 02:00:00",
                    "2026-03-10 02:00:00",
                    1,
                )
            )
    with store.transaction() as conn:
        s = Seed(conn)
        s.outlet("A")
        s.outlet("B")
        for m in marketers:
            s.user(m, "A")
        s.batch("K", D(2026, 3, 1))
        s.batch("K2", D(2026, 2, 1))
        cur = conn.connection.cursor()
        cur.executemany(
            "INSERT INTO prospect (id, batch_id, company_name, credit_code, legal_rep, phone,"
            " industry, address, lat, lon, pre_approved_line, score, tags, outlet_id,"
            " assignee_id, status, updated_at, rev) VALUES"
            " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            prospects,
        )
        cur.executemany(
            "INSERT INTO marketing_log (id, prospect_id, author_id, channel, occurred_at,"
            " outcome, note, attachments, device_id, rev) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            logs,
        )
        cur.executemany(
            "INSERT INTO funnel_event (id, prospect_id, actor_id, from_status, to_status,"
            " applied, reason_code, amount, occurred_at, recorded_at, rev)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            events,
        )
        cur.close()
    with store.read() as conn:
        report = outlet_report(conn, "A", Period.QUARTER, D(2026, 3, 25))
        ranking = branch_ranking(conn, Period.QUARTER, D(2026, 3, 25))
    store.close()
    in_a = [p for p in prospects if p[13] == "A"]
    assert report.prospects == len(in_a) == 15_000
    assert sum(report.status_counts.values()) == 15_000
    disbursed_a = sum(1 for p in in_a if p[15] == "disbursed")
    assert (report.disbursed_count, report.disbursed_amount) == (disbursed_a, disbursed_a * 100_000)
    assert sum(c.prospects for c in report.batches) == 15_000
    assert len(ranking.marketers) == 20

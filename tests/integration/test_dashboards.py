"""Dashboards above the outlet, answered by the central store over real HTTP (SQLite and
PostgreSQL): the figures hand-counted, the rollups agreeing with a direct count of the
tables after each housekeeping (a full build, then incremental, then rebuilt), scopes,
paging, bad parameters, and the coverage windows from settings.

The world (tests/world.py, ``subbranch=True``): outlets A (flagship) and C (general) under
汇川支行, B (general) under 红花岗支行; A: marketers M1, M2, manager G1 and the sub-branch
manager Z1; B: M3; C: M4; admin A1. M1..M4 hold five prospects each; each outlet has a pool
of three. Loans are written as the loan feed writes them (``loan_event`` + ``profit_share``).

November 2026 (Beijing), as seeded by ``_november``:

    logs      M1 on m1[0] (3rd, 10th), M1 on m1[1] (31 Oct 17:00 UTC = 1 Nov Beijing),
              M2 on m2[0] (30 Nov 16:30 UTC = 1 Dec Beijing: not November),
              M3 on m3[0] (5th), M4 on m4[0] (6th), G1 on A's pool[0] (7th)
    loans     L1 m1[0] 300,000 on the 12th: booked at A by G1, marketer M1, originator M2
              L2 m3[0] 500,000 on the 20th: booked at B by M3, marketer M3, originator M4
                 (``recorded``: m3[0] stays ``assigned``)
              L3 m4[1] 200,000 on the 25th: booked at C by nobody named, marketer M4
              L4 unmatched, 1,000,000 at A: counts nowhere
              L5 m2[1] 100,000 on 20 October: another month
    typed     m2[2] 80,000 on the 15th (counts: no loan); m1[0] 290,000 (L1 counts instead)
    withdrawn m4[4]
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select, text, update

from app.models import LoanEvent, ProfitShare, Prospect, WhitelistBatch
from app.models.dashboard import DashState, GroupBy
from app.models.ids import new_id, utcnow
from app.models.sync import PROTOCOL_HEADER, PROTOCOL_VERSION
from app.server import rollups
from app.server.changes import bulk_insert, record_change
from app.server.db import write_session
from app.server.housekeeping import run_housekeeping
from app.services.participation import (
    Act,
    Disbursal,
    LeagueEntry,
    LoanFact,
    LoanRole,
    OutletRef,
    Person,
    TypedDisbursal,
    customer_coverage,
    disbursed_tallies,
    league,
    participation,
    window_coverage,
)
from app.services.stored import stored_date, stored_datetime
from tests.conftest import LiveServer
from tests.world import PASSWORD, World, build_world

NOV = {"period": "month", "on": "2026-11-15"}
NOV_START, NOV_END = date(2026, 11, 1), date(2026, 11, 30)
VALID_FROM = date(2026, 11, 2)
ENDPOINTS = ("participation", "league", "batches", "overview")


@pytest.fixture
def world(server: LiveServer) -> World:
    world = build_world(server.engine, subbranch=True)
    with write_session(server.engine) as session:
        session.execute(
            update(WhitelistBatch)
            .where(WhitelistBatch.id == world.batch_id)
            .values(valid_from=VALID_FROM)
        )
    return world


class Http:
    """Signed-in HTTP clients, one per employee."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.clients: dict[str, httpx.Client] = {}

    def __call__(self, employee_no: str) -> httpx.Client:
        if employee_no not in self.clients:
            http = httpx.Client(
                base_url=self.server.url,
                timeout=60,
                headers={PROTOCOL_HEADER: str(PROTOCOL_VERSION)},
            )
            answer = http.post(
                "/auth/login", json={"employee_no": employee_no, "password": PASSWORD}
            )
            assert answer.status_code == 200, answer.text
            http.headers["Authorization"] = f"Bearer {answer.json()['token']}"
            self.clients[employee_no] = http
        return self.clients[employee_no]

    def get(self, employee_no: str, path: str, **params: Any) -> dict[str, Any]:
        answer = self(employee_no).get(f"/dashboards/{path}", params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def close(self) -> None:
        for http in self.clients.values():
            http.close()


@pytest.fixture
def http(server: LiveServer) -> Iterator[Http]:
    clients = Http(server)
    yield clients
    clients.close()


# -- seeding, as the devices and the loan feed write ------------------------------------


class Seed:
    def __init__(self, server: LiveServer, world: World) -> None:
        self.engine = server.engine
        self.world = world

    def p(self, who: str, n: int) -> dict[str, Any]:
        """``who``'s n-th prospect, or an outlet's pool ("pool:A")."""
        if who.startswith("pool:"):
            outlet = {"A": self.world.outlet_a, "B": self.world.outlet_b}.get(
                who[5:], self.world.outlet_c
            )
            return self.world.pool(outlet)[n]
        return self.world.prospects_of(who)[n]

    def log(self, author: str, prospect: dict[str, Any], at: datetime) -> None:
        row = dict(
            id=new_id(),
            prospect_id=prospect["id"],
            channel="visit",
            occurred_at=at,
            outcome="interested",
            note="",
            next_follow_up=None,
            lat=None,
            lon=None,
            attachments="[]",
            author_id=self.world.user_id(author),
            device_id="test",
            recorded_at=utcnow(),
        )
        with write_session(self.engine) as session:
            bulk_insert(session, "marketing_log", [row])

    def status(self, prospect: dict[str, Any], status: str, **values: Any) -> None:
        with write_session(self.engine) as session:
            session.execute(
                update(Prospect)
                .where(Prospect.id == prospect["id"])
                .values(status=status, updated_at=utcnow(), **values)
            )
            now_at = (None, None) if values.get("withdrawn_at") else _placement(prospect)
            record_change(
                session,
                "prospect",
                prospect["id"],
                prospect_id=prospect["id"],
                old_scope=_placement(prospect),
                new_scope=now_at,
            )

    def typed(self, prospect: dict[str, Any], amount: int, at: datetime) -> None:
        """A disbursement typed on a device: the funnel event and the status."""
        event = dict(
            id=new_id(),
            prospect_id=prospect["id"],
            actor_id=prospect["assignee_id"],
            from_status="approved",
            to_status="disbursed",
            applied=True,
            reason_code="",
            amount=amount,
            occurred_at=at,
            recorded_at=utcnow(),
        )
        with write_session(self.engine) as session:
            bulk_insert(session, "funnel_event", [event])
        self.status(prospect, "disbursed")

    def loan(
        self,
        prospect: dict[str, Any] | None,
        amount: int,
        day: date,
        booked_at: str,
        *,
        booker: str | None = None,
        marketer: str | None = None,
        originator: str | None = None,
        state: str = "applied",
    ) -> None:
        """A disbursed loan as the feed records it, with its shares (40/30/30 %)."""
        uid = self.world.user_id
        outlet_of = {no: u["outlet_id"] for no, u in self.world.users.items()}
        loan_id = f"LN-{new_id()}"
        event = LoanEvent(
            id=new_id(),
            loan_id=loan_id,
            status="disbursed",
            amount=amount,
            occurred_on=day,
            credit_code=prospect["credit_code"] if prospect else "91520300XXXXXXXXXX",
            product="经营快贷",
            booking_outlet_id=booked_at,
            originator_id=uid(originator) if originator else None,
            booker_id=uid(booker) if booker else None,
            prospect_id=prospect["id"] if prospect else None,
            state=state,
            received_at=utcnow(),
        )
        shares = []
        if state in ("applied", "recorded"):
            parts = [("booking_outlet", None, booked_at, 3000)]
            if marketer:
                parts.append(("marketer", uid(marketer), outlet_of[marketer], 4000))
            if originator:
                parts.append(("originator", uid(originator), outlet_of[originator], 3000))
            for party, user_id, outlet_id, bp in parts:
                shares.append(
                    ProfitShare(
                        id=new_id(),
                        loan_id=loan_id,
                        loan_event_id=event.id,
                        prospect_id=event.prospect_id,
                        party=party,
                        user_id=user_id,
                        outlet_id=outlet_id,
                        ratio_bp=bp,
                        amount_fen=amount * bp // 100,
                        occurred_on=day,
                        product="经营快贷",
                    )
                )
        with write_session(self.engine) as session:
            session.add(event)
            session.add_all(shares)
        if prospect is not None and state == "applied":
            self.status(prospect, "disbursed", disbursed_amount=amount)

    def match_unmatched(self, prospect: dict[str, Any]) -> None:
        """An admin matches the waiting event to ``prospect``; it is kept as ``recorded``
        (the prospect's status stays where it is)."""
        with write_session(self.engine) as session:
            session.execute(
                update(LoanEvent)
                .where(LoanEvent.state == "unmatched")
                .values(
                    state="recorded",
                    prospect_id=prospect["id"],
                    credit_code=prospect["credit_code"],
                    resolved_by=self.world.user_id("A1"),
                    resolved_at=utcnow(),
                )
            )


def _placement(prospect: dict[str, Any]) -> tuple[str | None, str | None]:
    return (prospect["outlet_id"], prospect["assignee_id"])


def _utc(y: int, m: int, d: int, h: int = 2, minute: int = 0) -> datetime:
    return datetime(y, m, d, h, minute)


def _november(seed: Seed) -> None:
    w = seed.world
    seed.log("M1", seed.p("M1", 0), _utc(2026, 11, 3))
    seed.log("M1", seed.p("M1", 0), _utc(2026, 11, 10))
    seed.log("M1", seed.p("M1", 1), _utc(2026, 10, 31, 17))  # 1 Nov in Beijing
    seed.log("M2", seed.p("M2", 0), _utc(2026, 11, 30, 16, 30))  # 1 Dec in Beijing
    seed.log("M3", seed.p("M3", 0), _utc(2026, 11, 5))
    seed.log("M4", seed.p("M4", 0), _utc(2026, 11, 6))
    seed.log("G1", seed.p("pool:A", 0), _utc(2026, 11, 7))
    seed.typed(seed.p("M1", 0), 290_000, _utc(2026, 11, 11))  # L1 will count instead
    seed.loan(
        seed.p("M1", 0), 300_000, date(2026, 11, 12), w.outlet_a,
        booker="G1", marketer="M1", originator="M2",
    )  # fmt: skip
    seed.loan(
        seed.p("M3", 0), 500_000, date(2026, 11, 20), w.outlet_b,
        booker="M3", marketer="M3", originator="M4", state="recorded",
    )  # fmt: skip
    seed.loan(seed.p("M4", 1), 200_000, date(2026, 11, 25), w.outlet_c, marketer="M4")
    seed.loan(None, 1_000_000, date(2026, 11, 26), w.outlet_a, booker="G1", state="unmatched")
    seed.loan(seed.p("M2", 1), 100_000, date(2026, 10, 20), w.outlet_a, booker="M2", marketer="M2")
    seed.typed(seed.p("M2", 2), 80_000, _utc(2026, 11, 15))
    seed.status(seed.p("M4", 4), "assigned", withdrawn_at=utcnow(), withdrawn_reason="removed")


def _more(seed: Seed) -> None:
    """After the first housekeeping: what the incremental refresh must take in."""
    w = seed.world
    seed.log("M2", seed.p("M2", 3), _utc(2026, 11, 20))  # first contact, day 18
    seed.log("M4", seed.p("M4", 1), _utc(2026, 11, 24))  # L3's customer, worked first now
    seed.status(seed.p("M1", 4), "assigned", withdrawn_at=utcnow(), withdrawn_reason="removed")
    seed.loan(seed.p("M2", 4), 150_000, date(2026, 11, 28), w.outlet_a, booker="M1", marketer="M2")
    seed.status(seed.p("M3", 1), "contacted")
    seed.typed(seed.p("M3", 2), 60_000, _utc(2026, 11, 27))
    seed.match_unmatched(seed.p("pool:C", 1))  # L4: no change-log row, the loan tables move


# -- the direct count: the definitions over the raw tables ------------------------------


class Direct:
    """The dashboards' figures counted straight from the tables, by the pure definitions."""

    def __init__(self, engine: Any, windows: tuple[int, ...] = (7, 30)) -> None:
        self.windows = windows
        with engine.connect() as conn:
            q = lambda sql: conn.execute(text(sql)).all()  # noqa: E731
            self.outlets = [
                OutletRef(*r)
                for r in q("SELECT id, code, name, tier, branch_name FROM outlet ORDER BY code")
            ]
            self.people = [
                Person(r[0], r[1], r[2], bool(r[3]))
                for r in q('SELECT id, role, outlet_id, active FROM "user"')
            ]
            self.marketers = q(
                "SELECT id, employee_no, name, outlet_id FROM \"user\" WHERE role = 'marketer'"
            )
            self.prospects = {
                r[0]: r
                for r in q(
                    "SELECT id, batch_id, outlet_id, status, withdrawn_at, credit_code,"
                    " assignee_id FROM prospect"
                )
            }
            self.logs = [
                (r[0], r[1], _beijing(r[2]))
                for r in q("SELECT prospect_id, author_id, occurred_at FROM marketing_log")
            ]
            self.loans = q(
                "SELECT loan_id, prospect_id, occurred_on, amount, booking_outlet_id, booker_id,"
                " originator_id, credit_code FROM loan_event WHERE status = 'disbursed'"
                " AND state IN ('applied', 'recorded')"
            )
            self.shares = q(
                "SELECT loan_id, party, user_id, outlet_id, amount_fen FROM profit_share"
            )
            self.typed = q(
                "SELECT prospect_id, occurred_at, amount FROM funnel_event"
                " WHERE to_status = 'disbursed' AND applied"
            )
            self.batch_rows = q("SELECT id, valid_from FROM whitelist_batch")

    def _in(self, day: Any) -> bool:
        return NOV_START <= stored_date(day) <= NOV_END  # type: ignore[operator]

    def acts(self) -> list[Act]:
        outlet_of = {p.user_id: p.outlet_id for p in self.people}
        acts = []
        for loan_id, _pid, day, _amount, booked, booker, originator, _code in self.loans:
            if not self._in(day):
                continue
            acts.append(Act(booked, booker, LoanRole.BOOKED))
            mine = [s for s in self.shares if s[0] == loan_id]
            acts += [Act(s[3], s[2], LoanRole.MARKETED) for s in mine if s[1] == "marketer"]
            if originator:
                share = [s[3] for s in mine if s[1] == "originator" and s[2] == originator]
                outlet = share[0] if share else outlet_of.get(originator)
                acts.append(Act(outlet, originator, LoanRole.ORIGINATED))
        return acts

    def customers(self) -> dict[str, tuple[int, int]]:
        first: dict[tuple[str, str], date] = {}
        for pid, _author, day in self.logs:
            p = self.prospects[pid]
            key = (p[2], p[5])
            first[key] = min(day, first.get(key, day))
        loans = [Disbursal(r[4], r[7], stored_date(r[2])) for r in self.loans]  # type: ignore[arg-type]
        return customer_coverage(loans, first, NOV_START, NOV_END)

    def participation(self, reach: list[str], by: GroupBy) -> list[dict[str, Any]]:
        outlets = [o for o in self.outlets if o.id in reach]
        rows = participation(outlets, self.people, self.acts(), by, self.customers())
        return [_part(r) for r in rows]

    def tallies(self) -> tuple[dict[str, tuple[int, int]], dict[str, tuple[int, int]]]:
        loans = [
            LoanFact(
                r[0], r[1], stored_date(r[2]), r[3], r[4],  # type: ignore[arg-type]
                tuple(s[2] for s in self.shares if s[0] == r[0] and s[1] == "marketer"),
            )
            for r in self.loans
        ]  # fmt: skip
        typed = [
            TypedDisbursal(
                pid, _beijing(at), amount or 0, self.prospects[pid][2], self.prospects[pid][6]
            )
            for pid, at, amount in self.typed
        ]
        return disbursed_tallies(loans, typed, NOV_START, NOV_END)

    def contacts(self, reach: list[str]) -> int:
        return sum(
            1
            for pid, _a, day in self.logs
            if NOV_START <= day <= NOV_END and self.prospects[pid][2] in reach
        )

    def overview(self, reach: list[str]) -> dict[str, Any]:
        counts: dict[str, int] = defaultdict(int)
        for p in self.prospects.values():
            if p[4] is None and p[2] in reach:
                counts[p[3]] += 1
        outlets, _ = self.tallies()
        return {
            "outlets": len(reach),
            "prospects": sum(counts.values()),
            "status_counts": {k: v for k, v in counts.items() if v},
            "contacts": self.contacts(reach),
            "disbursed_count": sum(outlets.get(o, (0, 0))[0] for o in reach),
            "disbursed_amount": sum(outlets.get(o, (0, 0))[1] for o in reach),
        }

    def league_outlets(self, metric: str) -> list[tuple[str, int, int]]:
        outlets, _ = self.tallies()
        contacts = {o.id: self.contacts([o.id]) for o in self.outlets}
        shares: dict[str, int] = defaultdict(int)
        in_period = {r[0] for r in self.loans if self._in(r[2])}
        for loan_id, party, _user, outlet, fen in self.shares:
            if loan_id in in_period and party == "booking_outlet":
                shares[outlet] += fen
        staff = {
            r.key: r.any_rate
            for r in participation(self.outlets, self.people, self.acts(), GroupBy.OUTLET)
        }
        entries = [
            LeagueEntry(
                o.id, o.code, o.name, o.id, contacts[o.id],
                *outlets.get(o.id, (0, 0)), shares[o.id], staff[o.id],
            )
            for o in self.outlets
        ]  # fmt: skip
        return [(r.entry.id, r.rank, r.shared) for r in league(entries, metric)]

    def league_marketers(self, metric: str) -> list[tuple[str, int, int]]:
        _, users = self.tallies()
        roles = defaultdict(int)
        for act in self.acts():
            if act.user_id:
                roles[act.user_id] += 1  # one act per loan and role in this data
        contacts: dict[str, int] = defaultdict(int)
        for _pid, author, day in self.logs:
            if NOV_START <= day <= NOV_END:
                contacts[author] += 1
        in_period = {r[0] for r in self.loans if self._in(r[2])}
        shares: dict[str, int] = defaultdict(int)
        for loan_id, party, user, _outlet, fen in self.shares:
            if loan_id in in_period and party in ("marketer", "originator"):
                shares[user] += fen
        entries = [
            LeagueEntry(
                uid, no, name, outlet, contacts[uid], *users.get(uid, (0, 0)), shares[uid],
                participation=float(roles[uid]),
            )
            for uid, no, name, outlet in self.marketers
        ]  # fmt: skip
        ranked = league(entries, metric)
        return [(r.entry.id, r.rank, r.shared) for r in ranked]

    def batches(self, reach: list[str]) -> list[dict[str, Any]]:
        first: dict[str, date] = {}
        for pid, _a, day in self.logs:
            first[pid] = min(day, first.get(pid, day))
        loaned = {r[1] for r in self.loans}
        out = []
        for batch_id, valid_from in self.batch_rows:
            live = [
                p for p in self.prospects.values()
                if p[1] == batch_id and p[4] is None and p[2] in reach
            ]  # fmt: skip
            if not live:
                continue
            covered = window_coverage(
                stored_date(valid_from),  # type: ignore[arg-type]
                [(first.get(p[0]), 1) for p in live],
                self.windows,
            )
            out.append(
                {
                    "batch_id": batch_id,
                    "entries": len(live),
                    "covered": covered,
                    "disbursed": sum(1 for p in live if p[3] == "disbursed" or p[0] in loaned),
                }
            )
        return out


def _beijing(value: Any) -> date:
    return (stored_datetime(value) + timedelta(hours=8)).date()  # type: ignore[operator]


def _part(row: Any) -> dict[str, Any]:
    return {
        "key": row.key,
        "outlets": row.outlets,
        "booked_outlets": row.outlets_by_role["booked"],
        "marketed_outlets": row.outlets_by_role["marketed"],
        "originated_outlets": row.outlets_by_role["originated"],
        "staff": row.staff,
        "booked_staff": row.staff_by_role["booked"],
        "marketed_staff": row.staff_by_role["marketed"],
        "originated_staff": row.staff_by_role["originated"],
        "any_staff": row.staff_any,
        "customers": row.customers,
        "covered": row.covered,
    }


def _answered_part(row: dict[str, Any]) -> dict[str, Any]:
    """The answer's counts, in ``_part``'s shape (rates follow from them)."""
    return {k: row[k] for k in _PART_KEYS}


_PART_KEYS = (
    "key", "outlets", "booked_outlets", "marketed_outlets", "originated_outlets", "staff",
    "booked_staff", "marketed_staff", "originated_staff", "any_staff", "customers", "covered",
)  # fmt: skip


def _agrees(http: Http, direct: Direct, employee_no: str, reach: list[str]) -> None:
    """Every dashboard's answer for ``employee_no`` is the direct count's."""
    for by in GroupBy:
        got = http.get(employee_no, "participation", by=by.value, page_size=200, **NOV)
        assert [_answered_part(r) for r in got["rows"]] == direct.participation(reach, by), by
    [total] = direct.participation(reach, GroupBy.BRANCH)
    got = http.get(employee_no, "participation", **NOV)
    assert _answered_part(got["total"]) == total

    got = http.get(employee_no, "overview", **NOV)
    expected = direct.overview(reach)
    got["status_counts"] = {k: v for k, v in got["status_counts"].items() if v}
    assert {k: got[k] for k in expected} == expected

    for metric in ("contacts", "disbursed_count", "disbursed_amount", "participation", "shares"):
        got = http.get(employee_no, "league", level="outlet", metric=metric, **NOV)
        ranked = direct.league_outlets(metric)
        assert got["ranked"] == len(ranked)
        assert [(r["id"], r["rank"], r["shared"]) for r in got["rows"]] == [
            r for r in ranked if r[0] in reach
        ], metric
        got = http.get(employee_no, "league", level="marketer", metric=metric, **NOV)
        mine = {uid for uid, *_ in direct.marketers if _outlet(direct, uid) in reach}
        assert [(r["id"], r["rank"], r["shared"]) for r in got["rows"]] == [
            r for r in direct.league_marketers(metric) if r[0] in mine
        ], metric

    got = http.get(employee_no, "batches")
    assert [
        {
            "batch_id": r["batch_id"],
            "entries": r["entries"],
            "covered": [w["covered"] for w in r["windows"]],
            "disbursed": r["disbursed"],
        }
        for r in got["rows"]
    ] == direct.batches(reach)


def _outlet(direct: Direct, user_id: str) -> str | None:
    return next(p.outlet_id for p in direct.people if p.user_id == user_id)


def _answers(http: Http, employee_no: str) -> dict[str, Any]:
    """Every dashboard's answer, ``as_of`` left out."""
    out = {}
    for path, params in (
        ("participation", {"by": "subbranch", **NOV}),
        ("league", {"level": "marketer", "metric": "participation", **NOV}),
        ("league", {"level": "outlet", "metric": "shares", **NOV}),
        ("batches", {}),
        ("overview", NOV),
    ):
        got = http.get(employee_no, path, **params)
        got.pop("as_of")
        out[f"{path}{sorted(params.items())}"] = got
    return out


# -- the tests ---------------------------------------------------------------------------


def test_the_figures_of_november_as_counted_by_hand(server, world, http):
    """Admin, November: see the module docstring for the data.

    Overview: 28 live prospects (m4[4] withdrawn), contacts 6 (m2[0]'s is December's);
    disbursed L1 300,000 (A) + L2 500,000 (B) + L3 200,000 (C) + typed m2[2] 80,000 (A)
    = 4 and 1,080,000 元.
    By outlet: A booked (L1), marketed (M1), originated (M2 on L1) → staff M1, M2, G1:
    G1 booked, M1 marketed, M2 originated; B booked and marketed by M3, M4 originated L2
    for C; C booked (L3), marketed (M4 on L3), originated (M4 on L2), with no booker named.
    Customers: A's m1[0] worked on the 3rd, before L1 (12th): covered; B's m3[0] on the
    5th, before L2: covered; C's m4[1] never worked: 2 of 3.
    League by amount: B 500,000, A 380,000, C 200,000; marketers M3 500,000, M1 300,000,
    M4 200,000, M2 80,000 (typed on their prospect).
    The batch (valid from 2 November): 28 entries; first contacts m1[1] (1 Nov), m1[0]
    (3rd), m3[0] (5th), m4[0] (6th), A's pool[0] (7th) within 7 days (before 9 Nov): 5;
    and m2[0] (1 Dec, day 29) within 30: 6. Disbursed: m1[0], m4[1], m2[1] (October's L5)
    and m2[2] by status, and m3[0] by its loan: 5.
    """
    before = http.get("A1", "overview", **NOV)
    assert before["as_of"] is None and before["prospects"] == 0  # nothing rolled up yet
    _november(Seed(server, world))
    run_housekeeping(server.engine, server.app.state.settings)

    got = http.get("A1", "overview", **NOV)
    assert got["as_of"] is not None
    assert (got["start"], got["end"]) == ("2026-11-01", "2026-11-30")
    assert (got["outlets"], got["prospects"], got["contacts"]) == (3, 28, 6)
    assert (got["disbursed_count"], got["disbursed_amount"]) == (4, 1_080_000)
    assert got["status_counts"]["disbursed"] == 4  # m1[0], m2[1], m2[2], m4[1]

    part = http.get("A1", "participation", by="outlet", **NOV)
    a, b, c = world.outlet_a, world.outlet_b, world.outlet_c
    figures = {
        r["key"]: (
            [r["booked_outlets"], r["marketed_outlets"], r["originated_outlets"]],
            r["staff"],
            [r["booked_staff"], r["marketed_staff"], r["originated_staff"], r["any_staff"]],
            (r["customers"], r["covered"]),
        )
        for r in part["rows"]
    }
    assert figures == {
        a: ([1, 1, 1], 3, [1, 1, 1, 3], (1, 1)),
        b: ([1, 1, 0], 1, [1, 1, 0, 1], (1, 1)),
        c: ([1, 1, 1], 1, [0, 1, 1, 1], (1, 0)),
    }
    total = part["total"]
    assert (total["outlets"], total["originated_outlets"]) == (3, 2)
    assert total["originated_outlet_rate"] == pytest.approx(2 / 3)
    assert (total["staff"], total["booked_staff"], total["any_staff"]) == (5, 2, 5)
    assert total["coverage"] == pytest.approx(2 / 3)

    sub = http.get("A1", "participation", by="subbranch", **NOV)["rows"]
    assert [(r["key"], r["outlets"], r["staff"]) for r in sub] == [
        ("汇川支行", 2, 4),
        ("红花岗支行", 1, 1),
    ]

    outlets = http.get("A1", "league", level="outlet", metric="disbursed_amount", **NOV)
    assert [(r["id"], r["rank"], r["disbursed_amount"]) for r in outlets["rows"]] == [
        (b, 1, 500_000),
        (a, 2, 380_000),
        (c, 3, 200_000),
    ]
    people = http.get("A1", "league", level="marketer", metric="disbursed_amount", **NOV)
    assert [(r["code"], r["rank"], r["disbursed_amount"]) for r in people["rows"]] == [
        ("M3", 1, 500_000),
        ("M1", 2, 300_000),
        ("M4", 3, 200_000),
        ("M2", 4, 80_000),
    ]
    contacts = http.get("A1", "league", level="outlet", metric="contacts", **NOV)["rows"]
    assert [(r["id"], r["rank"], r["shared"], r["contacts"]) for r in contacts] == [
        (a, 1, 1, 4),
        (b, 2, 2, 1),  # B (T-002) and C (T-003) tie: listed by code
        (c, 2, 2, 1),
    ]

    [batch] = http.get("A1", "batches")["rows"]
    assert batch["entries"] == 28
    assert [(w["days"], w["covered"]) for w in batch["windows"]] == [(7, 5), (30, 6)]
    assert (batch["disbursed"], batch["conversion"]) == (5, pytest.approx(5 / 28))


def test_the_rollups_agree_with_a_direct_count_built_incremental_and_rebuilt(server, world, http):
    seed = Seed(server, world)
    _november(seed)
    run_housekeeping(server.engine, server.app.state.settings)  # the first: a full build
    everyone = [world.outlet_a, world.outlet_b, world.outlet_c]
    _agrees(http, Direct(server.engine), "A1", everyone)

    _more(seed)
    run_housekeeping(server.engine, server.app.state.settings)  # incremental
    direct = Direct(server.engine)
    _agrees(http, direct, "A1", everyone)
    _agrees(http, direct, "Z1", [world.outlet_a, world.outlet_c])
    _agrees(http, direct, "G1", [world.outlet_a])
    overview = http.get("A1", "overview", **NOV)
    # two more contacts (m2[3], m4[1]), one more entry withdrawn; disbursed: the new loan
    # (150,000), m3[2] typed (60,000) and L4 matched (1,000,000, booked at A)
    assert (overview["contacts"], overview["prospects"]) == (8, 27)
    assert (overview["disbursed_count"], overview["disbursed_amount"]) == (7, 2_290_000)
    [batch] = http.get("A1", "batches")["rows"]
    assert batch["disbursed"] == 8  # m2[4], m3[2] by status, C's pool[1] by its loan
    c = http.get("A1", "participation", by="outlet", **NOV)["rows"]
    assert [(r["customers"], r["covered"]) for r in c if r["key"] == world.outlet_c] == [(1, 1)]

    incremental = _answers(http, "A1")
    with write_session(server.engine) as session:  # forget the rollups: a full build again
        session.execute(delete(DashState))
    run_housekeeping(server.engine, server.app.state.settings)
    assert _answers(http, "A1") == incremental
    with server.engine.connect() as conn:
        state = json.loads(conn.execute(select(DashState.positions)).scalar_one())
        newest = dict(conn.execute(text("SELECT branch, seq FROM change_clock")).all())
    assert state == newest  # every branch's change log rolled up to its newest

    nothing_new = run_housekeeping(server.engine, server.app.state.settings)
    assert nothing_new["dashboards"] == 0
    assert _answers(http, "A1") == incremental


def test_many_changes_at_once_rebuild_the_prospects_rollups_to_the_same_figures(
    server, world, http, monkeypatch
):
    """Past ``REBUILD_AFTER`` changed prospects (a large import) the refresh rebuilds what
    depends on prospects instead of adjusting it; the figures are the direct count's."""
    seed = Seed(server, world)
    _november(seed)
    run_housekeeping(server.engine, server.app.state.settings)
    monkeypatch.setattr(rollups, "REBUILD_AFTER", 2)
    _more(seed)
    run_housekeeping(server.engine, server.app.state.settings)
    with server.engine.connect() as conn:
        state = conn.execute(select(DashState.refreshed_at, DashState.rebuilt_at)).one()
    assert state[0] == state[1]  # this refresh rebuilt
    _agrees(http, Direct(server.engine), "A1", [world.outlet_a, world.outlet_b, world.outlet_c])


def test_each_manager_sees_the_outlets_in_reach_and_a_marketer_none(server, world, http):
    _november(Seed(server, world))
    run_housekeeping(server.engine, server.app.state.settings)
    a, b, c = world.outlet_a, world.outlet_b, world.outlet_c

    for no, reach in (("A1", {a, b, c}), ("Z1", {a, c}), ("G1", {a})):
        part = http.get(no, "participation", **NOV)
        assert {r["key"] for r in part["rows"]} == reach, no
        assert http.get(no, "overview", **NOV)["outlets"] == len(reach)
        league_rows = http.get(no, "league", level="outlet", **NOV)
        assert {r["id"] for r in league_rows["rows"]} == reach
        assert league_rows["ranked"] == 3  # ranked within the branch, whoever asks

    # G1 sees A's rank among the branch's three outlets: 2nd by amount
    [mine] = http.get("G1", "league", level="outlet", metric="disbursed_amount", **NOV)["rows"]
    assert (mine["id"], mine["rank"]) == (a, 2)
    people = http.get("Z1", "league", level="marketer", **NOV)
    assert {r["code"] for r in people["rows"]} == {"M1", "M2", "M4"}
    assert people["ranked"] == 4

    assert http.get("Z1", "overview", outlet_id=c, **NOV)["contacts"] == 1
    for no, outlet in (("Z1", b), ("G1", c), ("A1", "no-such-outlet")):
        for path in ("overview", "batches"):
            answer = http(no).get(f"/dashboards/{path}", params={"outlet_id": outlet})
            assert answer.status_code == 404, (no, path)
            assert answer.json()["code"] == "dashboard.outlet_not_found"

    for path in ENDPOINTS:
        answer = http("M1").get(f"/dashboards/{path}")
        assert answer.status_code == 403
        assert answer.json()["code"] == "auth.forbidden"


def test_pages_and_refused_parameters(server, world, http):
    _november(Seed(server, world))
    run_housekeeping(server.engine, server.app.state.settings)
    whole = http.get("A1", "league", level="marketer", metric="contacts", **NOV)
    assert whole["count"] == 4
    pages = [
        http.get("A1", "league", level="marketer", metric="contacts", page=n, page_size=3, **NOV)
        for n in (1, 2, 3)
    ]
    assert [len(p["rows"]) for p in pages] == [3, 1, 0]
    assert [r["id"] for p in pages for r in p["rows"]] == [r["id"] for r in whole["rows"]]
    assert all(p["count"] == 4 and p["page_size"] == 3 for p in pages)
    part = http.get("A1", "participation", page=2, page_size=2, **NOV)
    assert [r["key"] for r in part["rows"]] == [world.outlet_c]
    assert part["total"]["outlets"] == 3  # the total is over every page

    refused = [
        ("participation", {"period": "year"}),
        ("participation", {"by": "district"}),
        ("participation", {"on": "2026-13-01"}),
        ("participation", {"on": "1999-12-31"}),
        ("participation", {"on": "9999-12-31"}),
        ("league", {"level": "branch"}),
        ("league", {"metric": "profit"}),
        ("league", {"page": "0"}),
        ("league", {"page_size": "1000"}),
        ("league", {"page": "many"}),
        ("batches", {"outlet_id": ""}),
        ("batches", {"outlet_id": "x" * 65}),
        ("overview", {"outlet": world.outlet_a}),  # unknown parameter
        ("overview", {"period": "month", "on": "2026-11-15", "extra": "1"}),
    ]
    for path, params in refused:
        answer = http("A1").get(f"/dashboards/{path}", params=params)
        assert answer.status_code == 422, (path, params, answer.text)
        assert answer.json()["code"] == "request.invalid"

    anonymous = httpx.get(
        f"{server.url}/dashboards/overview", headers={PROTOCOL_HEADER: str(PROTOCOL_VERSION)}
    )
    assert anonymous.status_code == 401
    old = httpx.get(
        f"{server.url}/dashboards/overview",
        headers={"Authorization": http("A1").headers["Authorization"]},
    )
    assert old.status_code == 426


def test_the_coverage_windows_are_the_stores_settings(store_settings):
    """Windows of 3 and 10 days over the same batch: first contacts 1 Nov (before it
    opened), 3 Nov (day 1) and 10 Nov (day 8, A's pool): 2 within 3 days, 3 within 10."""
    settings = store_settings.model_copy(
        update={"housekeeping_interval_seconds": 0, "coverage_windows": (3, 10)}
    )
    with LiveServer(settings) as server:
        world = build_world(server.engine, subbranch=True)
        with write_session(server.engine) as session:
            session.execute(
                update(WhitelistBatch)
                .where(WhitelistBatch.id == world.batch_id)
                .values(valid_from=VALID_FROM)
            )
        seed = Seed(server, world)
        seed.log("M1", seed.p("M1", 0), _utc(2026, 10, 31, 17))
        seed.log("M1", seed.p("M1", 1), _utc(2026, 11, 3))
        seed.log("G1", seed.p("pool:A", 0), _utc(2026, 11, 10))
        seed.log("M1", seed.p("M1", 0), _utc(2026, 11, 20))  # not its first
        run_housekeeping(server.engine, settings)
        http = Http(server)
        try:
            got = http.get("A1", "batches")
            assert got["windows"] == [3, 10]
            [batch] = got["rows"]
            assert [(w["days"], w["covered"]) for w in batch["windows"]] == [(3, 2), (10, 3)]
            assert (
                http.get("Z1", "batches", outlet_id=world.outlet_c)["rows"][0]["windows"][1][
                    "covered"
                ]
                == 0
            )
        finally:
            http.close()

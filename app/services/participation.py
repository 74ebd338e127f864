"""Participation (簿记 / 营销 / 发起), coverage, conversion and league tables of the branch.

The figures the dashboards above the outlet show, as pure functions over plain values
that tests feed directly. The central store keeps rollups of its tables
(``app.server.rollups``) and answers from them through these same functions
(``app.server.dashboards``); a test checks that both give what these definitions give
over the raw rows.

Definitions a product owner signs off:

- **Periods** are Beijing calendar periods (``performance.Period``: week, month,
  quarter). A loan falls in the period holding its business date (``occurred_on``, the
  loan system's Beijing date); a marketing log or a typed disbursement in the one
  holding the Beijing date of its ``occurred_at``.
- **A disbursed loan** is a loan event of status ``disbursed`` that the store matched
  to a prospect (state ``applied`` or ``recorded``). One still waiting for an admin
  (``unmatched``) or set aside (``dismissed``) counts nowhere.
- **Booked (簿记)**: the loan's booking outlet is credited, and the employee the loan
  system names as booker. **Marketed (营销)**: the employee holding the loan's marketer
  share (分润 party ``marketer``) and the outlet that share names (the marketer's when
  the loan was disbursed). **Originated (发起)**: the employee the loan system names as
  originator, and the outlet of their originator share (their outlet then; without a
  share, their outlet now).
- **Groups of outlets**: one outlet; a sub-branch (the outlets sharing ``branch_name``);
  a tier (旗舰 flagship / 标杆 benchmark / 普及 general); the branch (every outlet). A
  manager sees the groups made of the outlets in their reach only.
- **Outlet participation** of a group in a period: for each of booked, marketed and
  originated, the share of the group's outlets credited that way with at least one
  disbursed loan in the period. A group without outlets has no rate (None).
- **Staff participation**: a group's staff are the active marketers and outlet
  managers whose outlet is in the group now (sub-branch managers and admins are not
  counted). For each of booked, marketed and originated, the share of them named that
  way on at least one disbursed loan in the period, wherever it was booked; ``any``:
  named in at least one of the three ways. No staff: no rate.
- **Coverage of 普惠 loan customers** of an outlet in a period: its loan customers are
  the distinct credit codes of the disbursed loans it booked in the period. A customer
  is covered when one of the outlet's whitelist entries (any batch, withdrawn or not)
  has that credit code and a marketing log, by anyone, dated (Beijing) on or before the
  customer's first disbursement booked at the outlet in the period. Coverage = covered /
  customers (None without customers); a group's sums its outlets' customers (a customer
  of two outlets counts at each).
- **Batch coverage** with windows of N days (settings ``coverage_windows``; 7 and 30
  by default): of a batch's live entries in reach, those whose first marketing log (any
  author, any time) fell before Beijing midnight at the start of ``valid_from + N``;
  the device's rule (``performance.batch_coverage``) with its windows configurable.
- **Batch conversion**: of a batch's live entries in reach, the share that are
  disbursed: status ``disbursed``, or a disbursed loan matched to them.
- **Outlet conversion**: batch conversion's rule over an outlet's live entries of every
  batch instead of one batch's: the share of them disbursed, now (like batch conversion
  it is no period's: an entry counts from the day it is listed). No live entries: no
  rate. A marketer has none (entries are an outlet's; who holds one changes).
- **Disbursed** (overview, league tables) counts each prospect's disbursement once: its
  disbursed loans when the loan system reported any (count = loans, amount = their 元),
  else the applied funnel event to ``disbursed`` typed on a device (its amount, the
  Beijing date of its ``occurred_at``). An outlet's: the loans it booked, plus typed
  disbursements of its prospects; a marketer's: the loans on which they hold the
  marketer share, plus typed disbursements of prospects assigned to them. A typed
  disbursement is credited to the outlet and assignee its prospect had when the store
  rolled it up (within one housekeeping round of its arrival).
- **Contacts**: marketing logs dated in the period; a marketer's are those they wrote,
  an outlet's those on its prospects (the outlet holding the prospect when the store
  rolled the log up).
- **Shares (分润)**: fen of profit shares of disbursed loans in the period; a marketer's
  are their marketer and originator shares, an outlet's its booking shares.
- **League tables** rank outlets, or marketers (active ones, and inactive ones with
  activity in the period), on one metric: contacts, disbursed count, disbursed amount,
  shares, or participation (an outlet: its staff's ``any`` rate; a marketer: the roles
  they held on disbursed loans, one per loan and role). Higher first; equal values
  share a rank (1, 2, 2, 4), listed by code; an outlet without staff has no rate and
  ranks after every rate. Ranks are within the branch, whoever asks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from app.models.dashboard import GroupBy, LeagueMetric, LoanRole
from app.models.outlet import OutletTier
from app.models.user import Role
from app.services.performance import competition_ranks

__all__ = [
    "ROLES",
    "STAFF_ROLES",
    "Act",
    "Disbursal",
    "GroupBy",
    "LeagueEntry",
    "LeagueMetric",
    "LeagueRow",
    "LoanFact",
    "LoanRole",
    "OutletRef",
    "Participation",
    "Person",
    "TypedDisbursal",
    "customer_coverage",
    "disbursed_tallies",
    "is_staff",
    "league",
    "participation",
    "rate",
    "window_coverage",
]

ROLES: tuple[LoanRole, ...] = (LoanRole.BOOKED, LoanRole.MARKETED, LoanRole.ORIGINATED)
STAFF_ROLES = frozenset({Role.MARKETER, Role.OUTLET_MANAGER})
TIER_ORDER = {t.value: i for i, t in enumerate(OutletTier)}
BRANCH = "branch"  # the key of the row over every outlet


@dataclass(frozen=True)
class OutletRef:
    id: str
    code: str
    name: str
    tier: str
    branch_name: str  # its sub-branch (支行)


@dataclass(frozen=True)
class Person:
    user_id: str
    role: str
    outlet_id: str | None
    active: bool = True


@dataclass(frozen=True)
class Act:
    """An outlet or a person credited ``role`` on at least one disbursed loan in the
    period (either may be None: a loan without a named booker still credits its outlet)."""

    outlet_id: str | None
    user_id: str | None
    role: LoanRole


@dataclass(frozen=True)
class Participation:
    key: str  # outlet id, sub-branch name, tier, or "branch"
    label: str
    code: str  # the outlet's code (by outlet), else ""
    outlets: int
    outlets_by_role: dict[str, int]  # LoanRole → outlets credited that way
    staff: int
    staff_by_role: dict[str, int]  # LoanRole → staff named that way
    staff_any: int
    customers: int = 0
    covered: int = 0

    def outlet_rate(self, role: LoanRole) -> float | None:
        return rate(self.outlets_by_role[role], self.outlets)

    def staff_rate(self, role: LoanRole) -> float | None:
        return rate(self.staff_by_role[role], self.staff)

    @property
    def any_rate(self) -> float | None:
        return rate(self.staff_any, self.staff)

    @property
    def coverage(self) -> float | None:
        return rate(self.covered, self.customers)


def rate(part: int, whole: int) -> float | None:
    """``part / whole``; None when there is nothing to divide by."""
    return part / whole if whole else None


def is_staff(person: Person) -> bool:
    """Counted as an outlet's staff: an active marketer or outlet manager with an outlet."""
    return person.active and person.role in STAFF_ROLES and person.outlet_id is not None


def _group(outlet: OutletRef, by: GroupBy) -> tuple[str, str, str]:
    """(key, label, code) of the group ``outlet`` belongs to."""
    match by:
        case GroupBy.OUTLET:
            return outlet.id, outlet.name, outlet.code
        case GroupBy.SUBBRANCH:
            return outlet.branch_name, outlet.branch_name, ""
        case GroupBy.TIER:
            return outlet.tier, outlet.tier, ""
        case GroupBy.BRANCH:
            return BRANCH, "", ""


def _order(by: GroupBy) -> Callable[[Participation], tuple[object, ...]]:
    if by == GroupBy.TIER:
        return lambda r: (TIER_ORDER.get(r.key, len(TIER_ORDER)), r.key)
    if by == GroupBy.OUTLET:
        return lambda r: (r.code, r.key)
    return lambda r: (r.key,)


def participation(
    outlets: Sequence[OutletRef],
    people: Iterable[Person],
    acts: Iterable[Act],
    by: GroupBy | str,
    customers: Mapping[str, tuple[int, int]] | None = None,
) -> list[Participation]:
    """One row per group of ``outlets`` (the outlets in reach), in the group's order:
    outlets by code, sub-branches by name, tiers flagship → general. ``acts`` are the
    period's credits (any outlet's: only those of ``outlets`` and their staff count);
    ``customers`` is {outlet id: (loan customers, covered)}."""
    by = GroupBy(by)
    customers = customers or {}
    in_reach = {o.id: o for o in outlets}
    staff_at: dict[str, set[str]] = defaultdict(set)
    for person in people:
        if is_staff(person) and person.outlet_id in in_reach:
            staff_at[person.outlet_id].add(person.user_id)  # type: ignore[index]
    staff_of = {uid: oid for oid, uids in staff_at.items() for uid in uids}
    outlet_roles: dict[str, set[LoanRole]] = defaultdict(set)
    person_roles: dict[str, set[LoanRole]] = defaultdict(set)
    for act in acts:
        if act.outlet_id in in_reach:
            outlet_roles[act.outlet_id].add(act.role)  # type: ignore[index]
        if act.user_id in staff_of:
            person_roles[act.user_id].add(act.role)  # type: ignore[index]

    members: dict[tuple[str, str, str], list[OutletRef]] = defaultdict(list)
    for outlet in outlets:
        members[_group(outlet, by)].append(outlet)
    rows = []
    for (key, label, code), group in members.items():
        ids = [o.id for o in group]
        staff = [uid for oid in ids for uid in staff_at.get(oid, ())]
        rows.append(
            Participation(
                key=key,
                label=label,
                code=code,
                outlets=len(ids),
                outlets_by_role={
                    r.value: sum(1 for o in ids if r in outlet_roles.get(o, ())) for r in ROLES
                },
                staff=len(staff),
                staff_by_role={
                    r.value: sum(1 for u in staff if r in person_roles.get(u, ())) for r in ROLES
                },
                staff_any=sum(1 for u in staff if person_roles.get(u)),
                customers=sum(customers.get(o, (0, 0))[0] for o in ids),
                covered=sum(customers.get(o, (0, 0))[1] for o in ids),
            )
        )
    rows.sort(key=_order(by))
    return rows


# -- coverage and conversion -----------------------------------------------------------


@dataclass(frozen=True)
class Disbursal:
    """A disbursed loan as an outlet's booking of a customer."""

    outlet_id: str  # the booking outlet
    credit_code: str
    day: date  # its business date (Beijing)


def customer_coverage(
    disbursals: Iterable[Disbursal],
    first_logs: Mapping[tuple[str, str], date],
    start: date,
    end: date,
) -> dict[str, tuple[int, int]]:
    """{outlet id: (loan customers, covered)} for the Beijing dates ``start``..``end``.

    ``first_logs`` holds, per (outlet id, credit code), the Beijing date of the first
    marketing log on any of the outlet's entries with that code (absent: none on its
    whitelists, or never contacted)."""
    first_loan: dict[tuple[str, str], date] = {}
    for d in disbursals:
        if start <= d.day <= end:
            key = (d.outlet_id, d.credit_code)
            first_loan[key] = min(d.day, first_loan.get(key, d.day))
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (outlet_id, code), day in first_loan.items():
        logged = first_logs.get((outlet_id, code))
        out[outlet_id][0] += 1
        out[outlet_id][1] += 1 if logged is not None and logged <= day else 0
    return {o: (n, c) for o, (n, c) in out.items()}


def window_coverage(
    valid_from: date,
    first_contacts: Iterable[tuple[date | None, int]],
    windows: Sequence[int],
) -> list[int]:
    """Per window N (days), how many entries were first contacted before Beijing
    midnight at the start of ``valid_from + N``, from (Beijing date of the first
    contact or None, entries) pairs."""
    counts = [0] * len(windows)
    for first, n in first_contacts:
        if first is None:
            continue
        for i, days in enumerate(windows):
            if first < valid_from + timedelta(days=days):
                counts[i] += n
    return counts


# -- disbursed -------------------------------------------------------------------------


@dataclass(frozen=True)
class LoanFact:
    """A disbursed loan (matched), with the holders of its marketer share."""

    loan_id: str
    prospect_id: str
    day: date
    amount: int  # 元
    booking_outlet_id: str
    marketer_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class TypedDisbursal:
    """An applied funnel event to ``disbursed``, with its prospect's outlet and assignee."""

    prospect_id: str
    day: date
    amount: int  # 元
    outlet_id: str
    assignee_id: str | None


def disbursed_tallies(
    loans: Iterable[LoanFact], typed: Iterable[TypedDisbursal], start: date, end: date
) -> tuple[dict[str, tuple[int, int]], dict[str, tuple[int, int]]]:
    """({outlet id: (count, 元)}, {user id: (count, 元)}) disbursed in ``start``..``end``:
    loans where the loan system reported any for the prospect, else typed events."""
    loans = list(loans)
    with_loans = {loan.prospect_id for loan in loans}
    by_outlet: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_user: dict[str, list[int]] = defaultdict(lambda: [0, 0])

    def add(tally: list[int], amount: int) -> None:
        tally[0] += 1
        tally[1] += amount

    for loan in loans:
        if start <= loan.day <= end:
            add(by_outlet[loan.booking_outlet_id], loan.amount)
            for uid in set(loan.marketer_ids):
                add(by_user[uid], loan.amount)
    for event in typed:
        if event.prospect_id in with_loans or not start <= event.day <= end:
            continue
        add(by_outlet[event.outlet_id], event.amount)
        if event.assignee_id:
            add(by_user[event.assignee_id], event.amount)
    return (
        {k: (v[0], v[1]) for k, v in by_outlet.items()},
        {k: (v[0], v[1]) for k, v in by_user.items()},
    )


# -- league tables ---------------------------------------------------------------------


@dataclass(frozen=True)
class LeagueEntry:
    id: str  # outlet id or user id
    code: str  # outlet code or employee number
    name: str
    outlet_id: str | None
    contacts: int = 0
    disbursed_count: int = 0
    disbursed_amount: int = 0  # 元
    shares_fen: int = 0
    participation: float | None = None

    def value(self, metric: LeagueMetric) -> float:
        """What ``metric`` ranks by; no participation rate ranks after every rate."""
        match metric:
            case LeagueMetric.CONTACTS:
                return self.contacts
            case LeagueMetric.DISBURSED_COUNT:
                return self.disbursed_count
            case LeagueMetric.DISBURSED_AMOUNT:
                return self.disbursed_amount
            case LeagueMetric.SHARES:
                return self.shares_fen
            case LeagueMetric.PARTICIPATION:
                return -1.0 if self.participation is None else self.participation


@dataclass(frozen=True)
class LeagueRow:
    entry: LeagueEntry
    rank: int
    shared: int  # how many hold this rank


def league(entries: Sequence[LeagueEntry], metric: LeagueMetric | str) -> list[LeagueRow]:
    """``entries`` ranked on ``metric``, best first; ties share a rank, listed by code."""
    metric = LeagueMetric(metric)
    values = [e.value(metric) for e in entries]
    ranks = competition_ranks(values)
    shared: dict[float, int] = defaultdict(int)
    for v in values:
        shared[v] += 1
    rows = [LeagueRow(e, r, shared[v]) for e, r, v in zip(entries, ranks, values, strict=True)]
    rows.sort(key=lambda row: (row.rank, row.entry.code, row.entry.id))
    return rows

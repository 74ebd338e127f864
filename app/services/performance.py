"""Marketing performance (营销业绩) of a marketer, an outlet or the branch.

The figures, as pure functions over plain values that tests can feed directly;
the loaders that aggregate them in SQL over a device store (the branch may hold
100,000 prospects) and assemble the reports are app/queries/performance.py.
Everything returns numbers and codes; views translate and format
(``app.i18n.format_money`` for 元).

Definitions a product owner signs off:

- **Periods** are Beijing-time calendar periods: ISO week (Monday–Sunday),
  calendar month, calendar quarter. A stored time (naive UTC) falls in the period
  whose Beijing dates contain it: 2026-03-31 17:00 UTC is 1 April in Beijing.
- **Scope** (the subject's book of prospects): a marketer's is the prospects
  assigned to them now; an outlet's, its prospects now, pool included; the
  branch's, every prospect on this device.
- **Funnel counts** are current statuses of the prospects in scope.
- **Reached**: a prospect reached a main-line stage if its current status, a
  status the store held when it judged one of its funnel events (``from_status``)
  or the target of an applied event is that stage or beyond. Skipped stages count
  as reached; every whitelisted prospect has reached ``unassigned``. A declined
  prospect keeps the stages it reached before it closed.
- **Contacts** are marketing logs whose ``occurred_at`` (device time: when the
  contact happened) lies in the period. A marketer's contacts are the logs they
  wrote, whoever holds the prospect now; an outlet's or the branch's are the logs
  on prospects in scope. Every log counts (a call nobody answered is still a
  contact attempt), including logs not yet synced.
- **Disbursed** counts applied funnel events to ``disbursed`` on prospects in
  scope whose ``occurred_at`` lies in the period: business time, when the loan was
  made, not ``recorded_at`` (when the store heard of it, which for an offline
  device can be days later). The amount is the event's. A disbursement is credited
  to the prospect's assignee, whoever recorded it (managers usually record the
  bank's decisions). Only events judged by the store are on the device, so a
  disbursement recorded offline counts after the next sync.
- **Rank**: marketers by disbursed amount, then disbursed count, then contacts,
  all descending; equal on all three share a rank (1, 2, 2, 4). Outlets alike.
  Only an admin's device holds the whole branch; the others take their ranks from
  the central store, which ranks with the same rules (``app.queries.performance.branch_ranks``) and sends
  them at each sync.
- **Batch coverage**: of a batch's prospects in scope, the share whose first
  marketing log (any author) fell within 7 / 30 days of the batch's
  ``valid_from``: before Beijing midnight at the start of ``valid_from + 7``
  (i.e. on one of the first seven calendar days, or earlier). Measured over all
  time, not the period. These are the device's windows; the central store's dashboards
  take theirs from settings (``coverage_windows``, ``app.services.participation``).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from app.models.user import Role
from app.services.clock import utc_midnight
from app.services.funnel import MAIN_LINE, FunnelStatus

COVERAGE_WINDOWS = (7, 30)  # days after a batch's valid_from
WEEKS_SHOWN = 8  # weeks in the contacts-per-week series


class Period(StrEnum):
    WEEK = "week"  # ISO week, Monday to Sunday
    MONTH = "month"  # calendar month
    QUARTER = "quarter"  # calendar quarter: Jan-Mar, Apr-Jun, Jul-Sep, Oct-Dec


class Subject(StrEnum):
    MARKETER = "marketer"
    OUTLET = "outlet"
    BRANCH = "branch"


@dataclass(frozen=True)
class Conversion:
    """From one main-line stage to the next: reached[to] / reached[from]."""

    from_status: str
    to_status: str
    rate: float | None  # None when nobody reached ``from_status``


@dataclass(frozen=True)
class BatchInfo:
    id: str
    name: str
    product: str
    valid_from: date


@dataclass(frozen=True)
class BatchCoverage:
    batch_id: str
    name: str
    product: str
    valid_from: date
    prospects: int  # the batch's prospects in scope
    within_7: int  # first contacted within 7 days of valid_from
    within_30: int
    share_7: float
    share_30: float


@dataclass(frozen=True)
class PerformanceReport:
    subject: Subject
    subject_id: str | None  # user id, outlet id, or None for the branch
    period: Period
    start: date  # first Beijing date of the period
    end: date  # last Beijing date, inclusive
    prospects: int  # in scope now
    status_counts: dict[str, int]  # every FunnelStatus, current
    reached: dict[str, int]  # every main-line stage, cumulative
    conversions: list[Conversion]  # consecutive main-line stages
    status_mix: dict[str, float]  # share of prospects per status; zeros when none
    contacts: int  # logs in the period
    contacted_prospects: int  # distinct prospects those logs were about
    weekly_contacts: list[tuple[date, int]]  # (Monday, logs), oldest first, this week last
    disbursed_count: int
    disbursed_amount: int  # 元
    rank: int | None  # 1-based; None for the branch or a subject outside the ranking
    rank_of: int  # how many were ranked
    batches: list[BatchCoverage]
    rank_shared: int = 1  # how many hold this rank (2 and more: tied)
    shares: ShareTally | None = None  # 分润 as the store counted it; None: it sent none


@dataclass(frozen=True)
class ShareTally:
    """分润 credited in a period, in fen, as the central store counted it at the last sync
    (``app.server.share_tallies``). A person's: ``first`` as the marketer who worked the
    loan, ``second`` as its originator. An outlet's: ``first`` as the booking outlet (簿记),
    ``second`` its staff's shares (marketer and originator)."""

    first: int = 0
    second: int = 0

    @property
    def total(self) -> int:
        return self.first + self.second


@dataclass(frozen=True)
class Tally:
    """One subject's activity in a period: what ranking orders by."""

    contacts: int = 0
    contacted_prospects: int = 0
    disbursed_count: int = 0
    disbursed_amount: int = 0

    @property
    def rank_key(self) -> tuple[int, int, int]:
        return (self.disbursed_amount, self.disbursed_count, self.contacts)


@dataclass(frozen=True)
class MarketerRow:
    user_id: str
    name: str
    employee_no: str
    outlet_id: str | None
    prospects: int  # assigned now
    contacts: int
    contacted_prospects: int
    disbursed_count: int
    disbursed_amount: int  # 元
    conversion: float | None  # reached disbursed / reached contacted, over their prospects
    rank: int  # within the list it belongs to
    shares: ShareTally | None = None  # 分润, from the store (``stored_shares``)


@dataclass(frozen=True)
class OutletRow:
    outlet_id: str
    code: str
    name: str
    tier: str
    prospects: int
    contacts: int
    contacted_prospects: int
    disbursed_count: int
    disbursed_amount: int  # 元
    conversion: float | None  # reached disbursed / reached contacted
    rank: int


@dataclass(frozen=True)
class BranchRanking:
    marketers: list[MarketerRow]  # best first
    outlets: list[OutletRow]


# -- pure computation -----------------------------------------------------------------


def period_bounds(period: Period | str, today: date) -> tuple[date, date]:
    """First and last Beijing date (inclusive) of the period containing ``today``."""
    period = Period(period)
    if period == Period.WEEK:
        start = today - timedelta(days=today.weekday())
        return start, start + timedelta(days=6)
    if period == Period.MONTH:
        start = today.replace(day=1)
    else:
        start = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    months = 1 if period == Period.MONTH else 3
    year, month = divmod(start.month - 1 + months, 12)
    return start, date(start.year + year, month + 1, 1) - timedelta(days=1)


def named_period(name: str) -> tuple[date, date]:
    """First and last Beijing date (inclusive) of a period named as targets and exports name
    it: "2026-12" (a calendar month) or "2026-Q4" (a calendar quarter); ValueError else."""
    year_text, _, part = name.partition("-")
    if len(year_text) != 4 or not year_text.isdigit() or not (2000 <= int(year_text) <= 9998):
        raise ValueError(f"not a period: {name!r}")
    year = int(year_text)
    if len(part) == 2 and part[0] == "Q" and part[1] in "1234":
        first = date(year, (int(part[1]) - 1) * 3 + 1, 1)
        return period_bounds(Period.QUARTER, first)
    if len(part) == 2 and part.isdigit() and 1 <= int(part) <= 12:
        return period_bounds(Period.MONTH, date(year, int(part), 1))
    raise ValueError(f"not a period: {name!r}")


def period_name(period: Period | str, today: date) -> str:
    """The name of the month or quarter containing ``today``: "2026-12", "2026-Q4"."""
    if Period(period) == Period.QUARTER:
        return f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    if Period(period) == Period.MONTH:
        return f"{today.year}-{today.month:02d}"
    raise ValueError("only months and quarters have names")


def utc_range(start: date, end: date) -> tuple[datetime, datetime]:
    """Beijing dates ``start``..``end`` (inclusive) as a half-open naive-UTC range."""
    return utc_midnight(start), utc_midnight(end + timedelta(days=1))


def reached_counts(best: Mapping[int, int]) -> dict[str, int]:
    """Prospects per main-line stage reached, from {furthest stage index: prospects}."""
    return {
        stage.value: sum(n for k, n in best.items() if k >= i) for i, stage in enumerate(MAIN_LINE)
    }


def conversion_rates(reached: Mapping[str, int]) -> list[Conversion]:
    """reached[k+1] / reached[k] for each consecutive pair of main-line stages."""
    out = []
    for a, b in itertools.pairwise(MAIN_LINE):
        base = reached.get(a, 0)
        out.append(Conversion(a.value, b.value, reached.get(b, 0) / base if base else None))
    return out


def contacted_to_disbursed(reached: Mapping[str, int]) -> float | None:
    """The one-figure conversion of a row: reached disbursed / reached contacted."""
    base = reached.get(FunnelStatus.CONTACTED, 0)
    return reached.get(FunnelStatus.DISBURSED, 0) / base if base else None


def status_mix(counts: Mapping[str, int]) -> dict[str, float]:
    """Share of prospects per status (every status present; all zero when empty)."""
    full = {s.value: counts.get(s.value, 0) for s in FunnelStatus}
    total = sum(full.values())
    return {s: (n / total if total else 0.0) for s, n in full.items()}


def week_starts(today: date, weeks: int = WEEKS_SHOWN) -> list[date]:
    """Mondays of the last ``weeks`` ISO weeks, oldest first, ending with this week's."""
    this_monday = today - timedelta(days=today.weekday())
    return [this_monday - timedelta(weeks=i) for i in range(weeks - 1, -1, -1)]


def weekly_series(
    daily: Mapping[date, int], today: date, weeks: int = WEEKS_SHOWN
) -> list[tuple[date, int]]:
    """Sum daily counts (Beijing dates) into the last ``weeks`` ISO weeks."""
    mondays = week_starts(today, weeks)
    sums = dict.fromkeys(mondays, 0)
    for day, n in daily.items():
        monday = day - timedelta(days=day.weekday())
        if monday in sums:
            sums[monday] += n
    return [(m, sums[m]) for m in mondays]


def competition_ranks(keys: Sequence[Any]) -> list[int]:
    """1-based ranks, higher key first; equal keys share a rank (1, 2, 2, 4)."""
    order = sorted(range(len(keys)), key=lambda i: keys[i], reverse=True)
    ranks = [0] * len(keys)
    for pos, i in enumerate(order):
        same = pos > 0 and keys[order[pos - 1]] == keys[i]
        ranks[i] = ranks[order[pos - 1]] if same else pos + 1
    return ranks


def batch_coverage(
    batches: Iterable[BatchInfo],
    first_contacts: Iterable[tuple[str, date | None, int]],
    windows: tuple[int, int] = COVERAGE_WINDOWS,
) -> list[BatchCoverage]:
    """Coverage per batch from (batch id, Beijing date of first contact or None, prospects).

    Batches without prospects in scope are left out; newest ``valid_from`` first.
    """
    info = {b.id: b for b in batches}
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for batch_id, first, n in first_contacts:
        batch = info.get(batch_id)
        if batch is None:
            continue
        t = totals[batch_id]
        t[0] += n
        if first is not None:
            days = (first - batch.valid_from).days
            t[1] += n if days < windows[0] else 0
            t[2] += n if days < windows[1] else 0
    out = [
        BatchCoverage(
            batch_id=b,
            name=info[b].name,
            product=info[b].product,
            valid_from=info[b].valid_from,
            prospects=n,
            within_7=w7,
            within_30=w30,
            share_7=w7 / n if n else 0.0,
            share_30=w30 / n if n else 0.0,
        )
        for b, (n, w7, w30) in totals.items()
    ]
    out.sort(key=lambda c: (-c.valid_from.toordinal(), c.name, c.batch_id))
    return out


def rank_of(subject_id: str, tallies: Mapping[str, Tally]) -> tuple[int | None, int]:
    """(rank, of how many) of ``subject_id`` among ``tallies``."""
    ids = list(tallies)
    ranks = competition_ranks([tallies[i].rank_key for i in ids])
    by_id = dict(zip(ids, ranks, strict=True))
    return by_id.get(subject_id), len(ids)


def rank_entries(tallies: Mapping[str, Tally]) -> dict[str, list[int]]:
    """{subject id: [rank, of how many, how many share the rank]}, as ``branch_ranks`` sends."""
    ids = list(tallies)
    keys = [tallies[i].rank_key for i in ids]
    shared: dict[tuple[int, int, int], int] = defaultdict(int)
    for key in keys:
        shared[key] += 1
    ranks = competition_ranks(keys)
    return {i: [r, len(ids), shared[k]] for i, r, k in zip(ids, ranks, keys, strict=True)}


def with_stored_rank(
    report: PerformanceReport,
    stored: Mapping[str, Any] | None,
    period: Period | str,
    today: date,
    *,
    user_id: str | None = None,
    outlet_id: str | None = None,
) -> PerformanceReport:
    """The report ranked by what the central store sent at the last sync (``branch_ranks``
    under ``periods``, with the store's ``today``), or unranked when that answer was for
    another week, month or quarter: a rank from last month must not pass for this one's."""
    period = Period(period)
    rank = None
    if stored and stored.get("today"):
        same = period_bounds(period, date.fromisoformat(stored["today"])) == period_bounds(
            period, today
        )
        entry = stored.get("periods", {}).get(period.value) or {}
        if same and user_id is not None:
            rank = entry.get("marketers", {}).get(user_id)
        elif same and outlet_id is not None:
            # a manager's outlets each (a sub-branch manager's), else the user's own outlet
            rank = (entry.get("outlets") or {}).get(outlet_id) or entry.get("outlet")
    if not rank:
        return replace(report, rank=None, rank_of=0, rank_shared=1)
    shared = int(rank[2]) if len(rank) > 2 else 1
    return replace(report, rank=int(rank[0]), rank_of=int(rank[1]), rank_shared=shared)


def stored_shares(
    stored: Mapping[str, Any] | None,
    period: Period | str,
    today: date,
    *,
    user_id: str | None = None,
    outlet_id: str | None = None,
) -> ShareTally | None:
    """The 分润 of a person (``user_id``) or an outlet in the period, as the central store
    sent it at the last sync (``shares`` of /stats/ranks); None when it sent none, or sent
    it for another week, month or quarter. Someone the answer leaves out had no share."""
    period = Period(period)
    if not stored or not stored.get("today") or not isinstance(stored.get("shares"), dict):
        return None
    if period_bounds(period, date.fromisoformat(stored["today"])) != period_bounds(period, today):
        return None
    entry = stored["shares"].get(period.value) or {}
    key, found = ("users", user_id) if user_id is not None else ("outlets", outlet_id)
    pair = (entry.get(key) or {}).get(found) or [0, 0]
    return ShareTally(int(pair[0]), int(pair[1]))


def holds_outlet(role: str) -> bool:
    """Whether a device holds its user's whole outlet: a manager's does (a sub-branch
    manager's, its sub-branch's outlets; an admin's, the branch); a marketer's holds only
    their own prospects and the outlet's pool, so the outlet's figures there come from the
    central store (``outlet_from_store``)."""
    return role in (Role.OUTLET_MANAGER, Role.SUBBRANCH_MANAGER, Role.ADMIN)


def outlet_from_store(
    stored: Mapping[str, Any] | None, period: Period | str, today: date, outlet_id: str
) -> PerformanceReport | None:
    """The outlet's activity as the central store counted it at the last sync
    (``outlet_tally`` of /stats/ranks) and its rank; None when the store sent none for
    this week, month or quarter. Only the figures the store sends are filled: no funnel,
    trend or coverage (the device does not hold the outlet's prospects)."""
    period = Period(period)
    start, end = period_bounds(period, today)
    tally = None
    if stored and stored.get("today"):
        same = period_bounds(period, date.fromisoformat(stored["today"])) == (start, end)
        entry = stored.get("periods", {}).get(period.value) or {}
        tally = entry.get("outlet_tally") if same else None
    if not tally or len(tally) < 4:
        return None
    contacts, contacted, count, amount = (int(v) for v in tally[:4])
    report = PerformanceReport(
        subject=Subject.OUTLET,
        subject_id=outlet_id,
        period=period,
        start=start,
        end=end,
        prospects=0,
        status_counts={},
        reached={},
        conversions=[],
        status_mix={},
        contacts=contacts,
        contacted_prospects=contacted,
        weekly_contacts=[],
        disbursed_count=count,
        disbursed_amount=amount,
        rank=None,
        rank_of=0,
        batches=[],
    )
    return with_stored_rank(report, stored, period, today, outlet_id=outlet_id)


def ranks_from_store(role: str) -> bool:
    """Whose rank comes from the central store: an admin's device holds the whole branch
    and ranks it itself; everyone else shows the store's ranks, as of the last sync."""
    return role != Role.ADMIN

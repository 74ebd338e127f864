"""Marketing performance (营销业绩) of a marketer, an outlet or the branch.

Loaders take a device-store ``Connection`` and aggregate in SQL (the branch may
hold 100,000 prospects); the figures are then finished by pure functions over
plain values, which tests can feed directly. Everything returns numbers and
codes; views translate and format (``app.i18n.format_money`` for 元).

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
  the central store, which ranks with the same rules (``branch_ranks``) and sends
  them at each sync.
- **Batch coverage**: of a batch's prospects in scope, the share whose first
  marketing log (any author) fell within 7 / 30 days of the batch's
  ``valid_from``: before Beijing midnight at the start of ``valid_from + 7``
  (i.e. on one of the first seven calendar days, or earlier). Measured over all
  time, not the period.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, text

from app.i18n import DISPLAY_TZ
from app.services.funnel import CLOSED, MAIN_LINE, FunnelStatus
from app.services.stored import stored_date

COVERAGE_WINDOWS = (7, 30)  # days after a batch's valid_from
WEEKS_SHOWN = 8  # weeks in the contacts-per-week series

# Asia/Shanghai has kept UTC+8 without daylight saving since 1991: one fixed shift
# turns a stored UTC time into its Beijing date inside SQLite.
_SHIFT_MINUTES = int(DISPLAY_TZ.utcoffset(datetime(2020, 1, 1)).total_seconds() // 60)  # type: ignore[union-attr]
_SHIFT = f"{_SHIFT_MINUTES:+d} minutes"
_DISBURSED = FunnelStatus.DISBURSED.value


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


def utc_range(start: date, end: date) -> tuple[datetime, datetime]:
    """Beijing dates ``start``..``end`` (inclusive) as a half-open naive-UTC range."""
    return _utc_midnight(start), _utc_midnight(end + timedelta(days=1))


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
    return reached.get(_DISBURSED, 0) / base if base else None


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


def branch_ranks(conn: Connection, today: date) -> dict[str, Any]:
    """Every marketer's and outlet's rank within the branch, for every period.

    ``{period: {"marketers": {user_id: [rank, of, shared]}, "outlets": {...}}}`` over
    ``conn`` holding the whole branch (the central store, or an admin's device);
    ``shared`` is how many hold that rank (2 and more: tied).
    """
    people = _marketers(conn)
    out: dict[str, Any] = {}
    for period in Period:
        start, end = period_bounds(period, today)
        out[period.value] = {
            "marketers": _rank_entries(_marketer_tallies(conn, start, end, people)),
            "outlets": _rank_entries(_outlet_tallies(conn, start, end)),
        }
    return out


def marketer_ids(conn: Connection, outlet_id: str | None = None) -> list[str]:
    """The branch's marketers, or one outlet's: whose ranks a manager (or admin) sees."""
    where = "" if outlet_id is None else " AND outlet_id = :oid"
    sql = f"SELECT id FROM \"user\" WHERE role = 'marketer'{where} ORDER BY employee_no"
    return [str(r[0]) for r in conn.execute(text(sql), {"oid": outlet_id})]


def _rank_entries(tallies: Mapping[str, Tally]) -> dict[str, list[int]]:
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
            rank = entry.get("outlet")
    if not rank:
        return replace(report, rank=None, rank_of=0, rank_shared=1)
    shared = int(rank[2]) if len(rank) > 2 else 1
    return replace(report, rank=int(rank[0]), rank_of=int(rank[1]), rank_shared=shared)


# -- reports --------------------------------------------------------------------------


def marketer_report(
    conn: Connection, user_id: str, period: Period | str, today: date, *, weeks: int = WEEKS_SHOWN
) -> PerformanceReport:
    """A marketer's performance: their prospects, their logs; ranked among the branch's marketers."""
    scope = _Scope(Subject.MARKETER, "p.assignee_id = :sid", {"sid": user_id})
    start, end = period_bounds(period, today)
    tallies = _marketer_tallies(conn, start, end, _marketers(conn))
    rank, of = rank_of(user_id, tallies)
    tally = tallies.get(user_id) or _own_tally(conn, scope, start, end)
    return _report(conn, scope, user_id, Period(period), start, end, today, weeks, tally, rank, of)


def outlet_report(
    conn: Connection,
    outlet_id: str,
    period: Period | str,
    today: date,
    *,
    weeks: int = WEEKS_SHOWN,
) -> PerformanceReport:
    """An outlet's performance over its prospects (pool included); ranked among outlets."""
    scope = _Scope(Subject.OUTLET, "p.outlet_id = :sid", {"sid": outlet_id})
    start, end = period_bounds(period, today)
    tallies = _outlet_tallies(conn, start, end)
    rank, of = rank_of(outlet_id, tallies)
    tally = tallies.get(outlet_id) or _own_tally(conn, scope, start, end)
    return _report(
        conn, scope, outlet_id, Period(period), start, end, today, weeks, tally, rank, of
    )


def branch_report(
    conn: Connection, period: Period | str, today: date, *, weeks: int = WEEKS_SHOWN
) -> PerformanceReport:
    """The whole branch: every prospect on this device."""
    scope = _Scope(Subject.BRANCH, "1 = 1", {})
    start, end = period_bounds(period, today)
    tally = _own_tally(conn, scope, start, end)
    return _report(conn, scope, None, Period(period), start, end, today, weeks, tally, None, 0)


def marketer_breakdown(
    conn: Connection, outlet_id: str, period: Period | str, today: date
) -> list[MarketerRow]:
    """Each marketer of the outlet, best first (ranked within the outlet)."""
    start, end = period_bounds(period, today)
    people = [m for m in _marketers(conn) if m["outlet_id"] == outlet_id]
    where = 'p.assignee_id IN (SELECT u.id FROM "user" u WHERE u.outlet_id = :oid)'
    books = {
        k[0]: v for k, v in _best_by(conn, ["p.assignee_id"], where, {"oid": outlet_id}).items()
    }
    return _marketer_rows(people, _marketer_tallies(conn, start, end, people), books)


def branch_ranking(conn: Connection, period: Period | str, today: date) -> BranchRanking:
    """Every marketer and every outlet of the branch, best first."""
    start, end = period_bounds(period, today)
    # One pass over the branch's prospects serves both lists.
    books = _best_by(conn, ["p.assignee_id", "p.outlet_id"], "1 = 1", {})
    by_marketer: dict[str, list[dict[int, int]]] = defaultdict(list)
    by_outlet: dict[str, list[dict[int, int]]] = defaultdict(list)
    for (assignee, outlet), best in books.items():
        by_marketer[assignee].append(best)
        by_outlet[outlet].append(best)
    people = _marketers(conn)
    marketers = _marketer_rows(
        people,
        _marketer_tallies(conn, start, end, people),
        {uid: _merge(groups) for uid, groups in by_marketer.items() if uid},
    )
    outlets = conn.execute(text("SELECT id, code, name, tier FROM outlet")).all()
    tallies = _outlet_tallies(conn, start, end)
    ranks = competition_ranks([tallies[o.id].rank_key for o in outlets])
    rows = []
    for o, r in zip(outlets, ranks, strict=True):
        best, t = _merge(by_outlet.get(o.id, [])), tallies[o.id]
        rows.append(
            OutletRow(
                outlet_id=o.id,
                code=o.code,
                name=o.name,
                tier=o.tier,
                prospects=sum(best.values()),
                contacts=t.contacts,
                contacted_prospects=t.contacted_prospects,
                disbursed_count=t.disbursed_count,
                disbursed_amount=t.disbursed_amount,
                conversion=contacted_to_disbursed(reached_counts(best)),
                rank=r,
            )
        )
    rows.sort(key=lambda x: (x.rank, x.code, x.outlet_id))
    return BranchRanking(marketers=marketers, outlets=rows)


# -- loaders --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scope:
    subject: Subject
    where: str  # over ``prospect p``
    params: dict[str, Any]


def _report(
    conn: Connection,
    scope: _Scope,
    subject_id: str | None,
    period: Period,
    start: date,
    end: date,
    today: date,
    weeks: int,
    tally: Tally,
    rank: int | None,
    of: int,
) -> PerformanceReport:
    counts = _status_counts(conn, scope)
    reached = reached_counts(_best_by(conn, [], scope.where, scope.params).get((), {}))
    return PerformanceReport(
        subject=scope.subject,
        subject_id=subject_id,
        period=period,
        start=start,
        end=end,
        prospects=sum(counts.values()),
        status_counts={s.value: counts.get(s.value, 0) for s in FunnelStatus},
        reached=reached,
        conversions=conversion_rates(reached),
        status_mix=status_mix(counts),
        contacts=tally.contacts,
        contacted_prospects=tally.contacted_prospects,
        weekly_contacts=weekly_series(_daily_contacts(conn, scope, today, weeks), today, weeks),
        disbursed_count=tally.disbursed_count,
        disbursed_amount=tally.disbursed_amount,
        rank=rank,
        rank_of=of,
        batches=batch_coverage(_batches(conn), _first_contacts(conn, scope)),
    )


def _status_counts(conn: Connection, scope: _Scope) -> dict[str, int]:
    sql = f"SELECT p.status, count(*) FROM prospect p WHERE {scope.where} GROUP BY p.status"
    return {str(s): int(n) for s, n in conn.execute(text(sql), scope.params)}


def _rank_case(column: str) -> str:
    whens = " ".join(f"WHEN '{s.value}' THEN {i}" for i, s in enumerate(MAIN_LINE))
    return f"CASE {column} {whens} ELSE -1 END"


def _best_by(
    conn: Connection, keys: Sequence[str], where: str, params: dict[str, Any]
) -> dict[tuple[str, ...], dict[int, int]]:
    """{group key: {furthest main-line stage index: prospects}} over prospects matching ``where``.

    Statuses never move backwards, so an open or disbursed prospect got exactly as far
    as its current status; only a closed one needs its funnel events (the stages it
    passed before it closed). That keeps the per-prospect look-ups to closed prospects.
    """
    closed = ", ".join(f"'{s.value}'" for s in sorted(CLOSED))
    events = (
        f"SELECT max(max({_rank_case('e.from_status')},"
        f" CASE WHEN e.applied = 1 THEN {_rank_case('e.to_status')} ELSE -1 END))"
        " FROM funnel_event e WHERE e.prospect_id = p.id"
    )
    best = (
        f"CASE WHEN p.status IN ({closed}) THEN max(0, coalesce(({events}), 0))"
        f" ELSE max(0, {_rank_case('p.status')}) END"
    )
    cols = [f"{k} AS g{i}" for i, k in enumerate(keys)]
    groups = [f"g{i}" for i in range(len(keys))]
    sql = (
        f"SELECT {', '.join([*groups, 'best', 'count(*)'])} FROM ("
        f" SELECT {', '.join([*cols, f'{best} AS best'])} FROM prospect p WHERE {where})"
        f" GROUP BY {', '.join([*groups, 'best'])}"
    )
    out: dict[tuple[str, ...], dict[int, int]] = defaultdict(dict)
    for r in conn.execute(text(sql), params):
        key = tuple("" if v is None else str(v) for v in r[: len(keys)])
        out[key][int(r[-2])] = int(r[-1])
    return out


def _merge(groups: Iterable[Mapping[int, int]]) -> dict[int, int]:
    total: dict[int, int] = defaultdict(int)
    for g in groups:
        for k, n in g.items():
            total[k] += n
    return dict(total)


def _period_params(start: date, end: date) -> dict[str, str]:
    lo, hi = utc_range(start, end)
    return {"lo": _stamp(lo), "hi": _stamp(hi)}


def _tallies(
    conn: Connection,
    contacts_sql: str,
    disbursed_sql: str,
    params: dict[str, Any],
) -> dict[str, Tally]:
    contacts = {str(r[0]): (int(r[1]), int(r[2])) for r in conn.execute(text(contacts_sql), params)}
    disbursed = {
        str(r[0]): (int(r[1]), int(r[2])) for r in conn.execute(text(disbursed_sql), params)
    }
    out = {}
    for key in contacts.keys() | disbursed.keys():
        c, d = contacts.get(key, (0, 0)), disbursed.get(key, (0, 0))
        out[key] = Tally(c[0], c[1], d[0], d[1])
    return out


_IN_PERIOD = "{col} >= :lo AND {col} < :hi"
_DISBURSED_EVENTS = f"e.to_status = '{_DISBURSED}' AND e.applied AND " + _IN_PERIOD.format(
    col="e.occurred_at"
)


def _contacts_sql(key: str, where: str, *, by_author: bool = False) -> str:
    """Logs in the period; by author they need no prospect (``where`` is over ``l``)."""
    join = "" if by_author else " JOIN prospect p ON p.id = l.prospect_id"
    return (
        f"SELECT {key}, count(*), count(DISTINCT l.prospect_id) FROM marketing_log l{join}"
        f" WHERE ({where}) AND {_IN_PERIOD.format(col='l.occurred_at')} GROUP BY {key}"
    )


def _disbursed_sql(key: str, where: str) -> str:
    return (
        f"SELECT {key}, count(*), coalesce(sum(e.amount), 0) FROM funnel_event e"
        f" JOIN prospect p ON p.id = e.prospect_id"
        f" WHERE ({where}) AND {_DISBURSED_EVENTS} GROUP BY {key}"
    )


def _own_tally(conn: Connection, scope: _Scope, start: date, end: date) -> Tally:
    """One subject's tally: a marketer's logs by authorship, the rest by scope."""
    params = {**scope.params, **_period_params(start, end)}
    if scope.subject == Subject.MARKETER:
        contacts = _contacts_sql("l.author_id", "l.author_id = :sid", by_author=True)
    else:
        contacts = _contacts_sql("''", scope.where)
    found = _tallies(conn, contacts, _disbursed_sql("''", scope.where), params)
    return next(iter(found.values()), Tally())


def _marketers(conn: Connection) -> list[dict[str, Any]]:
    sql = (
        'SELECT id, name, employee_no, outlet_id, active FROM "user"'
        " WHERE role = 'marketer' ORDER BY employee_no, id"
    )
    return [dict(r._mapping) for r in conn.execute(text(sql))]


def _marketer_tallies(
    conn: Connection, start: date, end: date, people: list[dict[str, Any]]
) -> dict[str, Tally]:
    """Tallies of the ranked marketers: active ones, and inactive ones with activity."""
    found = _tallies(
        conn,
        _contacts_sql("l.author_id", "1 = 1", by_author=True),
        _disbursed_sql("p.assignee_id", "p.assignee_id IS NOT NULL"),
        _period_params(start, end),
    )
    return {
        m["id"]: found.get(m["id"], Tally())
        for m in people
        if m["active"] or found.get(m["id"], Tally()) != Tally()
    }


def _outlet_tallies(conn: Connection, start: date, end: date) -> dict[str, Tally]:
    found = _tallies(
        conn,
        _contacts_sql("p.outlet_id", "1 = 1"),
        _disbursed_sql("p.outlet_id", "1 = 1"),
        _period_params(start, end),
    )
    ids = [str(r[0]) for r in conn.execute(text("SELECT id FROM outlet"))]
    return {i: found.get(i, Tally()) for i in ids}


def _marketer_rows(
    people: list[dict[str, Any]], tallies: Mapping[str, Tally], books: Mapping[str, dict[int, int]]
) -> list[MarketerRow]:
    ranked = [m for m in people if m["id"] in tallies]
    ranks = competition_ranks([tallies[m["id"]].rank_key for m in ranked])
    rows = []
    for m, r in zip(ranked, ranks, strict=True):
        t, best = tallies[m["id"]], books.get(m["id"], {})
        rows.append(
            MarketerRow(
                user_id=m["id"],
                name=m["name"],
                employee_no=m["employee_no"],
                outlet_id=m["outlet_id"],
                prospects=sum(best.values()),
                contacts=t.contacts,
                contacted_prospects=t.contacted_prospects,
                disbursed_count=t.disbursed_count,
                disbursed_amount=t.disbursed_amount,
                conversion=contacted_to_disbursed(reached_counts(best)),
                rank=r,
            )
        )
    rows.sort(key=lambda x: (x.rank, x.employee_no, x.user_id))
    return rows


def _daily_contacts(conn: Connection, scope: _Scope, today: date, weeks: int) -> dict[date, int]:
    mondays = week_starts(today, weeks)
    params = {**scope.params, **_period_params(mondays[0], mondays[-1] + timedelta(days=6))}
    params["shift"] = _SHIFT
    if scope.subject == Subject.MARKETER:
        source, where = "marketing_log l", "l.author_id = :sid"
    else:
        source, where = "marketing_log l JOIN prospect p ON p.id = l.prospect_id", scope.where
    sql = (
        f"SELECT date(l.occurred_at, :shift) AS d, count(*) FROM {source}"
        f" WHERE ({where}) AND {_IN_PERIOD.format(col='l.occurred_at')} GROUP BY d"
    )
    return {date.fromisoformat(str(d)): int(n) for d, n in conn.execute(text(sql), params)}


def _batches(conn: Connection) -> list[BatchInfo]:
    rows = conn.execute(text("SELECT id, name, product, valid_from FROM whitelist_batch"))
    return [BatchInfo(r[0], r[1], r[2], stored_date(r[3])) for r in rows]


def _first_contacts(conn: Connection, scope: _Scope) -> list[tuple[str, date | None, int]]:
    """(batch, Beijing date of the first contact, prospects), grouped in SQL."""
    first = "SELECT min(l.occurred_at) FROM marketing_log l WHERE l.prospect_id = p.id"
    sql = (
        f"SELECT p.batch_id, date(({first}), :shift) AS d, count(*) FROM prospect p"
        f" WHERE {scope.where} GROUP BY p.batch_id, d"
    )
    rows = conn.execute(text(sql), {**scope.params, "shift": _SHIFT})
    return [(str(b), stored_date(d) if d is not None else None, int(n)) for b, d, n in rows]


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=DISPLAY_TZ).astimezone(UTC).replace(tzinfo=None)


def _stamp(value: datetime) -> str:
    # The stored form: "YYYY-MM-DD HH:MM:SS[.ffffff]", so text order is time order.
    return value.strftime("%Y-%m-%d %H:%M:%S")

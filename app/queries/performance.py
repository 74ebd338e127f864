"""Marketing performance from the device store (and, for ranks, the central store).

The loaders aggregate in SQL and the reports are assembled from the pure figures
of app/services/performance.py, whose docstring holds the definitions a product
owner signs off. ``branch_ranks`` runs on the central store too
(app/server/routes/stats.py): the same SQL ranks on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, text

from app.services.clock import BEIJING
from app.services.funnel import CLOSED, MAIN_LINE, FunnelStatus
from app.services.performance import (
    WEEKS_SHOWN,
    BatchInfo,
    BranchRanking,
    MarketerRow,
    OutletRow,
    PerformanceReport,
    Period,
    Subject,
    Tally,
    batch_coverage,
    competition_ranks,
    contacted_to_disbursed,
    conversion_rates,
    period_bounds,
    rank_entries,
    rank_of,
    reached_counts,
    status_mix,
    utc_range,
    week_starts,
    weekly_series,
)
from app.services.stored import stored_date

# Asia/Shanghai has kept UTC+8 without daylight saving since 1991: one fixed shift
# turns a stored UTC time into its Beijing date inside SQLite.
_SHIFT_MINUTES = int(BEIJING.utcoffset(datetime(2020, 1, 1)).total_seconds() // 60)  # type: ignore[union-attr]
_SHIFT = f"{_SHIFT_MINUTES:+d} minutes"
_DISBURSED = FunnelStatus.DISBURSED.value


def branch_ranks(conn: Connection, today: date) -> dict[str, Any]:
    """Every marketer's and outlet's rank within the branch, for every period.

    ``{period: {"marketers": {user_id: [rank, of, shared]}, "outlets": {...},
    "outlet_tallies": {outlet_id: [contacts, contacted prospects, disbursed count,
    disbursed amount]}}}`` over ``conn`` holding the whole branch (the central store, or
    an admin's device); ``shared`` is how many hold that rank (2 and more: tied). The
    tallies are an outlet's figures for a device that holds only part of it (a marketer's).
    """
    people = _marketers(conn)
    out: dict[str, Any] = {}
    for period in Period:
        start, end = period_bounds(period, today)
        outlets = _outlet_tallies(conn, start, end)
        out[period.value] = {
            "marketers": rank_entries(_marketer_tallies(conn, start, end, people)),
            "outlets": rank_entries(outlets),
            "outlet_tallies": {
                oid: [t.contacts, t.contacted_prospects, t.disbursed_count, t.disbursed_amount]
                for oid, t in outlets.items()
            },
        }
    return out


def marketer_ids(conn: Connection, outlets: Collection[str] | None = None) -> list[str]:
    """The branch's marketers (``outlets`` None), or those of some outlets: whose ranks a
    manager (their outlet's) or a sub-branch manager (their outlets') sees."""
    if outlets is None:
        sql = text("SELECT id FROM \"user\" WHERE role = 'marketer' ORDER BY employee_no")
        return [str(r[0]) for r in conn.execute(sql)]
    if not outlets:
        return []
    sql = text(
        "SELECT id FROM \"user\" WHERE role = 'marketer' AND outlet_id IN :oids"
        " ORDER BY employee_no"
    ).bindparams(bindparam("oids", expanding=True))
    return [str(r[0]) for r in conn.execute(sql, {"oids": sorted(outlets)})]


# -- reports --------------------------------------------------------------------------


def marketer_report(
    conn: Connection, user_id: str, period: Period | str, today: date, *, weeks: int = WEEKS_SHOWN
) -> PerformanceReport:
    """A marketer's performance: their prospects, their logs; ranked among the branch's marketers."""
    book = _Book(Subject.MARKETER, "p.assignee_id = :sid", {"sid": user_id})
    start, end = period_bounds(period, today)
    tallies = _marketer_tallies(conn, start, end, _marketers(conn))
    rank, of = rank_of(user_id, tallies)
    tally = tallies.get(user_id) or _own_tally(conn, book, start, end)
    return _report(conn, book, user_id, Period(period), start, end, today, weeks, tally, rank, of)


def outlet_report(
    conn: Connection,
    outlet_id: str,
    period: Period | str,
    today: date,
    *,
    weeks: int = WEEKS_SHOWN,
) -> PerformanceReport:
    """An outlet's performance over its prospects (pool included); ranked among outlets."""
    book = _Book(Subject.OUTLET, "p.outlet_id = :sid", {"sid": outlet_id})
    start, end = period_bounds(period, today)
    tallies = _outlet_tallies(conn, start, end)
    rank, of = rank_of(outlet_id, tallies)
    tally = tallies.get(outlet_id) or _own_tally(conn, book, start, end)
    return _report(conn, book, outlet_id, Period(period), start, end, today, weeks, tally, rank, of)


def branch_report(
    conn: Connection, period: Period | str, today: date, *, weeks: int = WEEKS_SHOWN
) -> PerformanceReport:
    """The whole branch: every prospect on this device."""
    book = _Book(Subject.BRANCH, "1 = 1", {})
    start, end = period_bounds(period, today)
    tally = _own_tally(conn, book, start, end)
    return _report(conn, book, None, Period(period), start, end, today, weeks, tally, None, 0)


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
class _Book:
    """A subject's book of prospects: a SQL condition over ``prospect p`` and its parameters."""

    subject: Subject
    where: str  # over ``prospect p``
    params: dict[str, Any]


def _report(
    conn: Connection,
    book: _Book,
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
    counts = _status_counts(conn, book)
    reached = reached_counts(_best_by(conn, [], book.where, book.params).get((), {}))
    return PerformanceReport(
        subject=book.subject,
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
        weekly_contacts=weekly_series(_daily_contacts(conn, book, today, weeks), today, weeks),
        disbursed_count=tally.disbursed_count,
        disbursed_amount=tally.disbursed_amount,
        rank=rank,
        rank_of=of,
        batches=batch_coverage(_batches(conn), _first_contacts(conn, book)),
    )


def _status_counts(conn: Connection, book: _Book) -> dict[str, int]:
    sql = f"SELECT p.status, count(*) FROM prospect p WHERE {book.where} GROUP BY p.status"
    return {str(s): int(n) for s, n in conn.execute(text(sql), book.params)}


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


def _own_tally(conn: Connection, book: _Book, start: date, end: date) -> Tally:
    """One subject's tally: a marketer's logs by authorship, the rest by their book."""
    params = {**book.params, **_period_params(start, end)}
    if book.subject == Subject.MARKETER:
        contacts = _contacts_sql("l.author_id", "l.author_id = :sid", by_author=True)
    else:
        contacts = _contacts_sql("''", book.where)
    found = _tallies(conn, contacts, _disbursed_sql("''", book.where), params)
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


def _daily_contacts(conn: Connection, book: _Book, today: date, weeks: int) -> dict[date, int]:
    mondays = week_starts(today, weeks)
    params = {**book.params, **_period_params(mondays[0], mondays[-1] + timedelta(days=6))}
    params["shift"] = _SHIFT
    if book.subject == Subject.MARKETER:
        source, where = "marketing_log l", "l.author_id = :sid"
    else:
        source, where = "marketing_log l JOIN prospect p ON p.id = l.prospect_id", book.where
    sql = (
        f"SELECT date(l.occurred_at, :shift) AS d, count(*) FROM {source}"
        f" WHERE ({where}) AND {_IN_PERIOD.format(col='l.occurred_at')} GROUP BY d"
    )
    return {date.fromisoformat(str(d)): int(n) for d, n in conn.execute(text(sql), params)}


def _batches(conn: Connection) -> list[BatchInfo]:
    rows = conn.execute(text("SELECT id, name, product, valid_from FROM whitelist_batch"))
    return [BatchInfo(r[0], r[1], r[2], stored_date(r[3])) for r in rows]


def _first_contacts(conn: Connection, book: _Book) -> list[tuple[str, date | None, int]]:
    """(batch, Beijing date of the first contact, prospects), grouped in SQL."""
    first = "SELECT min(l.occurred_at) FROM marketing_log l WHERE l.prospect_id = p.id"
    sql = (
        f"SELECT p.batch_id, date(({first}), :shift) AS d, count(*) FROM prospect p"
        f" WHERE {book.where} GROUP BY p.batch_id, d"
    )
    rows = conn.execute(text(sql), {**book.params, "shift": _SHIFT})
    return [(str(b), stored_date(d) if d is not None else None, int(n)) for b, d, n in rows]


def _stamp(value: datetime) -> str:
    # The stored form: "YYYY-MM-DD HH:MM:SS[.ffffff]", so text order is time order.
    return value.strftime("%Y-%m-%d %H:%M:%S")

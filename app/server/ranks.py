"""Ranks within the branch and 分润 tallies: one scheduled job counts them, requests read.

    refresh_ranks(engine, now) -> entries stored (0: nothing new since the last count,
                                  or another replica is counting)
    answer(session, user, today) -> what /stats/ranks says to ``user``

Ranking reads the whole branch's logs and funnel events (about a second over 100,000
prospects), and 分润 sums every share of the periods: work for the store's clock, not for
a caller. The housekeeping runs ``refresh_ranks`` once at start-up and then every
``ranks_interval_seconds`` (``app.server.housekeeping``; ``main.py housekeeping`` too);
it keeps the result in ``rank_state`` / ``rank_entry`` (``app.models.ranks``), and a
request reads only its caller's rows: their own, their outlet's, a manager's marketers'
and outlets'.

Freshness: ``as_of`` is when the counted snapshot was taken (what was committed by then
is counted); ``today`` the Beijing day whose week, month and quarter were counted. A
count finding the store as it was (the same newest change-log seq, the same loan tables,
the same day) only moves ``as_of`` on. Before the first count there is nothing to read:
the answer says ``ranked: false`` with no ranks and no 分润, and the device says so in
words (``perf.rank_pending``) rather than show a place or a 0 that was never counted.

Replicas: on PostgreSQL the job holds an advisory lock of its own while it counts; a
replica's round that finds it taken skips its turn, and a "count now" (``main.py
housekeeping``, a test) waits for it and counts after. A count whose snapshot is older
than the one stored (a slow count overtaken by a newer one) is not written.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, text
from sqlmodel import Session

from app.models.ids import utcnow
from app.models.ranks import RankEntry, RankState, RankSubject
from app.models.user import Role, User
from app.queries.performance import branch_ranks, marketer_ids
from app.server.rollups import loan_signature
from app.server.scope import scope_of
from app.server.share_tallies import branch_shares
from app.server.targets import device_targets
from app.services.clock import beijing_today
from app.services.performance import Period
from app.sqlite import WRITER

log = logging.getLogger(__name__)

RANKS_LOCK = 0x52_41_4E_4B  # "RANK"; with the schema's hash: one counter per store
_STATE = RankState.__table__  # type: ignore[attr-defined]
_ENTRY = RankEntry.__table__  # type: ignore[attr-defined]
_USER, _OUTLET = RankSubject.USER.value, RankSubject.OUTLET.value


# -- the job ----------------------------------------------------------------------------


def refresh_ranks(engine: Engine, now: datetime | None = None, *, wait: bool = True) -> int:
    """Count the branch's ranks and 分润 as the store holds them now, and keep the count;
    how many entries were stored (0: nothing changed, or another replica is counting).
    ``wait``: when another process is counting, wait for it and count after it (an
    operator's or a test's "count now"); else skip this turn (the clock's rounds)."""
    with _counting(engine, wait=wait) as counting:
        if not counting:
            log.info("ranks: another replica is counting")
            return 0
        taken = now or utcnow()  # before the snapshot: what is committed by then counts
        today = beijing_today(taken)
        with _snapshot(engine) as conn:
            seen = _seen(conn)
            stored = conn.execute(select(_STATE).where(_STATE.c.id == 1)).mappings().first()
            if stored is not None and (stored["today"], stored["seq"], stored["loans"]) == (
                today,
                *seen,
            ):
                rows: list[dict[str, Any]] | None = None  # the same count: as_of moves on
            else:
                rows = _entries(branch_ranks(conn, today), branch_shares(conn, today))
        return _keep(engine, rows, today, seen, taken)


@contextmanager
def _counting(engine: Engine, *, wait: bool) -> Iterator[bool]:
    """PostgreSQL: whether this process got the counter's lock (held until the end)."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    key = {"k": RANKS_LOCK}
    with engine.connect() as conn:
        if wait:
            conn.execute(text("SELECT pg_advisory_lock(:k, hashtext(current_schema()))"), key)
            got = True
        else:
            got = bool(
                conn.execute(
                    text("SELECT pg_try_advisory_lock(:k, hashtext(current_schema()))"), key
                ).scalar()
            )
        conn.commit()
        try:
            yield got
        finally:
            if got:
                conn.execute(text("SELECT pg_advisory_unlock(:k, hashtext(current_schema()))"), key)
                conn.commit()


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """One consistent read of the whole store (no write lock: devices keep pushing)."""
    bind = engine
    if engine.dialect.name == "postgresql":
        bind = engine.execution_options(isolation_level="REPEATABLE READ")
    with bind.connect() as conn, conn.begin():
        yield conn


def _seen(conn: Connection) -> tuple[int, str]:
    """What a count depends on: the sum of the branches' newest change-log seqs (logs, funnel
    events, users and outlets all move it) and the loan tables' signature
    (loans and shares carry no change log)."""
    # each branch's newest seq only grows, so their sum moves with every change anywhere
    seq = int(conn.execute(text("SELECT coalesce(sum(seq), 0) FROM change_clock")).scalar_one())
    return seq, loan_signature(conn)


def _entries(
    table: dict[str, Any], shares: dict[str, dict[str, dict[str, list[int]]]]
) -> list[dict[str, Any]]:
    """``branch_ranks`` and ``branch_shares`` as rank_entry rows."""
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}

    def row(period: str, kind: str, subject: str) -> dict[str, Any]:
        key = (period, kind, subject)
        if key not in rows:
            rows[key] = {
                "period": period,
                "kind": kind,
                "subject_id": subject,
                "place": None,
                "place_of": 0,
                "tied": 0,
                "contacts": 0,
                "contacted_prospects": 0,
                "disbursed_count": 0,
                "disbursed_amount": 0,
                "share_first": 0,
                "share_second": 0,
            }
        return rows[key]

    for period, entry in table.items():
        for kind, places in ((_USER, entry["marketers"]), (_OUTLET, entry["outlets"])):
            for subject, (place, of, tied) in places.items():
                row(period, kind, subject).update(place=place, place_of=of, tied=tied)
        for outlet, (contacts, contacted, count, amount) in entry["outlet_tallies"].items():
            row(period, _OUTLET, outlet).update(
                contacts=contacts,
                contacted_prospects=contacted,
                disbursed_count=count,
                disbursed_amount=amount,
            )
    for period, found in shares.items():
        for kind, key in ((_USER, "users"), (_OUTLET, "outlets")):
            for subject, (first, second) in found[key].items():
                row(period, kind, subject).update(share_first=first, share_second=second)
    return list(rows.values())


def _keep(
    engine: Engine,
    rows: list[dict[str, Any]] | None,
    today: date,
    seen: tuple[int, str],
    taken: datetime,
) -> int:
    """Store the count (``rows`` None: the stored one still holds, as of ``taken``), in one
    short transaction; a count older than the one stored is dropped."""
    seq, loans = seen
    with engine.execution_options(**WRITER).connect() as conn, conn.begin():
        stored = (
            conn.execute(select(_STATE.c.as_of).where(_STATE.c.id == 1).with_for_update())
            .scalars()
            .first()
        )
        if stored is not None and stored > taken:
            log.info("ranks: a newer count is stored (%s); this one (%s) dropped", stored, taken)
            return 0
        state = {"today": today, "seq": seq, "loans": loans, "as_of": taken}
        if stored is None:
            if rows is None:  # a count that found none stored always has rows
                return 0
            conn.execute(insert(_STATE).values(id=1, **state))
        else:
            conn.execute(_STATE.update().where(_STATE.c.id == 1).values(**state))
        if rows is None:
            return 0
        conn.execute(delete(_ENTRY))
        if rows:
            conn.execute(insert(_ENTRY), rows)
    log.info("ranks: %d entries counted for %s", len(rows), today)
    return len(rows)


# -- the request ------------------------------------------------------------------------


def answer(session: Session, user: User, today: date) -> dict[str, Any]:
    """What ``/stats/ranks`` says to ``user``: their rank among the branch's marketers,
    their outlet's among its outlets and its figures, a manager's marketers' (a sub-branch
    manager's outlets' too), 分润 for them and their outlet (and a manager's marketers and
    outlets), per period, from the last count; their targets, counted now (a few indexed
    counts of their own)."""
    scope = scope_of(session, user)
    conn = session.connection()
    if user.role == Role.MARKETER:
        shown = [user.id]
    else:  # a manager: their outlet's (or outlets') marketers; an admin: the branch's
        reach = None if user.role == Role.ADMIN else scope.outlets
        shown = marketer_ids(conn, reach)
    mine = {user.outlet_id} if user.outlet_id else set()
    # 分润: the user's and their outlet's, a manager's marketers' and outlets' (an admin's
    # 业绩 is the store's dashboard: their own alone)
    people = {user.id} if user.role == Role.ADMIN else {*shown, user.id}
    places = {*scope.outlets, *mine}
    goals = device_targets(session, user, today)
    state = conn.execute(select(_STATE).where(_STATE.c.id == 1)).mappings().first()
    if state is None:  # the job has not counted yet (a store just made)
        return {
            "today": today.isoformat(),
            "as_of": None,
            "ranked": False,
            "periods": {},
            "targets": goals,
        }
    counted = state["today"]
    # an admin is shown every marketer: their rows whole, not thousands of ids in a list
    users = None if user.role == Role.ADMIN else {*shown, *people}
    entries = _read(conn, users=users, outlets=places)
    reached = sorted(scope.outlets)  # a manager's outlets, each with its rank and figures
    periods: dict[str, Any] = {}
    shares: dict[str, Any] = {}
    for period in Period:
        found = entries.get(period.value, {})
        users, outlets = found.get(_USER, {}), found.get(_OUTLET, {})
        ranked = {u: _place(users[u]) for u in shown if u in users and users[u]["place"]}
        own = outlets.get(user.outlet_id) if user.outlet_id else None
        periods[period.value] = {
            "marketers": ranked,
            "outlet": _place(own) if own else None,
            # the outlet's figures, for a marketer's device that holds only part of it
            "outlet_tally": _tally(own) if own else None,
            "outlets": {o: _place(outlets[o]) for o in reached if o in outlets},
            "outlet_tallies": {o: _tally(outlets[o]) for o in reached if o in outlets},
        }
        shares[period.value] = {
            "users": {u: _shares(users[u]) for u in sorted(people) if _has_shares(users.get(u))},
            "outlets": {
                o: _shares(outlets[o]) for o in sorted(places) if _has_shares(outlets.get(o))
            },
        }
    return {
        "today": counted.isoformat(),
        "as_of": state["as_of"].isoformat(),
        "ranked": True,
        "periods": periods,
        "targets": goals,
        "shares": shares,
    }


def _read(
    conn: Connection, *, users: Collection[str] | None, outlets: Collection[str]
) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
    """{period: {kind: {subject: entry}}} for these users (None: every one) and outlets,
    by primary key."""
    found: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    for kind, subjects in ((_USER, users), (_OUTLET, outlets)):
        if subjects is not None and not subjects:
            continue
        stmt = select(_ENTRY).where(
            _ENTRY.c.period.in_([p.value for p in Period]), _ENTRY.c.kind == kind
        )
        if subjects is not None:
            stmt = stmt.where(_ENTRY.c.subject_id.in_(sorted(subjects)))
        for entry in conn.execute(stmt).mappings():
            found.setdefault(entry["period"], {}).setdefault(kind, {})[entry["subject_id"]] = dict(
                entry
            )
    return found


def _place(entry: dict[str, Any]) -> list[int] | None:
    if entry["place"] is None:
        return None
    return [int(entry["place"]), int(entry["place_of"]), int(entry["tied"])]


def _tally(entry: dict[str, Any]) -> list[int]:
    return [
        int(entry["contacts"]),
        int(entry["contacted_prospects"]),
        int(entry["disbursed_count"]),
        int(entry["disbursed_amount"]),
    ]


def _shares(entry: dict[str, Any]) -> list[int]:
    return [int(entry["share_first"]), int(entry["share_second"])]


def _has_shares(entry: dict[str, Any] | None) -> bool:
    return entry is not None and (entry["share_first"] != 0 or entry["share_second"] != 0)

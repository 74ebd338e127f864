"""The dashboards' rollups (``app.models.dashboard``): kept by the housekeeping, read by
``app.server.dashboards``.

    refresh(engine, now) -> rows rolled up (0: nothing new, or another replica is at it)

Freshness (``as_of``): a dashboard answer counts what the store had committed when the
last refresh took its snapshot (``dash_state.refreshed_at``, sent as ``as_of``). The
housekeeping refreshes every ``housekeeping_interval_seconds`` in each store process (the
replicas take turns: see below), and ``main.py housekeeping`` refreshes on demand. Before
the first refresh there is nothing to answer from: answers say ``as_of: null``.

How each rollup follows the store's tables (the work of a refresh grows with what
changed since the last one, not with the ten million prospects):

- **Append-only rows** (marketing logs, funnel events) are added incrementally: those
  whose change-log seq lies after the one the last refresh reached (``dash_state.seq``).
  Logs go into ``dash_contacts``; applied funnel events to ``disbursed`` into
  ``dash_disbursal``, with their prospect's outlet and assignee as they are then.
- **Prospects** change in place (status, outlet, withdrawal, a first log, a loan matched
  to them): the change log names every prospect changed since (its own changes and its
  logs'), and comparing the prospects with a disbursed loan against ``dash_loan_prospect``
  names those a loan was matched to or taken from. Each one's old contribution, kept in
  ``dash_prospect``, is taken out of ``dash_status``, ``dash_first_contact`` and
  ``dash_batch_loans`` and its new one put in; the coverage of the loan customers with
  their credit codes (``dash_loan_customer``) is judged again. When more than
  ``REBUILD_AFTER`` prospects changed at once (a large import), the prospects' rollups are
  rebuilt from the tables instead.
- **Loans and shares** change in place and carry no change log (an admin matches an
  event, adjusts a split): a signature of the loan tables (counts, newest times, share
  sums) tells whether anything changed. Then ``dash_loan_daily`` is recomputed (one pass
  over the loans and shares, O(disbursed loans), no prospect read), and the loan
  customers gained or lost are added to or taken from ``dash_loan_customer``.

The first refresh builds everything from the tables (minutes over ten million prospects).

Consistency: one transaction reads one snapshot (PostgreSQL ``REPEATABLE READ``, taken
after the lock below; SQLite's single writer). The change log is single-writer
(``app.models.change``), so the newest seq in the snapshot bounds exactly what it holds.
The refresh does not take the writers' lock (devices keep pushing while it runs); on
PostgreSQL it holds a lock of its own for the duration, and a replica that finds it taken
skips its turn.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError

from app.models.dashboard import (
    DashBatchLoans,
    DashFirstContact,
    DashLoanProspect,
    DashProspect,
    DashState,
    DashStatus,
    LoanRole,
)
from app.models.loan import LoanEventState, LoanStatus, ShareParty
from app.models.prospect import FunnelStatus
from app.sqlite import WRITER

log = logging.getLogger(__name__)

REBUILD_AFTER = 100_000  # prospects changed since the last refresh: beyond, rebuild
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL: a NOWAIT lock another transaction holds
TYPED = "typed"  # dash_loan_daily's role of a disbursement typed on a device, no loan
_CHUNK = 5000
_DISBURSED = FunnelStatus.DISBURSED.value

_STATE = DashState.__table__
_PROSPECT = DashProspect.__table__
_STATUS = DashStatus.__table__
_FIRST = DashFirstContact.__table__
_BATCH_LOANS = DashBatchLoans.__table__
_LOAN_PROSPECT = DashLoanProspect.__table__


def _disbursed(alias: str) -> str:
    """A disbursed loan the store matched, as a condition on ``loan_event`` ``alias``."""
    return (
        f"{alias}.status = '{LoanStatus.DISBURSED.value}' AND {alias}.state IN"
        f" ('{LoanEventState.APPLIED.value}', '{LoanEventState.RECORDED.value}')"
    )


class _Dialect:
    """The few spellings that differ between SQLite and PostgreSQL."""

    def __init__(self, name: str) -> None:
        self.pg = name == "postgresql"

    def beijing_date(self, column: str) -> str:
        """The Beijing calendar date of a stored naive-UTC time (UTC+8, no DST since 1991)."""
        if self.pg:
            return f"CAST(({column}) + INTERVAL '8 hours' AS DATE)"
        return f"date(({column}), '+8 hours')"

    def upsert(self, table: Table) -> Any:
        return (postgresql if self.pg else sqlite).insert(table)


def refresh(engine: Engine, now: datetime) -> int:
    """Bring every rollup up to the store's committed state; the rows rolled up (change-log
    entries and prospects a loan moved, or prospects on a full build)."""
    with _refreshing(engine) as conn:
        if conn is None:
            log.info("dashboards: another replica is refreshing")
            return 0
        return _refresh(conn, _Dialect(engine.dialect.name), now)


@contextmanager
def _refreshing(engine: Engine) -> Iterator[Connection | None]:
    """One transaction for the refresh, or None when another process holds the lock.

    PostgreSQL: the lock is ``dash_state``'s, EXCLUSIVE (dashboards still read it; a
    second refresher does not wait, it skips its turn), taken by the transaction's first
    statement. ``LOCK TABLE`` takes no snapshot, so the REPEATABLE READ snapshot starts
    after it and sees the previous refresh's commit; and being the transaction's, the
    lock works behind PgBouncer in transaction mode, where a session-level advisory lock
    would be taken on one server connection and "released" on another."""
    if engine.dialect.name != "postgresql":
        with engine.execution_options(**WRITER).connect() as conn, conn.begin():
            yield conn
        return
    with engine.connect() as conn:
        snap = conn.execution_options(isolation_level="REPEATABLE READ")
        work = snap.begin()
        try:
            snap.execute(text(f"LOCK TABLE {_STATE.name} IN EXCLUSIVE MODE NOWAIT"))
        except OperationalError as exc:
            work.rollback()
            if getattr(exc.orig, "pgcode", None) != LOCK_NOT_AVAILABLE:
                raise
            yield None
            return
        try:
            yield snap
        except BaseException:
            work.rollback()
            raise
        work.commit()


def _refresh(conn: Connection, sql: _Dialect, now: datetime) -> int:
    state = conn.execute(select(_STATE).where(_STATE.c.id == 1)).mappings().first()
    hi = {
        str(b): int(s) for b, s in conn.execute(text("SELECT branch, seq FROM change_clock")).all()
    }
    loans = loan_signature(conn)
    if state is None:
        done = _rebuild(conn, sql)
        _save_state(conn, state, hi, loans, now, rebuilt=True)
        return done
    lo = _positions(state["positions"])
    window = {b: (lo.get(b, 0), seq) for b, seq in hi.items() if seq > lo.get(b, 0)}
    loans_moved = loans != state["loans"]
    if not window and not loans_moved:
        _save_state(conn, state, hi, loans, now, rebuilt=False)
        return 0
    if sql.pg:
        # a few thousand rows looked up by key in tables of millions that are mostly in
        # memory: with the default page costs the planner would scan them whole instead,
        # and compiling such small statements costs more than it saves
        conn.execute(text("SET LOCAL random_page_cost = 1.1"))
        conn.execute(text("SET LOCAL jit = off"))
    _stage_window(conn, window)
    changed, moved = _mark_changed(conn, sql, loans_moved=loans_moved)
    rebuilt = changed > REBUILD_AFTER
    if rebuilt:
        _rebuild_prospects(conn, sql)
    else:
        _apply_prospects(conn, sql)
        if loans_moved:
            _loan_customers_moved(conn)
        _judge_customers(conn)
    _drop_work_tables(conn)
    typed = 0
    if window:
        _add_contacts(conn, sql)
        typed = _add_disbursals(conn, sql)
    if loans_moved or typed or _users_changed(conn):
        _recompute_loan_daily(conn)
    conn.execute(text("DROP TABLE IF EXISTS dash_window"))
    _save_state(conn, state, hi, loans, now, rebuilt=rebuilt)
    return sum(h - low for low, h in window.values()) + moved


def _positions(stored: str | None) -> dict[str, int]:
    try:
        data = json.loads(stored or "{}")
        return {str(b): int(s) for b, s in data.items()}
    except (ValueError, TypeError, AttributeError):
        return {}  # unreadable: everything counts as new (the rollups are idempotent per row)


def _stage_window(conn: Connection, window: dict[str, tuple[int, int]]) -> None:
    """The change-log rows to roll up, per branch (lo, hi], in the temporary
    ``dash_window``; ``_WINDOW`` selects them."""
    conn.execute(text("DROP TABLE IF EXISTS dash_window"))
    conn.execute(
        text(
            "CREATE TEMPORARY TABLE dash_window (branch VARCHAR PRIMARY KEY, lo BIGINT, hi BIGINT)"
        )
    )
    if window:
        conn.execute(
            text("INSERT INTO dash_window (branch, lo, hi) VALUES (:b, :lo, :hi)"),
            [{"b": b, "lo": lo, "hi": hi} for b, (lo, hi) in window.items()],
        )


# the change-log rows of the window (``_stage_window``), as ``c``
_WINDOW = (
    "change_log c JOIN dash_window w ON c.branch = w.branch AND c.seq > w.lo AND c.seq <= w.hi"
)


def _save_state(
    conn: Connection,
    state: Any,
    heads: dict[str, int],
    loans: str,
    now: datetime,
    *,
    rebuilt: bool,
) -> None:
    values = {
        "seq": sum(heads.values()),
        "positions": json.dumps(heads, ensure_ascii=False, sort_keys=True),
        "loans": loans,
        "refreshed_at": now,
    }
    if rebuilt or state is None:
        values["rebuilt_at"] = now
    if state is None:
        conn.execute(insert(_STATE).values(id=1, **values))
    else:
        conn.execute(_STATE.update().where(_STATE.c.id == 1).values(**values))


def loan_signature(conn: Connection) -> str:
    """Changes whenever the loan tables do in a way the rollups see: an event added,
    matched or dismissed, a share written or adjusted."""
    rows = [
        conn.execute(
            text("SELECT count(*), max(received_at), max(resolved_at) FROM loan_event")
        ).one(),
        conn.execute(text("SELECT count(*), coalesce(sum(amount_fen), 0) FROM profit_share")).one(),
        conn.execute(text("SELECT count(*), max(at) FROM share_adjustment")).one(),
    ]
    return "|".join(",".join(str(v) for v in row) for row in rows)


def _users_changed(conn: Connection) -> bool:
    """Whether a user changed (an originator's outlet, read when their share names none)."""
    found = conn.execute(text(f"SELECT 1 FROM {_WINDOW} WHERE c.entity = 'user'")).first()
    return found is not None


# -- full build ------------------------------------------------------------------------


def _rebuild(conn: Connection, sql: _Dialect) -> int:
    """Every rollup from the tables (the first refresh)."""
    if sql.pg:  # one pass over the logs per prospect: let the aggregation stay in memory
        conn.execute(text("SET LOCAL work_mem = '256MB'"))
    n = _rebuild_prospects(conn, sql)
    conn.execute(text("DELETE FROM dash_contacts"))
    conn.execute(
        text(
            "INSERT INTO dash_contacts (day, outlet_id, author_id, contacts)"
            f" SELECT {sql.beijing_date('l.occurred_at')}, d.outlet_id, l.author_id, count(*)"
            " FROM marketing_log l JOIN dash_prospect d ON d.prospect_id = l.prospect_id"
            " GROUP BY 1, 2, 3"
        )
    )
    conn.execute(text("DELETE FROM dash_disbursal"))
    conn.execute(text(_DISBURSALS_SQL.format(day=sql.beijing_date("e.occurred_at"), only="")))
    _recompute_loan_daily(conn)
    return n


def _rebuild_prospects(conn: Connection, sql: _Dialect) -> int:
    """``dash_prospect``, the sums over it and the loan customers, from the tables."""
    conn.execute(text("DELETE FROM dash_loan_prospect"))
    conn.execute(
        text(
            "INSERT INTO dash_loan_prospect (prospect_id) SELECT DISTINCT l.prospect_id"
            f" FROM loan_event l WHERE {_disbursed('l')} AND l.prospect_id IS NOT NULL"
        )
    )
    if sql.pg:
        conn.execute(text("TRUNCATE dash_prospect"))  # nobody else reads it
    else:
        conn.execute(text("DELETE FROM dash_prospect"))
    first = sql.beijing_date("f.first_at")
    n = conn.execute(
        text(
            "INSERT INTO dash_prospect"
            " (prospect_id, batch_id, outlet_id, status, live, first_day, loan)"
            " SELECT p.id, p.batch_id, p.outlet_id, p.status,"
            f" CASE WHEN p.withdrawn_at IS NULL THEN 1 ELSE 0 END, {first},"
            " CASE WHEN lp.prospect_id IS NULL THEN 0 ELSE 1 END"
            " FROM prospect p LEFT JOIN (SELECT prospect_id, min(occurred_at) AS first_at"
            " FROM marketing_log GROUP BY prospect_id) f ON f.prospect_id = p.id"
            " LEFT JOIN dash_loan_prospect lp ON lp.prospect_id = p.id"
        )
    ).rowcount
    if sql.pg:
        conn.execute(text("ANALYZE dash_prospect"))
    for table, statement in (
        (
            "dash_status",
            "INSERT INTO dash_status (outlet_id, batch_id, status, prospects)"
            " SELECT outlet_id, batch_id, status, count(*) FROM dash_prospect"
            " WHERE live = 1 GROUP BY outlet_id, batch_id, status",
        ),
        (
            "dash_first_contact",
            "INSERT INTO dash_first_contact (outlet_id, batch_id, first_day, prospects)"
            " SELECT outlet_id, batch_id, first_day, count(*) FROM dash_prospect"
            " WHERE live = 1 AND first_day IS NOT NULL GROUP BY outlet_id, batch_id, first_day",
        ),
        (
            "dash_batch_loans",
            "INSERT INTO dash_batch_loans (outlet_id, batch_id, prospects)"
            " SELECT outlet_id, batch_id, count(*) FROM dash_prospect"
            f" WHERE live = 1 AND loan = 1 AND status <> '{_DISBURSED}'"
            " GROUP BY outlet_id, batch_id",
        ),
    ):
        conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(text(statement))
    conn.execute(text("DELETE FROM dash_loan_customer"))
    conn.execute(text(_NEW_CUSTOMERS_SQL.format(only="")))
    return int(n or 0)


# -- incremental: prospects --------------------------------------------------------------


_WORK_TABLES = ("dash_changed", "dash_now")


def _drop_work_tables(conn: Connection) -> None:
    for name in _WORK_TABLES:
        conn.execute(text(f"DROP TABLE IF EXISTS {name}"))


def _mark_changed(conn: Connection, sql: _Dialect, *, loans_moved: bool) -> tuple[int, int]:
    """The prospects to count again, in the temporary table ``dash_changed``: those whose
    row or logs changed in the change log's window (``_stage_window``), and (``loans_moved``) those a
    disbursed loan was matched to or taken from since, ``dash_loan_prospect`` brought up to
    date. (How many changed, how many of them a loan moved.)"""
    _drop_work_tables(conn)
    conn.execute(text("CREATE TEMPORARY TABLE dash_changed (prospect_id VARCHAR PRIMARY KEY)"))
    conn.execute(
        text(
            "INSERT INTO dash_changed (prospect_id) SELECT DISTINCT c.prospect_id FROM"
            f" {_WINDOW} WHERE c.entity IN ('prospect', 'marketing_log')"
            " AND c.prospect_id IS NOT NULL"
        )
    )
    moved = 0
    if loans_moved:
        gained = (
            "SELECT DISTINCT l.prospect_id FROM loan_event l"
            f" WHERE {_disbursed('l')} AND l.prospect_id IS NOT NULL AND NOT EXISTS"
            " (SELECT 1 FROM dash_loan_prospect d WHERE d.prospect_id = l.prospect_id)"
        )
        lost = (
            "SELECT d.prospect_id FROM dash_loan_prospect d WHERE NOT EXISTS"
            f" (SELECT 1 FROM loan_event l WHERE l.prospect_id = d.prospect_id"
            f" AND {_disbursed('l')})"
        )
        for found in (gained, lost):
            moved += int(
                conn.execute(
                    text(f"INSERT INTO dash_changed (prospect_id) {found} ON CONFLICT DO NOTHING")
                ).rowcount
                or 0
            )
        conn.execute(
            text(
                "DELETE FROM dash_loan_prospect WHERE NOT EXISTS (SELECT 1 FROM loan_event l"
                f" WHERE l.prospect_id = dash_loan_prospect.prospect_id AND {_disbursed('l')})"
            )
        )
        conn.execute(text(f"INSERT INTO dash_loan_prospect (prospect_id) {gained}"))
    if sql.pg:
        conn.execute(text("ANALYZE dash_changed"))
    n = conn.execute(text("SELECT count(*) FROM dash_changed")).scalar_one()
    return int(n), moved


def _apply_prospects(conn: Connection, sql: _Dialect) -> None:
    """Take the changed prospects' old contributions out of the sums, put the new ones in,
    and keep the new ones in ``dash_prospect``."""
    first_log = "(SELECT min(l.occurred_at) FROM marketing_log l WHERE l.prospect_id = p.id)"
    conn.execute(
        text(
            "CREATE TEMPORARY TABLE dash_now AS"
            " SELECT p.id AS prospect_id, p.batch_id, p.outlet_id, p.status,"
            " CASE WHEN p.withdrawn_at IS NULL THEN 1 ELSE 0 END AS live,"
            f" {sql.beijing_date(first_log)} AS first_day,"
            " CASE WHEN EXISTS (SELECT 1 FROM dash_loan_prospect lp WHERE lp.prospect_id = p.id)"
            " THEN 1 ELSE 0 END AS loan, p.credit_code"
            " FROM prospect p JOIN dash_changed c ON c.prospect_id = p.id"
        )
    )
    if sql.pg:
        conn.execute(text("ANALYZE dash_now"))
    old = "dash_prospect d JOIN dash_changed c ON c.prospect_id = d.prospect_id"
    for table, keys, where in (
        ("dash_status", "outlet_id, batch_id, status", "live = 1"),
        (
            "dash_first_contact",
            "outlet_id, batch_id, first_day",
            "live = 1 AND first_day IS NOT NULL",
        ),
        (
            "dash_batch_loans",
            "outlet_id, batch_id",
            f"live = 1 AND loan = 1 AND status <> '{_DISBURSED}'",
        ),
    ):
        conn.execute(
            text(
                f"INSERT INTO {table} ({keys}, prospects)"
                f" SELECT {keys}, sum(n) FROM ("
                f" SELECT {keys}, -1 AS n FROM {old} WHERE {where}"
                f" UNION ALL SELECT {keys}, 1 FROM dash_now WHERE {where}) x"
                f" WHERE 1 = 1 GROUP BY {keys} HAVING sum(n) <> 0"
                f" ON CONFLICT ({keys}) DO UPDATE SET prospects = {table}.prospects + excluded.prospects"
            )
        )
        conn.execute(text(f"DELETE FROM {table} WHERE prospects = 0"))
    conn.execute(
        text(
            "DELETE FROM dash_prospect WHERE prospect_id IN (SELECT prospect_id FROM dash_changed)"
        )
    )
    conn.execute(
        text(
            f"INSERT INTO dash_prospect ({', '.join(_CONTRIBUTION)})"
            f" SELECT {', '.join(_CONTRIBUTION)} FROM dash_now"
        )
    )


_CONTRIBUTION = ("prospect_id", "batch_id", "outlet_id", "status", "live", "first_day", "loan")


# -- incremental: logs and typed disbursements -----------------------------------------


def _add_contacts(conn: Connection, sql: _Dialect) -> None:
    """The logs written since: per Beijing day, their prospect's outlet, their author."""
    conn.execute(
        text(
            "INSERT INTO dash_contacts (day, outlet_id, author_id, contacts)"
            f" SELECT {sql.beijing_date('l.occurred_at')}, d.outlet_id, l.author_id, count(*)"
            " FROM marketing_log l JOIN dash_prospect d ON d.prospect_id = l.prospect_id"
            f" WHERE l.id IN (SELECT c.entity_id FROM {_WINDOW}"
            " WHERE c.entity = 'marketing_log')"
            " GROUP BY 1, 2, 3"
            " ON CONFLICT (day, outlet_id, author_id)"
            " DO UPDATE SET contacts = dash_contacts.contacts + excluded.contacts"
        )
    )


_DISBURSALS_SQL = (
    "INSERT INTO dash_disbursal (funnel_event_id, prospect_id, day, outlet_id, user_id, amount)"
    " SELECT e.id, e.prospect_id, {day}, p.outlet_id, coalesce(p.assignee_id, ''),"
    " coalesce(e.amount, 0)"
    " FROM funnel_event e JOIN prospect p ON p.id = e.prospect_id"
    f" WHERE e.to_status = '{_DISBURSED}' AND e.applied{{only}}"
)


def _add_disbursals(conn: Connection, sql: _Dialect) -> int:
    """The applied funnel events to ``disbursed`` recorded since; how many."""
    only = (
        f" AND e.id IN (SELECT c.entity_id FROM {_WINDOW}"
        " WHERE c.entity = 'funnel_event') ON CONFLICT (funnel_event_id) DO NOTHING"
    )
    statement = _DISBURSALS_SQL.format(day=sql.beijing_date("e.occurred_at"), only=only)
    return int(conn.execute(text(statement)).rowcount or 0)


# -- loans -------------------------------------------------------------------------------

_LOAN_DAILY_SQL = f"""
INSERT INTO dash_loan_daily (day, outlet_id, user_id, role, loans, amount, share_fen)
SELECT day, outlet_id, user_id, role, count(*), sum(amount), sum(fen) FROM (
    SELECT e.occurred_on AS day, e.booking_outlet_id AS outlet_id,
        coalesce(e.booker_id, '') AS user_id, '{LoanRole.BOOKED.value}' AS role,
        e.amount AS amount, coalesce(b.fen, 0) AS fen
    FROM loan_event e
    LEFT JOIN (SELECT loan_id, sum(amount_fen) AS fen FROM profit_share
               WHERE party = '{ShareParty.BOOKING_OUTLET.value}' GROUP BY loan_id) b
        ON b.loan_id = e.loan_id
    WHERE {_disbursed("e")}
  UNION ALL
    SELECT s.occurred_on, s.outlet_id, coalesce(s.user_id, ''), '{LoanRole.MARKETED.value}',
        max(e.amount), sum(s.amount_fen)
    FROM profit_share s JOIN loan_event e ON e.loan_id = s.loan_id AND {_disbursed("e")}
    WHERE s.party = '{ShareParty.MARKETER.value}'
    GROUP BY s.loan_id, s.occurred_on, s.outlet_id, s.user_id
  UNION ALL
    SELECT e.occurred_on, coalesce(o.outlet_id, u.outlet_id, ''), e.originator_id,
        '{LoanRole.ORIGINATED.value}', e.amount, coalesce(o.fen, 0)
    FROM loan_event e
    LEFT JOIN (SELECT loan_id, user_id, max(outlet_id) AS outlet_id, sum(amount_fen) AS fen
               FROM profit_share WHERE party = '{ShareParty.ORIGINATOR.value}'
               GROUP BY loan_id, user_id) o
        ON o.loan_id = e.loan_id AND o.user_id = e.originator_id
    LEFT JOIN "user" u ON u.id = e.originator_id
    WHERE {_disbursed("e")} AND e.originator_id IS NOT NULL
  UNION ALL
    SELECT d.day, d.outlet_id, d.user_id, '{TYPED}', d.amount, 0
    FROM dash_disbursal d
    WHERE NOT EXISTS (SELECT 1 FROM dash_loan_prospect lp WHERE lp.prospect_id = d.prospect_id)
) x
WHERE 1 = 1
GROUP BY day, outlet_id, user_id, role
"""


def _recompute_loan_daily(conn: Connection) -> None:
    """``dash_loan_daily`` from the loans, their shares and the typed disbursements."""
    conn.execute(text("DELETE FROM dash_loan_daily"))
    conn.execute(text(_LOAN_DAILY_SQL))


# Whether a loan customer was worked first: one of the outlet's entries with the credit
# code had its first log on or before the day (over ``x``: outlet_id, credit_code, day).
_COVERED = (
    "CASE WHEN EXISTS (SELECT 1 FROM prospect p JOIN dash_prospect d ON d.prospect_id = p.id"
    " WHERE p.credit_code = {x}.credit_code AND p.outlet_id = {x}.outlet_id"
    " AND d.first_day <= {x}.day) THEN 1 ELSE 0 END"
)
_NEW_CUSTOMERS_SQL = (
    "INSERT INTO dash_loan_customer (outlet_id, credit_code, day, covered)"
    f" SELECT x.outlet_id, x.credit_code, x.day, {_COVERED.format(x='x')}"
    " FROM (SELECT DISTINCT l.booking_outlet_id AS outlet_id, l.credit_code, l.occurred_on AS day"
    f" FROM loan_event l WHERE {_disbursed('l')}) x"
    " WHERE 1 = 1{only}"
)


def _loan_customers_moved(conn: Connection) -> None:
    """The loan customers (outlet, credit code, day) gained since, judged, and those lost."""
    conn.execute(
        text(
            "DELETE FROM dash_loan_customer WHERE NOT EXISTS (SELECT 1 FROM loan_event l"
            " WHERE l.booking_outlet_id = dash_loan_customer.outlet_id"
            " AND l.credit_code = dash_loan_customer.credit_code"
            f" AND l.occurred_on = dash_loan_customer.day AND {_disbursed('l')})"
        )
    )
    only = (
        " AND NOT EXISTS (SELECT 1 FROM dash_loan_customer c WHERE c.outlet_id = x.outlet_id"
        " AND c.credit_code = x.credit_code AND c.day = x.day)"
    )
    conn.execute(text(_NEW_CUSTOMERS_SQL.format(only=only)))


def _judge_customers(conn: Connection) -> None:
    """The loan customers with the changed prospects' credit codes judged again."""
    conn.execute(
        text(
            f"UPDATE dash_loan_customer SET covered = {_COVERED.format(x='dash_loan_customer')}"
            " WHERE credit_code IN (SELECT credit_code FROM dash_now)"
        )
    )

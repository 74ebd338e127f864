"""The dashboards above the outlet, answered from the rollups (``app.server.rollups``).

    participation(session, user, query, today) -> ParticipationOut   GET /dashboards/participation
    league(session, user, query, today)        -> LeagueOut          GET /dashboards/league
    batches(session, user, query, windows)     -> BatchFiguresOut    GET /dashboards/batches
    overview(session, user, query, today)      -> OverviewOut        GET /dashboards/overview
    outlet_conversion(session, user)           -> {outlet: (entries, disbursed)}   (exports)

Each answer reads rollups of a few thousand rows (never the prospect or log tables), so
it stays fast over ten million prospects, and carries the rollups' ``as_of``. The
definitions are ``app.services.participation``'s.

Reach: an admin's is every outlet; a sub-branch manager's, the outlets of its sub-branch;
an outlet manager's, its outlet; a marketer has no dashboards (403 ``auth.forbidden``:
their figures are on their device). An outlet asked for by id that is out of reach
answers as an unknown one does (404 ``dashboard.outlet_not_found``). League tables rank
within the whole branch and show the rows in reach.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, select, true
from sqlmodel import Session

from app.models import Outlet, User, WhitelistBatch
from app.models.dashboard import (
    BatchesQuery,
    BatchFiguresOut,
    BatchRowOut,
    DashBatchLoans,
    DashContacts,
    DashFirstContact,
    DashLoanCustomer,
    DashLoanDaily,
    DashState,
    DashStatus,
    GroupBy,
    LeagueLevel,
    LeagueOut,
    LeagueQuery,
    LeagueRowOut,
    LoanRole,
    OverviewOut,
    OverviewQuery,
    ParticipationOut,
    ParticipationQuery,
    ParticipationRowOut,
    PeriodQuery,
    WindowOut,
)
from app.models.prospect import FunnelStatus
from app.models.user import Role
from app.server.errors import StoreError
from app.server.rollups import TYPED
from app.server.scope import scope_of
from app.services import participation as figures
from app.services.participation import (
    ROLES,
    Act,
    LeagueEntry,
    OutletRef,
    Participation,
    Person,
    rate,
    window_coverage,
)
from app.services.performance import period_bounds
from app.services.scope import MANAGERS
from app.services.stored import stored_date, stored_datetime

_LOAN = DashLoanDaily.__table__
_CONTACTS = DashContacts.__table__
_STATUS = DashStatus.__table__
_FIRST = DashFirstContact.__table__
_CUSTOMER = DashLoanCustomer.__table__
_BATCH_LOANS = DashBatchLoans.__table__
_ROLES = [r.value for r in ROLES]


class Reach:
    """The outlets a dashboard user reaches: every outlet of the branch, and theirs."""

    def __init__(self, outlets: Sequence[OutletRef], mine: Iterable[str] | None) -> None:
        self.branch = list(outlets)  # every outlet, by code
        ids = None if mine is None else frozenset(mine)
        self.whole = ids is None  # an admin: the branch
        self.outlets = [o for o in self.branch if ids is None or o.id in ids]
        self.ids = frozenset(o.id for o in self.outlets)

    def narrowed(self, outlet_id: str | None) -> Reach:
        """Only ``outlet_id`` (404 when out of reach), or the whole reach for None."""
        if outlet_id is None:
            return self
        if outlet_id not in self.ids:
            raise StoreError("dashboard.outlet_not_found", 404)
        return Reach(self.branch, [outlet_id])

    def clause(self, column: ColumnElement[Any]) -> ColumnElement[bool]:
        """Rows whose outlet ``column`` is in reach (no condition for the whole branch)."""
        return true() if self.whole else column.in_(sorted(self.ids))


def reach_of(session: Session, user: User) -> Reach:
    """The outlets ``user`` sees on dashboards; 403 for a marketer."""
    if user.role not in MANAGERS:
        raise StoreError("auth.forbidden", 403)
    rows = session.execute(
        select(Outlet.id, Outlet.code, Outlet.name, Outlet.tier, Outlet.branch_name).order_by(
            Outlet.code, Outlet.id
        )
    ).all()
    outlets = [OutletRef(*r) for r in rows]
    if user.role == Role.ADMIN:
        return Reach(outlets, None)
    return Reach(outlets, scope_of(session, user).outlets)


def as_of(conn: Connection) -> datetime | None:
    """When the rollups were taken (None: never)."""
    value = conn.execute(
        select(DashState.__table__.c.refreshed_at).where(DashState.__table__.c.id == 1)
    ).scalar()
    return stored_datetime(value)


def _bounds(query: PeriodQuery, today: date) -> tuple[date, date]:
    return period_bounds(query.period, query.on or today)


def _in_period(column: ColumnElement[Any], start: date, end: date) -> ColumnElement[bool]:
    return column.between(start, end)


def _page(rows: Sequence[Any], page: int, size: int) -> list[Any]:
    return list(rows[(page - 1) * size : page * size])


# -- participation ---------------------------------------------------------------------


def _people(conn: Connection) -> list[Person]:
    rows = conn.execute(select(User.id, User.role, User.outlet_id, User.active))
    return [Person(r[0], r[1], r[2], bool(r[3])) for r in rows]


def _acts(conn: Connection, start: date, end: date) -> list[Act]:
    rows = conn.execute(
        select(_LOAN.c.outlet_id, _LOAN.c.user_id, _LOAN.c.role)
        .where(_in_period(_LOAN.c.day, start, end), _LOAN.c.role.in_(_ROLES))
        .distinct()
    )
    return [Act(o or None, u or None, LoanRole(r)) for o, u, r in rows]


def _customers(
    conn: Connection, reach: Reach, start: date, end: date
) -> dict[str, tuple[int, int]]:
    """{outlet: (loan customers, covered)}: covered at a customer's first loan in the
    period, i.e. covered on every day it borrowed then (covered never turns back)."""
    per = (
        select(
            _CUSTOMER.c.outlet_id,
            _CUSTOMER.c.credit_code,
            func.min(_CUSTOMER.c.covered).label("covered"),
        )
        .where(_in_period(_CUSTOMER.c.day, start, end), reach.clause(_CUSTOMER.c.outlet_id))
        .group_by(_CUSTOMER.c.outlet_id, _CUSTOMER.c.credit_code)
        .subquery()
    )
    rows = conn.execute(
        select(per.c.outlet_id, func.count(), func.sum(per.c.covered)).group_by(per.c.outlet_id)
    )
    return {str(o): (int(n), int(c or 0)) for o, n, c in rows}


def _row_out(row: Participation) -> ParticipationRowOut:
    booked, marketed, originated = ROLES
    return ParticipationRowOut(
        key=row.key,
        label=row.label,
        code=row.code,
        outlets=row.outlets,
        booked_outlets=row.outlets_by_role[booked],
        marketed_outlets=row.outlets_by_role[marketed],
        originated_outlets=row.outlets_by_role[originated],
        booked_outlet_rate=row.outlet_rate(booked),
        marketed_outlet_rate=row.outlet_rate(marketed),
        originated_outlet_rate=row.outlet_rate(originated),
        staff=row.staff,
        booked_staff=row.staff_by_role[booked],
        marketed_staff=row.staff_by_role[marketed],
        originated_staff=row.staff_by_role[originated],
        any_staff=row.staff_any,
        booked_staff_rate=row.staff_rate(booked),
        marketed_staff_rate=row.staff_rate(marketed),
        originated_staff_rate=row.staff_rate(originated),
        any_staff_rate=row.any_rate,
        customers=row.customers,
        covered=row.covered,
        coverage=row.coverage,
    )


def participation(
    session: Session, user: User, query: ParticipationQuery, today: date
) -> ParticipationOut:
    """Participation and loan-customer coverage per group of the outlets in reach."""
    reach = reach_of(session, user)
    conn = session.connection()
    start, end = _bounds(query, today)
    people, acts = _people(conn), _acts(conn, start, end)
    customers = _customers(conn, reach, start, end)
    rows = figures.participation(reach.outlets, people, acts, query.by, customers)
    [total] = figures.participation(reach.outlets, people, acts, GroupBy.BRANCH, customers) or [
        Participation("branch", "", "", 0, dict.fromkeys(_ROLES, 0), 0, dict.fromkeys(_ROLES, 0), 0)
    ]
    return ParticipationOut(
        as_of=as_of(conn),
        period=query.period,
        start=start,
        end=end,
        by=query.by,
        page=query.page,
        page_size=query.page_size,
        count=len(rows),
        rows=[_row_out(r) for r in _page(rows, query.page, query.page_size)],
        total=_row_out(total),
    )


# -- league tables ---------------------------------------------------------------------


def _sums(
    conn: Connection, key: ColumnElement[Any], roles: Sequence[str], start: date, end: date
) -> dict[str, tuple[int, int, int]]:
    """{key: (loans, 元, fen)} of ``dash_loan_daily`` rows of ``roles`` in the period."""
    rows = conn.execute(
        select(key, func.sum(_LOAN.c.loans), func.sum(_LOAN.c.amount), func.sum(_LOAN.c.share_fen))
        .where(_in_period(_LOAN.c.day, start, end), _LOAN.c.role.in_(list(roles)))
        .group_by(key)
    )
    return {str(k): (int(n or 0), int(a or 0), int(f or 0)) for k, n, a, f in rows}


def _contacts(conn: Connection, key: ColumnElement[Any], start: date, end: date) -> dict[str, int]:
    rows = conn.execute(
        select(key, func.sum(_CONTACTS.c.contacts))
        .where(_in_period(_CONTACTS.c.day, start, end))
        .group_by(key)
    )
    return {str(k): int(n or 0) for k, n in rows}


def _outlet_entries(conn: Connection, reach: Reach, start: date, end: date) -> list[LeagueEntry]:
    contacts = _contacts(conn, _CONTACTS.c.outlet_id, start, end)
    disbursed = _sums(conn, _LOAN.c.outlet_id, [LoanRole.BOOKED.value, TYPED], start, end)
    staff = figures.participation(reach.branch, _people(conn), _acts(conn, start, end), "outlet")
    taking_part = {row.key: row.any_rate for row in staff}
    return [
        LeagueEntry(
            id=o.id,
            code=o.code,
            name=o.name,
            outlet_id=o.id,
            contacts=contacts.get(o.id, 0),
            disbursed_count=disbursed.get(o.id, (0, 0, 0))[0],
            disbursed_amount=disbursed.get(o.id, (0, 0, 0))[1],
            shares_fen=disbursed.get(o.id, (0, 0, 0))[2],
            participation=taking_part.get(o.id),
        )
        for o in reach.branch
    ]


def _marketer_entries(conn: Connection, start: date, end: date) -> list[LeagueEntry]:
    contacts = _contacts(conn, _CONTACTS.c.author_id, start, end)
    disbursed = _sums(conn, _LOAN.c.user_id, [LoanRole.MARKETED.value, TYPED], start, end)
    roles = _sums(conn, _LOAN.c.user_id, _ROLES, start, end)
    shares = _sums(
        conn, _LOAN.c.user_id, [LoanRole.MARKETED.value, LoanRole.ORIGINATED.value], start, end
    )
    people = conn.execute(
        select(User.id, User.employee_no, User.name, User.outlet_id, User.active).where(
            User.role == Role.MARKETER
        )
    ).all()
    entries = []
    for uid, employee_no, name, outlet_id, active in people:
        entry = LeagueEntry(
            id=uid,
            code=employee_no,
            name=name,
            outlet_id=outlet_id,
            contacts=contacts.get(uid, 0),
            disbursed_count=disbursed.get(uid, (0, 0, 0))[0],
            disbursed_amount=disbursed.get(uid, (0, 0, 0))[1],
            shares_fen=shares.get(uid, (0, 0, 0))[2],
            participation=float(roles.get(uid, (0, 0, 0))[0]),
        )
        busy = entry.contacts or entry.disbursed_count or entry.participation
        if active or busy:  # an inactive marketer ranks only with something to show
            entries.append(entry)
    return entries


def league(session: Session, user: User, query: LeagueQuery, today: date) -> LeagueOut:
    """Outlets or marketers ranked on ``query.metric`` within the branch; the rows in reach."""
    reach = reach_of(session, user)
    conn = session.connection()
    start, end = _bounds(query, today)
    if query.level == LeagueLevel.OUTLET:
        entries = _outlet_entries(conn, reach, start, end)
    else:
        entries = _marketer_entries(conn, start, end)
    ranked = figures.league(entries, query.metric)
    shown = [r for r in ranked if reach.whole or r.entry.outlet_id in reach.ids]
    return LeagueOut(
        as_of=as_of(conn),
        period=query.period,
        start=start,
        end=end,
        level=query.level,
        metric=query.metric,
        ranked=len(ranked),
        page=query.page,
        page_size=query.page_size,
        count=len(shown),
        rows=[
            LeagueRowOut(
                rank=r.rank,
                shared=r.shared,
                id=r.entry.id,
                code=r.entry.code,
                name=r.entry.name,
                outlet_id=r.entry.outlet_id,
                contacts=r.entry.contacts,
                disbursed_count=r.entry.disbursed_count,
                disbursed_amount=r.entry.disbursed_amount,
                shares_fen=r.entry.shares_fen,
                participation=r.entry.participation,
            )
            for r in _page(shown, query.page, query.page_size)
        ],
    )


# -- batches ---------------------------------------------------------------------------


def _live_and_disbursed(
    conn: Connection, reach: Reach, key: str
) -> tuple[dict[str, int], dict[str, int]]:
    """({key: live entries in reach}, {key: the disbursed among them}) per ``key`` of the
    rollups, ``"batch_id"`` or ``"outlet_id"`` (batch conversion's rule)."""
    entries: dict[str, int] = defaultdict(int)
    disbursed: dict[str, int] = defaultdict(int)
    for k, status, n in conn.execute(
        select(_STATUS.c[key], _STATUS.c.status, func.sum(_STATUS.c.prospects))
        .where(reach.clause(_STATUS.c.outlet_id))
        .group_by(_STATUS.c[key], _STATUS.c.status)
    ):
        entries[str(k)] += int(n)
        if status == FunnelStatus.DISBURSED:
            disbursed[str(k)] += int(n)
    for k, n in conn.execute(
        select(_BATCH_LOANS.c[key], func.sum(_BATCH_LOANS.c.prospects))
        .where(reach.clause(_BATCH_LOANS.c.outlet_id))
        .group_by(_BATCH_LOANS.c[key])
    ):
        disbursed[str(k)] += int(n)
    return entries, disbursed


def outlet_conversion(session: Session, user: User) -> dict[str, tuple[int, int]]:
    """{outlet id: (live entries, disbursed)} of every outlet in reach, over every batch
    (outlet conversion: ``app.services.participation``); an outlet without live entries
    has (0, 0)."""
    reach = reach_of(session, user)
    entries, disbursed = _live_and_disbursed(session.connection(), reach, "outlet_id")
    return {o.id: (entries.get(o.id, 0), disbursed.get(o.id, 0)) for o in reach.outlets}


def batches(
    session: Session, user: User, query: BatchesQuery, windows: Sequence[int]
) -> BatchFiguresOut:
    """Coverage within each window and conversion of every batch with live entries in
    reach, newest ``valid_from`` first."""
    reach = reach_of(session, user).narrowed(query.outlet_id)
    conn = session.connection()
    entries, disbursed = _live_and_disbursed(conn, reach, "batch_id")
    info = conn.execute(
        select(
            WhitelistBatch.id,
            WhitelistBatch.name,
            WhitelistBatch.product,
            WhitelistBatch.valid_from,
            WhitelistBatch.valid_until,
        )
    ).all()
    known = sorted(
        (b for b in info if entries.get(b[0])),
        key=lambda b: (-stored_date(b[3]).toordinal(), b[1], b[0]),  # type: ignore[union-attr]
    )
    page = _page(known, query.page, query.page_size)
    firsts: dict[str, list[tuple[date | None, int]]] = defaultdict(list)
    if page:
        for batch_id, day, n in conn.execute(
            select(_FIRST.c.batch_id, _FIRST.c.first_day, func.sum(_FIRST.c.prospects))
            .where(reach.clause(_FIRST.c.outlet_id), _FIRST.c.batch_id.in_([b[0] for b in page]))
            .group_by(_FIRST.c.batch_id, _FIRST.c.first_day)
        ):
            firsts[str(batch_id)].append((stored_date(day), int(n)))
    rows = []
    for batch_id, name, product, valid_from, valid_until in page:
        start = stored_date(valid_from)
        assert start is not None
        covered = window_coverage(start, firsts[batch_id], windows)
        total = entries[batch_id]
        rows.append(
            BatchRowOut(
                batch_id=batch_id,
                name=name,
                product=product,
                valid_from=start,
                valid_until=stored_date(valid_until),
                entries=total,
                windows=[
                    WindowOut(days=d, covered=c, share=rate(c, total))
                    for d, c in zip(windows, covered, strict=True)
                ],
                disbursed=disbursed[batch_id],
                conversion=rate(disbursed[batch_id], total),
            )
        )
    return BatchFiguresOut(
        as_of=as_of(conn),
        windows=list(windows),
        page=query.page,
        page_size=query.page_size,
        count=len(known),
        rows=rows,
    )


# -- overview --------------------------------------------------------------------------


def overview(session: Session, user: User, query: OverviewQuery, today: date) -> OverviewOut:
    """Funnel counts now, contacts and disbursed in the period, over the outlets in reach."""
    reach = reach_of(session, user).narrowed(query.outlet_id)
    conn = session.connection()
    start, end = _bounds(query, today)
    counts = dict.fromkeys((s.value for s in FunnelStatus), 0)
    for status, n in conn.execute(
        select(_STATUS.c.status, func.sum(_STATUS.c.prospects))
        .where(reach.clause(_STATUS.c.outlet_id))
        .group_by(_STATUS.c.status)
    ):
        counts[str(status)] = counts.get(str(status), 0) + int(n)
    contacts = conn.execute(
        select(func.coalesce(func.sum(_CONTACTS.c.contacts), 0)).where(
            _in_period(_CONTACTS.c.day, start, end), reach.clause(_CONTACTS.c.outlet_id)
        )
    ).scalar_one()
    loans, amount = conn.execute(
        select(
            func.coalesce(func.sum(_LOAN.c.loans), 0), func.coalesce(func.sum(_LOAN.c.amount), 0)
        ).where(
            _in_period(_LOAN.c.day, start, end),
            _LOAN.c.role.in_([LoanRole.BOOKED.value, TYPED]),
            reach.clause(_LOAN.c.outlet_id),
        )
    ).one()
    return OverviewOut(
        as_of=as_of(conn),
        period=query.period,
        start=start,
        end=end,
        outlets=len(reach.outlets),
        prospects=sum(counts.values()),
        status_counts=counts,
        contacts=int(contacts),
        disbursed_count=int(loans),
        disbursed_amount=int(amount),
    )

"""Excel exports (.xlsx) of the central store's reports: one registry of kinds, served by
``GET /exports/{kind}.xlsx`` and ``main.py export KIND`` alike.

    export(session, user, kind, ExportParams(period=…, batch_id=…)) -> ExportFile

A kind is a builder registered under its name:

    @register("quality", title="export.quality.title", needs=("batch_id",))
    def _quality(session, scope, params) -> tuple[str, list[Sheet]]: ...

It gathers its rows within the caller's ``scope`` (scope-checked like the API that
shows the same figures) and returns the file name's tail (the batch's name, the period)
with its sheets; ``app.services.export.workbook`` writes them (Chinese headers from i18n
keys, amounts in 万元). The file is named "<title>-<tail>.xlsx" in the caller's language.
Adding a kind is one registered builder: the route and the command line list the
registry.

Who may export: admins (every outlet), sub-branch and outlet managers (their outlets);
a marketer is refused (403 ``auth.forbidden``). A parameter the kind needs and was not
given answers 422 ``export.period_required`` / ``export.batch_required`` /
``export.outlet_required``; the bulletin of a month, 422 ``export.quarter_required``; an
outlet unknown or out of reach, 404 ``dashboard.outlet_not_found`` (as the dashboards).

Kinds here: ``quality`` (a batch's list quality per outlet and per reason), ``shares``
(profit sharing of a period: per loan, per person, per outlet), ``targets`` (targets of a
period with progress), ``league`` (outlets and marketers ranked, as the league table),
``participation`` (簿记 / 营销 / 发起 participation and loan-customer coverage per outlet,
sub-branch and tier), ``performance`` (per outlet and per marketer: contacts, disbursed,
shares, conversion, with the total), ``batches`` (each batch's coverage windows and
conversion beside its list quality), ``bulletin`` (季度通报: one outlet's quarter, its
headline figures and ranks, then its marketers and batches). The kinds read from the
dashboards' rollups (``app.server.dashboards``: the figures the screens show, defined in
``app.services.participation``) say when those were taken.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlmodel import Session

from app.config import Settings
from app.i18n import format_datetime, t
from app.models import Outlet, Prospect, Role, User
from app.models.dashboard import (
    PAGE_SIZE_MAX,
    BatchesQuery,
    GroupBy,
    LeagueLevel,
    LeagueMetric,
    LeagueOut,
    LeagueQuery,
    LeagueRowOut,
    ParticipationQuery,
    ParticipationRowOut,
)
from app.models.ids import utcnow
from app.models.loan import LoanEvent, ProfitShare, ShareParty
from app.models.outlet import OutletTier
from app.models.target import Target, TargetMetric, TargetSubject
from app.server import dashboards, quality, targets
from app.server.errors import StoreError
from app.server.scope import Scope, scope_of
from app.services.clock import beijing_today
from app.services.export import Column, Kind, Sheet, workbook
from app.services.performance import competition_ranks
from app.services.quality import Quality, by_batch, rate, tally

EXPORTERS = frozenset({Role.ADMIN, Role.SUBBRANCH_MANAGER, Role.OUTLET_MANAGER})
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
NAME_LIMIT = 120  # characters of a file name, before ".xlsx"
COVERAGE_WINDOWS: tuple[int, ...] = Settings.model_fields["coverage_windows"].default
_T = TypeVar("_T")


@dataclass(frozen=True)
class ExportParams:
    """What an export is asked for: a period ("2026-12", "2026-Q4"), a batch, an outlet's
    code (the bulletin's), a language; and the store's batch coverage windows (settings
    ``coverage_windows``: the caller passes its own)."""

    period: str | None = None
    batch_id: str | None = None
    outlet: str | None = None
    lang: str = "zh"
    windows: tuple[int, ...] = COVERAGE_WINDOWS


@dataclass(frozen=True)
class ExportFile:
    name: str  # "<title>-<tail>.xlsx", safe for a file system
    data: bytes


Builder = Callable[[Session, Scope, ExportParams], tuple[str, list[Sheet]]]


@dataclass(frozen=True)
class Export:
    kind: str
    title: str  # i18n key: the file's title
    needs: tuple[str, ...]  # ExportParams fields the kind cannot do without
    build: Builder


EXPORTS: dict[str, Export] = {}
_NEEDED = {
    "period": "export.period_required",
    "batch_id": "export.batch_required",
    "outlet": "export.outlet_required",
}


def register(kind: str, *, title: str, needs: tuple[str, ...] = ()) -> Callable[[Builder], Builder]:
    """Add a kind to the registry (a decorator on its builder)."""

    def add(build: Builder) -> Builder:
        if kind in EXPORTS:
            raise ValueError(f"export kind {kind!r} registered twice")
        EXPORTS[kind] = Export(kind, title, needs, build)
        return build

    return add


def export(session: Session, user: User, kind: str, params: ExportParams) -> ExportFile:
    """The ``kind`` workbook as ``user`` may see it (the module's refusals)."""
    spec = EXPORTS.get(kind)
    if spec is None:
        raise StoreError("export.kind_unknown", 404, kind=kind[:32])
    if user.role not in EXPORTERS or not user.active:
        raise StoreError("auth.forbidden", 403)
    for need in spec.needs:
        if not getattr(params, need):
            raise StoreError(_NEEDED[need], 422)
    tail, sheets = spec.build(session, scope_of(session, user), params)
    return ExportFile(file_name(t(spec.title, params.lang), tail), workbook(sheets, params.lang))


def file_name(title: str, tail: str) -> str:
    """ "<title>-<tail>.xlsx" without characters a file system or a header refuses."""
    stem = _UNSAFE.sub("_", f"{title}-{tail}" if tail else title).strip(" ._") or "export"
    return f"{stem[:NAME_LIMIT]}.xlsx"


def _context(scope: Scope, session: Session, lang: str, *lines: str) -> tuple[str, ...]:
    """Lines above a table: what it is, whose outlets, when it was made."""
    if scope.role == Role.ADMIN:
        reach = t("export.scope_all", lang)
    else:
        codes = session.execute(
            select(Outlet.code).where(Outlet.id.in_(sorted(scope.outlets)))  # type: ignore[attr-defined]
        ).scalars()
        reach = t("export.scope_outlets", lang, outlets="、".join(sorted(codes)) or "—")
    made = t("export.generated", lang, at=format_datetime(utcnow(), lang))
    return (*lines, reach, made)


def _period(params: ExportParams) -> tuple[str, date, date]:
    name = params.period or ""
    start, end = targets.period_dates(name)
    return name, start, end


# -- list quality -----------------------------------------------------------------------


def _reason_label(reason: str, lang: str) -> str:
    key = "quality.reason.unspecified" if reason == "unspecified" else f"feedback.reason.{reason}"
    return t(key, lang)


@register("quality", title="export.quality.title", needs=("batch_id",))
def _quality(session: Session, scope: Scope, params: ExportParams) -> tuple[str, list[Sheet]]:
    lang = params.lang
    found = quality.report(session, scope, params.batch_id or "")
    by_outlet = Sheet(
        "export.quality.by_outlet",
        (
            Column("export.col.outlet_code", width=12),
            Column("export.col.outlet_name"),
            Column("quality.entries", Kind.COUNT),
            Column("quality.withdrawn", Kind.COUNT),
            Column("quality.worked", Kind.COUNT),
            Column("quality.invalid", Kind.COUNT),
            Column("quality.declined", Kind.COUNT),
            Column("quality.wrong_contact", Kind.COUNT),
            Column("quality.invalid_rate", Kind.RATE),
            Column("quality.wrong_contact_rate", Kind.RATE),
        ),
        [
            *(
                (o.code, o.name, *_quality_figures(o))
                for o in sorted(found.outlets, key=lambda o: (o.code, o.outlet_id))
            ),
            (t("export.total", lang), "", *_quality_figures(found)),
        ],
        context=_context(
            scope,
            session,
            lang,
            t(
                "export.quality.batch",
                lang,
                name=found.name,
                product=found.product,
                version=found.version,
                start=found.valid_from.isoformat(),
                end=found.valid_until.isoformat(),
            ),
            t("export.quality.definitions", lang),
        ),
    )
    by_reason = Sheet(
        "export.quality.by_reason",
        (
            Column("export.col.reason"),
            Column("quality.invalid", Kind.COUNT),
            Column("quality.declined", Kind.COUNT),
            Column("export.total", Kind.COUNT),
            Column("quality.share_of_worked", Kind.RATE),
        ),
        [
            (
                _reason_label(r.reason, lang),
                r.invalid,
                r.declined,
                r.total,
                rate(r.total, found.worked),
            )
            for r in found.reasons
        ],
    )
    return found.name, [by_outlet, by_reason]


def _quality_figures(q: Any) -> tuple[object, ...]:
    return (
        q.entries,
        q.withdrawn,
        q.worked,
        q.invalid,
        q.declined,
        q.wrong_contact,
        q.invalid_rate,
        q.wrong_contact_rate,
    )


# -- profit sharing ---------------------------------------------------------------------


@dataclass
class _Loan:
    loan_id: str
    on: date
    product: str
    prospect_id: str | None
    booking_outlet_id: str
    amount: int  # 元
    fen: dict[str, int]  # party -> fen
    people: dict[str, list[str]]  # party -> user ids
    adjusted: bool = False


def _yuan(fen: int) -> float:
    return fen / 100


@register("shares", title="export.shares.title", needs=("period",))
def _shares(session: Session, scope: Scope, params: ExportParams) -> tuple[str, list[Sheet]]:
    """Shares of loans disbursed in the period (business date) with a share credited to an
    outlet in reach; the loan's whole split is shown, the totals count what is in reach."""
    lang = params.lang
    name, start, end = _period(params)
    ps, le = ProfitShare.__table__, LoanEvent.__table__  # type: ignore[attr-defined]
    stmt = (
        select(
            ps.c.loan_id,
            ps.c.party,
            ps.c.user_id,
            ps.c.outlet_id,
            ps.c.amount_fen,
            ps.c.adjusted,
            le.c.occurred_on,
            le.c.product,
            le.c.prospect_id,
            le.c.booking_outlet_id,
            le.c.amount,
        )
        .select_from(ps.join(le, le.c.id == ps.c.loan_event_id))
        .where(ps.c.occurred_on >= start, ps.c.occurred_on <= end)
        .order_by(le.c.occurred_on, ps.c.loan_id, ps.c.party, ps.c.id)
    )
    loans: dict[str, _Loan] = {}
    shares: list[tuple[str, str, str | None, str, int]] = []  # loan, party, user, outlet, fen
    for r in session.execute(stmt):
        loan = loans.get(r.loan_id)
        if loan is None:
            loan = loans[r.loan_id] = _Loan(
                r.loan_id,
                r.occurred_on,
                r.product,
                r.prospect_id,
                r.booking_outlet_id,
                int(r.amount),
                defaultdict(int),
                defaultdict(list),
            )
        loan.fen[r.party] += int(r.amount_fen)
        if r.user_id:
            loan.people[r.party].append(r.user_id)
        loan.adjusted = loan.adjusted or bool(r.adjusted)
        shares.append((r.loan_id, r.party, r.user_id, r.outlet_id, int(r.amount_fen)))
    reached = {s[0] for s in shares if scope.reaches_outlet(s[3])}
    shown = [loan for loan in loans.values() if loan.loan_id in reached]
    outlets = {o.id: o for o in session.execute(select(Outlet)).scalars()}
    user_ids = {s[2] for s in shares if s[2] and s[0] in reached}
    users = {
        u.id: u
        for u in session.execute(select(User).where(User.id.in_(sorted(user_ids)))).scalars()  # type: ignore[attr-defined]
    }
    prospect_ids = sorted({loan.prospect_id for loan in shown if loan.prospect_id})
    companies = dict(
        session.execute(
            select(Prospect.id, Prospect.company_name).where(Prospect.id.in_(prospect_ids))  # type: ignore[attr-defined]
        ).all()
    )

    def who(ids: list[str]) -> str:
        return "、".join(users[i].name if i in users else i for i in ids)

    def outlet_label(outlet_id: str) -> tuple[str, str]:
        o = outlets.get(outlet_id)
        return (o.code, o.name) if o else ("", "")

    per_loan = Sheet(
        "export.shares.per_loan",
        (
            Column("export.col.loan_id", width=18),
            Column("export.col.date", Kind.DATE),
            Column("export.col.product", width=14),
            Column("export.col.company"),
            Column("export.col.booking_outlet"),
            Column("export.col.loan_amount", Kind.WAN),
            Column("share.party.marketer", width=12),
            Column("export.col.marketer_share", Kind.WAN),
            Column("share.party.originator", width=12),
            Column("export.col.originator_share", Kind.WAN),
            Column("export.col.booking_share", Kind.WAN),
            Column("export.col.adjusted", width=10),
        ),
        [
            (
                loan.loan_id,
                loan.on,
                loan.product,
                companies.get(loan.prospect_id or "", ""),
                " ".join(outlet_label(loan.booking_outlet_id)).strip(),
                loan.amount,
                who(loan.people[ShareParty.MARKETER]),
                _yuan(loan.fen[ShareParty.MARKETER]),
                who(loan.people[ShareParty.ORIGINATOR]),
                _yuan(loan.fen[ShareParty.ORIGINATOR]),
                _yuan(loan.fen[ShareParty.BOOKING_OUTLET]),
                t("export.yes" if loan.adjusted else "export.no", lang),
            )
            for loan in shown
        ],
        context=_context(
            scope,
            session,
            lang,
            t("export.period", lang, period=name, start=start.isoformat(), end=end.isoformat()),
            t("export.shares.definitions", lang),
        ),
    )
    person: dict[str, dict[str, Any]] = {}
    place: dict[str, dict[str, Any]] = {}
    for loan_id, party, user_id, outlet_id, fen in shares:
        if not scope.reaches_outlet(outlet_id):
            continue
        if user_id:
            p = person.setdefault(
                user_id, {"loans": set(), ShareParty.MARKETER: 0, ShareParty.ORIGINATOR: 0}
            )
            p["loans"].add(loan_id)
            p[party] += fen
        o = place.setdefault(outlet_id, {"booking": 0, "staff": 0})
        o["booking" if party == ShareParty.BOOKING_OUTLET else "staff"] += fen
    booked: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for loan in loans.values():
        if scope.reaches_outlet(loan.booking_outlet_id):
            booked[loan.booking_outlet_id][0] += 1
            booked[loan.booking_outlet_id][1] += loan.amount
    by_person = Sheet(
        "export.shares.by_person",
        (
            Column("export.col.employee_no", width=12),
            Column("export.col.person", width=12),
            Column("export.col.outlet_name"),
            Column("export.col.loans", Kind.COUNT),
            Column("export.col.marketer_share", Kind.WAN),
            Column("export.col.originator_share", Kind.WAN),
            Column("export.col.share_total", Kind.WAN),
        ),
        [
            (
                users[uid].employee_no if uid in users else uid,
                users[uid].name if uid in users else "",
                outlet_label(users[uid].outlet_id or "")[1] if uid in users else "",
                len(p["loans"]),
                _yuan(p[ShareParty.MARKETER]),
                _yuan(p[ShareParty.ORIGINATOR]),
                _yuan(p[ShareParty.MARKETER] + p[ShareParty.ORIGINATOR]),
            )
            for uid, p in sorted(
                person.items(),
                key=lambda kv: users[kv[0]].employee_no if kv[0] in users else kv[0],
            )
        ],
    )
    by_outlet = Sheet(
        "export.shares.by_outlet",
        (
            Column("export.col.outlet_code", width=12),
            Column("export.col.outlet_name"),
            Column("export.col.booked_loans", Kind.COUNT),
            Column("export.col.booked_amount", Kind.WAN),
            Column("export.col.booking_share", Kind.WAN),
            Column("export.col.staff_share", Kind.WAN),
            Column("export.col.share_total", Kind.WAN),
        ),
        [
            (
                *outlet_label(oid),
                booked[oid][0] if oid in booked else 0,
                booked[oid][1] if oid in booked else 0,
                _yuan(o["booking"]),
                _yuan(o["staff"]),
                _yuan(o["booking"] + o["staff"]),
            )
            for oid, o in sorted(place.items(), key=lambda kv: outlet_label(kv[0]))
        ],
    )
    return name, [per_loan, by_person, by_outlet]


# -- targets ----------------------------------------------------------------------------


@register("targets", title="export.targets.title", needs=("period",))
def _targets(session: Session, scope: Scope, params: ExportParams) -> tuple[str, list[Sheet]]:
    lang = params.lang
    name, start, end = _period(params)
    rows = list(
        session.execute(select(Target).where(Target.period == name)).scalars()  # type: ignore[arg-type]
    )
    shown = targets.visible(session, scope, rows)
    outlets = {o.id: o for o in session.execute(select(Outlet)).scalars()}
    money = TargetMetric.DISBURSED_AMOUNT

    def line(goal: Any) -> tuple[object, ...]:
        home = outlets.get(goal.outlet_id or "")
        amount = goal.metric == money
        return (
            t(f"target.subject.{goal.subject.value}", lang),
            goal.subject_code,
            goal.subject_name,
            home.name if home and goal.subject == TargetSubject.MARKETER else None,
            t(f"target.metric.{goal.metric.value}", lang),
            None if amount else goal.value,
            None if amount else goal.actual,
            goal.value if amount else None,
            goal.actual if amount else None,
            goal.progress,
        )

    sheet = Sheet(
        "export.targets.sheet",
        (
            Column("export.col.subject_kind", width=10),
            Column("export.col.code", width=12),
            Column("export.col.name"),
            Column("export.col.outlet_name"),
            Column("export.col.metric", width=12),
            Column("export.col.target", Kind.COUNT),
            Column("export.col.actual", Kind.COUNT),
            Column("export.col.target_amount", Kind.WAN),
            Column("export.col.actual_amount", Kind.WAN),
            Column("export.col.progress", Kind.RATE),
        ),
        [line(goal) for goal in shown],
        context=_context(
            scope,
            session,
            lang,
            t("export.period", lang, period=name, start=start.isoformat(), end=end.isoformat()),
            t("export.targets.definitions", lang),
        ),
    )
    return name, [sheet]


def kinds() -> Sequence[str]:
    """The registered kinds, in registration order."""
    return list(EXPORTS)


# -- the dashboards' figures -------------------------------------------------------------


def _caller(session: Session, scope: Scope) -> User:
    user = session.get(User, scope.user_id)
    assert user is not None  # the caller's own row: signed in a moment ago
    return user


def _span(params: ExportParams) -> tuple[str, date, date, str]:
    """The period's name, first and last dates, and its kind as the dashboards name it."""
    name, start, end = _period(params)
    return name, start, end, "quarter" if "Q" in name else "month"


def _every_page(ask: Callable[[int], Sequence[_T]]) -> list[_T]:
    """Every row of a paged dashboard answer; ``ask(page)`` gives one page's rows."""
    rows: list[_T] = []
    page = 1
    while True:
        got = ask(page)
        rows.extend(got)
        if len(got) < PAGE_SIZE_MAX:
            return rows
        page += 1


def _as_of(at: datetime | None, lang: str) -> str:
    """When the rollups the figures come from were taken."""
    if at is None:
        return t("export.not_rolled_up", lang)
    return t("export.as_of", lang, at=format_datetime(at, lang))


def _period_line(name: str, start: date, end: date, lang: str) -> str:
    return t("export.period", lang, period=name, start=start.isoformat(), end=end.isoformat())


def _league_rows(
    session: Session,
    user: User,
    kind: str,
    start: date,
    level: LeagueLevel,
    metric: LeagueMetric = LeagueMetric.DISBURSED_AMOUNT,
) -> tuple[list[LeagueRowOut], LeagueOut]:
    """Every row in reach of ``/dashboards/league``, and its last answer (``as_of``,
    ``ranked``)."""
    answers: list[LeagueOut] = []

    def ask(page: int) -> list[LeagueRowOut]:
        query = LeagueQuery(
            period=kind, on=start, level=level, metric=metric, page=page, page_size=PAGE_SIZE_MAX
        )
        answers.append(dashboards.league(session, user, query, beijing_today()))
        return answers[-1].rows

    rows = _every_page(ask)
    return rows, answers[-1]


def _participation_rows(
    session: Session, user: User, kind: str, start: date, by: GroupBy
) -> tuple[list[ParticipationRowOut], ParticipationRowOut, datetime | None]:
    """Every row in reach of ``/dashboards/participation``, its total and ``as_of``."""
    answers = []

    def ask(page: int) -> list[ParticipationRowOut]:
        query = ParticipationQuery(period=kind, on=start, by=by, page=page, page_size=PAGE_SIZE_MAX)
        answers.append(dashboards.participation(session, user, query, beijing_today()))
        return answers[-1].rows

    rows = _every_page(ask)
    return rows, answers[-1].total, answers[-1].as_of


def _tier_label(tier: str, lang: str) -> str:
    return t(f"outlet.tier.{tier}", lang) if tier in set(OutletTier) else tier


# -- league tables ----------------------------------------------------------------------


def _ranked_columns(level: LeagueLevel) -> tuple[Column, ...]:
    # an outlet's participation is its staff's rate; a marketer's, the roles they held
    taking_part = (
        Column("export.col.participation", Kind.RATE)
        if level == LeagueLevel.OUTLET
        else Column("export.col.roles_held", Kind.COUNT)
    )
    return (
        Column("export.col.rank", Kind.COUNT, width=8),
        Column("export.col.code", width=12),
        Column("export.col.name", width=28),
        Column("export.col.contacts", Kind.COUNT),
        Column("export.col.disbursed_count", Kind.COUNT),
        Column("export.col.disbursed_amount", Kind.WAN),
        Column("export.col.shares", Kind.WAN),
        taking_part,
    )


def _ranked_line(r: LeagueRowOut) -> tuple[object, ...]:
    return (
        r.rank,
        r.code,
        r.name,
        r.contacts,
        r.disbursed_count,
        r.disbursed_amount,
        _yuan(r.shares_fen),
        r.participation,
    )


@register("league", title="export.league.title", needs=("period",))
def _league(session: Session, scope: Scope, params: ExportParams) -> tuple[str, list[Sheet]]:
    """Outlets and marketers ranked by disbursed amount over the period, as the league
    table on screen ranks them (``app.server.dashboards.league``: the rollups), every row
    in the caller's reach."""
    lang = params.lang
    name, start, end, kind = _span(params)
    user = _caller(session, scope)
    sheets = []
    for level in (LeagueLevel.OUTLET, LeagueLevel.MARKETER):
        rows, answer = _league_rows(session, user, kind, start, level)
        sheets.append(
            Sheet(
                f"export.league.{level.value}",
                _ranked_columns(level),
                [_ranked_line(r) for r in rows],
                context=_context(
                    scope,
                    session,
                    lang,
                    _period_line(name, start, end, lang),
                    t("export.league.definitions", lang, as_of=format_datetime(answer.as_of, lang)),
                ),
            )
        )
    return name, sheets


# -- participation ----------------------------------------------------------------------

_PARTICIPATION_FIGURES = (
    Column("export.col.outlets", Kind.COUNT, width=8),
    Column("export.col.booked_outlets", Kind.COUNT),
    Column("export.col.booked_outlet_rate", Kind.RATE, width=14),
    Column("export.col.marketed_outlets", Kind.COUNT),
    Column("export.col.marketed_outlet_rate", Kind.RATE, width=14),
    Column("export.col.originated_outlets", Kind.COUNT),
    Column("export.col.originated_outlet_rate", Kind.RATE, width=14),
    Column("export.col.staff", Kind.COUNT, width=8),
    Column("export.col.booked_staff", Kind.COUNT),
    Column("export.col.booked_staff_rate", Kind.RATE, width=14),
    Column("export.col.marketed_staff", Kind.COUNT),
    Column("export.col.marketed_staff_rate", Kind.RATE, width=14),
    Column("export.col.originated_staff", Kind.COUNT),
    Column("export.col.originated_staff_rate", Kind.RATE, width=14),
    Column("export.col.any_staff", Kind.COUNT),
    Column("export.col.any_staff_rate", Kind.RATE),
    Column("export.col.loan_customers", Kind.COUNT, width=14),
    Column("export.col.covered_customers", Kind.COUNT, width=14),
    Column("export.col.coverage", Kind.RATE),
)


def _participation_figures(r: ParticipationRowOut) -> tuple[object, ...]:
    return (
        r.outlets,
        r.booked_outlets,
        r.booked_outlet_rate,
        r.marketed_outlets,
        r.marketed_outlet_rate,
        r.originated_outlets,
        r.originated_outlet_rate,
        r.staff,
        r.booked_staff,
        r.booked_staff_rate,
        r.marketed_staff,
        r.marketed_staff_rate,
        r.originated_staff,
        r.originated_staff_rate,
        r.any_staff,
        r.any_staff_rate,
        r.customers,
        r.covered,
        r.coverage,
    )


@register("participation", title="export.participation.title", needs=("period",))
def _participation(session: Session, scope: Scope, params: ExportParams) -> tuple[str, list[Sheet]]:
    """Participation and loan-customer coverage of the period per outlet, sub-branch and
    tier, each with the total of the outlets in reach: ``/dashboards/participation``'s
    rows (the rollups; ``app.services.participation`` defines every rate)."""
    lang = params.lang
    name, start, end, kind = _span(params)
    user = _caller(session, scope)
    total_label = t("export.total", lang)
    groups: tuple[tuple[GroupBy, tuple[Column, ...], Callable[[Any], tuple], tuple], ...] = (
        (
            GroupBy.OUTLET,
            (Column("export.col.outlet_code", width=12), Column("export.col.outlet_name")),
            lambda r: (r.code, r.label),
            (total_label, ""),
        ),
        (
            GroupBy.SUBBRANCH,
            (Column("export.col.subbranch", width=16),),
            lambda r: (r.label,),
            (total_label,),
        ),
        (
            GroupBy.TIER,
            (Column("export.col.tier", width=12),),
            lambda r: (_tier_label(r.key, lang),),
            (total_label,),
        ),
    )
    sheets = []
    for by, lead, label, total_lead in groups:
        rows, total, as_of = _participation_rows(session, user, kind, start, by)
        sheets.append(
            Sheet(
                f"export.participation.by_{by.value}",
                (*lead, *_PARTICIPATION_FIGURES),
                [
                    *((*label(r), *_participation_figures(r)) for r in rows),
                    (*total_lead, *_participation_figures(total)),
                ],
                context=_context(
                    scope,
                    session,
                    lang,
                    _period_line(name, start, end, lang),
                    t("export.participation.definitions", lang),
                    _as_of(as_of, lang),
                ),
            )
        )
    return name, sheets


# -- performance ------------------------------------------------------------------------


@register("performance", title="export.performance.title", needs=("period",))
def _performance(session: Session, scope: Scope, params: ExportParams) -> tuple[str, list[Sheet]]:
    """Per outlet and per marketer in reach: contacts, disbursed count and amount, shares
    of the period (the league table's figures, by code), an outlet's conversion of its live
    entries (``dashboards.outlet_conversion``), each sheet with its total."""
    lang = params.lang
    name, start, end, kind = _span(params)
    user = _caller(session, scope)
    outlets = {o.id: o for o in session.execute(select(Outlet)).scalars()}
    converted = dashboards.outlet_conversion(session, user)
    context = (
        _period_line(name, start, end, lang),
        t("export.performance.definitions", lang),
    )

    places, answer = _league_rows(session, user, kind, start, LeagueLevel.OUTLET)
    places.sort(key=lambda r: (r.code, r.id))
    sums = [0, 0, 0, 0, 0, 0]  # contacts, loans, 元, fen, entries, disbursed entries
    by_outlet = []
    for r in places:
        entries, disbursed = converted.get(r.id, (0, 0))
        for i, v in enumerate(
            (r.contacts, r.disbursed_count, r.disbursed_amount, r.shares_fen, entries, disbursed)
        ):
            sums[i] += v
        home = outlets.get(r.id)
        by_outlet.append(
            (
                r.code,
                r.name,
                home.branch_name if home else "",
                r.contacts,
                r.disbursed_count,
                r.disbursed_amount,
                _yuan(r.shares_fen),
                entries,
                disbursed,
                rate(disbursed, entries),
            )
        )
    by_outlet.append(
        (
            t("export.total", lang),
            "",
            "",
            sums[0],
            sums[1],
            sums[2],
            _yuan(sums[3]),
            sums[4],
            sums[5],
            rate(sums[5], sums[4]),
        )
    )
    outlet_sheet = Sheet(
        "export.performance.by_outlet",
        (
            Column("export.col.outlet_code", width=12),
            Column("export.col.outlet_name"),
            Column("export.col.subbranch", width=16),
            Column("export.col.contacts", Kind.COUNT),
            Column("export.col.disbursed_count", Kind.COUNT),
            Column("export.col.disbursed_amount", Kind.WAN),
            Column("export.col.shares", Kind.WAN),
            Column("export.col.live_entries", Kind.COUNT, width=14),
            Column("export.col.disbursed_entries", Kind.COUNT, width=14),
            Column("export.col.conversion", Kind.RATE),
        ),
        by_outlet,
        context=_context(scope, session, lang, *context, _as_of(answer.as_of, lang)),
    )

    people, answer = _league_rows(session, user, kind, start, LeagueLevel.MARKETER)
    people.sort(key=lambda r: (r.code, r.id))
    totals = [0, 0, 0, 0]
    by_person = []
    for r in people:
        for i, v in enumerate((r.contacts, r.disbursed_count, r.disbursed_amount, r.shares_fen)):
            totals[i] += v
        home = outlets.get(r.outlet_id or "")
        by_person.append(
            (
                r.code,
                r.name,
                home.name if home else "",
                r.contacts,
                r.disbursed_count,
                r.disbursed_amount,
                _yuan(r.shares_fen),
            )
        )
    by_person.append(
        (t("export.total", lang), "", "", totals[0], totals[1], totals[2], _yuan(totals[3]))
    )
    person_sheet = Sheet(
        "export.performance.by_marketer",
        (
            Column("export.col.employee_no", width=12),
            Column("export.col.person", width=12),
            Column("export.col.outlet_name"),
            Column("export.col.contacts", Kind.COUNT),
            Column("export.col.disbursed_count", Kind.COUNT),
            Column("export.col.disbursed_amount", Kind.WAN),
            Column("export.col.shares", Kind.WAN),
        ),
        by_person,
        context=_context(scope, session, lang, *context, _as_of(answer.as_of, lang)),
    )
    return name, [outlet_sheet, person_sheet]


# -- batches: coverage, conversion, quality ----------------------------------------------


def _batch_sheet(
    session: Session,
    scope: Scope,
    params: ExportParams,
    title: str,
    outlet_id: str | None = None,
    lines: Sequence[str] = (),
) -> Sheet:
    """``/dashboards/batches``' rows (of one outlet, or every one in reach) with each
    batch's list quality over the same outlets beside them."""
    lang = params.lang
    user = _caller(session, scope)
    answers = []

    def ask(page: int) -> list[Any]:
        query = BatchesQuery(outlet_id=outlet_id, page=page, page_size=PAGE_SIZE_MAX)
        answers.append(dashboards.batches(session, user, query, params.windows))
        return answers[-1].rows

    rows = _every_page(ask)
    judged = by_batch(quality.counts(session, scope, outlet_id=outlet_id))
    windows: list[Column] = []
    for days in params.windows:
        windows.append(Column("export.col.window_covered", Kind.COUNT, 14, (("days", days),)))
        windows.append(Column("export.col.window_share", Kind.RATE, 14, (("days", days),)))

    def line(b: Any) -> tuple[object, ...]:
        q = judged.get(b.batch_id, Quality())
        covered = [v for w in b.windows for v in (w.covered, w.share)]
        return (
            b.name,
            b.product,
            b.valid_from,
            b.valid_until,
            b.entries,
            *covered,
            b.disbursed,
            b.conversion,
            q.worked,
            q.invalid,
            q.invalid_rate,
            q.wrong_contact,
            q.wrong_contact_rate,
        )

    return Sheet(
        title,
        (
            Column("export.col.batch", width=30),
            Column("export.col.product", width=14),
            Column("export.col.valid_from", Kind.DATE),
            Column("export.col.valid_until", Kind.DATE),
            Column("export.col.live_entries", Kind.COUNT, width=14),
            *windows,
            Column("export.col.disbursed_entries", Kind.COUNT, width=14),
            Column("export.col.conversion", Kind.RATE),
            Column("quality.worked", Kind.COUNT),
            Column("quality.invalid", Kind.COUNT),
            Column("quality.invalid_rate", Kind.RATE),
            Column("quality.wrong_contact", Kind.COUNT, width=14),
            Column("quality.wrong_contact_rate", Kind.RATE, width=14),
        ),
        [line(b) for b in rows],
        context=_context(
            scope,
            session,
            lang,
            *lines,
            t("export.batches.definitions", lang),
            _as_of(answers[-1].as_of, lang),
        ),
    )


@register("batches", title="export.batches.title")
def _batches(session: Session, scope: Scope, params: ExportParams) -> tuple[str, list[Sheet]]:
    """Every batch with live entries in reach, newest first: coverage within each window,
    conversion to disbursed, and its list quality (invalid and wrong-contact rates)."""
    return "", [_batch_sheet(session, scope, params, "export.batches.sheet")]


# -- the quarterly bulletin (季度通报) ------------------------------------------------------


@register("bulletin", title="export.bulletin.title", needs=("period", "outlet"))
def _bulletin(session: Session, scope: Scope, params: ExportParams) -> tuple[str, list[Sheet]]:
    """One outlet's quarter as a branch writes its bulletin: the headline figures with the
    outlet's ranks in the branch, its targets and their progress and its lists' quality;
    then its marketers ranked and its batches' coverage. Every figure is the one the
    dashboards, the targets and the quality report give for the outlet."""
    lang = params.lang
    name, start, end, kind = _span(params)
    if kind != "quarter":
        raise StoreError("export.quarter_required", 422, period=name[:16])
    user = _caller(session, scope)
    reach = dashboards.reach_of(session, user)
    outlet = session.execute(select(Outlet).where(Outlet.code == params.outlet)).scalars().first()
    if outlet is None:
        raise StoreError("dashboard.outlet_not_found", 404)
    reach.narrowed(outlet.id)  # out of reach: the same 404 as an unknown outlet

    ranks: dict[LeagueMetric, LeagueRowOut] = {}
    ranked = 0
    as_of = None
    for metric in (
        LeagueMetric.DISBURSED_AMOUNT,
        LeagueMetric.DISBURSED_COUNT,
        LeagueMetric.CONTACTS,
        LeagueMetric.SHARES,
        LeagueMetric.PARTICIPATION,
    ):
        rows, answer = _league_rows(session, user, kind, start, LeagueLevel.OUTLET, metric)
        ranks[metric] = next(r for r in rows if r.id == outlet.id)
        ranked, as_of = answer.ranked, answer.as_of
    part_rows, _, _ = _participation_rows(session, user, kind, start, GroupBy.OUTLET)
    part = next(r for r in part_rows if r.key == outlet.id)
    entries, disbursed = dashboards.outlet_conversion(session, user)[outlet.id]
    judged = tally(quality.counts(session, scope, outlet_id=outlet.id))
    goals = targets.visible(
        session,
        scope,
        list(
            session.execute(
                select(Target).where(
                    Target.period == name,  # type: ignore[arg-type]
                    Target.subject == TargetSubject.OUTLET,  # type: ignore[arg-type]
                    Target.subject_id == outlet.id,  # type: ignore[arg-type]
                )
            ).scalars()
        ),
    )

    def label(key: str, **values: object) -> str:
        return t(key, lang, **values)

    def ranked_line(key: str, metric: LeagueMetric, value: object) -> tuple[object, ...]:
        r = ranks[metric]
        money = metric in (LeagueMetric.DISBURSED_AMOUNT, LeagueMetric.SHARES)
        share = metric == LeagueMetric.PARTICIPATION
        return (
            label(key),
            None if money or share else value,
            value if money else None,
            value if share else None,
            r.rank,
            ranked,
        )

    def plain(key: str, count: int | None = None, share: float | None = None) -> tuple:
        return (label(key), count, None, share, None, None)

    lines: list[tuple[object, ...]] = [
        ranked_line(
            "export.col.disbursed_amount",
            LeagueMetric.DISBURSED_AMOUNT,
            ranks[LeagueMetric.DISBURSED_AMOUNT].disbursed_amount,
        ),
        ranked_line(
            "export.col.disbursed_count",
            LeagueMetric.DISBURSED_COUNT,
            ranks[LeagueMetric.DISBURSED_COUNT].disbursed_count,
        ),
        ranked_line(
            "export.col.contacts", LeagueMetric.CONTACTS, ranks[LeagueMetric.CONTACTS].contacts
        ),
        ranked_line(
            "export.col.shares", LeagueMetric.SHARES, _yuan(ranks[LeagueMetric.SHARES].shares_fen)
        ),
        ranked_line(
            "export.col.any_staff_rate",
            LeagueMetric.PARTICIPATION,
            ranks[LeagueMetric.PARTICIPATION].participation,
        ),
        plain("export.col.staff", part.staff),
        plain("export.col.booked_staff_rate", part.booked_staff, part.booked_staff_rate),
        plain("export.col.marketed_staff_rate", part.marketed_staff, part.marketed_staff_rate),
        plain(
            "export.col.originated_staff_rate", part.originated_staff, part.originated_staff_rate
        ),
        plain("export.col.loan_customers", part.customers),
        plain("export.col.coverage", part.covered, part.coverage),
        plain("export.col.live_entries", entries),
        plain("export.col.conversion", disbursed, rate(disbursed, entries)),
        plain("quality.worked", judged.worked),
        plain("quality.invalid_rate", judged.invalid, judged.invalid_rate),
        plain("quality.wrong_contact_rate", judged.wrong_contact, judged.wrong_contact_rate),
    ]
    for goal in goals:
        metric = label(f"target.metric.{goal.metric.value}")
        money = goal.metric == TargetMetric.DISBURSED_AMOUNT
        for key, value, share in (
            ("export.bulletin.target", goal.value, None),
            ("export.bulletin.target_actual", goal.actual, goal.progress),
        ):
            lines.append(
                (
                    label(key, metric=metric),
                    None if money else value,
                    value if money else None,
                    share,
                    None,
                    None,
                )
            )
    where = label(
        "export.bulletin.outlet",
        code=outlet.code,
        name=outlet.name,
        subbranch=outlet.branch_name,
        tier=_tier_label(outlet.tier, lang),
    )
    period = _period_line(name, start, end, lang)
    headline = Sheet(
        "export.bulletin.sheet",
        (
            Column("export.col.item", width=28),
            Column("export.col.value", Kind.COUNT),
            Column("export.col.amount", Kind.WAN),
            Column("export.col.rate", Kind.RATE),
            Column("export.col.branch_rank", Kind.COUNT),
            Column("export.col.ranked", Kind.COUNT),
        ),
        lines,
        context=_context(
            scope,
            session,
            lang,
            where,
            period,
            t("export.bulletin.definitions", lang, count=ranked),
            _as_of(as_of, lang),
        ),
    )

    people, answer = _league_rows(session, user, kind, start, LeagueLevel.MARKETER)
    mine = [r for r in people if r.outlet_id == outlet.id]
    in_outlet = competition_ranks([r.disbursed_amount for r in mine])
    marketers = Sheet(
        "export.bulletin.marketers",
        (
            Column("export.col.outlet_rank", Kind.COUNT, width=10),
            *_ranked_columns(LeagueLevel.MARKETER),
        ),
        [(n, *_ranked_line(r)) for n, r in zip(in_outlet, mine, strict=True)],
        context=_context(
            scope,
            session,
            lang,
            where,
            period,
            t("export.league.definitions", lang, as_of=format_datetime(answer.as_of, lang)),
        ),
    )
    batches = _batch_sheet(session, scope, params, "export.bulletin.batches", outlet.id, (where,))
    return f"{outlet.code}-{name}", [headline, marketers, batches]

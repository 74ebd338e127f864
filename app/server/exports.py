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
given answers 422 ``export.period_required`` / ``export.batch_required``.

Kinds here: ``quality`` (a batch's list quality per outlet and per reason), ``shares``
(profit sharing of a period: per loan, per person, per outlet), ``targets`` (targets of a
period with progress), ``league`` (outlets and marketers ranked, as the league table).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from app.i18n import format_datetime, t
from app.models import Outlet, Prospect, Role, User
from app.models.dashboard import PAGE_SIZE_MAX, LeagueLevel, LeagueMetric, LeagueQuery
from app.models.ids import utcnow
from app.models.loan import LoanEvent, ProfitShare, ShareParty
from app.models.target import Target, TargetMetric, TargetSubject
from app.server import dashboards, quality, targets
from app.server.errors import StoreError
from app.server.scope import Scope, scope_of
from app.services.clock import beijing_today
from app.services.export import Column, Kind, Sheet, workbook
from app.services.quality import rate

EXPORTERS = frozenset({Role.ADMIN, Role.SUBBRANCH_MANAGER, Role.OUTLET_MANAGER})
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
NAME_LIMIT = 120  # characters of a file name, before ".xlsx"


@dataclass(frozen=True)
class ExportParams:
    """What an export is asked for: a period ("2026-12", "2026-Q4"), a batch, a language."""

    period: str | None = None
    batch_id: str | None = None
    lang: str = "zh"


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
_NEEDED = {"period": "export.period_required", "batch_id": "export.batch_required"}


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


# -- league tables ----------------------------------------------------------------------


@register("league", title="export.league.title", needs=("period",))
def _league(session: Session, scope: Scope, params: ExportParams) -> tuple[str, list[Sheet]]:
    """Outlets and marketers ranked by disbursed amount over the period, as the league
    table on screen ranks them (``app.server.dashboards.league``: the rollups), every row
    in the caller's reach."""
    lang = params.lang
    name, start, end = _period(params)
    user = session.get(User, scope.user_id)
    assert user is not None  # the caller's own row: signed in a moment ago
    kind = "quarter" if "Q" in name else "month"
    today = beijing_today()
    sheets = []
    for level in (LeagueLevel.OUTLET, LeagueLevel.MARKETER):
        rows: list[Any] = []
        page = 1
        while True:  # every page in reach
            query = LeagueQuery(
                period=kind,
                on=start,
                level=level,
                metric=LeagueMetric.DISBURSED_AMOUNT,
                page=page,
                page_size=PAGE_SIZE_MAX,
            )
            answer = dashboards.league(session, user, query, today)
            rows.extend(answer.rows)
            if len(answer.rows) < PAGE_SIZE_MAX:
                break
            page += 1
        sheets.append(
            Sheet(
                f"export.league.{level.value}",
                (
                    Column("export.col.rank", Kind.COUNT, width=8),
                    Column("export.col.code", width=12),
                    Column("export.col.name", width=28),
                    Column("export.col.contacts", Kind.COUNT),
                    Column("export.col.disbursed_count", Kind.COUNT),
                    Column("export.col.disbursed_amount", Kind.WAN),
                    Column("export.col.shares", Kind.WAN),
                    Column("export.col.participation", Kind.RATE),
                ),
                [
                    (
                        r.rank,
                        r.code,
                        r.name,
                        r.contacts,
                        r.disbursed_count,
                        r.disbursed_amount,
                        _yuan(r.shares_fen),
                        r.participation,
                    )
                    for r in rows
                ],
                context=_context(
                    scope,
                    session,
                    lang,
                    t(
                        "export.period",
                        lang,
                        period=name,
                        start=start.isoformat(),
                        end=end.isoformat(),
                    ),
                    t("export.league.definitions", lang, as_of=format_datetime(answer.as_of, lang)),
                ),
            )
        )
    return name, sheets

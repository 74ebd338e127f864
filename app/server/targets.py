"""Marketing targets (营销任务) in the central store: set, list with progress, remove, and
the ones a device receives with its ranks (``/stats/ranks``).

Who may set or see which target is ``app.services.policy``'s (``decide_target``,
``sees_target``); what the progress counts is ``app.services.targets``'. Here are the
reads and writes, and how a refusal answers:

    auth.forbidden              403  the role sets no targets (a marketer)
    target.not_yours.outlet     403  an outlet manager setting an outlet's target
    target.not_yours.marketer   403  an admin setting a marketer's target
    target.subject_not_found    404  an outlet or person unknown or out of reach (alike)
    target.not_marketer         422  a person's target for someone who is no marketer
    target.period_invalid       422  a period before 2000 or past 9998
    target.duplicate            422  the same period, subject and metric twice in one request
    target.not_found            404  ``DELETE`` of a target unknown or out of sight (alike)

``PUT /targets`` is all or nothing: the first refused item (``index``) refuses them all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select
from sqlmodel import Session

from app.models import LoanEvent, MarketingLog, Outlet, Prospect, User
from app.models.ids import new_id, utcnow
from app.models.loan import LoanEventState, LoanStatus, ProfitShare, ShareParty
from app.models.target import (
    Target,
    TargetMetric,
    TargetOut,
    TargetsIn,
    TargetsOut,
    TargetsSetOut,
    TargetSubject,
)
from app.server.errors import StoreError
from app.server.scope import Scope, scope_of
from app.services.performance import Period, named_period, period_name, utc_range
from app.services.policy import NO_SUBJECT, TargetFacts, decide_target, sees_target
from app.services.targets import progress

STATUS_OF = {
    "auth.forbidden": 403,
    "target.not_yours.outlet": 403,
    "target.not_yours.marketer": 403,
    "target.subject_not_found": 404,
    "target.not_marketer": 422,
    "target.duplicate": 422,
}
_t = Target.__table__  # type: ignore[attr-defined]
_o = Outlet.__table__  # type: ignore[attr-defined]
_u = User.__table__  # type: ignore[attr-defined]
_p = Prospect.__table__  # type: ignore[attr-defined]
_l = MarketingLog.__table__  # type: ignore[attr-defined]
_le = LoanEvent.__table__  # type: ignore[attr-defined]
_ps = ProfitShare.__table__  # type: ignore[attr-defined]
_IN = 1000  # ids per IN (...) list
Key = tuple[str, str]  # (subject, subject id)


@dataclass(frozen=True)
class Subject:
    """A target's subject as the store knows it: the facts policy judges, and its names."""

    facts: TargetFacts
    name: str = ""
    code: str = ""


UNKNOWN = Subject(NO_SUBJECT)


def period_dates(name: str) -> tuple[date, date]:
    """The named period's first and last Beijing dates; 422 ``target.period_invalid``."""
    try:
        return named_period(name)
    except ValueError as exc:
        raise StoreError("target.period_invalid", 422, period=name[:16]) from exc


def subjects(session: Session, keys: Iterable[Key]) -> dict[Key, Subject]:
    """What the store knows of each (subject, id); unknown ones are left out."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for kind, subject_id in keys:
        wanted[kind].add(subject_id)
    out: dict[Key, Subject] = {}
    for chunk in _chunks(wanted.get(TargetSubject.OUTLET, set())):
        for r in session.execute(select(_o.c.id, _o.c.code, _o.c.name).where(_o.c.id.in_(chunk))):
            facts = TargetFacts(TargetSubject.OUTLET, r.id, r.id)
            out[(TargetSubject.OUTLET, r.id)] = Subject(facts, r.name, r.code)
    for chunk in _chunks(wanted.get(TargetSubject.MARKETER, set())):
        stmt = select(
            _u.c.id, _u.c.role, _u.c.outlet_id, _u.c.active, _u.c.name, _u.c.employee_no
        ).where(_u.c.id.in_(chunk))
        for r in session.execute(stmt):
            facts = TargetFacts(TargetSubject.MARKETER, r.id, r.outlet_id, r.role, bool(r.active))
            out[(TargetSubject.MARKETER, r.id)] = Subject(facts, r.name, r.employee_no)
    return out


def _chunks(ids: Iterable[str]) -> Iterable[list[str]]:
    items = sorted(ids)
    for start in range(0, len(items), _IN):
        yield items[start : start + _IN]


def _refuse(code: str, index: int | None = None) -> StoreError:
    """A refusal as the API answers it; an item of a request names its place (``index``)."""
    error = StoreError(code, STATUS_OF.get(code, 403))
    if index is not None:
        error.extra = {"index": index}
    return error


# -- writes ------------------------------------------------------------------------------


def set_targets(
    session: Session, user: User, body: TargetsIn, now: datetime | None = None
) -> TargetsSetOut:
    """Set each target of ``body`` (replacing the one of the same period, subject and
    metric), inside ``write_session``; all of them or none (the module's refusals)."""
    scope = scope_of(session, user)
    seen: set[tuple[str, str, str, str]] = set()
    for i, item in enumerate(body.targets):
        key = (item.period, item.subject.value, item.subject_id, item.metric.value)
        if key in seen:
            raise _refuse("target.duplicate", i)
        seen.add(key)
        try:
            period_dates(item.period)
        except StoreError as exc:
            exc.extra = {"index": i}
            raise
    known = subjects(session, ((t.subject.value, t.subject_id) for t in body.targets))
    for i, item in enumerate(body.targets):
        subject = known.get((item.subject.value, item.subject_id), UNKNOWN)
        decision = decide_target(scope, subject.facts)
        if not decision:
            raise _refuse(decision.code, i)
    now = now or utcnow()
    existing = _existing(session, seen)
    saved = []
    for item in body.targets:
        key = (item.period, item.subject.value, item.subject_id, item.metric.value)
        row = existing.get(key)
        if row is None:
            row = Target(
                id=new_id(),
                period=item.period,
                subject=item.subject.value,
                subject_id=item.subject_id,
                metric=item.metric.value,
                value=item.value,
                set_by=user.id,
                set_at=now,
            )
            session.add(row)
        else:
            row.value, row.set_by, row.set_at = item.value, user.id, now
        saved.append(row)
    session.flush()
    return TargetsSetOut(targets=with_progress(session, saved, known))


def _existing(session: Session, keys: set[tuple[str, str, str, str]]) -> dict[tuple, Target]:
    ids = {k[2] for k in keys}
    out: dict[tuple, Target] = {}
    for chunk in _chunks(ids):
        for row in session.execute(select(Target).where(_t.c.subject_id.in_(chunk))).scalars():
            key = (row.period, row.subject, row.subject_id, row.metric)
            if key in keys:
                out[key] = row
    return out


def delete_target(session: Session, user: User, target_id: str) -> None:
    """Remove a target, if the caller may set it (a departed marketer's too); 404
    ``target.not_found`` for one unknown or out of the caller's sight."""
    scope = scope_of(session, user)
    row = session.get(Target, target_id)
    if row is None:
        raise StoreError("target.not_found", 404)
    subject = subjects(session, [(row.subject, row.subject_id)]).get(
        (row.subject, row.subject_id), UNKNOWN
    )
    if not sees_target(scope, subject.facts):
        raise StoreError("target.not_found", 404)
    decision = decide_target(scope, replace(subject.facts, active=True))
    if not decision:
        raise _refuse(decision.code)
    session.execute(delete(_t).where(_t.c.id == target_id))


# -- reads -------------------------------------------------------------------------------


def list_targets(session: Session, user: User, period: str) -> TargetsOut:
    """The targets of ``period`` the caller may see, each with its progress."""
    start, end = period_dates(period)
    scope = scope_of(session, user)
    rows = list(session.execute(select(Target).where(_t.c.period == period)).scalars())
    return TargetsOut(period=period, start=start, end=end, targets=visible(session, scope, rows))


def visible(session: Session, scope: Scope, rows: Sequence[Target]) -> list[TargetOut]:
    """``rows`` the scope may see, with progress, outlets' first then marketers', by code."""
    known = subjects(session, ((r.subject, r.subject_id) for r in rows))
    shown = [
        r for r in rows if sees_target(scope, known.get((r.subject, r.subject_id), UNKNOWN).facts)
    ]
    out = with_progress(session, shown, known)
    order = {TargetSubject.OUTLET: 0, TargetSubject.MARKETER: 1}
    metrics = list(TargetMetric)
    out.sort(
        key=lambda t: (
            t.period,
            order[t.subject],
            t.subject_code,
            t.subject_id,
            metrics.index(t.metric),
        )
    )
    return out


def with_progress(
    session: Session, rows: Sequence[Target], known: dict[Key, Subject]
) -> list[TargetOut]:
    """Each target with the actual figure of its period and its progress."""
    by_period: dict[str, list[Target]] = defaultdict(list)
    for row in rows:
        by_period[row.period].append(row)
    actual: dict[tuple[str, str, str, str], int] = {}
    for period, group in by_period.items():
        start, end = period_dates(period)
        marketers = {r.subject_id for r in group if r.subject == TargetSubject.MARKETER}
        outlets = {r.subject_id for r in group if r.subject == TargetSubject.OUTLET}
        for (kind, sid, metric), n in actuals(session, start, end, marketers, outlets).items():
            actual[(period, kind, sid, metric)] = n
    out = []
    for row in rows:
        subject = known.get((row.subject, row.subject_id), UNKNOWN)
        n = actual.get((row.period, row.subject, row.subject_id, row.metric), 0)
        out.append(
            TargetOut(
                id=row.id,
                period=row.period,
                subject=TargetSubject(row.subject),
                subject_id=row.subject_id,
                subject_name=subject.name,
                subject_code=subject.code,
                outlet_id=subject.facts.outlet_id,
                metric=TargetMetric(row.metric),
                value=row.value,
                actual=n,
                progress=progress(n, row.value),
                set_by=row.set_by,
                set_at=row.set_at,
            )
        )
    return out


def actuals(
    session: Session, start: date, end: date, marketers: set[str], outlets: set[str]
) -> dict[tuple[str, str, str], int]:
    """{(subject, id, metric): actual} over Beijing dates ``start``..``end`` for the named
    marketers and outlets (``app.services.targets`` defines each figure)."""
    lo, hi = utc_range(start, end)
    out: dict[tuple[str, str, str], int] = {}
    disbursed = and_(
        _le.c.status == LoanStatus.DISBURSED.value,
        _le.c.state.in_([LoanEventState.APPLIED.value, LoanEventState.RECORDED.value]),
        _le.c.occurred_on >= start,
        _le.c.occurred_on <= end,
    )
    contacts = and_(_l.c.occurred_at >= lo, _l.c.occurred_at < hi)
    for chunk in _chunks(marketers):
        stmt = (
            select(_l.c.author_id, func.count())
            .where(_l.c.author_id.in_(chunk), contacts)
            .group_by(_l.c.author_id)
        )
        for sid, n in session.execute(stmt):
            out[(TargetSubject.MARKETER, sid, TargetMetric.CONTACTS)] = int(n)
        credited = (
            select(_ps.c.loan_event_id, _ps.c.user_id)
            .where(_ps.c.party == ShareParty.MARKETER.value, _ps.c.user_id.in_(chunk))
            .distinct()
            .subquery()
        )
        stmt = (
            select(credited.c.user_id, func.count(), func.coalesce(func.sum(_le.c.amount), 0))
            .select_from(_le.join(credited, credited.c.loan_event_id == _le.c.id))
            .where(disbursed)
            .group_by(credited.c.user_id)
        )
        for sid, n, amount in session.execute(stmt):
            out[(TargetSubject.MARKETER, sid, TargetMetric.DISBURSED_COUNT)] = int(n)
            out[(TargetSubject.MARKETER, sid, TargetMetric.DISBURSED_AMOUNT)] = int(amount)
    for chunk in _chunks(outlets):
        stmt = (
            select(_p.c.outlet_id, func.count())
            .select_from(_l.join(_p, _p.c.id == _l.c.prospect_id))
            .where(_p.c.outlet_id.in_(chunk), contacts)
            .group_by(_p.c.outlet_id)
        )
        for sid, n in session.execute(stmt):
            out[(TargetSubject.OUTLET, sid, TargetMetric.CONTACTS)] = int(n)
        stmt = (
            select(_le.c.booking_outlet_id, func.count(), func.coalesce(func.sum(_le.c.amount), 0))
            .where(_le.c.booking_outlet_id.in_(chunk), disbursed)
            .group_by(_le.c.booking_outlet_id)
        )
        for sid, n, amount in session.execute(stmt):
            out[(TargetSubject.OUTLET, sid, TargetMetric.DISBURSED_COUNT)] = int(n)
            out[(TargetSubject.OUTLET, sid, TargetMetric.DISBURSED_AMOUNT)] = int(amount)
    return out


def device_targets(session: Session, user: User, today: date) -> list[dict[str, Any]]:
    """The user's own targets and their outlet's, for the month and the quarter containing
    ``today``, with the actual figures: what ``/stats/ranks`` carries to the device."""
    periods = [period_name(p, today) for p in (Period.MONTH, Period.QUARTER)]
    whose = [and_(_t.c.subject == TargetSubject.MARKETER.value, _t.c.subject_id == user.id)]
    if user.outlet_id:
        whose.append(
            and_(_t.c.subject == TargetSubject.OUTLET.value, _t.c.subject_id == user.outlet_id)
        )
    stmt = select(Target).where(_t.c.period.in_(periods), or_(*whose))
    rows = list(session.execute(stmt).scalars())
    if not rows:
        return []
    known = subjects(session, ((r.subject, r.subject_id) for r in rows))
    return [
        {
            "id": t.id,
            "period": t.period,
            "subject": t.subject.value,
            "subject_id": t.subject_id,
            "metric": t.metric.value,
            "value": t.value,
            "actual": t.actual,
        }
        for t in with_progress(session, rows, known)
    ]

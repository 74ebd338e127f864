"""Marketing targets (营销任务, 管理 → 营销任务): set, see with progress, remove.

Who sets which is the policy's (``app.services.policy.decide_target``): an admin sets
outlets' targets, an outlet manager its marketers', a sub-branch manager both for its
outlets. The screen lists the subjects the device holds (the outlets, or the marketers, in
the user's reach, as of the last sync) with this month's or this quarter's targets as the
central store counts them now (``GET /targets``: actual, progress), plus any target in
sight whose subject the device does not list (a marketer who has left), so it can be
removed.

A subject's three figures are typed at once and saved at once (``PUT /targets``, all or
nothing). Each is checked here first and a bad one said in words beside its field:
nothing is sent while one is wrong. The amount is typed in 万元 (as the bank writes
targets) and stored in 元: "12.5" is 125,000 元; up to four decimals (to the yuan).

Online only: nothing here is kept on the device. A failure lands in ``error_code`` /
``error_message`` in words; a done save or removal says so in ``notice``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

import flet as ft
from sqlalchemy import Connection

from app.i18n import Msg
from app.models.ids import utcnow
from app.models.target import TARGET_VALUE_MAX, TargetIn, TargetMetric, TargetOut, TargetSubject
from app.models.user import Role
from app.queries.outlets import marketers_with_numbers, outlets_with_codes
from app.services.clock import beijing_today
from app.services.performance import Period, period_name
from app.services.policy import SETS_TARGETS
from app.workbench.online import OnlineCalls

if TYPE_CHECKING:
    from app.workbench.workbench import Workbench

PERIODS = (Period.MONTH.value, Period.QUARTER.value)
METRICS = tuple(m.value for m in TargetMetric)
AMOUNT = TargetMetric.DISBURSED_AMOUNT.value
WAN = 10_000  # 元 in a 万元
COUNT_MAX = 1_000_000  # contacts or loans in a period: far above any outlet's quarter
AMOUNT_MAX = TARGET_VALUE_MAX  # 元 (1,000,000 万元), the store's own limit
_AMOUNT_UNITS = ("万元", "万")  # typed after an amount, as people write it


def levels(role: str | None) -> tuple[str, ...]:
    """The kinds of subject ``role`` sets targets for, outlets first (the policy's)."""
    return tuple(kind.value for kind in TargetSubject if role in SETS_TARGETS[kind])


def may_set_targets(role: str | None) -> bool:
    return bool(levels(role))


def parse_value(metric: str, text: str) -> tuple[int | None, str]:
    """A target as typed: (value, "") — the amount in 元 — or (None, a problem's i18n
    code); nothing typed is (None, ""). Full-width digits and thousands separators are
    read as people type them; an amount may end in 万元."""
    raw = unicodedata.normalize("NFKC", text).strip().replace(",", "").replace(" ", "")
    if metric == AMOUNT:
        for unit in _AMOUNT_UNITS:
            raw = raw.removesuffix(unit)
    if not raw:
        return None, ""
    try:
        number = Decimal(raw)
    except InvalidOperation:
        return None, "targets.problem.not_a_number"
    if not number.is_finite():
        return None, "targets.problem.not_a_number"
    if number < 0:
        return None, "targets.problem.negative"
    if metric == AMOUNT:  # compared as typed: "1e999999999" must not be multiplied out
        limit, too_large = Decimal(AMOUNT_MAX) / WAN, "targets.problem.too_large_amount"
    else:
        limit, too_large = Decimal(COUNT_MAX), "targets.problem.too_large"
    if number > limit:
        return None, too_large
    if metric == AMOUNT:
        number, fraction = number * WAN, "targets.problem.precision"
    else:
        fraction = "targets.problem.whole"
    if number != number.to_integral_value():
        return None, fraction
    return int(number), ""


def typed(metric: str, value: int) -> str:
    """A stored target as the field shows it: an amount in 万元 ("12.5"), else the count."""
    if metric != AMOUNT:
        return str(value)
    text = format(Decimal(value) / WAN, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True)
class TargetRow:
    """An outlet or a marketer, and its targets of the period (metric → target)."""

    subject: str  # a TargetSubject value
    subject_id: str
    name: str
    code: str  # the outlet's code, or the marketer's employee number
    place: str = ""  # a marketer's outlet, when the user reaches several
    targets: Mapping[str, TargetOut] = field(default_factory=dict)


@ft.observable
@dataclass
class TargetsState:
    period: str = Period.MONTH.value
    level: str = ""  # a TargetSubject value; "" until the first load picks the role's first
    period_name: str = ""  # "2026-12", "2026-Q4"
    start: date | None = None  # the period's first and last Beijing dates
    end: date | None = None
    rows: list[TargetRow] = field(default_factory=list)
    as_of: datetime | None = None  # when the store counted the progress shown (UTC)
    loaded: bool = False
    busy: str = ""  # "load" | "save" | "delete" | "download" | ""
    error_code: str = ""
    error_message: str = ""
    notice: str = ""  # an i18n key: what was just done
    notice_params: dict[str, object] = field(default_factory=dict)
    editing: str | None = None  # the subject whose fields are open
    drafts: dict[str, str] = field(default_factory=dict)  # metric → as typed
    problems: dict[str, str] = field(default_factory=dict)  # metric → i18n code
    deleting: str | None = None  # the target whose removal waits for a confirmation
    saved: str = ""  # where the last download went ("" on the web: the browser's)


class TargetsController(OnlineCalls):
    def __init__(self, workbench: Workbench) -> None:
        self.workbench = workbench
        self.state = TargetsState()

    def clear(self) -> None:
        """Signed out: nothing of the last user's targets stays (the state object is kept:
        the screens hold it)."""
        fresh = TargetsState()
        for name in TargetsState.__dataclass_fields__:
            setattr(self.state, name, getattr(fresh, name))

    # -- what the screen offers ----------------------------------------------------------

    def levels(self) -> tuple[str, ...]:
        session = self.workbench.session
        return levels(session.role if session else None)

    def level(self) -> str:
        """The kind of subject shown: the one picked, else the role's first."""
        offered = self.levels()
        if self.state.level in offered:
            return self.state.level
        return offered[0] if offered else TargetSubject.MARKETER.value

    def period_names(self) -> tuple[str, ...]:
        """This month's and this quarter's names ("2026-12", "2026-Q4"), as PERIODS."""
        today = beijing_today()
        return tuple(period_name(p, today) for p in PERIODS)

    def row(self, subject_id: str) -> TargetRow | None:
        return next((r for r in self.state.rows if r.subject_id == subject_id), None)

    def target(self, target_id: str) -> tuple[TargetRow, TargetOut] | None:
        for r in self.state.rows:
            for goal in r.targets.values():
                if goal.id == target_id:
                    return r, goal
        return None

    # -- reading -------------------------------------------------------------------------

    async def load(self) -> None:
        """The subjects in reach and the period's targets with their progress, now."""
        s = self.state
        s.level = self.level()
        name = period_name(s.period, beijing_today())
        subjects = await self.workbench.read(self._subjects(s.level))
        found = await self._call("load", self.workbench.client.targets, name)
        if found is None:
            return
        s.period_name, s.start, s.end = found.period, found.start, found.end
        s.rows = _rows(subjects, [g for g in found.targets if g.subject == s.level])
        s.as_of, s.loaded = utcnow(), True

    def _subjects(self, level: str) -> Callable[[Connection], list[TargetRow]]:
        """A device read of the outlets or marketers the user may set targets for."""
        me = self.workbench.scope
        reach = None if me.role == Role.ADMIN else me.outlets
        label = self.workbench.outlet_label
        several = len(me.outlets) > 1

        def read(conn: Connection) -> list[TargetRow]:
            if level == TargetSubject.OUTLET:
                return [
                    TargetRow(TargetSubject.OUTLET.value, oid, name, code)
                    for oid, code, name in outlets_with_codes(conn, reach)
                ]
            return [
                TargetRow(
                    TargetSubject.MARKETER.value, uid, name, no, label(oid) if several else ""
                )
                for uid, name, no, oid in marketers_with_numbers(conn, reach)
            ]

        return read

    async def choose(self, *, period: str | None = None, level: str | None = None) -> None:
        """Another period (PERIODS) or kind of subject (``levels()``); read again."""
        s = self.state
        if period is not None:
            if period not in PERIODS:
                raise ValueError(f"period={period!r}")
            s.period = period
        if level is not None:
            if level not in self.levels():
                raise ValueError(f"level={level!r}")
            s.level = level
        s.editing, s.deleting, s.notice = None, None, ""
        await self.load()

    # -- setting -------------------------------------------------------------------------

    def edit(self, subject_id: str) -> None:
        """Open a subject's fields, filled with its targets as they stand."""
        s = self.state
        row = self.row(subject_id)
        if row is None:
            return
        s.editing, s.problems, s.notice = subject_id, {}, ""
        s.drafts = {m: typed(m, row.targets[m].value) if m in row.targets else "" for m in METRICS}
        self._clear_error()

    def cancel_edit(self) -> None:
        s = self.state
        s.editing, s.drafts, s.problems = None, {}, {}
        self._clear_error()

    def type(self, metric: str, text: str) -> None:
        """A field changed: what is wrong with it, said at once."""
        s = self.state
        s.drafts = {**s.drafts, metric: text}
        problems = {k: v for k, v in s.problems.items() if k != metric}
        problem = self._problem(metric, text)
        if problem:
            problems[metric] = problem
        s.problems = problems

    def _problem(self, metric: str, text: str) -> str:
        value, problem = parse_value(metric, text)
        row = self.row(self.state.editing or "")
        if not problem and value is None and row is not None and metric in row.targets:
            return "targets.problem.cleared"  # removing is 删除's, said and confirmed
        return problem

    async def save(self) -> bool:
        """Send the open subject's targets that changed, all at once; False when nothing
        was stored (a field wrong, said beside it; or the store's refusal, in words)."""
        s = self.state
        row = self.row(s.editing or "")
        if row is None:
            return False
        problems = {}
        items: list[TargetIn] = []
        for metric in METRICS:
            text = s.drafts.get(metric, "")
            problem = self._problem(metric, text)
            if problem:
                problems[metric] = problem
                continue
            value, _ = parse_value(metric, text)
            held = row.targets.get(metric)
            if value is not None and (held is None or held.value != value):
                items.append(
                    TargetIn(
                        period=s.period_name,
                        subject=TargetSubject(row.subject),
                        subject_id=row.subject_id,
                        metric=TargetMetric(metric),
                        value=value,
                    )
                )
        s.problems = problems
        if problems:
            self._fail("targets.problems")
            return False
        if not items:
            s.editing, s.drafts = None, {}
            self._say("targets.unchanged")
            return True
        found = await self._call("save", self.workbench.client.set_targets, items)
        if found is None:
            return False
        self._merge(row.subject_id, {g.metric.value: g for g in found.targets})
        s.editing, s.drafts, s.as_of = None, {}, utcnow()
        self._say("targets.saved", name=row.name)
        return True

    # -- removing ------------------------------------------------------------------------

    def ask_delete(self, target_id: str) -> None:
        if self.target(target_id) is not None:
            self.state.deleting, self.state.notice = target_id, ""
            self._clear_error()

    def cancel_delete(self) -> None:
        self.state.deleting = None

    async def delete(self) -> bool:
        """Remove the target waiting for its confirmation."""
        s = self.state
        found = self.target(s.deleting or "")
        s.deleting = None
        if found is None:
            return False
        row, goal = found
        if await self._call("delete", self._delete, goal.id) is None:
            return False
        left = {m: g for m, g in row.targets.items() if g.id != goal.id}
        self._merge(row.subject_id, left, replace=True)
        if s.editing == row.subject_id:
            s.drafts = {**s.drafts, goal.metric.value: ""}
            s.problems = {k: v for k, v in s.problems.items() if k != goal.metric.value}
        self._say("targets.deleted", name=row.name, metric=Msg(f"target.metric.{goal.metric}"))
        return True

    def _delete(self, target_id: str) -> bool:
        self.workbench.client.delete_target(target_id)
        return True

    # -- the workbook --------------------------------------------------------------------

    async def download(self) -> tuple[str, bytes] | None:
        """The period's targets workbook (every target in sight): its name and bytes."""
        client = self.workbench.client
        lang = self.workbench.state.lang
        name = self.state.period_name or period_name(self.state.period, beijing_today())
        fn = lambda: client.export("targets", period=name, lang=lang)  # noqa: E731
        return await self._call("download", fn)

    def saved(self, path: str | None) -> None:
        self.state.saved = path or ""

    # -- helpers -------------------------------------------------------------------------

    def _merge(
        self, subject_id: str, targets: Mapping[str, TargetOut], replace: bool = False
    ) -> None:
        s = self.state
        rows = []
        for r in s.rows:
            if r.subject_id == subject_id:
                merged = dict(targets) if replace else {**r.targets, **targets}
                r = TargetRow(r.subject, r.subject_id, r.name, r.code, r.place, merged)
            rows.append(r)
        s.rows = rows

    def _say(self, notice: str, **params: object) -> None:
        self.state.notice, self.state.notice_params = notice, dict(params)


def _rows(subjects: list[TargetRow], targets: list[TargetOut]) -> list[TargetRow]:
    """The subjects the device lists, each with its targets, then any subject with a target
    that the device does not list (by code)."""
    by_subject: dict[str, dict[str, TargetOut]] = {}
    for goal in targets:
        by_subject.setdefault(goal.subject_id, {})[goal.metric.value] = goal
    rows = [
        TargetRow(
            r.subject, r.subject_id, r.name, r.code, r.place, by_subject.pop(r.subject_id, {})
        )
        for r in subjects
    ]
    extra = sorted(by_subject.items(), key=lambda kv: next(iter(kv[1].values())).subject_code)
    for subject_id, goals in extra:
        first = next(iter(goals.values()))
        rows.append(
            TargetRow(
                first.subject.value, subject_id, first.subject_name, first.subject_code, "", goals
            )
        )
    return rows

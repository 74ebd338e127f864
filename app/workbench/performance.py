"""Performance: mine, or my outlet's with each marketer; week, month or quarter."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

import flet as ft
from sqlalchemy import Connection

from app.models.target import TargetSubject
from app.queries import performance as reports
from app.services import performance as perf
from app.services import targets as goals
from app.services.clock import beijing_today
from app.sync.state import StateKey
from app.sync.store import DeviceStore
from app.workbench.reads import LatestRead

if TYPE_CHECKING:
    from app.workbench.workbench import Workbench

PERIODS = tuple(p.value for p in perf.Period)
MINE, OUTLET = "mine", "outlet"


@ft.observable
@dataclass
class PerformanceState:
    period: str = perf.Period.MONTH.value
    subject: str = ""  # MINE or OUTLET; "" until the first load picks the user's default
    outlet: str = ""  # the outlet OUTLET shows, of a sub-branch manager's; "" = the user's own
    report: perf.PerformanceReport | None = None
    breakdown: list[perf.MarketerRow] = field(default_factory=list)  # the outlet's marketers
    ranked_at: datetime | None = None  # when the central store ranked the branch (UTC)
    rank_pending: bool = False  # the store had not ranked the branch yet at the last sync
    # The outlet on a device that holds only part of it (a marketer's): the report holds
    # the central store's figures alone (no funnel, trend or coverage), or is None when
    # the store has sent none yet; the view says so rather than show the device's part.
    from_store: bool = False
    # The shown subject's targets (营销任务) of this month and quarter with their progress,
    # as the central store counted them at the last sync (none from an older store).
    targets: list[goals.TargetProgress] = field(default_factory=list)
    targets_as_of: datetime | None = None  # when the store counted them: fetched (UTC)


@dataclass(frozen=True)
class _Read:
    report: perf.PerformanceReport | None
    breakdown: list[perf.MarketerRow]
    ranked_at: datetime | None
    from_store: bool = False
    rank_pending: bool = False
    targets: list[goals.TargetProgress] = field(default_factory=list)
    targets_as_of: datetime | None = None


class PerformanceController:
    def __init__(self, workbench: Workbench) -> None:
        self.workbench = workbench
        self.state = PerformanceState()
        self._reads = LatestRead()

    def reset(self) -> None:
        """A new session: its own default subject (a manager's outlet), nothing shown yet."""
        s = self.state
        s.subject, s.report, s.breakdown, s.ranked_at, s.from_store = "", None, [], None, False
        s.rank_pending = False
        s.targets, s.targets_as_of = [], None

    def subjects(self) -> tuple[str, ...]:
        """Whose figures the user may pick: their own, and their outlet's when they have one."""
        session = self.workbench.session
        return (MINE, OUTLET) if session and session.outlet_id else (MINE,)

    def subject(self) -> str:
        """Whose figures show: the one picked, else the user's default (a manager looks
        after the outlet; a marketer, their own prospects first)."""
        subjects = self.subjects()
        if self.state.subject in subjects:
            return self.state.subject
        session = self.workbench.session
        manager = session is not None and perf.holds_outlet(session.role)
        return OUTLET if manager and OUTLET in subjects else MINE

    def outlets(self) -> list[tuple[str, str]]:
        """(id, label) of the outlets whose figures a sub-branch manager may pick (its
        device holds them all); [] when there is one outlet to show."""
        reach = self.workbench.reach_outlets()
        return reach if len(reach) > 1 else []

    def outlet(self) -> str | None:
        """The outlet OUTLET shows: the one picked among the user's, else their own."""
        picked = self.state.outlet
        if picked and any(oid == picked for oid, _ in self.outlets()):
            return picked
        session = self.workbench.session
        return session.outlet_id if session else None

    async def pick(
        self, *, period: str | None = None, subject: str | None = None, outlet: str | None = None
    ) -> None:
        if period in PERIODS:
            self.state.period = period
        if subject in self.subjects():
            self.state.subject = subject
        if outlet is not None and any(oid == outlet for oid, _ in self.outlets()):
            self.state.outlet, self.state.subject = outlet, OUTLET
        await self.load()

    async def load(self) -> None:
        me = self.workbench.scope
        self.state.subject = self.subject()
        period = perf.Period(self.state.period)
        outlet = self.outlet() if self.state.subject == OUTLET else None
        today = beijing_today()

        def read(conn: Connection) -> _Read:
            raw = DeviceStore.get(conn, StateKey.BRANCH_RANKS)
            stored = json.loads(raw) if raw else {}
            found = figures(conn, stored)
            # the shown subject's targets, as the central store counted them at the last sync
            whose = (
                (TargetSubject.OUTLET, outlet) if outlet else (TargetSubject.MARKETER, me.user_id)
            )
            shown = [
                t for t in goals.stored_targets(stored, today) if (t.subject, t.subject_id) == whose
            ]
            # counted by the store when the device fetched them (the ranks' as_of may be
            # older: the store keeps its ranking a while; targets are counted per request)
            fetched = stored.get("fetched_at")
            when = datetime.fromisoformat(str(fetched)) if fetched and shown else None
            # the store answered but had not ranked yet (just made): say so, not nothing
            pending = stored.get("ranked") is False and perf.ranks_from_store(me.role)
            return replace(
                with_shares(found, stored), targets=shown, targets_as_of=when, rank_pending=pending
            )

        def with_shares(found: _Read, stored: dict[str, object]) -> _Read:
            """分润 from the store's last answer: the subject's, and each marketer's."""
            if found.report is None:
                return found
            who = {"outlet_id": outlet} if outlet else {"user_id": me.user_id}
            shares = perf.stored_shares(stored, period, today, **who)
            rows = [
                replace(r, shares=perf.stored_shares(stored, period, today, user_id=r.user_id))
                for r in found.breakdown
            ]
            return replace(found, report=replace(found.report, shares=shares), breakdown=rows)

        def figures(conn: Connection, stored: dict[str, object]) -> _Read:
            if outlet and not perf.holds_outlet(me.role):
                as_of = stored.get("as_of")
                summary = perf.outlet_from_store(stored, period, today, outlet)
                when = datetime.fromisoformat(str(as_of)) if as_of and summary else None
                return _Read(summary, [], when, from_store=True)
            if outlet:
                report = reports.outlet_report(conn, outlet, period, today)
                rows = reports.marketer_breakdown(conn, outlet, period, today)
                who = {"outlet_id": outlet}
            else:
                report = reports.marketer_report(conn, me.user_id, period, today)
                rows, who = [], {"user_id": me.user_id}
            if not perf.ranks_from_store(me.role):
                return _Read(report, rows, None)
            report = perf.with_stored_rank(report, stored, period, today, **who)
            as_of = stored.get("as_of")
            return _Read(report, rows, datetime.fromisoformat(str(as_of)) if as_of else None)

        ticket = self._reads.begin()
        found = await self.workbench.read(read)
        if not self._reads.is_latest(ticket):
            return
        s = self.state
        s.report, s.breakdown, s.ranked_at = found.report, found.breakdown, found.ranked_at
        s.from_store, s.targets = found.from_store, found.targets
        s.rank_pending = found.rank_pending
        s.targets_as_of = found.targets_as_of

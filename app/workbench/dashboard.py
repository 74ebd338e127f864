"""The dashboard (管理 → 看板) of a sub-branch, the head office or an outlet: answered by
the central store from its rollups (``GET /dashboards/overview``, ``/participation``,
``/batches``), never from a copy of the whole branch on the device (DESIGN §8).

For this month or quarter: the funnel, contacts and disbursements over the user's reach;
participation (簿记 / 营销 / 发起) of outlets and staff with the coverage of 普惠 loan
customers, by outlet, sub-branch or tier; and each batch's coverage within the windows
and its conversion to disbursed. Online only; the three answers are asked one after
the other off the UI thread, and shown together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import flet as ft

from app.models.dashboard import BatchFiguresOut, GroupBy, OverviewOut, ParticipationOut
from app.services.performance import Period
from app.workbench.online import OnlineCalls

if TYPE_CHECKING:
    from app.workbench.workbench import Workbench

PERIODS = (Period.MONTH.value, Period.QUARTER.value)
GROUPS = (GroupBy.SUBBRANCH.value, GroupBy.TIER.value, GroupBy.OUTLET.value)


@ft.observable
@dataclass
class DashboardState:
    period: str = Period.MONTH.value
    by: str = GroupBy.SUBBRANCH.value
    overview: OverviewOut | None = None
    participation: ParticipationOut | None = None
    batches: BatchFiguresOut | None = None
    busy: str = ""  # "load" | ""
    error_code: str = ""
    error_message: str = ""

    @property
    def as_of(self) -> datetime | None:
        return self.overview.as_of if self.overview is not None else None


class DashboardController(OnlineCalls):
    def __init__(self, workbench: Workbench) -> None:
        self.workbench = workbench
        self.state = DashboardState()

    def clear(self) -> None:
        fresh = DashboardState()
        for name in DashboardState.__dataclass_fields__:
            setattr(self.state, name, getattr(fresh, name))

    async def load(self) -> None:
        s = self.state
        client = self.workbench.client
        period, by = s.period, s.by

        def ask() -> tuple[OverviewOut, ParticipationOut, BatchFiguresOut]:
            return (
                client.overview(period),
                client.participation(period, by),
                client.batch_figures(),
            )

        found = await self._call("load", ask)
        if found is not None:
            s.overview, s.participation, s.batches = found

    async def choose(self, *, period: str | None = None, by: str | None = None) -> None:
        if period is not None:
            if period not in PERIODS:
                raise ValueError(f"period={period!r}")
            self.state.period = period
        if by is not None:
            if by not in GROUPS:
                raise ValueError(f"by={by!r}")
            self.state.by = by
        await self.load()

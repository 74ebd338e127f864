"""The league table (排行榜, 管理 → 排行榜), for outlet and sub-branch managers and admins.

Outlets or marketers ranked within the branch by one figure over this month or this
quarter, as the central store answers it (``GET /dashboards/league``: its rollups, with
the time they were made: ``as_of``); the rows the user's reach allows. The same table
downloads as an ``.xlsx`` (``GET /exports/league.xlsx``: both levels, ranked by amount).
Online only; nothing is kept on the device.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import flet as ft

from app.models.dashboard import LeagueLevel, LeagueMetric, LeagueRowOut
from app.services.clock import beijing_today
from app.services.performance import Period, period_name
from app.workbench.online import OnlineCalls

if TYPE_CHECKING:
    from app.workbench.workbench import Workbench

LEVELS = tuple(v.value for v in LeagueLevel)
METRICS = (
    LeagueMetric.DISBURSED_AMOUNT.value,
    LeagueMetric.DISBURSED_COUNT.value,
    LeagueMetric.CONTACTS.value,
    LeagueMetric.PARTICIPATION.value,
)
PERIODS = (Period.MONTH.value, Period.QUARTER.value)


@ft.observable
@dataclass
class LeagueState:
    level: str = LeagueLevel.OUTLET.value
    metric: str = LeagueMetric.DISBURSED_AMOUNT.value
    period: str = Period.MONTH.value
    rows: list[LeagueRowOut] = field(default_factory=list)
    ranked: int = 0  # how many the branch ranks
    as_of: datetime | None = None  # when the store's figures were made (UTC)
    loaded: bool = False
    busy: str = ""  # "load" | "download" | ""
    error_code: str = ""
    error_message: str = ""
    saved: str = ""  # where the last download went ("" on the web: the browser's)


class LeagueController(OnlineCalls):
    def __init__(self, workbench: Workbench) -> None:
        self.workbench = workbench
        self.state = LeagueState()

    def clear(self) -> None:
        fresh = LeagueState()
        for name in LeagueState.__dataclass_fields__:
            setattr(self.state, name, getattr(fresh, name))

    @property
    def period_name(self) -> str:
        """This month or quarter as reports name it: "2026-12", "2026-Q4"."""
        return period_name(self.state.period, beijing_today())

    async def load(self) -> None:
        s = self.state
        client = self.workbench.client
        found = await self._call("load", client.league, s.level, s.metric, s.period)
        if found is not None:
            s.rows, s.ranked, s.as_of, s.loaded = found.rows, found.ranked, found.as_of, True

    async def choose(self, **values: str) -> None:
        """A new level, figure or period (its valid values: LEVELS, METRICS, PERIODS)."""
        allowed = {"level": LEVELS, "metric": METRICS, "period": PERIODS}
        for name, value in values.items():
            if value not in allowed[name]:
                raise ValueError(f"{name}={value!r}")
            setattr(self.state, name, value)
        await self.load()

    async def download(self) -> tuple[str, bytes] | None:
        """The league workbook of the chosen period: its file name and bytes."""
        client = self.workbench.client
        lang = self.workbench.state.lang
        fn = lambda: client.export("league", period=self.period_name, lang=lang)  # noqa: E731
        return await self._call("download", fn)

    def saved(self, path: str | None) -> None:
        self.state.saved = path or ""

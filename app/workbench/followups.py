"""Follow-ups of the signed-in marketer: overdue, today, tomorrow, the next 7 days, later."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import flet as ft

from app.queries.followups import planned_followups
from app.services.clock import beijing_today
from app.services.followups import FollowUps

if TYPE_CHECKING:
    from app.workbench.workbench import Workbench


@ft.observable
@dataclass
class FollowupsState:
    due: FollowUps | None = None  # None until the first read lands


class FollowupsController:
    def __init__(self, workbench: Workbench) -> None:
        self.workbench = workbench
        self.state = FollowupsState()

    async def load(self) -> None:
        user_id, today = self.workbench.scope.user_id, beijing_today()
        self.state.due = await self.workbench.read(
            lambda conn: planned_followups(conn, user_id, today)
        )

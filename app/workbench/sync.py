"""The sync screen: progress, pending changes, and what the central store refused."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import flet as ft

from app.sync.outbox import Rejection, rejections

if TYPE_CHECKING:
    from app.workbench.workbench import Workbench


@ft.observable
@dataclass
class SyncScreenState:
    rejections: list[Rejection] = field(default_factory=list)


class SyncController:
    def __init__(self, workbench: Workbench) -> None:
        self.workbench = workbench
        self.state = SyncScreenState()

    async def load_rejections(self) -> None:
        self.state.rejections = await self.workbench.read(rejections)

"""The outlet manager's auto-assign (自动分配): a dialog's state and its one use case.

Auto-assign is an online call (the central store hands out the pool in one transaction:
a device could not, holding only its own scope); once the store answers, a sync brings
the outlet's new placements to this device, and the list shows them. Offline, or when
the store refuses (not a manager, an outlet out of reach), the dialog stays up and says
why.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

import flet as ft

from app.models.distribution import CAP_LIMIT, AssignRule, AutoAssignResult
from app.services.policy import ROLES, Action
from app.sync.errors import ServerUnavailable, SyncError, TransportError

if TYPE_CHECKING:
    from app.workbench.workbench import Workbench

RULES: tuple[AssignRule, ...] = (AssignRule.EVEN, AssignRule.NEAREST)


@ft.observable
@dataclass
class AutoAssignState:
    """The auto-assign dialog."""

    open: bool = False
    rule: str = AssignRule.EVEN
    cap_text: str = ""  # empty: no cap
    busy: bool = False  # the store is working on it
    problem: str = ""  # i18n code of why it did not happen (shown in the dialog)
    assigned: int = 0  # the last run: how many were handed out
    left: int = 0  # and how many stayed in the pool


def parse_cap(text: str) -> int | None:
    """The cap typed: None when empty; ``ValueError`` unless a whole number from 1."""
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= CAP_LIMIT:
        raise ValueError(text)
    return int(text)


class DistributionController:
    def __init__(self, workbench: Workbench) -> None:
        self.workbench = workbench
        self.state = AutoAssignState()

    @property
    def allowed(self) -> bool:
        """Whether the signed-in user may distribute (the policy's assigning roles)."""
        session = self.workbench.session
        return session is not None and session.role in ROLES[Action.ASSIGN]

    def show(self) -> None:
        s = self.state
        s.open, s.problem, s.busy = True, "", False

    def close(self) -> None:
        self.state.open = False

    def set_rule(self, rule: str) -> None:
        if rule in RULES:
            self.state.rule = rule

    def set_cap(self, text: str) -> None:
        self.state.cap_text = text
        self.state.problem = ""

    async def confirm(self) -> bool:
        """确定: auto-assign by the dialog's rule and cap."""
        s = self.state
        try:
            cap = parse_cap(s.cap_text)
        except ValueError:
            s.problem = "distribution.cap_invalid"
            return False
        return await self.auto_assign(s.rule, cap)

    async def auto_assign(
        self, rule: str, cap: int | None, *, outlet_id: str | None = None
    ) -> bool:
        """Hand the outlet's pool (default: the manager's own outlet) to its marketers, then
        sync so this device shows where each went; False, with the reason in the dialog,
        when it did not happen."""
        s = self.state
        session = self.workbench.session
        outlet = outlet_id or (session.outlet_id if session else None)
        if session is None or outlet is None or not self.allowed:
            s.problem = "auth.forbidden"
            return False
        s.busy, s.problem = True, ""
        try:
            result: AutoAssignResult = await asyncio.to_thread(
                self.workbench.client.auto_assign, outlet, AssignRule(rule), cap=cap
            )
        except (TransportError, ServerUnavailable):
            s.problem = "distribution.offline"
            return False
        except SyncError as exc:
            s.problem = exc.code
            return False
        finally:
            s.busy = False
        s.assigned, s.left = sum(result.assigned.values()), result.left
        s.open = False
        self.workbench.notify("distribution.done", count=s.assigned, left=s.left)
        await self.workbench.sync_in_background()  # the new placements onto this device
        return True

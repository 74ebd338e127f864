"""Field finds (外拓线索): a finder's list and add form, a manager's review queue.

A marketer lists their own finds (newest first) and adds one found on the street,
offline, with the device's own position fix (none: saved without one, as a log is). A
manager (outlet or sub-branch) reviews the outlet's: pending first, each approved or
sent back with a reason; a manager with an outlet may add finds too. The find and the
review are saved on the device and queued (``app.sync.local``); the store's verdict,
and an approved find's prospect, arrive with the next sync.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import flet as ft

from app.models.field_lead import LeadDecision
from app.queries.leads import held_leads
from app.services.leads import (
    INDUSTRIES,
    LeadRow,
    check_lead_input,
    credit_code_problem,
    in_review_order,
    newest_first,
)
from app.services.policy import ROLES, Action
from app.sync import local

if TYPE_CHECKING:
    from app.workbench.workbench import Workbench


@ft.observable
@dataclass
class LeadsState:
    rows: list[LeadRow] | None = None  # None until the first read lands
    reviews: bool = False  # the signed-in user reviews the outlet's finds
    proposes: bool = False  # ... and may add finds (has an outlet, a proposing role)
    # the reason picker open under one pending find (its id), and what it holds
    rejecting: str | None = None
    review_errors: dict[str, str] = field(default_factory=dict)
    # the company a refused duplicate names (the form's ``lead.duplicate_local``)
    duplicate_of: str = ""


class LeadsController:
    industries: tuple[str, ...] = INDUSTRIES

    def __init__(self, workbench: Workbench) -> None:
        self.workbench = workbench
        self.state = LeadsState()

    def clear(self) -> None:
        """Signed out: nothing of the last user's finds stays on screen."""
        self.state.rows = None
        self.state.rejecting = None

    async def load(self) -> None:
        scope = self.workbench.scope
        reviews = scope.role in ROLES[Action.REVIEW]
        self.state.reviews = reviews
        self.state.proposes = scope.role in ROLES[Action.PROPOSE] and scope.outlet_id is not None
        finder = None if reviews else scope.user_id
        rows = await self.workbench.read(lambda conn: held_leads(conn, finder_id=finder))
        self.state.rows = in_review_order(rows) if reviews else newest_first(rows)

    @staticmethod
    def credit_code_problem(value: str) -> str | None:
        """The live check under the credit code field: an i18n code, None when right (and
        nothing while the field is still short of 18 characters and has no bad one)."""
        typed = "".join(value.split())
        problem = credit_code_problem(value)
        if problem in {"validation.credit_code.length", "lead.error.credit_code_required"}:
            return None if len(typed) < 18 else problem
        return problem

    async def save(
        self, *, position: tuple[float, float] | None = None, **fields: str
    ) -> dict[str, str]:
        """Save a find on the device and queue it: ``fields`` are the form's (``LeadInput``'s
        names), ``position`` the device's fix. Returns the field errors (i18n codes), empty
        when saved; a duplicate names its company in ``state.duplicate_of``."""
        clean, problems = check_lead_input(**fields)
        if clean is None:
            return problems
        try:
            await asyncio.to_thread(
                local.record_lead,
                self.workbench.store,
                self.workbench.scope,
                **asdict(clean),
                position=position,
            )
        except local.LocalError as exc:
            self.state.duplicate_of = exc.params.get("company", "")
            field_name = "credit_code" if exc.code.startswith("lead.duplicate") else "form"
            return {field_name: exc.code}
        await self._changed("leads.saved")
        return {}

    def open_reject(self, lead_id: str | None) -> None:
        """Show (or, with None, hide) the reason picker under a pending find."""
        self.state.rejecting = lead_id
        self.state.review_errors = {}

    def corrected(self, field_name: str) -> None:
        """The reviewer changed ``field_name`` (reason, note): its error is gone."""
        if field_name in self.state.review_errors:
            errors = dict(self.state.review_errors)
            del errors[field_name]
            self.state.review_errors = errors

    async def approve(self, lead_id: str) -> None:
        await self._review(lead_id, LeadDecision.APPROVE, None, "", "leads.approved")

    async def reject(self, lead_id: str, reason: str | None, note: str) -> bool:
        """Send a find back; False (with ``state.review_errors``) when the reason is missing,
        or is "other" without a note."""
        if reason is None:
            self.state.review_errors = {"reason": "lead.reason_required"}
            return False
        return await self._review(lead_id, LeadDecision.REJECT, reason, note, "leads.rejected")

    async def _review(
        self, lead_id: str, decision: str, reason: str | None, note: str, notice: str
    ) -> bool:
        try:
            await asyncio.to_thread(
                local.record_review,
                self.workbench.store,
                self.workbench.scope,
                lead_id=lead_id,
                decision=decision,
                reason=reason,
                note=note,
            )
        except local.LocalError as exc:
            if exc.code == "lead.note_required":
                self.state.review_errors = {"note": exc.code}
            else:
                self.workbench.notify(exc.code)
            return False
        self.state.rejecting = None
        self.state.review_errors = {}
        await self._changed(notice)
        return True

    async def _changed(self, notice: str) -> None:
        """Saved on the device: count it as pending, reload, say so, and sync soon."""
        self.workbench.state.progress = await asyncio.to_thread(
            self.workbench.engine.snapshot_progress
        )
        await self.load()
        self.workbench.notify(notice)
        self.workbench.autosync.changed()

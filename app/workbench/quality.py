"""List quality beside each batch (名单质量, 管理 → 批次): head office learns which lists
were bad (双向传导).

Every batch card shows the batch's invalid and wrong-contact rates from the batch list
(``BatchOut.quality``; the definitions are ``app.services.quality``'s). Opened, it shows
the quality report (``GET /admin/batches/{id}/quality``: per outlet worst first, counts
per reason, the latest notes marketers wrote) and offers it as an ``.xlsx``.

An admin may withdraw the bad entries of a batch: the flagged ones are listed (closed
for a wrong contact, closed as invalid, or every closed one), the admin ticks those to
go and says why; after a confirmation naming how many, the store withdraws them
(``POST …/withdraw``) and every device drops them at its next sync (this one at once).

Online only. A failure lands in ``error_code`` / ``error_message`` in words; a done
withdrawal says so in ``notice``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import flet as ft

from app.models.quality import ClosedStatus, QualityEntryOut, QualityReportOut, ReasonFilter
from app.models.user import Role
from app.workbench.online import OnlineCalls

if TYPE_CHECKING:
    from app.workbench.workbench import Workbench

WRONG_CONTACT, INVALID, ALL = "wrong_contact", "invalid", "all"
FILTERS = (WRONG_CONTACT, INVALID, ALL)  # which flagged entries the withdrawal lists
ENTRIES_PAGE = 50


def may_withdraw(role: str | None) -> bool:
    """Withdrawing bad rows is head office's (the store answers 403 to anyone else)."""
    return role == Role.ADMIN


@ft.observable
@dataclass
class QualityState:
    reports: dict[str, QualityReportOut] = field(default_factory=dict)  # batch id → report
    batch_id: str | None = None  # the batch the last call was about (its card shows it)
    busy: str = ""  # "report" | "entries" | "withdraw" | "download" | ""
    error_code: str = ""
    error_message: str = ""
    notice: str = ""  # an i18n key: what was just done
    notice_params: dict[str, int] = field(default_factory=dict)
    saved: str = ""  # where the last download went ("" on the web: the browser's)
    # the withdrawal (admins)
    withdrawing: str | None = None  # the batch whose flagged entries are listed
    filter: str = WRONG_CONTACT
    entries: list[QualityEntryOut] = field(default_factory=list)
    total: int = 0  # flagged entries of the filter (the list may hold fewer: paged)
    selected: list[str] = field(default_factory=list)  # prospect ids ticked
    reason: str = ""
    confirm: bool = False  # the confirmation dialog is up


class QualityController(OnlineCalls):
    def __init__(self, workbench: Workbench) -> None:
        self.workbench = workbench
        self.state = QualityState()

    def clear(self) -> None:
        """Signed out: nothing of the last user's reports stays (the state object is kept:
        the screens hold it)."""
        fresh = QualityState()
        for name in QualityState.__dataclass_fields__:
            setattr(self.state, name, getattr(fresh, name))

    @property
    def may_withdraw(self) -> bool:
        session = self.workbench.session
        return may_withdraw(session.role if session else None)

    # -- the report ----------------------------------------------------------------------

    async def toggle(self, batch_id: str) -> None:
        """Open a batch's card (its report, outlets and versions) or close it."""
        imports = self.workbench.imports
        if imports.batches.expanded == batch_id:
            await imports.toggle(batch_id)
            if self.state.withdrawing == batch_id:
                self.close_withdraw()
            return
        await asyncio.gather(imports.toggle(batch_id), self.load(batch_id))

    async def load(self, batch_id: str) -> None:
        """The batch's quality report, read again."""
        s = self.state
        s.batch_id = batch_id
        found = await self._call("report", self.workbench.client.batch_quality, batch_id)
        if found is not None:
            s.reports = {**s.reports, batch_id: found}

    async def download(self, batch_id: str) -> tuple[str, bytes] | None:
        """The batch's quality workbook: its file name and bytes."""
        client = self.workbench.client
        lang = self.workbench.state.lang
        self.state.batch_id = batch_id
        fn = lambda: client.export("quality", batch_id=batch_id, lang=lang)  # noqa: E731
        return await self._call("download", fn)

    def saved(self, path: str | None) -> None:
        self.state.saved = path or ""

    # -- the withdrawal (admins) ---------------------------------------------------------

    async def open_withdraw(self, batch_id: str) -> None:
        s = self.state
        s.withdrawing, s.batch_id, s.selected, s.reason, s.confirm = (
            batch_id,
            batch_id,
            [],
            "",
            False,
        )
        s.filter, s.notice = WRONG_CONTACT, ""
        await self._entries(first=True)

    def close_withdraw(self) -> None:
        s = self.state
        s.withdrawing, s.entries, s.total, s.selected, s.reason = None, [], 0, [], ""
        s.confirm = False

    async def choose_filter(self, name: str) -> None:
        """Which flagged entries are listed (FILTERS); the ticks go with the list."""
        if name not in FILTERS:
            raise ValueError(f"filter={name!r}")
        self.state.filter, self.state.selected = name, []
        await self._entries(first=True)

    async def more(self) -> None:
        await self._entries(first=False)

    async def _entries(self, *, first: bool) -> None:
        s = self.state
        batch_id = s.withdrawing
        if batch_id is None:
            return
        reason = ReasonFilter.WRONG_CONTACT.value if s.filter == WRONG_CONTACT else None
        status = ClosedStatus.INVALID.value if s.filter == INVALID else None
        page = 1 if first else len(s.entries) // ENTRIES_PAGE + 1
        wanted = s.filter

        client = self.workbench.client
        fn = lambda: client.quality_entries(  # noqa: E731
            batch_id, reason=reason, status=status, page=page, page_size=ENTRIES_PAGE
        )
        found = await self._call("entries", fn)
        if found is None or (s.withdrawing, s.filter) != (batch_id, wanted):
            return
        s.entries = found.items if first else [*s.entries, *found.items]
        s.total = found.total

    @property
    def selectable(self) -> list[str]:
        """The entries listed that may still be withdrawn."""
        return [e.prospect_id for e in self.state.entries if not e.withdrawn]

    def tick(self, prospect_id: str, on: bool) -> None:
        s = self.state
        if on and prospect_id in self.selectable and prospect_id not in s.selected:
            s.selected = [*s.selected, prospect_id]
        elif not on:
            s.selected = [p for p in s.selected if p != prospect_id]

    def tick_all(self, on: bool) -> None:
        self.state.selected = list(self.selectable) if on else []

    def set_reason(self, text: str) -> None:
        self.state.reason = text

    def ask(self) -> None:
        """撤回所选: confirm first (the dialog says how many), once there is something
        ticked and a reason."""
        s = self.state
        if not s.selected:
            self._fail("batchq.pick_some")
        elif not s.reason.strip():
            self._fail("batchq.reason_required")
        else:
            self._clear_error()
            s.confirm = True

    def cancel(self) -> None:
        self.state.confirm = False

    async def withdraw(self) -> bool:
        """Withdraw the ticked entries, as confirmed; then the report, the batch list and
        the flagged entries read again, and a sync takes them off this device."""
        s = self.state
        batch_id, ids, reason = s.withdrawing, list(s.selected), s.reason.strip()
        s.confirm = False
        if batch_id is None or not ids or not reason:
            return False
        fn = self.workbench.client.withdraw_entries
        done = await self._call("withdraw", fn, batch_id, ids, reason)
        if done is None:
            return False
        s.selected, s.reason = [], ""
        s.notice = "batchq.done_already" if done.already else "batchq.done"
        s.notice_params = {"withdrawn": done.withdrawn, "already": done.already}
        await self.load(batch_id)
        await self._entries(first=True)
        await self.workbench.imports.load_batches()
        self.workbench.spawn(self.workbench.sync_in_background)
        return True

"""The loan system's unmatched events (贷款回流待匹配), for admins (管理 → 贷款回流).

The loan system reports loans by credit code; an event whose code no prospect carries
waits on the central store for an admin (``app.server.loans``). Here the admin sees the
queue a page at a time and, for each event, either

    匹配客户: searches the prospects the device holds (an admin's device holds the whole
              branch) by company name or phone, and applies the event to the one chosen:
              the store moves its funnel and shares the credit;
    搁置:     sets it aside with a reason in words (required).

Online only: nothing here is kept on the device. A failure lands in ``error_code`` /
``error_message`` in words; a done match or dismissal says so in ``notice``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import flet as ft
from sqlalchemy import Connection

from app.models.loan import LoanEventOut, LoanOutcome
from app.models.user import Role
from app.queries.whitelist import query_whitelist
from app.services.scope import ViewScope
from app.services.whitelist import WhitelistQuery, WhitelistRow
from app.workbench.online import OnlineCalls

if TYPE_CHECKING:
    from app.workbench.workbench import Workbench

PAGE = 20
CANDIDATES = 8  # prospects offered for a match


def may_review_loans(role: str | None) -> bool:
    """The queue is the admins' (the store answers 403 to anyone else)."""
    return role == Role.ADMIN


@ft.observable
@dataclass
class LoanQueueState:
    items: list[LoanEventOut] = field(default_factory=list)
    total: int = 0
    loaded: bool = False
    busy: str = ""  # "load" | "match" | "dismiss" | "" (idle)
    error_code: str = ""
    error_message: str = ""
    notice: str = ""  # an i18n key: what was just done
    open_id: str | None = None  # the event whose panel is open
    mode: str = ""  # "match" | "dismiss"
    query: str = ""
    candidates: list[WhitelistRow] = field(default_factory=list)
    reason: str = ""


class LoanQueueController(OnlineCalls):
    def __init__(self, workbench: Workbench) -> None:
        self.workbench = workbench
        self.state = LoanQueueState()

    def clear(self) -> None:
        """Signed out: nothing of the last admin's queue stays (the state object is kept:
        the screens hold it)."""
        fresh = LoanQueueState()
        for name in LoanQueueState.__dataclass_fields__:
            setattr(self.state, name, getattr(fresh, name))

    async def load(self) -> None:
        found = await self._call("load", self.workbench.client.loans_unmatched, 0, PAGE)
        if found is not None:
            s = self.state
            s.items, s.total, s.loaded = found.items, found.total, True

    def open(self, event_id: str, mode: str) -> None:
        s = self.state
        s.open_id, s.mode, s.query, s.candidates, s.reason = event_id, mode, "", [], ""
        s.notice = ""
        self._clear_error()

    def close(self) -> None:
        self.state.open_id, self.state.mode = None, ""

    async def search(self, text: str) -> None:
        """The prospects on the device whose name or phone matches ``text``."""
        s = self.state
        s.query = text
        if len(text.strip()) < 2:
            s.candidates = []
            return
        query = WhitelistQuery(
            scope=ViewScope.ALL, text=text.strip(), sort="score", limit=CANDIDATES
        )

        def read(conn: Connection) -> list[WhitelistRow]:
            return query_whitelist(conn, query, text_index=self.workbench.store.text_index).rows

        rows = await self.workbench.read(read)
        if s.query == text:  # a later keystroke's search answers for itself
            s.candidates = rows

    def set_reason(self, text: str) -> None:
        self.state.reason = text

    async def match(self, event_id: str, prospect_id: str) -> None:
        fn = self.workbench.client.loan_match
        result = await self._call("match", fn, event_id, prospect_id)
        if result is None:
            return
        if result.outcome == LoanOutcome.REJECTED:
            self._fail(result.code, result.message)
            return
        self._done(event_id, "loans.matched")
        self.workbench.spawn(self.workbench.sync_in_background)  # the funnel move comes home

    async def dismiss(self, event_id: str) -> None:
        s = self.state
        if not s.reason.strip():
            self._fail("loans.reason_required")
            return
        fn = self.workbench.client.loan_dismiss
        if await self._call("dismiss", fn, event_id, s.reason.strip()) is not None:
            self._done(event_id, "loans.dismissed")

    def _done(self, event_id: str, notice: str) -> None:
        s = self.state
        s.items = [e for e in s.items if e.id != event_id]
        s.total = max(0, s.total - 1)
        s.open_id, s.mode, s.notice = None, "", notice

"""The managers' table view of the whitelist: sorted columns, pages, multi-select and the
bulk actions (assign to a marketer, back to the pool) through the device's outbox.

The table shows what the list's filters, search and scope match (the list's query), a
page of ``TABLE_PAGE`` rows at a time, sorted in SQL (app/queries/whitelist_table.py).
A bulk action is one local transaction with one ``prospect.assign`` mutation per
prospect (``local.assign_many``): it works offline, and the store judges each again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import flet as ft
from sqlalchemy import Connection

from app.models.user import Role
from app.queries.prospects import outlet_marketers
from app.queries.whitelist_table import table_page
from app.services.policy import ROLES, Action
from app.services.scope import Scope
from app.services.whitelist import TablePage, TableRow, TableSort
from app.sync import local
from app.workbench.card import Marketer
from app.workbench.reads import LatestRead

if TYPE_CHECKING:
    from app.workbench.workbench import Workbench

TABLE_PAGE = 50
# columns whose natural order is largest / latest first
DESCENDING_FIRST = frozenset({TableSort.LINE, TableSort.SCORE, TableSort.LAST_CONTACT})


@ft.observable
@dataclass
class TableState:
    sort: str = TableSort.COMPANY
    descending: bool = False
    page: int = 0  # from 0
    rows: list[TableRow] = field(default_factory=list)
    total: int = 0
    selected: list[str] = field(default_factory=list)  # prospect ids, in the order ticked
    marketers: list[Marketer] = field(default_factory=list)  # who the selection can go to
    loading: bool = True

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // TABLE_PAGE))

    @property
    def page_ids(self) -> list[str]:
        return [r.id for r in self.rows]

    @property
    def page_selected(self) -> bool | None:
        """Every row of the page ticked (True), none (False), some (None)."""
        ticked = sum(1 for r in self.rows if r.id in self.selected)
        if ticked == 0:
            return False
        return True if ticked == len(self.rows) else None


def bulk_notice(result: local.BulkResult, name: str | None) -> tuple[str, dict[str, object]]:
    """The notice after a bulk action, in words: how many went where, and how many were
    not in the user's reach (``"已分配 18 个给 张三，2 个不在您的范围内"``). Those already
    where they were sent count as done."""
    done = len(result.assigned) + len(result.unchanged)
    refused = len(result.refused)
    code = "bulk.returned" if name is None else "bulk.assigned"
    if refused:
        code += "_some"
    return code, {"count": done, "name": name or "", "refused": refused}


class TableController:
    def __init__(self, workbench: Workbench) -> None:
        self.workbench = workbench
        self.state = TableState()
        self._reads = LatestRead()

    def clear(self) -> None:
        s = self.state
        s.rows, s.total, s.selected, s.page, s.loading = [], 0, [], 0, True
        s.marketers = []

    async def refresh(self, *, keep: bool = True) -> None:
        """Read the page again; ``keep=False`` (the filters changed): the first page, and
        nothing ticked (ticks on rows no longer shown would act unseen)."""
        if not keep:
            self.state.page, self.state.selected = 0, []
        await self._read()

    async def sort_by(self, column: str) -> None:
        """A column's heading: sort by it; tapped again, the other way round."""
        s = self.state
        if s.sort == column:
            s.descending = not s.descending
        else:
            s.sort, s.descending = TableSort(column), TableSort(column) in DESCENDING_FIRST
        s.page = 0
        await self._read()

    async def go(self, page: int) -> None:
        self.state.page = min(max(page, 0), self.state.pages - 1)
        await self._read()

    def toggle(self, prospect_id: str, ticked: bool) -> None:
        selected = [i for i in self.state.selected if i != prospect_id]
        self.state.selected = [*selected, prospect_id] if ticked else selected

    def toggle_page(self, ticked: bool) -> None:
        """The heading's box: tick every row of the page, or untick them."""
        page = self.state.page_ids
        kept = [i for i in self.state.selected if i not in page]
        self.state.selected = [*kept, *page] if ticked else kept

    def clear_selection(self) -> None:
        self.state.selected = []

    async def load_marketers(self) -> None:
        """The marketers the user may hand prospects to, as of the last sync."""
        me = self.workbench.scope
        outlet = me.outlet_id if me.role == Role.OUTLET_MANAGER else None

        rows = await self.workbench.read(lambda conn: outlet_marketers(conn, outlet))
        self.state.marketers = [Marketer(uid, name) for uid, name in rows]

    async def assign_selected(self, to_user_id: str | None, reason: str = "") -> bool:
        """Hand every ticked prospect to ``to_user_id`` (None: back to the pool) in one
        local transaction; the notice says how many, and how many were refused. False
        when nothing was saved (the reason shown as the notice)."""
        workbench = self.workbench
        ids = list(self.state.selected)
        if not ids:
            return False
        name = None
        if to_user_id is not None:
            name = next((m.name for m in self.state.marketers if m.id == to_user_id), "")
        try:
            result = await asyncio.to_thread(
                local.assign_many,
                workbench.store,
                workbench.scope,
                prospect_ids=ids,
                to_user_id=to_user_id,
                reason=reason.strip(),
            )
        except local.LocalError as exc:
            workbench.notify(exc.code)
            return False
        self.state.selected = []
        code, params = bulk_notice(result, name)
        await workbench.after_bulk_change(code, **params)
        return True

    async def _read(self) -> None:
        workbench = self.workbench
        if workbench.session is None:
            self.state.loading = False
            return
        s = self.state
        query = replace(
            workbench.whitelist.query(TABLE_PAGE), offset=s.page * TABLE_PAGE, limit=TABLE_PAGE
        )
        sort, descending = TableSort(s.sort), s.descending

        def read(conn: Connection) -> TablePage:
            return table_page(conn, query, sort, descending=descending)

        ticket = self._reads.begin()
        found = await workbench.read(read)
        if not self._reads.is_latest(ticket):
            return
        if found.offset >= found.total > 0:  # the page emptied (a sync): the last one
            s.page = max(0, -(-found.total // TABLE_PAGE) - 1)
            await self._read()
            return
        s.rows, s.total, s.loading = found.rows, found.total, False


def may_bulk_assign(scope: Scope) -> bool:
    """Whether the user distributes prospects (the table and its bulk actions)."""
    return scope.role in ROLES[Action.ASSIGN]

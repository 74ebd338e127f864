"""The whitelist (home): what is searched and filtered, and the page of prospects it gives."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, TypedDict, Unpack

import flet as ft
from sqlalchemy import Connection

from app.models.user import Role
from app.queries.whitelist import batch_badges, industries, outlet_names, query_whitelist
from app.services.clock import beijing_today
from app.services.funnel import CLOSED, MAIN_LINE, FunnelStatus
from app.services.policy import Action, ProspectFacts, decide
from app.services.scope import ViewScope
from app.services.whitelist import (
    BatchBadge,
    IndustryCount,
    WhitelistPage,
    WhitelistQuery,
    WhitelistRow,
)
from app.workbench.reads import LatestRead
from app.workbench.table import may_bulk_assign

if TYPE_CHECKING:
    from app.workbench.workbench import Workbench

PAGE_SIZE = 50
NEAR_KM = 3.0  # the "within 3 km" chip
SORTS = ("distance", "line", "score", "last_contact")
# The status chips' order: the funnel's, then the closed statuses (never by count, which
# would move the chips about as the data changes).
STATUS_ORDER: tuple[str, ...] = (*MAIN_LINE, *(s for s in FunnelStatus if s in CLOSED))
SEARCH_PAUSE = 0.3  # seconds without typing before the list follows the search box


@dataclass(frozen=True)
class WhitelistFilters:
    """What the user asked the list for."""

    text: str = ""
    scope: ViewScope = ViewScope.MINE_AND_POOL
    status: str = ""  # one funnel status, or every one
    sort: str = "distance"
    due: bool = False  # follow-up due today or overdue
    batch: str = ""
    industry: str = ""
    near: bool = False  # within NEAR_KM of the origin
    origin: tuple[float, float] | None = None  # my position; None: the outlet's

    def active(self) -> int:
        """How many filters narrow or reorder the list (the count on the filter button)."""
        return sum(
            (
                bool(self.status),
                self.due,
                bool(self.batch),
                bool(self.industry),
                self.near,
                self.origin is not None,
                self.sort != SORTS[0],
            )
        )


class FilterChanges(TypedDict, total=False):
    """Any of ``WhitelistFilters``' fields, for ``set_filters``."""

    text: str
    scope: ViewScope
    status: str
    sort: str
    due: bool
    batch: str
    industry: str
    near: bool
    origin: tuple[float, float] | None


@ft.observable
@dataclass
class WhitelistState:
    filters: WhitelistFilters = field(default_factory=WhitelistFilters)
    rows: list[WhitelistRow] = field(default_factory=list)
    total: int = 0
    status_counts: dict[str, int] = field(default_factory=dict)
    batches: list[BatchBadge] = field(default_factory=list)
    industries: list[IndustryCount] = field(default_factory=list)
    loading: bool = True
    rows_from_me: bool = False  # the rows' distances are from my position (their query's)
    filters_open: bool | None = None  # the filter panel; None: open on a wide screen only
    view: str = "list"  # "list", or a manager's "table" (on a wide window)
    outlet_name: str = ""  # the user's outlet, for a manager's title
    branch_name: str = ""  # its sub-branch (支行)


@dataclass(frozen=True)
class _Read:
    page: WhitelistPage
    batches: list[BatchBadge]
    industries: list[IndustryCount]
    place: tuple[str, str]  # the user's outlet and sub-branch names (a first sync brings them)


class WhitelistController:
    def __init__(self, workbench: Workbench) -> None:
        self.workbench = workbench
        self.state = WhitelistState()
        self.search_draft: str | None = None  # the search box as typed, not yet searched
        self._reads = LatestRead()
        self._pause: asyncio.TimerHandle | None = None  # a typed search, waiting for a pause
        self._searches: set[asyncio.Task[None]] = set()  # typed searches reading, kept alive

    @property
    def search_box(self) -> str:
        """What the search box shows: as typed, else the search in force."""
        return self.search_draft if self.search_draft is not None else self.state.filters.text

    async def reset(self, scope: ViewScope) -> None:
        """A new session: its default scope, no filters, the list (not the table)."""
        self._stop_typing()
        self.state.filters = WhitelistFilters(scope=scope)
        self.state.view = "list"
        self.search_draft = None
        self.workbench.table.clear()
        await self.refresh()

    def title(self) -> tuple[str, dict[str, object]]:
        """The list's title (an i18n key and its parameters): a marketer's own list, a
        manager's outlet or sub-branch, an admin's whole list."""
        session, s = self.workbench.session, self.state
        role = session.role if session else Role.MARKETER
        if role == Role.OUTLET_MANAGER:
            return "whitelist.title_outlet", {"name": s.outlet_name}
        if role == Role.SUBBRANCH_MANAGER:
            return "whitelist.title_branch", {"name": s.branch_name or s.outlet_name}
        if role == Role.ADMIN:
            return "whitelist.title_all", {}
        return "whitelist.title", {}

    def table_offered(self) -> bool:
        """Whether the user may switch to the table view (a manager distributes)."""
        return self.workbench.session is not None and may_bulk_assign(self.workbench.scope)

    async def set_view(self, view: str) -> None:
        """列表 / 表格: the list, or (a manager) the table with its bulk actions."""
        if view == "table" and not self.table_offered():
            return
        self.state.view = "table" if view == "table" else "list"
        if self.state.view == "table":
            table = self.workbench.table
            await table.load_marketers()
            await table.refresh()

    def clear(self) -> None:
        self.state.rows, self.state.total, self.state.loading = [], 0, True

    async def set_filters(self, **changes: Unpack[FilterChanges]) -> None:
        """Change some filters (``text="…"``, ``due=True``, …) and read the list again."""
        self.state.filters = replace(self.state.filters, **changes)
        if "text" in changes and self.search_draft == changes["text"]:
            self.search_draft = None  # a box typed into meanwhile keeps what it holds
        await self.refresh()

    def type_search(self, text: str) -> None:
        """The search box changed: search once typing pauses for ``SEARCH_PAUSE``."""
        self.search_draft = text
        self._stop_typing()
        self._pause = asyncio.get_running_loop().call_later(SEARCH_PAUSE, self._search_typed, text)

    async def search(self, text: str) -> None:
        """Search now (Enter, or the clear button with ``""``)."""
        self._stop_typing()
        self.search_draft = text
        await self.set_filters(text=text)

    def _search_typed(self, text: str) -> None:
        # a keystroke from here on starts a new search; the newest read lands (LatestRead)
        self._pause = None
        task = asyncio.get_running_loop().create_task(self.set_filters(text=text))
        self._searches.add(task)
        task.add_done_callback(self._searches.discard)

    def _stop_typing(self) -> None:
        if self._pause is not None:
            self._pause.cancel()
            self._pause = None

    async def clear_filters(self) -> None:
        """Every filter off and the default sort; the search and the scope stay."""
        f = self.state.filters
        self.state.filters = WhitelistFilters(text=f.text, scope=f.scope)
        await self.refresh()

    def toggle_panel(self, shown: bool) -> None:
        """Fold the filter panel when it is ``shown``, unfold it when not."""
        self.state.filters_open = not shown

    def may_log(self, row: WhitelistRow) -> bool:
        """Whether I may write a marketing log on ``row`` (its quick-log button)."""
        if self.workbench.session is None:
            return False
        facts = ProspectFacts(row.outlet_id, row.assignee_id, row.status)
        return decide(self.workbench.scope, Action.LOG, facts).allowed

    async def toggle_status(self, status: str) -> None:
        """A status chip: show only that status, or every one when it was picked."""
        await self.set_filters(status="" if self.state.filters.status == status else status)

    async def toggle_batch(self, batch_id: str) -> None:
        """A batch badge: show only that batch, or every one when it was picked."""
        await self.set_filters(batch="" if self.state.filters.batch == batch_id else batch_id)

    async def refresh(self, *, keep_shown: bool = False) -> None:
        """Read the list again; ``keep_shown`` keeps as many rows as are on screen."""
        workbench = self.workbench
        if workbench.session is None:
            self.state.loading = False
            return
        limit = max(PAGE_SIZE, len(self.state.rows)) if keep_shown else PAGE_SIZE
        await self._read(limit)
        if self.state.view == "table":
            await self.workbench.table.refresh(keep=keep_shown)

    async def load_more(self) -> None:
        await self._read(len(self.state.rows) + PAGE_SIZE)

    async def _read(self, limit: int) -> None:
        query = self._query(limit)
        text_index = self.workbench.store.text_index

        def read(conn: Connection) -> _Read:
            scope, user_id, outlet_id = query.scope, query.user_id, query.outlet_id
            return _Read(
                page=query_whitelist(conn, query, text_index=text_index),
                batches=batch_badges(
                    conn, query.today, scope=scope, user_id=user_id, outlet_id=outlet_id
                ),
                industries=industries(conn, scope=scope, user_id=user_id, outlet_id=outlet_id),
                place=outlet_names(conn, outlet_id),
            )

        ticket = self._reads.begin()
        found = await self.workbench.read(read)
        if not self._reads.is_latest(ticket):
            return  # e.g. a sync's redraw overtaken by a search typed meanwhile
        s = self.state
        s.industries, s.batches = found.industries, found.batches
        s.outlet_name, s.branch_name = found.place
        s.rows, s.total, s.status_counts = (
            found.page.rows,
            found.page.total,
            found.page.status_counts,
        )
        s.rows_from_me = query.origin is not None
        s.loading = False

    def query(self, limit: int) -> WhitelistQuery:
        """The list's query (scope, search, filters, sort) for its first ``limit`` rows."""
        return self._query(limit)

    def _query(self, limit: int) -> WhitelistQuery:
        f, scope = self.state.filters, self.workbench.scope
        return WhitelistQuery(
            scope=f.scope,
            user_id=scope.user_id,
            outlet_id=scope.outlet_id,
            text=f.text.strip(),
            statuses=frozenset({f.status}) if f.status else frozenset(),
            follow_up="due" if f.due else None,
            sort=f.sort,
            batch_id=f.batch or None,
            industry=f.industry or None,
            max_distance_km=NEAR_KM if f.near else None,
            origin=f.origin,
            offset=0,
            limit=limit,
            today=beijing_today(),
        )

    def warm_search(self) -> None:
        """Bring the search box's text index up to date off the UI, before the next search
        (a first build over 100,000 prospects takes about half a second)."""
        store = self.workbench.store

        def warm() -> None:
            with store.read() as conn:
                store.text_index.refresh(conn)

        self.workbench.spawn(lambda: asyncio.to_thread(warm))

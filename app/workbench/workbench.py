"""One workbench per signed-in device session: the stores, the sync engine, the screens.

``Workbench`` owns the device store, the central store's client and the sync
engine, holds the state every screen shares (``AppState``: language, session,
sync progress, the one-line notice) and one controller per screen. It is made per
browser session, never at module level.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

import flet as ft
from sqlalchemy import Connection

from app.config import Settings
from app.models.user import Role
from app.queries.outlets import device_outlets
from app.services.scope import Scope, default_view, scope_for
from app.sync.client import SyncClient
from app.sync.engine import SyncEngine
from app.sync.session import DeviceSession, SignInError, resume, sign_out
from app.sync.state import SyncPhase, SyncProgress
from app.sync.store import DeviceStore
from app.workbench.autosync import AutoSync
from app.workbench.card import CardController
from app.workbench.dashboard import DashboardController
from app.workbench.distribution import DistributionController
from app.workbench.followups import FollowupsController
from app.workbench.imports import ImportController
from app.workbench.leads import LeadsController
from app.workbench.league import LeagueController
from app.workbench.live import LiveUpdates
from app.workbench.loans import LoanQueueController
from app.workbench.log import LogController
from app.workbench.login import LoginController
from app.workbench.map import MapController, MapPages
from app.workbench.performance import PerformanceController
from app.workbench.quality import QualityController
from app.workbench.settings import SettingsController
from app.workbench.shares import SharesController
from app.workbench.sync import SyncController
from app.workbench.table import TableController
from app.workbench.targets import TargetsController
from app.workbench.whitelist import WhitelistController

log = logging.getLogger(__name__)
T = TypeVar("T")
NOTICE_SECONDS = 6
FOREGROUND = frozenset({"resume", "show"})  # ft.AppLifecycleState values: back in view


@dataclass(frozen=True)
class Notice:
    """A one-line message: an i18n code and its parameters."""

    code: str
    params: Mapping[str, object] = field(default_factory=dict)


@ft.observable
@dataclass
class AppState:
    """What every screen may show: language, who is signed in, sync, the last notice."""

    lang: str = "zh"
    session: DeviceSession | None = None
    ready: bool = False  # the first sign-in attempt has finished
    notice: Notice | None = None
    progress: SyncProgress = field(default_factory=SyncProgress)
    server_url: str = ""
    wide: bool = False  # laid out for a desktop (NavigationRail)
    panes: bool = False  # wide enough for the whitelist and a card side by side (tablets too)


class Workbench:
    def __init__(
        self,
        settings: Settings,
        *,
        login: tuple[str, str] | None = None,
        map_pages: MapPages | None = None,
    ) -> None:
        self.settings = settings
        self.auto_login = login
        self.store = DeviceStore(settings.device_database_path())
        self.client = SyncClient.connect(self.store.state("server_url") or settings.server_url)
        self.engine = SyncEngine(
            self.store,
            self.client,
            push_batch=settings.push_batch_size,
            verify_interval=timedelta(hours=settings.verify_interval_hours),
            busy_max_wait=settings.sync_busy_max_wait_seconds,
            busy_max_waits=settings.sync_busy_max_waits,
        )
        self.state = AppState(
            lang=self.store.state("lang") or "zh",
            server_url=self.client.base_url,
            progress=self.engine.progress,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        # The device's outlets (id, name, branch name), read after sign-in and each sync
        # for a sub-branch manager, whose reach is its sub-branch's outlets.
        self._outlets: tuple[tuple[str, str, str], ...] = ()
        self._scope: Scope | None = None
        self._background: set[asyncio.Task[object]] = set()  # fire-and-forget, kept alive
        self.engine.subscribe(self._on_progress)

        self.login = LoginController(self)
        self.whitelist = WhitelistController(self)
        self.card = CardController(self)
        self.distribution = DistributionController(self)
        self.table = TableController(self)
        self.log = LogController(self)
        self.followups = FollowupsController(self)
        self.leads = LeadsController(self)
        self.performance = PerformanceController(self)
        self.map = MapController(self, pages=map_pages or MapPages())
        self.sync_screen = SyncController(self)
        self.settings_screen = SettingsController(self)
        self.imports = ImportController(self)
        self.loans = LoanQueueController(self)
        self.shares = SharesController(self)
        self.league = LeagueController(self)
        self.dashboard = DashboardController(self)
        self.targets = TargetsController(self)
        self.quality = QualityController(self)
        self.autosync = AutoSync(self)
        self.live = LiveUpdates(self)  # the store's pokes: a pull as soon as the scope changes

    # -- the signed-in user ----------------------------------------------------------------

    @property
    def session(self) -> DeviceSession | None:
        return self.state.session

    @property
    def scope(self) -> Scope:
        """The signed-in user's reach (the policy's actor)."""
        s = self.session
        if s is None:
            raise RuntimeError("nobody is signed in")
        cached = self._scope
        if cached is None or (cached.user_id, cached.role, cached.outlet_id) != (
            s.user_id,
            s.role,
            s.outlet_id,
        ):
            pairs = [(oid, branch) for oid, _, branch in self._outlets]
            cached = self._scope = scope_for(s.user_id, s.role, s.outlet_id, pairs)
        return cached

    def outlet_label(self, outlet_id: str | None) -> str:
        """An outlet's name within its sub-branch (工行遵义汇川支行香港路分理处 → 香港路分理处),
        for a sub-branch manager's rows and people; "" when its outlets are not read (any
        other role) or it is unknown."""
        for oid, name, branch in self._outlets:
            if oid == outlet_id:
                short = name.removeprefix(branch)
                return short if short and branch else name
        return ""

    def reach_outlets(self) -> list[tuple[str, str]]:
        """(id, label) of the outlets a sub-branch manager reaches, by code; [] for any
        other role (one outlet, or the whole branch)."""
        if self.session is None:
            return []
        reach = self.scope.outlets
        return [(oid, self.outlet_label(oid)) for oid, _, _ in self._outlets if oid in reach]

    async def load_outlets(self) -> None:
        """Read the device's outlets again (a sub-branch manager's reach is made of them);
        the scope follows when they changed."""
        session = self.session
        if session is None or session.role != Role.SUBBRANCH_MANAGER:
            outlets: tuple[tuple[str, str, str], ...] = ()
        else:
            outlets = await self.read(device_outlets)
        if outlets != self._outlets:
            self._outlets, self._scope = outlets, None

    async def open(self) -> None:
        """On start: the demo's sign-in, else a saved session; then ready either way."""
        self._loop = asyncio.get_running_loop()
        try:
            if self.auto_login:
                await self.login.submit(*self.auto_login)
            else:
                hours = self.settings.offline_session_hours
                session = await asyncio.to_thread(resume, self.store, offline_hours=hours)
                if session:
                    self.client.token = session.token
                    await self.enter(session)
        except Exception:
            log.exception("opening the workbench failed")
        finally:
            self.state.ready = True

    async def enter(self, session: DeviceSession) -> None:
        """Signed in (online or offline): open the list, then sync in the background, at
        once online, on the automatic schedule from then on (once the workbench is open on
        an event loop: tests that drive the controllers by hand sync by hand)."""
        self.state.session = session
        await self.load_outlets()
        self.performance.reset()  # a manager opens on the outlet, whoever was here before
        await self.whitelist.reset(default_view(session.role))
        self.whitelist.warm_search()
        if self._loop is not None:
            self.autosync.start(offline=session.offline)
            self.live.start()

    async def logout(self, *, discard: bool = False) -> bool:
        """False when unsynced changes need the user's explicit confirmation."""
        try:
            # the store revokes the token when it answers; offline, this device alone
            await asyncio.to_thread(sign_out, self.store, self.client, discard_pending=discard)
        except SignInError:
            return False
        self.autosync.stop()
        self.live.stop()
        self.client.token = None
        self.state.session = None
        self._outlets, self._scope = (), None
        self.whitelist.clear()
        self.table.clear()
        self.card.clear()
        self.map.clear()
        self.leads.clear()
        self.imports.clear()
        self.loans.clear()
        self.shares.clear()
        self.league.clear()
        self.dashboard.clear()
        self.targets.clear()
        self.quality.clear()
        self.state.progress = await asyncio.to_thread(self.engine.snapshot_progress)
        return True

    # -- sync --------------------------------------------------------------------------------

    async def sync(self) -> SyncProgress | None:
        """The user's tap on 同步: a sync at once; automatic attempts start over from it."""
        self.autosync.reset()
        return await self._sync(manual=True)

    async def sync_in_background(self) -> SyncProgress | None:
        """An automatic sync: its failure shows on the sync bar, not as a notice."""
        return await self._sync(manual=False)

    async def _sync(self, *, manual: bool) -> SyncProgress | None:
        if self.session is None:
            return None
        progress = await self.engine.start()  # joins the run in progress, if any
        self.state.progress = progress
        await self.load_outlets()  # a sub-branch may have gained or lost an outlet
        self.autosync.settled(progress)
        if progress.error_code and manual:
            self.notify(progress.error_code, status=progress.error_message)
        if manual or progress.phase == SyncPhase.DONE:
            await self.whitelist.refresh(keep_shown=not manual)
            self.whitelist.warm_search()
        return progress

    def app_state_changed(self, state: str) -> None:
        """The app's lifecycle (Flet's ``AppLifecycleState`` value): back in the foreground
        it syncs at once and, if the stream was down, opens it again at once."""
        if state in FOREGROUND and self.session is not None:
            self.autosync.now()
            self.live.wake()

    def page_disconnected(self) -> None:
        """The page's client went away (a browser tab closed, a laptop asleep; Flet keeps
        the session for a while in case it comes back): the store's event stream is
        closed, so the store stops poking it and the session stops pulling for nobody.
        Changes waiting still go up on the timer."""
        self.live.stop()

    def page_reconnected(self) -> None:
        """The page's client is back: the stream opens again and a sync runs at once."""
        if self.session is None:
            return
        if not self.live.state.stopped_by:  # a revoked sign-in stays stopped
            self.live.start()
        self.autosync.now()

    def _on_progress(self, progress: SyncProgress) -> None:
        # called on the sync worker thread: hand the value to the event loop
        if self._loop is not None:
            self._loop.call_soon_threadsafe(setattr, self.state, "progress", progress)

    # -- helpers for the controllers ----------------------------------------------------------

    async def read(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` over a read connection of the device store, off the event loop."""

        def run() -> T:
            with self.store.read() as conn:
                return fn(conn)

        return await asyncio.to_thread(run)

    def spawn(self, work: Callable[[], Coroutine[object, object, object]]) -> None:
        """Run ``work()`` in the background, kept alive until it ends (once the workbench is
        open on an event loop; before that there is no UI to keep current)."""
        if self._loop is None:
            return
        task = self._loop.create_task(work())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def after_local_change(self, prospect_id: str, notice: str, **params: object) -> None:
        """A change saved on the device: show it on its card (if that card is still the one
        shown) and the list, count it as pending, and say so."""
        self.state.progress = await asyncio.to_thread(self.engine.snapshot_progress)
        shown = self.card.state.card
        if shown is None or shown.id == prospect_id:
            await self.card.open(prospect_id)
        await self.whitelist.refresh(keep_shown=True)
        self.notify(notice, **params)
        self.autosync.changed()  # online, it goes up in a few seconds without a tap

    async def after_bulk_change(self, notice: str, **params: object) -> None:
        """Many prospects changed on the device at once (a bulk assignment): the list,
        the table and the card shown read again, the pending count, the notice, and an
        upload in a few seconds when online."""
        self.state.progress = await asyncio.to_thread(self.engine.snapshot_progress)
        shown = self.card.state.card
        if shown is not None:
            await self.card.open(shown.id)
        await self.whitelist.refresh(keep_shown=True)
        self.notify(notice, **params)
        self.autosync.changed()

    def notify(self, code: str, **params: object) -> None:
        """Show a one-line message; it clears itself after a few seconds."""
        notice = Notice(code, params)
        self.state.notice = notice
        if self._loop is not None:
            self._loop.call_later(NOTICE_SECONDS, self._clear_notice, notice)

    def dismiss_notice(self) -> None:
        self.state.notice = None

    def _clear_notice(self, notice: Notice) -> None:
        if self.state.notice is notice:
            self.state.notice = None

    def set_wide(self, wide: bool) -> None:
        if wide != self.state.wide:
            self.state.wide = wide

    def set_width(self, width: float, *, wide_from: float, panes_from: float) -> None:
        """The window's width: the shell's layout (``wide_from``) and the whitelist's two
        panes (``panes_from``), each changed only when it crosses its threshold."""
        self.set_wide(width >= wide_from)
        panes = width >= panes_from
        if panes != self.state.panes:
            self.state.panes = panes

    def close(self) -> None:
        self.live.stop()
        self.autosync.stop()
        self.map.close()
        self.engine.cancel()
        self.client.close()
        self.store.close()

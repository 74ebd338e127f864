"""Per-session wiring: the device store, the sync client and engine, and the UI state.

One ``Workbench`` per browser session (never module-level). Components read the
observable ``WorkbenchState`` through ``StateContext``; every slow call (SQLite,
HTTP, map building) runs in a worker thread so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import flet as ft
import httpx

from app.config import Settings
from app.models.ids import utcnow
from app.queries import mapdata, whitelist
from app.queries.prospects import get_card
from app.services.clock import beijing_today
from app.services.marketing import LogInput
from app.services.prospects import ProspectCard
from app.sync import local
from app.sync.client import SyncClient
from app.sync.engine import SyncEngine
from app.sync.session import (
    DeviceSession,
    SignInError,
    last_employee_no,
    resume,
    sign_in,
    sign_out,
)
from app.sync.state import StateKey, SyncProgress
from app.sync.store import DeviceStore

log = logging.getLogger(__name__)
PAGE_SIZE = 50


@ft.observable
@dataclass
class WorkbenchState:
    lang: str = "zh"
    session: DeviceSession | None = None
    ready: bool = False  # the first sign-in attempt has finished
    login_error: str = ""
    login_password: str = ""  # the password box as typed; emptied with a wrong-password error
    login_params: dict[str, Any] = field(default_factory=dict)
    notice: str = ""  # a one-line message for the snack bar (i18n key)
    notice_params: dict[str, Any] = field(default_factory=dict)
    # whitelist
    query_text: str = ""
    query_scope: str = "mine_and_pool"
    query_status: str = ""
    query_sort: str = "distance"
    query_due: bool = False
    query_batch: str = ""
    query_industry: str = ""
    query_near: bool = False  # within 3 km of the origin
    query_origin: tuple[float, float] | None = None  # my position; None: the outlet's
    map_focus: str | None = None  # a prospect the map centres on (the card's "show on map")
    industries: list[Any] = field(default_factory=list)
    rows: list[Any] = field(default_factory=list)
    total: int = 0
    status_counts: dict[str, int] = field(default_factory=dict)
    batches: list[Any] = field(default_factory=list)
    loading: bool = True
    # card
    card: ProspectCard | None = None
    timeline: list[Any] = field(default_factory=list)
    revealed: frozenset[str] = frozenset()
    # other screens
    followups: Any = None
    performance: Any = None
    breakdown: list[Any] = field(default_factory=list)
    ranked_at: str | None = None  # when the central store ranked the branch (UTC ISO)
    perf_period: str = "month"
    perf_subject: str = "mine"
    map_url: str = ""
    map_radius: float = 3.0
    map_nearest: list[Any] = field(default_factory=list)
    map_count: int = 0
    rejections: list[Any] = field(default_factory=list)
    progress: SyncProgress = field(default_factory=SyncProgress)
    server_url: str = ""
    wide: bool = False
    wb: Any = None  # the Workbench controller, for handlers


StateContext = ft.create_context(None)


class Workbench:
    def __init__(
        self, settings: Settings, *, login: tuple[str, str] | None = None, maps_dir: Path
    ) -> None:
        self.settings = settings
        self.auto_login = login
        self.store = DeviceStore(settings.device_database_path())
        server_url = self.store.state("server_url") or settings.server_url
        self.http = httpx.Client(base_url=server_url, timeout=httpx.Timeout(30, connect=5))
        self.client = SyncClient(self.http)
        self.engine = SyncEngine(
            self.store,
            self.client,
            push_batch=settings.push_batch_size,
            verify_interval=timedelta(hours=settings.verify_interval_hours),
        )
        self.state = WorkbenchState(wb=self, server_url=server_url)
        self.state.lang = self.store.state("lang") or "zh"
        self.state.progress = self.engine.progress
        self._loop: asyncio.AbstractEventLoop | None = None
        self._background: set[asyncio.Task] = set()  # fire-and-forget work, kept alive
        self.search_draft: str | None = None  # the search box as typed, not yet submitted
        self._started: dict[str, int] = {}  # reads started per screen: see _begin
        self.engine.subscribe(self._on_progress)
        self.maps_dir = maps_dir  # served by the web server under /maps

    # -- session ---------------------------------------------------------------------------

    @property
    def session(self) -> DeviceSession | None:
        return self.state.session

    def remembered_employee_no(self) -> str:
        return last_employee_no(self.store)

    async def open(self) -> None:
        """On start: auto sign-in (demo), else resume a saved session."""
        try:
            await self._open()
        except Exception:
            log.exception("opening the workbench failed")
        finally:
            self.state.ready = True

    async def _open(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self.auto_login:
            await self.login(*self.auto_login)
        else:
            hours = self.settings.offline_session_hours
            session = await asyncio.to_thread(resume, self.store, offline_hours=hours)
            if session:
                self.client.token = session.token
                await self._enter(session)

    async def login(self, employee_no: str, password: str) -> bool:
        self.state.login_error = ""
        try:
            session = await asyncio.to_thread(
                sign_in, self.store, self.client, employee_no, password,
                offline_hours=self.settings.offline_session_hours,
            )  # fmt: skip
        except SignInError as exc:
            if exc.code == "auth.invalid_credentials":
                self.state.login_password = ""  # in the same render as the error
            self.state.login_error, self.state.login_params = exc.code, exc.params
            return False
        except Exception as exc:  # a sync error other than the network: say so in words
            self.state.login_error = getattr(exc, "code", "sync.failed")
            self.state.login_params = {"status": getattr(exc, "status", "") or ""}
            return False
        self.state.login_password = ""
        if session.offline:
            self.notify("login.offline", hours=self.settings.offline_session_hours)
        await self._enter(session)
        return True

    async def _enter(self, session: DeviceSession) -> None:
        self.state.session = session
        self.state.query_scope = {"marketer": "mine_and_pool", "outlet_manager": "outlet"}.get(
            session.role, "all"
        )
        await self.refresh()
        self._warm_search()
        if not session.offline:
            self._loop.create_task(self.sync()) if self._loop else None

    async def logout(self, *, discard: bool = False) -> bool:
        """False when unsynced changes need the user's explicit confirmation."""
        try:
            await asyncio.to_thread(sign_out, self.store, discard_pending=discard)
        except SignInError:
            return False
        self.client.token = None
        self.state.session = None
        self.state.rows, self.state.card = [], None
        self.state.progress = self.engine.snapshot_progress()
        return True

    # -- sync ------------------------------------------------------------------------------

    async def sync(self) -> None:
        if self.session is None:
            return
        progress = await self.engine.start()
        self.state.progress = progress
        if progress.error_code:
            self.notify(progress.error_code, status=progress.error_message)
        await self.refresh()
        self._warm_search()

    def _warm_search(self) -> None:
        """Bring the search box's text index up to date off the UI, before the next search
        (a first build over 100,000 prospects takes about half a second)."""

        def warm() -> None:
            with self.store.read() as conn:
                self.store.text_index.refresh(conn)

        if self._loop is not None:
            task = self._loop.create_task(asyncio.to_thread(warm))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    def _on_progress(self, progress: SyncProgress) -> None:
        # called on the sync worker thread: hand the value to the event loop
        if self._loop is not None:
            self._loop.call_soon_threadsafe(setattr, self.state, "progress", progress)

    def notify(self, code: str, **params: Any) -> None:
        """Show a one-line message; it clears itself after a few seconds."""
        self.state.notice_params = params
        self.state.notice = code
        if self._loop is not None:
            self._loop.call_later(6, self._clear_notice, code)

    def _clear_notice(self, code: str) -> None:
        if self.state.notice == code:
            self.state.notice = ""

    # -- whitelist -------------------------------------------------------------------------

    def _query(self, limit: int) -> whitelist.WhitelistQuery:
        s, session = self.state, self.session
        assert session is not None
        return whitelist.WhitelistQuery(
            scope=s.query_scope, user_id=session.user_id, outlet_id=session.outlet_id,
            text=s.query_text.strip(), statuses=frozenset({s.query_status}) if s.query_status
            else frozenset(), follow_up="due" if s.query_due else None, sort=s.query_sort,
            batch_id=s.query_batch or None, industry=s.query_industry or None,
            max_distance_km=3.0 if s.query_near else None, origin=s.query_origin,
            offset=0, limit=limit, today=beijing_today(),
        )  # fmt: skip

    async def refresh(self, *, limit: int = PAGE_SIZE) -> None:
        if self.session is None:
            self.state.loading = False
            return
        query = self._query(limit)
        ticket = self._begin("whitelist")

        def read():  # type: ignore[no-untyped-def]
            with self.store.read() as conn:
                where = dict(scope=query.scope, user_id=query.user_id, outlet_id=query.outlet_id)
                badges = whitelist.batch_badges(conn, query.today, **where)
                page = whitelist.query_whitelist(conn, query, text_index=self.store.text_index)
                return page, badges, whitelist.industries(conn, **where)

        page, badges, industries = await asyncio.to_thread(read)
        if not self._latest("whitelist", ticket):
            return  # e.g. a sync's redraw overtaken by a search typed meanwhile
        self.state.industries = industries
        self.state.rows, self.state.total = page.rows, page.total
        self.state.status_counts, self.state.batches = page.status_counts, badges
        self.state.loading = False

    async def load_more(self) -> None:
        await self.refresh(limit=len(self.state.rows) + PAGE_SIZE)

    def _begin(self, screen: str) -> int:
        """Number a read for ``screen``; reads run in threads and may come back out of order."""
        self._started[screen] = self._started.get(screen, 0) + 1
        return self._started[screen]

    def _latest(self, screen: str, ticket: int) -> bool:
        """Only the last read started for a screen may show its answer: an older one that
        comes back later (a slower query, another card, another period) is dropped."""
        return self._started.get(screen) == ticket

    async def set_query(self, **changes: Any) -> None:
        for name, value in changes.items():
            setattr(self.state, f"query_{name}", value)
        await self.refresh()

    # -- the customer card -----------------------------------------------------------------

    async def open_card(self, prospect_id: str) -> None:
        from app.queries.timeline import timeline

        def read():  # type: ignore[no-untyped-def]
            with self.store.read() as conn:
                return get_card(conn, prospect_id), timeline(conn, prospect_id)

        ticket = self._begin("card")
        card, items = await asyncio.to_thread(read)
        if not self._latest("card", ticket):
            return
        if self.state.card is None or self.state.card.id != prospect_id:
            self.state.revealed = frozenset()
        self.state.card, self.state.timeline = card, items

    def _actor(self) -> local.Actor:
        assert self.session is not None
        s = self.session
        return local.Actor(user_id=s.user_id, role=s.role, outlet_id=s.outlet_id)

    async def reveal(self, prospect_id: str, field_name: str) -> None:
        await asyncio.to_thread(
            local.record_reveal, self.store, self._actor(), prospect_id=prospect_id,
            field=field_name,
        )  # fmt: skip
        self.state.revealed = self.state.revealed | {field_name}
        await self._after_local_change(prospect_id, "card.revealed")

    async def move(self, prospect_id: str, to_status: str, amount: int | None = None) -> None:
        try:
            await asyncio.to_thread(
                local.move_funnel, self.store, self._actor(), prospect_id=prospect_id,
                to_status=to_status, amount=amount,
            )  # fmt: skip
        except local.LocalError as exc:
            self.notify(exc.code)
            return
        await self._after_local_change(prospect_id, "card.moved", status=f"funnel.{to_status}")

    async def assign(self, prospect_id: str, to_user_id: str, name: str, reason: str) -> None:
        await asyncio.to_thread(
            local.assign, self.store, self._actor(), prospect_id=prospect_id,
            to_user_id=to_user_id, reason=reason,
        )  # fmt: skip
        await self._after_local_change(prospect_id, "card.assigned", name=name)

    async def marketers(self) -> list[tuple[str, str]]:
        from app.queries.prospects import outlet_marketers

        session = self.session
        outlet = session.outlet_id if session and session.role != "admin" else None

        def read() -> list[tuple[str, str]]:
            with self.store.read() as conn:
                return outlet_marketers(conn, outlet)

        return await asyncio.to_thread(read)

    async def claim(self, prospect_id: str) -> None:
        await asyncio.to_thread(local.claim, self.store, self._actor(), prospect_id=prospect_id)
        await self._after_local_change(prospect_id, "card.claimed")

    async def write_log(
        self, prospect_id: str, entry: LogInput, position: tuple[float, float] | None
    ) -> None:
        lat, lon = position if position else (None, None)
        await asyncio.to_thread(
            local.record_log, self.store, self._actor(), prospect_id=prospect_id,
            channel=entry.channel, outcome=entry.outcome, note=entry.note,
            occurred_at=utcnow(), next_follow_up=entry.next_follow_up, lat=lat, lon=lon,
        )  # fmt: skip
        await self._after_local_change(prospect_id, "log.saved")

    async def _after_local_change(self, prospect_id: str, notice: str, **params: Any) -> None:
        self.state.progress = self.engine.snapshot_progress()
        await self.open_card(prospect_id)
        await self.refresh(limit=max(PAGE_SIZE, len(self.state.rows)))
        self.notify(notice, **params)

    # -- follow-ups, performance, map, sync screen ------------------------------------------

    async def load_followups(self) -> None:
        from app.queries.followups import due_followups

        assert self.session is not None
        uid = self.session.user_id

        def read():  # type: ignore[no-untyped-def]
            with self.store.read() as conn:
                return due_followups(conn, uid, beijing_today())

        self.state.followups = await asyncio.to_thread(read)

    async def load_performance(self) -> None:
        from app.queries.performance import marketer_breakdown, marketer_report, outlet_report
        from app.services.performance import Period, with_stored_rank

        session = self.session
        assert session is not None
        period = Period(self.state.perf_period)
        subject = self.state.perf_subject

        def read():  # type: ignore[no-untyped-def]
            today = beijing_today()
            with self.store.read() as conn:
                raw = DeviceStore.get(conn, StateKey.BRANCH_RANKS)
                if subject == "outlet" and session.outlet_id:
                    report = outlet_report(conn, session.outlet_id, period, today)
                    rows = marketer_breakdown(conn, session.outlet_id, period, today)
                    who = {"outlet_id": session.outlet_id}
                else:
                    report = marketer_report(conn, session.user_id, period, today)
                    rows, who = [], {"user_id": session.user_id}
            stored = json.loads(raw) if raw else {}
            if session.role != "admin":  # only an admin's device holds the whole branch
                report = with_stored_rank(report, stored, period, today, **who)
            return report, rows, stored.get("as_of")

        ticket = self._begin("performance")
        report, rows, ranked_at = await asyncio.to_thread(read)
        if not self._latest("performance", ticket):
            return
        self.state.performance, self.state.breakdown = report, rows
        self.state.ranked_at = ranked_at

    async def build_map(self, *, around_me: tuple[float, float] | None = None) -> None:
        from app.geo.maps import MapMarker, build_map_html, write_map
        from app.geo.nearby import within

        session = self.session
        assert session is not None
        radius = self.state.map_radius
        lang = self.state.lang

        focus = None if around_me else self.state.map_focus

        def build():  # type: ignore[no-untyped-def]
            with self.store.read() as conn:
                kind, label = ("me", "") if around_me else ("outlet", "")
                center = around_me or whitelist.outlet_position(conn, session.outlet_id)
                place = mapdata.prospect_place(conn, focus) if focus is not None else None
                if place is not None:  # the card's "show on the map": around the prospect
                    center, kind, label = (place[0], place[1]), "prospect", place[2]
                if center is None:
                    return "", [], 0
                where, params = mapdata.scope_sql(self.state.query_scope, session.user_id,
                                                  session.outlet_id)  # fmt: skip
                hits = within(conn, center[0], center[1], radius, scope_sql=where,
                              params=params, limit=20000)  # fmt: skip
                markers = mapdata.map_markers(conn, hits)
            html = build_map_html(
                center=center, radius_km=radius,
                markers=[MapMarker(**m) for m in markers], tile_url=self.settings.tile_url,
                attribution=self.settings.tile_attribution, asset_base="/leaflet", lang=lang,
                center_kind=kind, center_label=label,
            )  # fmt: skip
            name = f"map-{session.user_id[:8]}-{int(radius * 10)}-{kind}.html"
            write_map(self.maps_dir / name, html)
            return name, markers[:20], len(markers)

        ticket = self._begin("map")
        name, nearest, count = await asyncio.to_thread(build)
        if not self._latest("map", ticket):
            return
        self.state.map_url = f"/maps/{name}?t={int(utcnow().timestamp())}" if name else ""
        self.state.map_nearest, self.state.map_count = nearest, count

    async def load_rejections(self) -> None:
        def read():  # type: ignore[no-untyped-def]
            with self.store.read() as conn:
                return [dict(r) for r in conn.exec_driver_sql(
                    "SELECT seq, kind, entity_id, code, message, rejected_at FROM rejection"
                    " ORDER BY seq DESC LIMIT 100").mappings()]  # fmt: skip

        self.state.rejections = await asyncio.to_thread(read)

    # -- settings --------------------------------------------------------------------------

    async def set_language(self, lang: str) -> None:
        def save() -> None:
            with self.store.transaction() as conn:
                self.store.put(conn, "lang", lang)

        await asyncio.to_thread(save)
        self.state.lang = lang

    async def set_server_url(self, url: str) -> bool:
        url = url.strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            self.notify("settings.server_invalid")
            return False

        def save() -> None:
            with self.store.transaction() as conn:
                self.store.put(conn, "server_url", url)

        await asyncio.to_thread(save)
        self.http.base_url = httpx.URL(url)
        self.state.server_url = url
        self.notify("settings.server_saved")
        return True

    def close(self) -> None:
        self.engine.cancel()
        self.http.close()
        self.store.close()

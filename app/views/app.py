"""The workbench application: theme, per-session wiring, the router."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import flet as ft

from app.config import Settings
from app.i18n import t
from app.views.admin import BatchesScreen, ImportScreen
from app.views.context import WorkbenchContext, use_observed, use_workbench
from app.views.dashboard import DashboardScreen
from app.views.followups import FollowupsScreen
from app.views.leads import LeadFormScreen, LeadsScreen
from app.views.league import LeagueScreen
from app.views.loans import LoansScreen
from app.views.login import LoginScreen
from app.views.map_view import MapScreen
from app.views.panes import PANES, WhitelistPanes
from app.views.performance import PerformanceScreen
from app.views.settings import SettingsScreen
from app.views.shell import WIDE, Shell
from app.views.sync_view import SyncScreen
from app.views.targets import TargetsScreen
from app.views.theme import apply_locale
from app.workbench import Workbench
from app.workbench.map import MapPages

ROUTES = [
    ft.Route(
        path="/",
        component=Shell,
        children=[
            ft.Route(index=True, component=WhitelistPanes),
            ft.Route(path="followups", component=FollowupsScreen),
            ft.Route(path="performance", component=PerformanceScreen),
            ft.Route(path="map", component=MapScreen),
            ft.Route(path="settings", component=SettingsScreen),
            ft.Route(path="manage", component=ImportScreen),
            ft.Route(path="manage/batches", component=BatchesScreen),
            ft.Route(path="manage/loans", component=LoansScreen),
            ft.Route(path="manage/league", component=LeagueScreen),
            ft.Route(path="manage/dashboard", component=DashboardScreen),
            ft.Route(path="manage/targets", component=TargetsScreen),
            ft.Route(path="sync", component=SyncScreen),
            ft.Route(path="prospect/:pid", component=WhitelistPanes),
            ft.Route(path="prospect/:pid/log", component=WhitelistPanes),
            ft.Route(path="leads", component=LeadsScreen),
            ft.Route(path="leads/new", component=LeadFormScreen),
        ],
    ),
]


@ft.component
def NoticeBar() -> ft.Control:
    """The one-line message of the last action, in words."""
    workbench = use_workbench()
    app = use_observed(workbench.state)
    if app.notice is None:
        return ft.Container()
    text = t(app.notice.code, app.lang, **app.notice.params)
    return ft.Semantics(
        identifier="notice",
        live_region=True,
        content=ft.Container(
            bgcolor=ft.Colors.INVERSE_SURFACE,
            padding=12,
            content=ft.Row(
                [
                    ft.Text(text, color=ft.Colors.ON_INVERSE_SURFACE, expand=True),
                    # 48 px for a finger (the web client's compact density gives 40), and
                    # merged so the button itself carries its tooltip's name
                    ft.MergeSemantics(
                        content=ft.IconButton(
                            ft.Icons.CLOSE,
                            icon_color=ft.Colors.ON_INVERSE_SURFACE,
                            tooltip=t("common.close", app.lang),
                            on_click=lambda _e: workbench.dismiss_notice(),
                            size_constraints=ft.BoxConstraints(min_width=48, min_height=48),
                        )
                    ),
                ]
            ),
        ),
    )


@ft.component
def Root() -> ft.Control:
    workbench = use_workbench()
    app = use_observed(workbench.state)
    page = ft.context.page

    async def start() -> None:
        for _ in range(20):  # the client's size arrives with (or just after) the mount
            if page.width:
                break
            await asyncio.sleep(0.05)
        workbench.set_width(page.width or 0, wide_from=WIDE, panes_from=PANES)
        await workbench.open()

    ft.use_effect(start, [])  # after mount, so every state change re-renders
    ft.use_effect(lambda: apply_locale(page, app.lang), [app.lang])
    if not app.ready:
        return ft.Container(ft.ProgressRing(), alignment=ft.Alignment.CENTER, expand=True)
    main = ft.Router(ROUTES) if app.session else LoginScreen()
    return ft.Column([ft.Container(main, expand=True), NoticeBar()], spacing=0, expand=True)


@ft.component
def App(workbench: Workbench) -> ft.Control:
    return WorkbenchContext(workbench, lambda: Root())


def build_main(
    settings: Settings, *, login: tuple[str, str] | None = None, map_pages: MapPages
) -> Callable[[ft.Page], Awaitable[None]]:
    """The Flet entry point: one Workbench per session (its map pages in ``map_pages``,
    which the web server serves per session token)."""

    async def main(page: ft.Page) -> None:
        from app.views.theme import apply_theme

        page.title = t("app.title")
        page.padding = 0
        apply_theme(page)
        workbench = Workbench(settings, login=login, map_pages=map_pages)
        workbench.set_width(page.width or 0, wide_from=WIDE, panes_from=PANES)
        page.on_resize = lambda e: workbench.set_width(e.width, wide_from=WIDE, panes_from=PANES)
        page.on_close = lambda _e: workbench.close()
        # a tab closed: its session lives on a while, its event stream must not
        page.on_disconnect = lambda _e: workbench.page_disconnected()
        page.on_connect = lambda _e: workbench.page_reconnected()
        # back in the foreground: a sync at once (live updates may have been suspended)
        page.on_app_lifecycle_state_change = lambda e: workbench.app_state_changed(e.state.value)
        page.render(App, workbench)

    return main

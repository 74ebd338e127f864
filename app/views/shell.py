"""The shell: NavigationBar on phones, NavigationRail from 840 px, the sync bar always."""

from __future__ import annotations

import flet as ft

from app.i18n import format_datetime, t
from app.views.context import use_observed, use_workbench
from app.views.theme import BRAND

TABS = [
    ("/", "nav.whitelist", ft.Icons.LIST_ALT),
    ("/followups", "nav.followups", ft.Icons.EVENT_NOTE),
    ("/performance", "nav.performance", ft.Icons.INSIGHTS),
    ("/map", "nav.map", ft.Icons.MAP),
    ("/settings", "nav.settings", ft.Icons.SETTINGS),
]
WIDE = 840


def tab_index(location: str) -> int:
    for i, (path, _, _) in reversed(list(enumerate(TABS))):
        if path != "/" and location.startswith(path):
            return i
    return 0


@ft.component
def SyncBar() -> ft.Control:
    workbench = use_workbench()
    app = use_observed(workbench.state)
    p, lang = app.progress, app.lang
    pieces = [t("sync.last", lang, time=format_datetime(p.last_sync_at, lang))]
    if p.pending:
        pieces.append(t("sync.pending", lang, count=p.pending))
    if p.rejected:
        pieces.append(t("sync.rejected", lang, count=p.rejected))
    waiting = ""  # what has not reached the store: its own line, so it never wraps mid-phrase
    if p.running:
        status_text = t(f"sync.{p.phase}", lang, done=p.done, total=p.total or "…")
    elif p.error_code:
        status_text = t(p.error_code, lang, status=p.error_message) + " · " + pieces[0]
    else:
        status_text, waiting = pieces[0], " · ".join(pieces[1:])
    lines: list[ft.Control] = [ft.Text(status_text, size=13, max_lines=2)]
    if waiting:
        lines.append(ft.Text(waiting, size=13, weight=ft.FontWeight.W_600, color=BRAND))

    if p.running:
        icon = ft.Icons.CLOUD_SYNC
    elif p.error_code:
        icon = ft.Icons.CLOUD_OFF
    else:
        icon = ft.Icons.CLOUD_DONE
    details = ft.Semantics(
        identifier="sync-status",
        expand=True,
        button=True,
        content=ft.Container(
            ft.Column(lines, spacing=0, tight=True),
            on_click=lambda _e: ft.context.page.navigate("/sync"),
        ),
    )
    button = ft.Semantics(
        identifier="sync",
        button=True,
        content=ft.FilledButton(
            t("sync.button", lang),
            icon=ft.Icons.SYNC,
            disabled=p.running,
            on_click=lambda _e: ft.context.page.run_task(workbench.sync),
            height=44,
        ),
    )
    return ft.Container(
        bgcolor=ft.Colors.SURFACE_CONTAINER_HIGH,
        padding=ft.Padding.symmetric(horizontal=12, vertical=6),
        content=ft.Column(
            spacing=4,
            controls=[
                ft.Row(
                    [
                        ft.Icon(icon, color=ft.Colors.ERROR if p.error_code else BRAND),
                        details,
                        button,
                    ],
                    vertical_alignment=ft.CrossAxisAlignment.CENTER,
                ),
                ft.ProgressBar(value=p.fraction, visible=p.running, color=BRAND),
            ],
        ),
    )


@ft.component
def Shell() -> ft.Control:
    workbench = use_workbench()
    app = use_observed(workbench.state)
    lang = app.lang
    page = ft.context.page
    selected = tab_index(ft.use_route_location())
    outlet = ft.use_route_outlet()

    def go(index: int) -> None:
        page.navigate(TABS[index][0])

    session = app.session
    who = f"{session.name} · {t('role.' + session.role, lang)}" if session else ""
    header = ft.Container(
        bgcolor=BRAND,
        padding=ft.Padding.symmetric(horizontal=16, vertical=10),
        content=ft.Row(
            [
                ft.Icon(ft.Icons.STOREFRONT, color=ft.Colors.WHITE),
                ft.Text(
                    t("app.title", lang),
                    size=18,
                    color=ft.Colors.WHITE,
                    weight=ft.FontWeight.BOLD,
                    expand=True,
                ),
                ft.Text(who, size=13, color=ft.Colors.WHITE),
            ]
        ),
    )
    body = ft.Column([header, SyncBar(), ft.Container(outlet, expand=True)], spacing=0, expand=True)
    # The page's own width at each render, with the resize events (app.wide) as the
    # trigger: a size the client reports without an event still wins at the next render.
    wide = (page.width or 0) >= WIDE if page.width else app.wide
    if wide:
        rail = ft.NavigationRail(
            selected_index=selected,
            label_type=ft.NavigationRailLabelType.ALL,
            on_change=lambda e: go(int(e.control.selected_index or 0)),
            destinations=[
                ft.NavigationRailDestination(icon=icon, label=t(key, lang)) for _, key, icon in TABS
            ],
        )
        return ft.SafeArea(
            expand=True,
            content=ft.Row([rail, ft.VerticalDivider(width=1), body], spacing=0, expand=True),
        )
    bar = ft.NavigationBar(
        selected_index=selected,
        on_change=lambda e: go(int(e.control.selected_index or 0)),
        destinations=[
            ft.NavigationBarDestination(icon=icon, label=t(key, lang)) for _, key, icon in TABS
        ],
    )
    return ft.SafeArea(expand=True, content=ft.Column([body, bar], spacing=0, expand=True))

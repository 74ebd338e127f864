"""The shell: NavigationBar on phones, NavigationRail from 840 px, the sync bar always."""

from __future__ import annotations

import flet as ft

from app.i18n import format_datetime, t
from app.views.context import use_observed, use_workbench
from app.views.theme import BRAND
from app.views.widgets import tappable
from app.workbench.imports import may_manage

TABS = [
    ("/", "nav.whitelist", ft.Icons.LIST_ALT),
    ("/followups", "nav.followups", ft.Icons.EVENT_NOTE),
    ("/performance", "nav.performance", ft.Icons.INSIGHTS),
    ("/map", "nav.map", ft.Icons.MAP),
    ("/leads", "nav.leads", ft.Icons.ADD_BUSINESS),
    ("/manage", "nav.manage", ft.Icons.ADMIN_PANEL_SETTINGS),  # 管理: managers and admins
    ("/settings", "nav.settings", ft.Icons.SETTINGS),
]
MANAGERS_ONLY = frozenset({"/manage"})
WIDE = 840


def tabs_for(role: str | None) -> list[tuple[str, str, ft.IconData]]:
    """The destinations this role sees (管理 is not a marketer's)."""
    return [tab for tab in TABS if tab[0] not in MANAGERS_ONLY or may_manage(role)]


def tapped(event: ft.Event) -> int:
    """The destination a NavigationBar or NavigationRail change names: the index the
    client sent with the event. Not the control's ``selected_index``: a re-render between
    the tap and its event (a sync's progress re-renders the shell) puts the route's old
    index back on the control, and reading it sent the user back where they were."""
    data = event.data
    if isinstance(data, int) or (isinstance(data, str) and data.isdigit()):
        return int(data)
    return int(getattr(event.control, "selected_index", 0) or 0)


def tab_index(location: str, tabs: list[tuple[str, str, ft.IconData]] = TABS) -> int:
    for i, (path, _, _) in reversed(list(enumerate(tabs))):
        if path != "/" and location.startswith(path):
            return i
    return 0


# Errors that have a short form for the bar; the sync screen shows the whole message.
SHORT_ERRORS = {"sync.network", "sync.timeout", "sync.server", "sync.store_busy"}
# Not a fault anyone must mend: the store is full and the device tries again by itself.
CALM_ERRORS = {"sync.store_busy"}


def bar_error(code: str, message: str, lang: str) -> str:
    """The sync bar's words for a failed sync: short where a short form exists."""
    if code in SHORT_ERRORS:
        return t(f"{code}_short", lang)
    return t(code, lang, status=message)


@ft.component
def RetryIn(lang: str) -> ft.Control:
    """When the next automatic try is (the workbench counts the seconds down)."""
    workbench = use_workbench()
    auto = use_observed(workbench.autosync.state)
    left = auto.seconds_left
    if left is None or not auto.retrying:
        return ft.Container()
    if left <= 0:
        words = t("sync.retrying", lang)
    elif left >= 90:  # "13 分钟后", not "796 秒后"
        words = t("sync.retry_in_minutes", lang, minutes=round(left / 60))
    else:
        words = t("sync.retry_in", lang, seconds=left)
    return ft.Text(words, size=12, color=ft.Colors.ON_SURFACE_VARIANT)


@ft.component
def SyncBar() -> ft.Control:
    workbench = use_workbench()
    app = use_observed(workbench.state)
    p, lang = app.progress, app.lang
    last = t("sync.last", lang, time=format_datetime(p.last_sync_at, lang))
    counts = []  # what has not reached the store: its own line, so it never wraps mid-phrase
    if p.pending:
        counts.append(t("sync.pending", lang, count=p.pending))
    if p.rejected:
        counts.append(t("sync.rejected", lang, count=p.rejected))
    failed = bool(p.error_code) and not p.running
    calm = p.error_code in CALM_ERRORS
    lines: list[ft.Control] = []
    if p.running:
        lines.append(
            ft.Text(
                t(
                    f"sync.{p.phase}",
                    lang,
                    done=p.done,
                    total=p.total or "…",
                    seconds=p.wait_seconds,
                ),
                size=13,
            )
        )
    elif failed:
        # short, and wrapped in full however narrow the phone: the details are a tap away
        error = ft.Text(
            bar_error(p.error_code, p.error_message, lang),
            size=13,
            weight=ft.FontWeight.W_600,
            color=ft.Colors.ON_SURFACE if calm else ft.Colors.ERROR,
        )
        lines.append(ft.Semantics(identifier="sync-error", container=True, content=error))
    else:
        lines.append(ft.Text(last, size=13))
    if counts:
        waiting = ft.Text(" · ".join(counts), size=13, weight=ft.FontWeight.W_600, color=BRAND)
        lines.append(ft.Semantics(identifier="sync-waiting", container=True, content=waiting))
    if failed:
        lines.append(RetryIn(lang))

    if p.running:
        icon = ft.Icons.CLOUD_SYNC
    elif calm:
        icon = ft.Icons.CLOUD_QUEUE
    elif p.error_code:
        icon = ft.Icons.CLOUD_OFF
    else:
        icon = ft.Icons.CLOUD_DONE
    details = ft.Semantics(
        identifier="sync-status",
        expand=True,
        button=True,
        on_tap_hint_text=t("sync.details", lang),
        content=ft.Container(
            # at least as tall as a finger (48 px), however few the lines
            ft.Stack(
                [ft.Container(height=48), ft.Column(lines, spacing=0, tight=True)],
                alignment=ft.Alignment.CENTER_LEFT,
            ),
            on_click=lambda _e: ft.context.page.navigate("/sync"),
        ),
    )
    button = tappable(
        "sync",
        ft.FilledButton(
            t("sync.button", lang),
            icon=ft.Icons.SYNC,
            disabled=p.running,
            on_click=lambda _e: ft.context.page.run_task(workbench.sync),
            height=48,
        ),
    )
    return ft.Container(
        bgcolor=ft.Colors.SURFACE_CONTAINER_HIGH,
        padding=ft.Padding.symmetric(horizontal=12, vertical=4),
        content=ft.Column(
            spacing=4,
            controls=[
                ft.Row(
                    [
                        ft.Icon(
                            icon, color=ft.Colors.ERROR if p.error_code and not calm else BRAND
                        ),
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
    session = app.session
    tabs = tabs_for(session.role if session else None)
    selected = tab_index(ft.use_route_location(), tabs)
    outlet = ft.use_route_outlet()

    def go(index: int) -> None:
        page.navigate(tabs[index][0])

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
            on_change=lambda e: go(tapped(e)),
            destinations=[
                ft.NavigationRailDestination(icon=icon, label=t(key, lang)) for _, key, icon in tabs
            ],
        )
        # Each layout its own key: Flet 1.0.5 moving the body's components from one layout
        # to the other on a resize across WIDE marked the moved ones removed too, and they
        # stopped updating; a new layout mounts them afresh.
        return ft.SafeArea(
            key="wide",
            expand=True,
            content=ft.Row([rail, ft.VerticalDivider(width=1), body], spacing=0, expand=True),
        )
    bar = ft.NavigationBar(
        selected_index=selected,
        on_change=lambda e: go(tapped(e)),
        destinations=[
            ft.NavigationBarDestination(icon=icon, label=t(key, lang)) for _, key, icon in tabs
        ],
    )
    return ft.SafeArea(
        key="narrow", expand=True, content=ft.Column([body, bar], spacing=0, expand=True)
    )

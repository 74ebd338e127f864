"""The map: prospects around the outlet or me, radius 1/3/5/10 km, nearest listed beside."""

from __future__ import annotations

import flet as ft

from app.i18n import format_distance, format_money, t
from app.views.context import StateContext, WorkbenchState
from app.views.log_form import device_position
from app.views.widgets import status_chip

RADII = (1.0, 3.0, 5.0, 10.0)


def _absolute(page: ft.Page, path: str) -> str:
    base = (page.url or "").replace("ws://", "http://").replace("wss://", "https://")
    base = base.split("/ws")[0].rstrip("/")
    return f"{base}{path}"


@ft.component
def MapScreen() -> ft.Control:
    state: WorkbenchState = ft.use_context(StateContext)
    wb, lang = state.wb, state.lang
    page = ft.context.page
    around_me, set_around_me = ft.use_state(False)

    async def rebuild() -> None:
        me = await device_position(page) if around_me else None
        await wb.build_map(around_me=me)

    ft.use_effect(rebuild, [state.map_radius, around_me, state.map_focus,
                            state.progress.last_sync_at])  # fmt: skip

    def set_me(on: bool) -> None:
        if on:
            state.map_focus = None
        set_around_me(on)

    async def pick_radius(e: ft.Event) -> None:
        state.map_radius = float((list(e.control.selected) or ["3.0"])[0])

    async def open_browser(_e: ft.Event) -> None:
        await ft.UrlLauncher().launch_url(_absolute(page, state.map_url))

    controls: list[ft.Control] = [
        ft.Row([
            ft.SegmentedButton(selected=[str(state.map_radius)], on_change=pick_radius, segments=[
                ft.Segment(value=str(r), label=ft.Text(f"{r:g} km")) for r in RADII]),
            ft.Switch(label=t("map.center.me", lang), value=around_me,
                      on_change=lambda e: set_me(bool(e.control.value))),
        ], wrap=True, spacing=12, run_spacing=8),
        ft.Text(t("map.count", lang, radius=f"{state.map_radius:g}", count=state.map_count),
                size=13),
    ]  # fmt: skip
    if state.map_focus and not around_me:
        name = next((m["name"] for m in state.map_nearest if m["id"] == state.map_focus), "")
        controls.insert(0, ft.Semantics(identifier="map-focus", content=ft.Chip(
            label=ft.Text(t("map.center.prospect", lang, name=name), size=13),
            leading=ft.Icon(ft.Icons.PLACE, size=16),
            on_delete=lambda _e: setattr(state, "map_focus", None))))  # fmt: skip
    if state.map_url and page.web:
        import flet_webview as fwv

        view: ft.Control = ft.Semantics(identifier="map-view", content=ft.Container(
            fwv.WebView(url=_absolute(page, state.map_url)), height=420,
            border_radius=12, clip_behavior=ft.ClipBehavior.HARD_EDGE))  # fmt: skip
    elif state.map_url:
        view = ft.FilledButton(
            t("map.open_browser", lang), icon=ft.Icons.OPEN_IN_BROWSER, on_click=open_browser
        )
    else:
        view = ft.Row([ft.ProgressRing(width=20, height=20), ft.Text(t("map.building", lang))])
    nearest = [
        ft.ListTile(
            title=ft.Text(m["name"], weight=ft.FontWeight.W_600, max_lines=1,
                          overflow=ft.TextOverflow.ELLIPSIS),
            subtitle=ft.Text(f"{format_distance(m['distance_km'], lang)} · "
                             f"{format_money(m['line'], lang)}"),
            trailing=status_chip(m["status"], lang), min_height=56,
            on_click=lambda _e, pid=m["id"]: page.navigate(f"/prospect/{pid}"))
        for m in state.map_nearest
    ]  # fmt: skip
    side = ft.Column([ft.Text(t("map.nearest", lang), size=16, weight=ft.FontWeight.W_600),
                      *nearest], spacing=0)  # fmt: skip
    return ft.Column(expand=True, scroll=ft.ScrollMode.AUTO, controls=[
        ft.Container(padding=16, content=ft.Column(spacing=10, controls=[
            ft.Text(t("map.title", lang), size=22, weight=ft.FontWeight.BOLD), *controls,
            ft.ResponsiveRow([ft.Container(view, col={"xs": 12, "md": 8}),
                              ft.Container(side, col={"xs": 12, "md": 4})]),
        ])),
    ])  # fmt: skip

"""The map: prospects around the outlet or me, radius 1/3/5/10 km, nearest listed beside."""

from __future__ import annotations

import flet as ft

from app.geo.marker import MapMarker
from app.i18n import format_distance, format_money, t
from app.views.context import use_observed, use_workbench
from app.views.device import device_position
from app.views.widgets import SEGMENT_STYLE, segment_of, status_chip
from app.workbench.map import RADII

AROUND_ME_PADDING = ft.Padding.symmetric(horizontal=8, vertical=15)  # 48 px tall
MAP_HEIGHT = 420
BESIDE = 768  # px: from here (ResponsiveRow's md) the nearest list sits beside the map


def _absolute(page: ft.Page, path: str) -> str:
    """The web client's own address for a path it serves (``page.url`` is its socket)."""
    base = (page.url or "").replace("ws://", "http://").replace("wss://", "https://")
    base = base.split("/ws")[0].rstrip("/")
    return f"{base}{path}"


@ft.component
def MapScreen() -> ft.Control:
    workbench = use_workbench()
    app = use_observed(workbench.state)
    maps = workbench.map
    state = use_observed(maps.state)
    lang = app.lang
    page = ft.context.page
    around_me, set_around_me = ft.use_state(False)

    async def rebuild() -> None:
        me = await device_position() if around_me else None
        await maps.build(around_me=me)

    ft.use_effect(rebuild, [state.radius, around_me, state.focus, app.progress.last_sync_at])

    def open_picked_card() -> None:
        # a marker's popup asked for this prospect's card (through the web server)
        if state.opening:
            prospect_id = state.opening
            maps.opened()
            page.navigate(f"/prospect/{prospect_id}")

    ft.use_effect(open_picked_card, [state.opening])

    def set_me(on: bool) -> None:
        if on:
            maps.focus(None)
        set_around_me(on)

    def pick_radius(e: ft.Event) -> None:
        maps.set_radius(float(segment_of(e, "3.0")))

    async def open_browser(_e: ft.Event) -> None:
        await ft.UrlLauncher().launch_url(_absolute(page, state.url))

    radius = ft.SegmentedButton(
        selected=[str(state.radius)],
        on_change=pick_radius,
        show_selected_icon=False,  # "3 公里" and a tick wrap on a phone; the fill shows it
        style=SEGMENT_STYLE,
        segments=[
            ft.Segment(value=str(r), label=ft.Text(t("map.radius_km", lang, radius=f"{r:g}")))
            for r in RADII
        ],
    )
    controls: list[ft.Control] = [
        ft.Row(
            [
                radius,
                ft.Semantics(  # a chip a finger can hit (a switch is 40 px tall)
                    identifier="around-me",
                    content=ft.Chip(
                        label=ft.Text(t("map.center.me", lang)),
                        leading=ft.Icon(ft.Icons.MY_LOCATION, size=18),
                        selected=around_me,
                        show_checkmark=False,
                        padding=AROUND_ME_PADDING,  # its icon makes it a little shorter
                        on_select=lambda _e: set_me(not around_me),
                    ),
                ),
            ],
            wrap=True,
            spacing=12,
            run_spacing=8,
        ),
        ft.Semantics(
            identifier="map-count",
            content=ft.Text(
                t("map.counting", lang)
                if state.count is None
                else t("map.count", lang, radius=f"{state.counted_radius:g}", count=state.count),
                size=13,
            ),
        ),
    ]
    if state.focus and not around_me:
        focus = ft.Chip(
            label=ft.Text(t("map.center.prospect", lang, name=state.focus_name), size=13),
            leading=ft.Icon(ft.Icons.PLACE, size=16),
            on_delete=lambda _e: maps.focus(None),
            delete_icon_tooltip=t("map.clear_focus", lang),
        )
        controls.insert(0, ft.Semantics(identifier="map-focus", content=focus))
    if state.url and page.web:
        import flet_webview as fwv

        view: ft.Control = ft.Semantics(
            identifier="map-view",
            content=ft.Container(
                fwv.WebView(url=_absolute(page, state.url)),
                height=MAP_HEIGHT,
                border_radius=12,
                clip_behavior=ft.ClipBehavior.HARD_EDGE,
            ),
        )
    elif state.url:
        view = ft.FilledButton(
            t("map.open_browser", lang), icon=ft.Icons.OPEN_IN_BROWSER, on_click=open_browser
        )
    else:
        view = ft.Row([ft.ProgressRing(width=20, height=20), ft.Text(t("map.building", lang))])

    def nearest(m: MapMarker) -> ft.Control:
        distance = format_distance(m.distance_km, lang) if m.distance_km is not None else ""
        return ft.ListTile(
            title=ft.Text(
                m.name, weight=ft.FontWeight.W_600, max_lines=1, overflow=ft.TextOverflow.ELLIPSIS
            ),
            subtitle=ft.Text(f"{distance} · {format_money(m.line, lang)}"),
            trailing=status_chip(m.status, lang),
            min_height=56,
            on_click=lambda _e: page.navigate(f"/prospect/{m.id}"),
        )

    # Beside the map (a desktop) the list scrolls in the map's height, so the map stays in
    # sight; below it (a phone) the screen scrolls.
    beside = (page.width or 0) >= BESIDE if page.width else app.wide
    side = ft.Column(
        [
            ft.Text(t("map.nearest", lang), size=16, weight=ft.FontWeight.W_600),
            *[nearest(m) for m in state.nearest],
        ],
        spacing=0,
        height=MAP_HEIGHT if beside else None,
        scroll=ft.ScrollMode.AUTO if beside else None,
    )
    return ft.Column(
        expand=True,
        scroll=ft.ScrollMode.AUTO,
        controls=[
            ft.Container(
                padding=16,
                content=ft.Column(
                    spacing=10,
                    controls=[
                        ft.Text(t("map.title", lang), size=22, weight=ft.FontWeight.BOLD),
                        *controls,
                        ft.ResponsiveRow(
                            [
                                ft.Container(view, col={"xs": 12, "md": 8}),
                                ft.Container(side, col={"xs": 12, "md": 4}),
                            ]
                        ),
                    ],
                ),
            ),
        ],
    )

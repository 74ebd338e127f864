"""The whitelist with its card: one pane at a time on a phone, side by side from 800 px.

On a phone ``/`` is the list, ``/prospect/<id>`` the card and ``/prospect/<id>/log``
the log form, each filling the screen. From ``PANES`` px wide (a tablet either way up,
a desktop) the list stays on the left (about 40 %) and the card or the log form opens
on the right; with nothing open the right pane says what to do. A manager's table
view (``WhitelistState.view == "table"``) takes the whole width, and leaves room for
the card beside it when one is open.
"""

from __future__ import annotations

import flet as ft

from app.i18n import t
from app.views.card import CardScreen
from app.views.context import use_observed, use_workbench
from app.views.log_form import LogScreen
from app.views.whitelist import WhitelistScreen

PANES = 800  # px: from here the list and the card sit side by side


@ft.component
def WhitelistPanes() -> ft.Control:
    workbench = use_workbench()
    app = use_observed(workbench.state)
    lists = use_observed(workbench.whitelist.state)
    page = ft.context.page
    pid = ft.use_route_params().get("pid", "")
    logging = ft.use_route_location().rstrip("/").endswith("/log")
    # the page's own width at each render, the resize events (app.panes) as the trigger
    panes = (page.width or 0) >= PANES if page.width else app.panes
    if not panes:
        if not pid:
            return WhitelistScreen(key="list")
        return LogScreen(key="log") if logging else CardScreen(key="card")
    table = workbench.whitelist.table_offered() and lists.view == "table" and app.wide
    if not pid:
        right: ft.Control = _nothing_open(app.lang)
    elif logging:
        right = LogScreen(key="log")
    else:
        right = CardScreen(pane=True, key="card")
    left = WhitelistScreen(selected=pid, table=table, key="table" if table else "list")
    if table and not pid:
        return ft.Container(left, expand=True, key="table")
    return ft.Row(
        key="table-panes" if table else "panes",
        expand=True,
        spacing=0,
        vertical_alignment=ft.CrossAxisAlignment.STRETCH,
        controls=[
            ft.Container(left, expand=3 if table else 2),
            ft.VerticalDivider(width=1),
            ft.Container(right, expand=2 if table else 3),
        ],
    )


def _nothing_open(lang: str) -> ft.Control:
    return ft.Semantics(
        identifier="no-card",
        container=True,
        content=ft.Container(
            alignment=ft.Alignment.CENTER,
            padding=24,
            content=ft.Column(
                [
                    ft.Icon(ft.Icons.TOUCH_APP, size=40, color=ft.Colors.ON_SURFACE_VARIANT),
                    ft.Text(
                        t("panes.nothing_open", lang),
                        size=15,
                        color=ft.Colors.ON_SURFACE_VARIANT,
                        text_align=ft.TextAlign.CENTER,
                    ),
                ],
                tight=True,
                spacing=12,
                horizontal_alignment=ft.CrossAxisAlignment.CENTER,
            ),
        ),
    )

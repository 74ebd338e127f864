"""The navigation bar and rail go where the user tapped, whatever re-rendered meanwhile."""

from __future__ import annotations

import flet as ft

from app.views.shell import TABS, tabs_for, tapped


def test_a_tap_during_a_re_render_goes_to_the_tab_tapped() -> None:
    # a sync's progress re-rendered the shell between the tap and its event: the control
    # carries the route's old index (0, the whitelist), the event the one tapped
    tabs = tabs_for("marketer")
    settings = [path for path, _, _ in tabs].index("/settings")
    bar = ft.NavigationBar(
        selected_index=0,
        destinations=[ft.NavigationBarDestination(icon=icon, label=key) for _, key, icon in tabs],
    )
    assert tapped(ft.Event("change", bar, data=settings)) == settings
    assert tapped(ft.Event("change", bar, data=str(settings))) == settings
    assert tabs[tapped(ft.Event("change", bar, data=settings))][0] == "/settings"


def test_a_rail_without_the_index_in_its_event_falls_back_to_its_selection() -> None:
    rail = ft.NavigationRail(
        selected_index=2,
        destinations=[ft.NavigationRailDestination(icon=icon, label=key) for _, key, icon in TABS],
    )
    assert tapped(ft.Event("change", rail)) == 2

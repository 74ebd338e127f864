"""Views take what the user tapped, typed or picked from the event itself.

In Flet 1.0.5 a re-render between a change on the client and its event (a sync's
progress re-renders every screen that shows it) can leave the control the handler gets
holding the value from before the change: the tab the user was on, an empty search box.
"""

from __future__ import annotations

import flet as ft

from app.views.shell import TABS, tabs_for, tapped
from app.views.widgets import segment_of, text_of


def test_a_tap_during_a_re_render_goes_to_the_tab_tapped() -> None:
    # the control carries the route's old index (0, the whitelist), the event the one tapped
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


def test_a_search_typed_during_a_re_render_is_the_text_typed() -> None:
    box = ft.TextField(value="")  # what the re-render put back
    assert text_of(ft.Event("submit", box, data="汽车修理部")) == "汽车修理部"
    assert text_of(ft.Event("change", box, data="")) == ""  # cleared is cleared
    assert text_of(ft.Event("change", ft.TextField(value="旧"))) == "旧"  # no data: the box
    assert text_of(ft.Event("change", ft.TextField())) == ""


def test_a_drop_down_choice_is_the_key_chosen() -> None:
    sort = ft.Dropdown(value="distance", options=[ft.DropdownOption(key="score")])
    assert text_of(ft.Event("select", sort, data="score")) == "score"


def test_a_segment_picked_during_a_re_render_is_the_one_picked() -> None:
    periods = ft.SegmentedButton(
        selected=["month"],
        segments=[ft.Segment(value=v, label=ft.Text(v)) for v in ("week", "month", "quarter")],
    )
    assert segment_of(ft.Event("change", periods, data=["week"]), "month") == "week"
    assert segment_of(ft.Event("change", periods), "quarter") == "month"  # no data: the control
    assert segment_of(ft.Event("change", periods, data=[]), "quarter") == "quarter"

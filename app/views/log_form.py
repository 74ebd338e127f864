"""Writing a marketing log: channel, outcome, note, next follow-up, check-in position."""

from __future__ import annotations

import asyncio

import flet as ft

from app.geo.distance import haversine_km
from app.i18n import format_distance, t
from app.models.marketing_log import Channel, Outcome
from app.services.clock import beijing_today
from app.services.marketing import check_log_input, follow_up_choices
from app.views.context import StateContext, WorkbenchState
from app.views.widgets import screen


async def device_position(page: ft.Page) -> tuple[float, float] | None:
    """The device's position where the platform offers one, within a few seconds."""
    try:
        import flet_geolocator as fg

        locator = fg.Geolocator()
        pos = await asyncio.wait_for(locator.get_current_position(), timeout=6)
        return (pos.latitude, pos.longitude) if pos else None
    except Exception:  # no service, no permission, web without consent: use the outlet
        return None


@ft.component
def LogScreen() -> ft.Control:
    state: WorkbenchState = ft.use_context(StateContext)
    wb, lang = state.wb, state.lang
    page = ft.context.page
    pid = ft.use_route_params().get("pid", "")
    channel, set_channel = ft.use_state("visit")
    outcome, set_outcome = ft.use_state(None)
    note_text, set_note = ft.use_state("")
    follow_up, set_follow_up = ft.use_state("")
    errors, set_errors = ft.use_state({})
    position, set_position = ft.use_state(None)  # (lat, lon, source)
    saving, set_saving = ft.use_state(False)

    async def locate() -> None:
        if state.card is None or state.card.id != pid:
            await wb.open_card(pid)
        pos = await device_position(page)
        card = state.card
        if pos is not None:
            set_position((pos[0], pos[1], "device"))
        elif card is not None and card.outlet_lat is not None:
            set_position((card.outlet_lat, card.outlet_lon, "outlet"))

    ft.use_effect(locate, [pid])
    card = state.card

    async def save(_e: ft.Event) -> None:
        clean, problems = check_log_input(channel=channel, outcome=outcome, note=note_text,
                                          next_follow_up=follow_up, today=beijing_today())  # fmt: skip
        set_errors(problems)
        if clean is None:
            return
        set_saving(True)
        await wb.write_log(pid, clean, position[:2] if position else None)
        set_saving(False)
        page.navigate(f"/prospect/{pid}")

    def err(field: str) -> str | None:
        return t(errors[field], lang) if field in errors else None

    where = ""
    if position is not None:
        source = t(f"log.checkin.{position[2]}", lang)
        where = f"{source} {position[0]:.5f}, {position[1]:.5f}"
        if card is not None:
            km = haversine_km(position[0], position[1], card.lat, card.lon)
            where += " · " + t("log.checkin.distance", lang, distance=format_distance(km, lang))
    return screen(
        t("log.title", lang),
        ft.Text(card.company_name if card else "", size=16, weight=ft.FontWeight.W_600),
        ft.Text(t("log.channel", lang), size=13),
        ft.Semantics(identifier="channel", content=ft.SegmentedButton(
            selected=[channel], show_selected_icon=False,  # 上门拜访 fits a phone's quarter
            on_change=lambda e: set_channel(
                (list(e.control.selected) or ["visit"])[0]),
            segments=[ft.Segment(value=c.value, label=ft.Text(t(f"log.channel.{c.value}", lang)))
                      for c in Channel])),
        ft.Text(t("log.outcome", lang), size=13),
        ft.Row([ft.Semantics(identifier=f"outcome-{o.value}", button=True, content=ft.Chip(
            label=ft.Text(t(f"log.outcome.{o.value}", lang)), selected=outcome == o.value,
            on_select=lambda _e, v=o.value: set_outcome(v))) for o in Outcome],
            wrap=True, spacing=8, run_spacing=8),
        ft.Text(err("outcome") or "", color=ft.Colors.ERROR, size=12, visible="outcome" in errors),
        ft.TextField(label=t("log.note", lang), value=note_text, multiline=True, min_lines=3,
                     error=err("note"),
                     on_change=lambda e: set_note(e.control.value)),
        ft.TextField(label=t("log.next_follow_up", lang), value=follow_up,
                     hint_text=t("log.next_follow_up_hint", lang), error=err("next_follow_up"),
                     on_change=lambda e: set_follow_up(e.control.value),
                     keyboard_type=ft.KeyboardType.DATETIME),
        ft.Row([ft.Semantics(identifier=f"follow-up-in-{n}", button=True, content=ft.Chip(
            label=ft.Text(t(f"log.follow_up_in.{n}", lang)), selected=follow_up == day,
            on_select=lambda _e, day=day: set_follow_up("" if follow_up == day else day)))
            for n, day in follow_up_choices(beijing_today())], wrap=True, spacing=8, run_spacing=8),
        ft.Row([ft.Icon(ft.Icons.PLACE), ft.Text(where or "…", size=13, expand=True)]),
        ft.Semantics(identifier="save-log", button=True, content=ft.FilledButton(
            t("log.save", lang), icon=ft.Icons.SAVE, on_click=save, disabled=saving, height=52)),
        on_back=lambda _e: page.navigate(f"/prospect/{pid}"),
    )  # fmt: skip

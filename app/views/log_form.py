"""Writing a marketing log: channel, outcome, note, next follow-up, check-in position."""

from __future__ import annotations

import flet as ft

from app.i18n import format_distance, t
from app.models.marketing_log import Channel, Outcome
from app.views.context import use_observed, use_workbench
from app.views.device import device_position
from app.views.widgets import screen
from app.workbench.log import CheckIn, check_in


def _where(spot: CheckIn | None, lang: str) -> str:
    if spot is None:
        return "…"
    text = f"{t(f'log.checkin.{spot.source}', lang)} {spot.lat:.5f}, {spot.lon:.5f}"
    if spot.distance_km is not None:
        distance = format_distance(spot.distance_km, lang)
        text += " · " + t("log.checkin.distance", lang, distance=distance)
    return text


@ft.component
def LogScreen() -> ft.Control:
    workbench = use_workbench()
    app = use_observed(workbench.state)
    cards = use_observed(workbench.card.state)
    lang = app.lang
    page = ft.context.page
    pid = ft.use_route_params().get("pid", "")
    channel, set_channel = ft.use_state("visit")
    outcome, set_outcome = ft.use_state(None)
    note_text, set_note = ft.use_state("")
    follow_up, set_follow_up = ft.use_state("")
    errors, set_errors = ft.use_state({})
    fix, set_fix = ft.use_state(None)  # the device's (lat, lon), when it gives one
    locating, set_locating = ft.use_state(True)  # until the device answers (or gives up)
    saving, set_saving = ft.use_state(False)

    async def locate() -> None:
        await workbench.log.prepare(pid)
        set_fix(await device_position())
        set_locating(False)

    ft.use_effect(locate, [pid])
    card = cards.card if cards.card is not None and cards.card.id == pid else None
    spot = None if locating else check_in(card, fix)

    async def save(_e: ft.Event) -> None:
        set_saving(True)
        try:
            problems = await workbench.log.save(
                pid,
                channel=channel,
                outcome=outcome,
                note=note_text,
                next_follow_up=follow_up,
                where=spot,
            )
        finally:
            set_saving(False)
        set_errors(problems)
        if not problems:
            page.navigate(f"/prospect/{pid}")

    def err(field: str) -> str | None:
        return t(errors[field], lang) if field in errors else None

    channels = ft.SegmentedButton(
        selected=[channel],
        show_selected_icon=False,  # 上门拜访 fits a phone's quarter
        on_change=lambda e: set_channel((list(e.control.selected) or ["visit"])[0]),
        segments=[
            ft.Segment(value=c.value, label=ft.Text(t(f"log.channel.{c.value}", lang)))
            for c in Channel
        ],
    )
    outcomes = [
        ft.Semantics(
            identifier=f"outcome-{o.value}",
            button=True,
            content=ft.Chip(
                label=ft.Text(t(f"log.outcome.{o.value}", lang)),
                selected=outcome == o.value,
                on_select=lambda _e, v=o.value: set_outcome(v),
            ),
        )
        for o in Outcome
    ]
    follow_ups = [
        ft.Semantics(
            identifier=f"follow-up-in-{n}",
            button=True,
            content=ft.Chip(
                label=ft.Text(t(f"log.follow_up_in.{n}", lang)),
                selected=follow_up == day,
                on_select=lambda _e, day=day: set_follow_up("" if follow_up == day else day),
            ),
        )
        for n, day in workbench.log.follow_up_choices()
    ]
    form_error = err("outcome") or err("form") or ""
    return screen(
        t("log.title", lang),
        ft.Text(card.company_name if card else "", size=16, weight=ft.FontWeight.W_600),
        ft.Text(t("log.channel", lang), size=13),
        ft.Semantics(identifier="channel", content=channels),
        ft.Text(t("log.outcome", lang), size=13),
        ft.Row(outcomes, wrap=True, spacing=8, run_spacing=8),
        ft.Text(form_error, color=ft.Colors.ERROR, size=12, visible=bool(form_error)),
        ft.TextField(
            label=t("log.note", lang),
            value=note_text,
            multiline=True,
            min_lines=3,
            error=err("note"),
            on_change=lambda e: set_note(e.control.value),
        ),
        ft.TextField(
            label=t("log.next_follow_up", lang),
            value=follow_up,
            hint_text=t("log.next_follow_up_hint", lang),
            error=err("next_follow_up"),
            on_change=lambda e: set_follow_up(e.control.value),
            keyboard_type=ft.KeyboardType.DATETIME,
        ),
        ft.Row(follow_ups, wrap=True, spacing=8, run_spacing=8),
        ft.Row([ft.Icon(ft.Icons.PLACE), ft.Text(_where(spot, lang), size=13, expand=True)]),
        ft.Semantics(
            identifier="save-log",
            button=True,
            content=ft.FilledButton(
                t("log.save", lang), icon=ft.Icons.SAVE, on_click=save, disabled=saving, height=52
            ),
        ),
        on_back=lambda _e: page.navigate(f"/prospect/{pid}"),
    )

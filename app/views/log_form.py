"""Writing a marketing log: channel, outcome, note, next follow-up, check-in position.

The channel starts as the user's last log's and the next follow-up three days ahead
(both one tap to change); the outcome is always chosen. Without a position fix the
form says so, offers to locate again, and saves the log with no position.
"""

from __future__ import annotations

import flet as ft

from app.i18n import format_distance, t
from app.models.marketing_log import Channel, Outcome
from app.views.context import use_observed, use_workbench
from app.views.device import device_position
from app.views.widgets import (
    SEGMENT_STYLE,
    choice_chip,
    position_line,
    screen,
    segment_of,
    text_of,
    with_save_bar,
)
from app.workbench.log import CheckIn, check_in


def _where(spot: CheckIn, lang: str) -> str:
    text = f"{t('log.checkin.device', lang)} {spot.lat:.5f}, {spot.lon:.5f}"
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
    follow_up, set_follow_up = ft.use_state(workbench.log.default_follow_up)
    errors, set_errors = ft.use_state({})
    fix, set_fix = ft.use_state(None)  # the device's (lat, lon), when it gives one
    locating, set_locating = ft.use_state(True)  # until the device answers (or gives up)
    saving, set_saving = ft.use_state(False)

    async def locate() -> None:
        set_locating(True)
        set_fix(await device_position())
        set_locating(False)

    async def start() -> None:
        defaults = await workbench.log.prepare(pid)
        set_channel(defaults.channel)
        await locate()

    ft.use_effect(start, [pid])
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
        style=SEGMENT_STYLE,
        on_change=lambda e: set_channel(segment_of(e, channel)),
        segments=[
            ft.Segment(value=c.value, label=ft.Text(t(f"log.channel.{c.value}", lang)))
            for c in Channel
        ],
    )
    outcomes = [
        choice_chip(
            f"outcome-{o.value}",
            t(f"log.outcome.{o.value}", lang),
            outcome == o.value,
            lambda _e, v=o.value: set_outcome(v),
        )
        for o in Outcome
    ]
    # one choice at a time; a tap on the chosen one keeps it, 不设跟进 clears the date
    choices = [
        (f"follow-up-in-{n}", t(f"log.follow_up_in.{n}", lang), day)
        for n, day in workbench.log.follow_up_choices()
    ]
    choices.append(("follow-up-none", t("log.follow_up_none", lang), ""))
    follow_ups = [
        choice_chip(
            identifier, label, follow_up.strip() == day, lambda _e, day=day: set_follow_up(day)
        )
        for identifier, label, day in choices
    ]
    where = position_line(
        lang,
        locating=locating,
        found=None if spot is None else _where(spot, lang),
        none=t("log.checkin.none", lang),
        on_retry=lambda _e: page.run_task(locate),
    )
    form_error = err("outcome") or err("form") or ""
    form = screen(
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
            min_lines=2,
            error=err("note"),
            on_change=lambda e: set_note(text_of(e)),
        ),
        ft.TextField(
            label=t("log.next_follow_up", lang),
            value=follow_up,
            hint_text=t("log.next_follow_up_hint", lang),
            error=err("next_follow_up"),
            on_change=lambda e: set_follow_up(text_of(e)),
            keyboard_type=ft.KeyboardType.DATETIME,
        ),
        ft.Row(follow_ups, wrap=True, spacing=8, run_spacing=8),
        ft.Semantics(identifier="check-in", content=where),
        on_back=lambda _e: page.navigate(f"/prospect/{pid}"),
    )
    return with_save_bar(form, "save-log", t("log.save", lang), on_click=save, saving=saving)

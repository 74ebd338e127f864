"""The customer card: profile, masked contacts with audited reveal, status, timeline."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import flet as ft

from app.i18n import format_date, format_datetime, format_distance, format_money, t
from app.services.feedback import FeedbackReason
from app.services.timeline import TimelineItem
from app.views.context import use_observed, use_workbench
from app.views.theme import BRAND
from app.views.widgets import (
    CHIP_PADDING,
    TOUCH,
    BackButton,
    labelled,
    loading,
    note,
    section,
    status_chip,
    text_of,
)
from app.workbench.card import StepSlot


def _timeline_item(item: TimelineItem, lang: str) -> ft.Control:
    who = item.actor_name or ""
    when = format_datetime(item.when, lang)
    if item.kind == "log":
        channel, outcome = (
            t(f"log.channel.{item.channel}", lang),
            t(f"log.outcome.{item.outcome}", lang),
        )
        title = f"{channel} · {outcome}"
        lines = [item.note] if item.note else []
        if item.next_follow_up:
            lines.append(
                t("whitelist.follow_up", lang, date=format_date(item.next_follow_up, lang))
            )
        if item.check_in_km is not None:  # the device's own fix, never a stand-in
            distance = format_distance(item.check_in_km, lang)
            lines.append(t("timeline.checkin", lang, distance=distance))
        elif item.channel == "visit":
            lines.append(t("timeline.no_checkin", lang))
        icon = ft.Icons.CHAT
    elif item.kind == "status":
        title = f"→ {t(f'funnel.{item.to_status}', lang)}"
        if item.from_status:  # unknown for a move made offline after a claim not yet synced
            title = f"{t(f'funnel.{item.from_status}', lang)} {title}"
        lines = []
        if item.close_reason:
            reason = t(f"feedback.reason.{item.close_reason}", lang)
            if item.close_note:
                reason += f"（{item.close_note}）" if lang == "zh" else f" ({item.close_note})"
            lines.append(t("card.close_reason_line", lang, reason=reason))
        if item.applied is False and item.reason_code == "funnel.same_status":
            # the loan system reporting what the marketer had already moved: a confirmation
            title = t("card.confirmed", lang, status=t(f"funnel.{item.to_status}", lang))
        elif item.applied is False:
            lines.append(t("card.not_applied", lang, reason=t(item.reason_code, lang)))
        if item.amount:
            lines.append(format_money(item.amount, lang))
        icon = ft.Icons.TRENDING_UP
    else:
        title = item.transfer_title(lang)
        lines = [item.reason_text(lang)] if item.reason else []
        icon = ft.Icons.SWAP_HORIZ
    meta = f"{when} · {who}"
    if item.pending:
        meta += f" · {t('card.pending', lang)}"
    return ft.Row(
        vertical_alignment=ft.CrossAxisAlignment.START,
        controls=[
            ft.Icon(icon, color=BRAND, size=20),
            ft.Column(
                spacing=2,
                expand=True,
                controls=[
                    ft.Text(title, size=14, weight=ft.FontWeight.W_600),
                    *[ft.Text(line, size=13) for line in lines],
                    ft.Text(meta, size=12, color=ft.Colors.ON_SURFACE_VARIANT),
                ],
            ),
        ],
    )


def _button(identifier: str, control: ft.Control) -> ft.Control:
    return ft.Semantics(identifier=identifier, button=True, content=control)


def _step(slot: StepSlot, lang: str, on_tap: Callable[[str], None], *, closing: bool) -> ft.Control:
    """One status button in its fixed place: enabled while the step is on offer; the
    prospect's status is filled and ticked, steps passed are ticked."""
    label = t(f"funnel.{slot.status}", lang)
    tap = (lambda _e, s=slot.status: on_tap(s)) if slot.enabled else None
    padding = ft.Padding.symmetric(horizontal=8)  # a ticked 已触达 fits a phone's third
    button: ft.Control
    if slot.current:  # shown as reached, not as a greyed-out button
        here = ft.ButtonStyle(
            padding=padding,
            bgcolor={ft.ControlState.DISABLED: ft.Colors.SECONDARY_CONTAINER},
            color={ft.ControlState.DISABLED: ft.Colors.ON_SECONDARY_CONTAINER},
            icon_color={ft.ControlState.DISABLED: ft.Colors.ON_SECONDARY_CONTAINER},
        )
        button = ft.FilledTonalButton(
            label, icon=ft.Icons.CHECK, height=TOUCH, disabled=True, style=here
        )
    elif closing:
        button = ft.OutlinedButton(
            label,
            icon=ft.Icons.BLOCK,
            height=TOUCH,
            disabled=not slot.enabled,
            on_click=tap,
            style=ft.ButtonStyle(padding=padding, color=ft.Colors.ERROR if slot.enabled else None),
        )
    else:
        button = ft.OutlinedButton(
            label,
            icon=ft.Icons.CHECK if slot.reached else None,
            height=TOUCH,
            disabled=not slot.enabled,
            on_click=tap,
            style=ft.ButtonStyle(padding=padding),
        )
    # phones: three Chinese steps a row, two English ones (longer words); six on a desktop
    col = {"xs": 6, "md": 3} if closing else {"xs": 4 if lang == "zh" else 6, "md": 2}
    return ft.Container(_button(f"move-{slot.status}", button), col=col)


@ft.component
def CloseDialog(
    status: str, close: Callable[[str, str | None, str], Awaitable[str]], cancel: Callable[[], None]
) -> ft.Control:
    """Confirm a closing status (已拒绝 / 无效) with its reason from the feedback list and a
    note (required for 其他); nothing is saved until 确认, and 取消 saves nothing."""
    workbench = use_workbench()
    lang = use_observed(workbench.state).lang
    reason, set_reason = ft.use_state(None)
    note_text, set_note = ft.use_state("")
    problem, set_problem = ft.use_state("")
    saving, set_saving = ft.use_state(False)

    async def confirm(_e: ft.Event) -> None:
        set_saving(True)
        try:
            found = await close(status, reason, note_text)
        finally:
            set_saving(False)
        set_problem(found)

    def choose(value: str | None) -> None:
        set_reason(value)
        set_problem("")

    # Each reason is a row at least 48 px tall, tapped anywhere; the row is what a screen
    # reader announces (selected or not), the radio circle only draws the choice.
    reasons = ft.RadioGroup(
        value=reason,
        on_change=lambda e: choose(text_of(e)),
        content=ft.Column(
            spacing=0,
            controls=[
                ft.Semantics(
                    identifier=f"close-reason-{r.value}",
                    button=True,
                    selected=reason == r.value,
                    content=ft.ListTile(
                        leading=ft.Semantics(
                            exclude_semantics=True, content=ft.Radio(value=r.value)
                        ),
                        title=ft.Text(t(f"feedback.reason.{r.value}", lang), size=15),
                        selected=reason == r.value,
                        min_height=TOUCH,
                        content_padding=ft.Padding.only(right=8),
                        horizontal_spacing=4,
                        on_click=lambda _e, v=r.value: choose(v),
                    ),
                )
                for r in FeedbackReason
            ],
        ),
    )
    note_label = "card.close_note_required" if reason == FeedbackReason.OTHER else "card.close_note"
    body: list[ft.Control] = [
        ft.Text(t("card.close_body", lang), size=13),
        reasons,
        ft.Semantics(
            identifier="close-note",
            content=ft.TextField(
                label=t(note_label, lang),
                value=note_text,
                on_change=lambda e: set_note(text_of(e)),
            ),
        ),
    ]
    if problem:
        body.append(
            ft.Semantics(
                identifier="close-problem",
                live_region=True,
                content=ft.Text(t(problem, lang), color=ft.Colors.ERROR, size=13),
            )
        )
    dialog = ft.AlertDialog(
        modal=True,
        scrollable=True,
        title=ft.Text(t("card.close_title", lang, status=t(f"funnel.{status}", lang)), size=18),
        content=ft.Column(tight=True, spacing=8, width=420, controls=body),
        actions=[
            _button(
                "close-cancel",
                ft.TextButton(
                    t("card.close_cancel", lang), height=TOUCH, on_click=lambda _e: cancel()
                ),
            ),
            _button(
                "close-confirm",
                ft.FilledButton(
                    t("card.close_confirm", lang),
                    height=TOUCH,
                    disabled=saving,
                    on_click=confirm,
                    style=ft.ButtonStyle(bgcolor=ft.Colors.ERROR, color=ft.Colors.ON_ERROR),
                ),
            ),
        ],
        on_dismiss=lambda _e: cancel(),
    )
    ft.use_dialog(dialog)
    return ft.Container(width=0, height=0)


@ft.component
def CardScreen(pane: bool = False) -> ft.Control:
    """The card; ``pane``: beside the list (no back button, the list is in sight)."""
    workbench = use_workbench()
    app = use_observed(workbench.state)
    cards = workbench.card
    state = use_observed(cards.state)
    lang = app.lang
    page = ft.context.page
    pid = ft.use_route_params().get("pid", "")
    amount, set_amount = ft.use_state("")
    assignee, set_assignee = ft.use_state(None)
    reason, set_reason = ft.use_state("")
    closing, set_closing = ft.use_state(None)  # the closing status being confirmed

    async def load() -> None:
        await cards.open(pid)

    ft.use_effect(load, [pid])
    card, actions = state.card, state.actions
    if card is None or card.id != pid:
        return loading()

    async def call(_e: ft.Event) -> None:
        if await cards.reveal("phone"):  # audited first; a refused reveal dials nothing
            await ft.UrlLauncher().launch_url(f"tel:{cards.state.revealed.get('phone', '')}")

    def show_on_map(_e: ft.Event) -> None:
        workbench.map.focus(card.id)  # the map centres on it, with its neighbours
        page.navigate("/map")

    def masked(field: str, hidden: str) -> ft.Control:
        if field in state.revealed or not actions.reveal:
            return ft.Text(state.revealed.get(field, hidden), size=15)
        reveal = ft.TextButton(
            t("card.reveal", lang),
            icon=ft.Icons.VISIBILITY,
            height=TOUCH,
            on_click=lambda _e: page.run_task(cards.reveal, field),
        )
        return ft.Row([ft.Text(hidden, size=15), _button(f"reveal-{field}", reveal)], spacing=4)

    address = card.address
    if card.distance_km is not None:
        distance = format_distance(card.distance_km, lang)
        address += f"（{t('whitelist.distance', lang, distance=distance)}）"
    profile = ft.ResponsiveRow(
        controls=[
            ft.Container(labelled(label, value), col={"xs": 12, "sm": 6})
            for label, value in [
                (t("card.legal_rep", lang), card.legal_rep),
                (t("card.phone", lang), masked("phone", card.phone_masked)),
                (
                    t("card.credit_code", lang),
                    masked("credit_code", card.credit_code_masked),
                ),
                (t("card.industry", lang), card.industry),
                (t("card.batch", lang), f"{card.batch_product} · {card.batch_name}"),
                (t("card.assignee", lang), card.assignee_name or t("whitelist.pool", lang)),
                (t("card.address", lang), address),
            ]
        ]
    )

    async def close(status: str, why: str | None, words: str) -> str:
        problem = await cards.close(status, why, words)
        if not problem:
            set_closing(None)
        return problem

    status_controls: list[ft.Control] = [
        ft.Row(
            [
                status_chip(card.status, lang),
                ft.Text(
                    t("whitelist.line", lang, amount=format_money(card.pre_approved_line, lang)),
                    color=BRAND,
                    size=15,
                    weight=ft.FontWeight.W_600,
                ),
                ft.Text(f"{t('card.score', lang)} {card.score}", size=14),
            ],
            wrap=True,
            spacing=12,
        ),
    ]
    if actions.forward:  # every step keeps its place: a tap never moves the buttons
        status_controls += [
            ft.Text(t("card.next_steps", lang), size=13),
            ft.ResponsiveRow(
                [
                    _step(
                        slot,
                        lang,
                        lambda s: page.run_task(cards.move, s, amount),
                        closing=False,
                    )
                    for slot in actions.forward
                ],
                spacing=8,
                run_spacing=8,
            ),
        ]
    if actions.needs_amount:
        status_controls.append(
            ft.TextField(
                label=t("card.amount", lang),  # the section's full width: never clipped
                value=amount,
                keyboard_type=ft.KeyboardType.NUMBER,
                on_change=lambda e: set_amount(text_of(e)),
            )
        )
    if actions.closing:  # apart from the steps forward, and each asks why first
        status_controls += [
            ft.Divider(height=8),
            ft.Text(t("card.close_steps", lang), size=13),
            ft.ResponsiveRow(
                [_step(slot, lang, set_closing, closing=True) for slot in actions.closing],
                spacing=8,
                run_spacing=8,
            ),
        ]
    if closing:
        status_controls.append(CloseDialog(closing, close, lambda: set_closing(None)))

    buttons: list[ft.Control] = []
    if actions.reveal:
        call_button = ft.FilledButton(
            t("card.call", lang), icon=ft.Icons.PHONE, on_click=call, height=48
        )
        buttons.append(_button("call", call_button))
    if actions.log:
        write_log = ft.FilledButton(
            t("card.write_log", lang),
            icon=ft.Icons.EDIT_NOTE,
            height=48,
            on_click=lambda _e: page.navigate(f"/prospect/{card.id}/log"),
        )
        buttons.append(_button("write-log", write_log))
    buttons.append(
        _button(
            "show-map",
            ft.OutlinedButton(
                t("card.show_map", lang), icon=ft.Icons.MAP, height=48, on_click=show_on_map
            ),
        )
    )
    # last in the row: once it is tapped and gone, no other button slides under the finger
    if actions.claim:
        claim = ft.FilledButton(
            t("card.claim", lang),
            icon=ft.Icons.PAN_TOOL,
            height=48,
            on_click=lambda _e: page.run_task(cards.claim),
        )
        buttons.append(_button("claim", claim))

    assign_section: list[ft.Control] = []
    candidates = cards.assignees() if actions.assign else []
    if candidates:

        async def do_assign(_e: ft.Event) -> None:
            if assignee:
                await cards.assign(assignee, reason)

        people = [
            _button(
                f"assignee-{m.id}",
                ft.Chip(
                    label=ft.Text(m.label),
                    padding=CHIP_PADDING,
                    visual_density=ft.VisualDensity.STANDARD,
                    selected=assignee == m.id,
                    on_select=lambda _e, uid=m.id: set_assignee(uid),
                ),
            )
            for m in candidates
        ]
        assign_section.append(
            section(
                t("card.assign", lang),
                ft.Row(
                    [
                        *people,
                        ft.TextField(
                            label=t("card.assign_reason", lang),
                            value=reason,
                            width=220,
                            on_change=lambda e: set_reason(text_of(e)),
                        ),
                        _button(
                            "assign",
                            ft.FilledButton(
                                t("card.assign_button", lang),
                                on_click=do_assign,
                                disabled=not assignee,
                                height=48,
                            ),
                        ),
                    ],
                    wrap=True,
                    spacing=8,
                    run_spacing=8,
                ),
            )
        )
    tags = ft.Row(
        [
            ft.Container(
                ft.Text(tag, size=12),
                bgcolor=ft.Colors.SECONDARY_CONTAINER,
                border_radius=10,
                padding=ft.Padding.symmetric(horizontal=8, vertical=3),
            )
            for tag in card.tags
        ],
        wrap=True,
        spacing=6,
    )
    timeline = [_timeline_item(i, lang) for i in state.timeline] or [
        note(t("card.no_timeline", lang))
    ]
    heading: list[ft.Control] = [] if pane else [BackButton(lambda _e: page.navigate("/"))]
    return ft.Column(
        expand=True,
        scroll=ft.ScrollMode.AUTO,
        controls=[
            ft.Container(
                padding=ft.Padding.only(left=16 if pane else 4, right=16, top=8),
                content=ft.Row(
                    [
                        *heading,
                        ft.Text(
                            card.company_name,
                            size=20,
                            weight=ft.FontWeight.BOLD,
                            expand=True,
                            max_lines=2,
                        ),
                    ]
                ),
            ),
            ft.Container(
                padding=ft.Padding.only(left=16, right=16, bottom=24),
                content=ft.Column(
                    spacing=12,
                    horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
                    controls=[
                        ft.Row(buttons, wrap=True, spacing=8, run_spacing=8),
                        section(t("card.status", lang), *status_controls),
                        *assign_section,
                        section(t("card.title", lang), tags, profile),
                        section(t("card.timeline", lang), *timeline),
                    ],
                ),
            ),
        ],
    )

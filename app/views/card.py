"""The customer card: profile, masked contacts with audited reveal, status, timeline."""

from __future__ import annotations

import flet as ft

from app.i18n import format_date, format_datetime, format_distance, format_money, t
from app.services.timeline import TimelineItem
from app.views.context import use_observed, use_workbench
from app.views.theme import BRAND
from app.views.widgets import BackButton, labelled, note, section, status_chip


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
        icon = ft.Icons.CHAT
    elif item.kind == "status":
        title = f"→ {t(f'funnel.{item.to_status}', lang)}"
        if item.from_status:  # unknown for a move made offline after a claim not yet synced
            title = f"{t(f'funnel.{item.from_status}', lang)} {title}"
        lines = []
        if item.applied is False:
            lines.append(t("card.not_applied", lang, reason=t(item.reason_code, lang)))
        if item.amount:
            lines.append(format_money(item.amount, lang))
        icon = ft.Icons.TRENDING_UP
    else:
        title = item.transfer_title(lang)
        lines = [item.reason] if item.reason else []
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


@ft.component
def CardScreen() -> ft.Control:
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

    async def load() -> None:
        await cards.open(pid)

    ft.use_effect(load, [pid])
    card, actions = state.card, state.actions
    if card is None or card.id != pid:
        return ft.Container(ft.ProgressRing(), alignment=ft.Alignment.CENTER, expand=True)

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
    steps = [
        _button(
            f"move-{s}",
            ft.OutlinedButton(
                t(f"funnel.{s}", lang),
                on_click=lambda _e, s=s: page.run_task(cards.move, s, amount),
                height=44,
            ),
        )
        for s in actions.next_statuses
    ]
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
    if steps:
        status_controls += [
            ft.Text(t("card.next_steps", lang), size=13),
            ft.Row(steps, wrap=True, spacing=8, run_spacing=8),
        ]
    if actions.needs_amount:
        status_controls.append(
            ft.TextField(
                label=t("card.amount", lang),
                value=amount,
                width=220,
                keyboard_type=ft.KeyboardType.NUMBER,
                dense=True,
                on_change=lambda e: set_amount(e.control.value),
            )
        )

    buttons: list[ft.Control] = []
    if actions.claim:
        claim = ft.FilledButton(
            t("card.claim", lang),
            icon=ft.Icons.PAN_TOOL,
            height=48,
            on_click=lambda _e: page.run_task(cards.claim),
        )
        buttons.append(_button("claim", claim))
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
                    label=ft.Text(m.name),
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
                            on_change=lambda e: set_reason(e.control.value),
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
    back = BackButton(lambda _e: page.navigate("/"))
    return ft.Column(
        expand=True,
        scroll=ft.ScrollMode.AUTO,
        controls=[
            ft.Container(
                padding=ft.Padding.only(left=4, right=16, top=8),
                content=ft.Row(
                    [
                        back,
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

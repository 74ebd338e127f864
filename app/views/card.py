"""The customer card: profile, masked contacts with audited reveal, status, timeline."""

from __future__ import annotations

import flet as ft

from app.i18n import format_date, format_datetime, format_distance, format_money, t
from app.views.context import StateContext, WorkbenchState
from app.views.theme import BRAND
from app.views.widgets import labelled, note, section, status_chip


def _timeline_item(item, lang: str) -> ft.Control:  # type: ignore[no-untyped-def]
    who = item.actor_name or ""
    when = format_datetime(item.when, lang)
    if item.kind == "log":
        title = (
            f"{t('log.channel.' + item.channel, lang)} · {t('log.outcome.' + item.outcome, lang)}"
        )
        lines = [item.note] if item.note else []
        if item.next_follow_up:
            lines.append(
                t("whitelist.follow_up", lang, date=format_date(item.next_follow_up, lang))
            )
        icon = ft.Icons.CHAT
    elif item.kind == "status":
        title = f"{t('funnel.' + item.from_status, lang)} → {t('funnel.' + item.to_status, lang)}"
        lines = (
            [] if item.applied else [t("card.not_applied", lang, reason=t(item.reason_code, lang))]
        )
        if item.amount:
            lines.append(format_money(item.amount, lang))
        icon = ft.Icons.TRENDING_UP
    else:
        title = item.transfer_title(lang)
        lines = [item.reason] if item.reason else []
        icon = ft.Icons.SWAP_HORIZ
    meta = f"{when} · {who}" + (f" · {t('card.pending', lang)}" if item.pending else "")
    return ft.Row(vertical_alignment=ft.CrossAxisAlignment.START, controls=[
        ft.Icon(icon, color=BRAND, size=20),
        ft.Column(spacing=2, expand=True, controls=[
            ft.Text(title, size=14, weight=ft.FontWeight.W_600),
            *[ft.Text(line, size=13) for line in lines],
            ft.Text(meta, size=12, color=ft.Colors.ON_SURFACE_VARIANT),
        ]),
    ])  # fmt: skip


@ft.component
def CardScreen() -> ft.Control:
    state: WorkbenchState = ft.use_context(StateContext)
    wb, lang = state.wb, state.lang
    page = ft.context.page
    pid = ft.use_route_params().get("pid", "")
    amount, set_amount = ft.use_state("")
    marketers, set_marketers = ft.use_state([])
    assignee, set_assignee = ft.use_state(None)
    reason, set_reason = ft.use_state("")
    manager = bool(state.session and state.session.role in ("outlet_manager", "admin"))

    async def load_marketers() -> None:
        if manager:
            set_marketers(await wb.marketers())

    ft.use_effect(load_marketers, [manager])

    async def load() -> None:
        await wb.open_card(pid)

    ft.use_effect(load, [pid])
    card = state.card
    if card is None or card.id != pid:
        return ft.Container(ft.ProgressRing(), alignment=ft.Alignment.CENTER, expand=True)

    async def reveal(field: str) -> None:
        await wb.reveal(card.id, field)

    async def call(_e: ft.Event) -> None:
        await wb.reveal(card.id, "phone")
        await ft.UrlLauncher().launch_url(f"tel:{card.phone}")

    async def move(status: str) -> None:
        value = int(amount) if amount.isdigit() else None
        await wb.move(card.id, status, value)

    def masked(field: str, plain: str, hidden: str) -> ft.Control:
        if field in state.revealed:
            return ft.Text(plain, size=15)
        return ft.Row([
            ft.Text(hidden, size=15),
            ft.Semantics(identifier=f"reveal-{field}", button=True, content=ft.TextButton(
                t("card.reveal", lang), icon=ft.Icons.VISIBILITY,
                on_click=lambda _e: page.run_task(reveal, field))),
        ], spacing=4)  # fmt: skip

    profile = ft.ResponsiveRow(controls=[
        ft.Container(labelled(label, value), col={"xs": 12, "sm": 6})
        for label, value in [
            (t("card.legal_rep", lang), card.legal_rep),
            (t("card.phone", lang), masked("phone", card.phone, card.phone_masked)),
            (t("card.credit_code", lang),
             masked("credit_code", card.credit_code, card.credit_code_masked)),
            (t("card.industry", lang), card.industry),
            (t("card.batch", lang), f"{card.batch_product} · {card.batch_name}"),
            (t("card.assignee", lang), card.assignee_name or t("whitelist.pool", lang)),
            (t("card.address", lang), card.address + (
                f"（{t('whitelist.distance', lang, distance=format_distance(card.distance_km, lang))}）"
                if card.distance_km is not None else "")),
        ]
    ])  # fmt: skip
    steps = [
        ft.Semantics(identifier=f"move-{s}", button=True, content=ft.OutlinedButton(
            t(f"funnel.{s}", lang), on_click=lambda _e, s=s: page.run_task(move, s), height=44))
        for s in card.next_statuses
    ]  # fmt: skip
    status_controls: list[ft.Control] = [
        ft.Row([status_chip(card.status, lang),
                ft.Text(t("whitelist.line", lang, amount=format_money(card.pre_approved_line, lang)),
                        color=BRAND, size=15, weight=ft.FontWeight.W_600),
                ft.Text(f"{t('card.score', lang)} {card.score}", size=14)], wrap=True, spacing=12),
    ]  # fmt: skip
    if steps:
        status_controls += [
            ft.Text(t("card.next_steps", lang), size=13),
            ft.Row(steps, wrap=True, spacing=8, run_spacing=8),
        ]
    if "disbursed" in card.next_statuses:
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

    def show_on_map(prospect_id: str) -> None:
        state.map_focus = prospect_id  # the map centres on it, with its neighbours
        page.navigate("/map")

    actions = [
        ft.Semantics(identifier="call", button=True, content=ft.FilledButton(
            t("card.call", lang), icon=ft.Icons.PHONE, on_click=call, height=48)),
        ft.Semantics(identifier="write-log", button=True, content=ft.FilledButton(
            t("card.write_log", lang), icon=ft.Icons.EDIT_NOTE, height=48,
            on_click=lambda _e: page.navigate(f"/prospect/{card.id}/log"))),
        ft.Semantics(identifier="show-map", button=True, content=ft.OutlinedButton(
            t("card.show_map", lang), icon=ft.Icons.MAP, height=48,
            on_click=lambda _e: show_on_map(card.id))),
    ]  # fmt: skip
    if card.assignee_id is None and state.session and state.session.role == "marketer":
        actions.insert(0, ft.Semantics(identifier="claim", button=True, content=ft.FilledButton(
            t("card.claim", lang), icon=ft.Icons.PAN_TOOL, height=48,
            on_click=lambda _e: page.run_task(wb.claim, card.id))))  # fmt: skip
    assign_section: list[ft.Control] = []
    if manager and marketers:
        names = dict(marketers)

        async def do_assign(_e: ft.Event) -> None:
            if assignee:
                await wb.assign(card.id, assignee, names.get(assignee, ""), reason)

        assign_section.append(section(t("card.assign", lang), ft.Row([
            *[ft.Semantics(identifier=f"assignee-{uid}", button=True, content=ft.Chip(
                label=ft.Text(name), selected=assignee == uid,
                on_select=lambda _e, uid=uid: set_assignee(uid)))
              for uid, name in marketers if uid != card.assignee_id],
            ft.TextField(label=t("card.assign_reason", lang), value=reason, width=220,
                         on_change=lambda e: set_reason(e.control.value)),
            ft.Semantics(identifier="assign", button=True, content=ft.FilledButton(
                t("card.assign_button", lang), on_click=do_assign, disabled=not assignee,
                height=48)),
        ], wrap=True, spacing=8, run_spacing=8)))  # fmt: skip
    tags = ft.Row([ft.Container(ft.Text(tag, size=12), bgcolor=ft.Colors.SECONDARY_CONTAINER,
                                border_radius=10, padding=ft.Padding.symmetric(horizontal=8,
                                                                               vertical=3))
                   for tag in card.tags], wrap=True, spacing=6)  # fmt: skip
    timeline = ([_timeline_item(i, lang) for i in state.timeline] or
                [note(t("card.no_timeline", lang))])  # fmt: skip
    return ft.Column(expand=True, scroll=ft.ScrollMode.AUTO, controls=[
        ft.Container(padding=ft.Padding.only(left=4, right=16, top=8), content=ft.Row([
            ft.Semantics(identifier="back", button=True, content=ft.IconButton(
                ft.Icons.ARROW_BACK, on_click=lambda _e: page.navigate("/"))),
            ft.Text(card.company_name, size=20, weight=ft.FontWeight.BOLD, expand=True,
                    max_lines=2),
        ])),
        ft.Container(padding=ft.Padding.only(left=16, right=16, bottom=24), content=ft.Column(
            spacing=12, horizontal_alignment=ft.CrossAxisAlignment.STRETCH, controls=[
                ft.Row(actions, wrap=True, spacing=8, run_spacing=8),
                section(t("card.status", lang), *status_controls),
                *assign_section,
                section(t("card.title", lang), tags, profile),
                section(t("card.timeline", lang), *timeline),
            ])),
    ])  # fmt: skip

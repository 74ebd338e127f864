"""The whitelist screen (home): search, filters, counts per status, nearest first."""

from __future__ import annotations

import flet as ft

from app.i18n import format_date, format_distance, format_money, t
from app.views.context import StateContext, WorkbenchState
from app.views.log_form import device_position
from app.views.theme import BRAND
from app.views.widgets import note, status_chip

SORTS = ("distance", "line", "score", "last_contact")


def prospect_tile(row, lang: str, on_open, from_me: bool = False) -> ft.Control:  # type: ignore[no-untyped-def]
    details = [t("whitelist.line", lang, amount=format_money(row.pre_approved_line, lang))]
    if row.distance_km is not None:
        key = "whitelist.distance_me" if from_me else "whitelist.distance"
        details.append(t(key, lang, distance=format_distance(row.distance_km, lang)))
    if row.next_follow_up is not None:
        details.append(t("whitelist.follow_up", lang, date=format_date(row.next_follow_up, lang)))
    subtitle = f"{row.legal_rep} · {row.industry} · {row.batch_product}"
    return ft.Semantics(
        identifier=f"prospect-{row.id}",
        button=True,
        content=ft.Container(
            on_click=lambda _e: on_open(row.id),
            ink=True,
            padding=ft.Padding.symmetric(horizontal=16, vertical=10),
            border=ft.Border.only(bottom=ft.BorderSide(1, ft.Colors.OUTLINE_VARIANT)),
            content=ft.Column(spacing=4, controls=[
                ft.Row([
                    ft.Text(row.company_name, size=16, weight=ft.FontWeight.W_600, expand=True,
                            max_lines=2, overflow=ft.TextOverflow.ELLIPSIS),
                    status_chip(row.status, lang),
                ], vertical_alignment=ft.CrossAxisAlignment.START),
                ft.Text(subtitle, size=13, color=ft.Colors.ON_SURFACE_VARIANT, max_lines=1,
                        overflow=ft.TextOverflow.ELLIPSIS),
                ft.Row([ft.Text(d, size=13, color=BRAND if i == 0 else None)
                        for i, d in enumerate(details)], spacing=16, wrap=True),
            ]),
        ),
    )  # fmt: skip


@ft.component
def WhitelistScreen() -> ft.Control:
    state: WorkbenchState = ft.use_context(StateContext)
    wb, lang, p = state.wb, state.lang, state.progress
    page = ft.context.page

    async def search(e: ft.Event) -> None:
        await wb.set_query(text=e.control.value or "")

    async def pick_status(status: str) -> None:
        await wb.set_query(status="" if state.query_status == status else status)

    async def pick_sort(e: ft.Event) -> None:
        await wb.set_query(sort=e.control.value or "distance")

    async def toggle_due(_e: ft.Event) -> None:
        await wb.set_query(due=not state.query_due)

    async def more(_e: ft.Event) -> None:
        await wb.load_more()

    def open_card(pid: str) -> None:
        page.navigate(f"/prospect/{pid}")

    scope_label = t(f"whitelist.scope.{state.query_scope}", lang)
    header: list[ft.Control] = [
        ft.Row([
            ft.Text(t("whitelist.title", lang), size=22, weight=ft.FontWeight.BOLD, expand=True),
            ft.Dropdown(value=state.query_sort, on_select=pick_sort, width=150, dense=True,
                        label=t("whitelist.sort", lang),
                        options=[ft.DropdownOption(key=s, text=t(f"whitelist.sort.{s}", lang))
                                 for s in SORTS]),
        ]),
        ft.Text(t("whitelist.summary", lang, total=state.total) + f" · {scope_label}", size=13,
                color=ft.Colors.ON_SURFACE_VARIANT),
        ft.Semantics(identifier="search", content=ft.TextField(
            label=t("whitelist.search", lang), hint_text=t("whitelist.search_hint", lang),
            prefix_icon=ft.Icons.SEARCH,
            # what is typed survives a re-render (a sync finishing) before it is submitted
            value=wb.search_draft if wb.search_draft is not None else state.query_text,
            on_change=lambda e: setattr(wb, "search_draft", e.control.value),
            on_submit=search, dense=True)),
    ]  # fmt: skip
    if not p.snapshot_complete and state.session is not None:
        header.append(ft.Container(
            bgcolor=ft.Colors.AMBER_100, border_radius=8, padding=10,
            content=ft.Text(t("whitelist.first_sync", lang, done=p.done, total=p.total or "?"),
                            size=13)))  # fmt: skip

    async def pick_batch(batch_id: str) -> None:
        await wb.set_query(batch="" if state.query_batch == batch_id else batch_id)

    async def pick_industry(e: ft.Event) -> None:
        value = e.control.value or ""
        await wb.set_query(industry="" if value == "*" else value)

    async def toggle_near(_e: ft.Event) -> None:
        await wb.set_query(near=not state.query_near)

    async def toggle_from_me(_e: ft.Event) -> None:
        if state.query_origin is not None:
            await wb.set_query(origin=None)
            return
        me = await device_position(page)
        if me is None:
            wb.notify("whitelist.no_position")  # distances stay from the outlet
            return
        await wb.set_query(origin=me)

    def badge(b) -> ft.Control:  # type: ignore[no-untyped-def]
        urgent = b.expired or b.days_left <= 21
        label = (
            t("whitelist.batch_expired", lang, product=b.product)
            if b.expired
            else t("whitelist.batch_days", lang, product=b.product, days=b.days_left)
        )
        return ft.Semantics(
            identifier=f"batch-{b.id}",
            button=True,
            content=ft.Chip(
                label=ft.Text(label, size=12),
                selected=state.query_batch == b.id,
                bgcolor=ft.Colors.ERROR_CONTAINER if urgent else None,
                on_select=lambda _e: page.run_task(pick_batch, b.id),
            ),
        )

    badges = [badge(b) for b in state.batches]
    badges.append(
        ft.Dropdown(
            value=state.query_industry or "*",
            on_select=pick_industry,
            width=170,
            dense=True,
            label=t("whitelist.filter.industry", lang),
            options=[
                ft.DropdownOption(key="*", text=t("whitelist.filter.all", lang)),
                *[
                    ft.DropdownOption(key=i.industry, text=f"{i.industry} {i.count}")
                    for i in state.industries
                ],
            ],
        )
    )
    chips: list[ft.Control] = [
        ft.Chip(label=ft.Text(f"{t(f'funnel.{s}', lang)} {n}", size=12),
                selected=state.query_status == s,
                on_select=lambda _e, s=s: page.run_task(pick_status, s))
        for s, n in sorted(state.status_counts.items(), key=lambda kv: -kv[1])
    ]  # fmt: skip
    chips.insert(0, ft.Semantics(identifier="from-me", content=ft.Chip(
        label=ft.Text(t("whitelist.filter.from_me", lang), size=12),
        selected=state.query_origin is not None, on_select=toggle_from_me,
        leading=ft.Icon(ft.Icons.MY_LOCATION, size=16))))  # fmt: skip
    chips.insert(
        0,
        ft.Chip(
            label=ft.Text(t("whitelist.filter.near", lang), size=12),
            selected=state.query_near,
            on_select=toggle_near,
            leading=ft.Icon(ft.Icons.NEAR_ME, size=16),
        ),
    )
    chips.insert(0, ft.Chip(label=ft.Text(t("whitelist.filter.due", lang), size=12),
                            selected=state.query_due, on_select=toggle_due,
                            leading=ft.Icon(ft.Icons.ALARM, size=16)))  # fmt: skip
    if state.loading:
        body: ft.Control = ft.Container(ft.ProgressRing(), alignment=ft.Alignment.CENTER,
                                        expand=True)  # fmt: skip
    elif not state.rows:
        body = note(t("whitelist.empty", lang))
    else:
        from_me = state.query_origin is not None
        tiles = [prospect_tile(r, lang, open_card, from_me) for r in state.rows]
        if len(state.rows) < state.total:
            tiles.append(ft.Container(ft.TextButton(
                t("whitelist.more", lang, shown=len(state.rows), total=state.total),
                on_click=more), alignment=ft.Alignment.CENTER, padding=12))  # fmt: skip
        body = ft.ListView(controls=tiles, expand=True)
    return ft.Column(
        expand=True,
        spacing=0,
        controls=[
            ft.Container(
                padding=ft.Padding.only(left=16, right=16, top=12, bottom=8),
                content=ft.Column(spacing=8, controls=[
                    *header,
                    ft.Row(badges, wrap=True, spacing=6, run_spacing=6),
                    ft.Row(chips, scroll=ft.ScrollMode.AUTO, spacing=6),
                ]),
            ),
            body,
        ],
    )  # fmt: skip

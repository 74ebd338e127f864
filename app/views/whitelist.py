"""The whitelist screen (home): search, filters, counts per status, nearest first."""

from __future__ import annotations

from collections.abc import Callable

import flet as ft

from app.i18n import format_date, format_distance, format_money, t
from app.services.whitelist import BatchBadge, WhitelistRow
from app.views.context import use_observed, use_workbench
from app.views.device import device_position
from app.views.theme import BRAND
from app.views.widgets import note, status_chip
from app.workbench.whitelist import SORTS

URGENT_DAYS = 21  # a batch badge turns red this close to its end


def prospect_tile(
    row: WhitelistRow, lang: str, on_open: Callable[[str], None], from_me: bool = False
) -> ft.Control:
    details = [t("whitelist.line", lang, amount=format_money(row.pre_approved_line, lang))]
    if row.distance_km is not None:
        key = "whitelist.distance_me" if from_me else "whitelist.distance"
        details.append(t(key, lang, distance=format_distance(row.distance_km, lang)))
    if row.next_follow_up is not None:
        details.append(t("whitelist.follow_up", lang, date=format_date(row.next_follow_up, lang)))
    subtitle = f"{row.legal_rep} · {row.industry} · {row.batch_product}"
    title = ft.Row(
        [
            ft.Text(
                row.company_name,
                size=16,
                weight=ft.FontWeight.W_600,
                expand=True,
                max_lines=2,
                overflow=ft.TextOverflow.ELLIPSIS,
            ),
            status_chip(row.status, lang),
        ],
        vertical_alignment=ft.CrossAxisAlignment.START,
    )
    return ft.Semantics(
        identifier=f"prospect-{row.id}",
        button=True,
        content=ft.Container(
            on_click=lambda _e: on_open(row.id),
            ink=True,
            padding=ft.Padding.symmetric(horizontal=16, vertical=10),
            border=ft.Border.only(bottom=ft.BorderSide(1, ft.Colors.OUTLINE_VARIANT)),
            content=ft.Column(
                spacing=4,
                controls=[
                    title,
                    ft.Text(
                        subtitle,
                        size=13,
                        color=ft.Colors.ON_SURFACE_VARIANT,
                        max_lines=1,
                        overflow=ft.TextOverflow.ELLIPSIS,
                    ),
                    ft.Row(
                        [
                            ft.Text(d, size=13, color=BRAND if i == 0 else None)
                            for i, d in enumerate(details)
                        ],
                        spacing=16,
                        wrap=True,
                    ),
                ],
            ),
        ),
    )


def _chip(label: str, selected: bool, on_select, icon: ft.IconData | None = None) -> ft.Chip:  # type: ignore[no-untyped-def]
    return ft.Chip(
        label=ft.Text(label, size=12),
        selected=selected,
        on_select=on_select,
        leading=ft.Icon(icon, size=16) if icon else None,
    )


@ft.component
def WhitelistScreen() -> ft.Control:
    workbench = use_workbench()
    app = use_observed(workbench.state)
    lists = workbench.whitelist
    state = use_observed(lists.state)
    lang, p, f = app.lang, app.progress, state.filters
    page = ft.context.page

    async def search(e: ft.Event) -> None:
        await lists.set_filters(text=e.control.value or "")

    async def pick_sort(e: ft.Event) -> None:
        await lists.set_filters(sort=e.control.value or "distance")

    async def pick_industry(e: ft.Event) -> None:
        value = e.control.value or ""
        await lists.set_filters(industry="" if value == "*" else value)

    async def toggle_from_me(_e: ft.Event) -> None:
        if f.origin is not None:
            await lists.set_filters(origin=None)
            return
        me = await device_position()
        if me is None:
            workbench.notify("whitelist.no_position")  # distances stay from the outlet
            return
        await lists.set_filters(origin=me)

    def open_card(pid: str) -> None:
        page.navigate(f"/prospect/{pid}")

    def typed(e: ft.Event) -> None:
        lists.search_draft = e.control.value

    scope_label = t(f"whitelist.scope.{f.scope}", lang)
    header: list[ft.Control] = [
        ft.Row(
            [
                ft.Text(
                    t("whitelist.title", lang), size=22, weight=ft.FontWeight.BOLD, expand=True
                ),
                ft.Dropdown(
                    value=f.sort,
                    on_select=pick_sort,
                    width=150,
                    dense=True,
                    label=t("whitelist.sort", lang),
                    options=[
                        ft.DropdownOption(key=s, text=t(f"whitelist.sort.{s}", lang)) for s in SORTS
                    ],
                ),
            ]
        ),
        ft.Text(
            t("whitelist.summary", lang, total=state.total) + f" · {scope_label}",
            size=13,
            color=ft.Colors.ON_SURFACE_VARIANT,
        ),
        ft.Semantics(
            identifier="search",
            content=ft.TextField(
                label=t("whitelist.search", lang),
                hint_text=t("whitelist.search_hint", lang),
                prefix_icon=ft.Icons.SEARCH,
                # what is typed survives a re-render (a sync finishing) before it is submitted
                value=lists.search_draft if lists.search_draft is not None else f.text,
                on_change=typed,
                on_submit=search,
                dense=True,
            ),
        ),
    ]
    if not p.snapshot_complete and app.session is not None:
        header.append(
            ft.Container(
                bgcolor=ft.Colors.AMBER_100,
                border_radius=8,
                padding=10,
                content=ft.Text(
                    t("whitelist.first_sync", lang, done=p.done, total=p.total or "?"), size=13
                ),
            )
        )

    def badge(b: BatchBadge) -> ft.Control:
        urgent = b.expired or b.days_left <= URGENT_DAYS
        if b.expired:
            label = t("whitelist.batch_expired", lang, product=b.product)
        else:
            label = t("whitelist.batch_days", lang, product=b.product, days=b.days_left)
        return ft.Semantics(
            identifier=f"batch-{b.id}",
            button=True,
            content=ft.Chip(
                label=ft.Text(label, size=12),
                selected=f.batch == b.id,
                bgcolor=ft.Colors.ERROR_CONTAINER if urgent else None,
                on_select=lambda _e: page.run_task(lists.toggle_batch, b.id),
            ),
        )

    industry_menu = ft.Dropdown(
        value=f.industry or "*",
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
    badges = [*[badge(b) for b in state.batches], industry_menu]
    chips: list[ft.Control] = [
        _chip(
            t("whitelist.filter.due", lang),
            f.due,
            lambda _e: page.run_task(lists.set_filters, due=not f.due),
            ft.Icons.ALARM,
        ),
        _chip(
            t("whitelist.filter.near", lang),
            f.near,
            lambda _e: page.run_task(lists.set_filters, near=not f.near),
            ft.Icons.NEAR_ME,
        ),
        ft.Semantics(
            identifier="from-me",
            content=_chip(
                t("whitelist.filter.from_me", lang),
                f.origin is not None,
                toggle_from_me,
                ft.Icons.MY_LOCATION,
            ),
        ),
        *[
            _chip(
                f"{t(f'funnel.{s}', lang)} {n}",
                f.status == s,
                lambda _e, s=s: page.run_task(lists.toggle_status, s),
            )
            for s, n in sorted(state.status_counts.items(), key=lambda kv: -kv[1])
        ],
    ]
    if state.loading:
        body: ft.Control = ft.Container(
            ft.ProgressRing(), alignment=ft.Alignment.CENTER, expand=True
        )
    elif not state.rows:
        body = note(t("whitelist.empty", lang))
    else:
        from_me = f.origin is not None
        tiles = [prospect_tile(r, lang, open_card, from_me) for r in state.rows]
        if len(state.rows) < state.total:
            more = ft.TextButton(
                t("whitelist.more", lang, shown=len(state.rows), total=state.total),
                on_click=lambda _e: page.run_task(lists.load_more),
            )
            tiles.append(ft.Container(more, alignment=ft.Alignment.CENTER, padding=12))
        body = ft.ListView(controls=tiles, expand=True)
    filters = ft.Column(
        spacing=8,
        controls=[
            *header,
            ft.Row(badges, wrap=True, spacing=6, run_spacing=6),
            ft.Row(chips, scroll=ft.ScrollMode.AUTO, spacing=6),
        ],
    )
    return ft.Column(
        expand=True,
        spacing=0,
        controls=[
            ft.Container(
                padding=ft.Padding.only(left=16, right=16, top=12, bottom=8), content=filters
            ),
            body,
        ],
    )

"""The whitelist screen (home): search, filters, counts per status, nearest first.

On a phone the list starts high: a title line, then the search box and one 筛选
button; the filters unfold above the rows and scroll with them. On a wide screen the
filters start unfolded. Every control is at least 48 px tall and says what it does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import flet as ft

from app.i18n import format_date, format_distance, format_money, t
from app.services.whitelist import BatchBadge, WhitelistRow
from app.views.auto_assign import AutoAssign
from app.views.context import use_observed, use_workbench
from app.views.device import device_position
from app.views.table import BulkBar, table_items
from app.views.theme import BRAND
from app.views.widgets import SEGMENT_STYLE, TOUCH, note, segment_of, status_chip, tappable, text_of
from app.workbench.whitelist import SORTS, STATUS_ORDER, WhitelistController, WhitelistState

URGENT_DAYS = 21  # a batch badge turns red this close to its end
CHIP_LABEL = 34  # a chip adds 14 px around its label: 48 px to tap
Handler = Callable[[ft.Event], Awaitable[None]]


def _line(
    text: str,
    size: int,
    *,
    weight: ft.FontWeight | None = None,
    color: ft.ColorValue | None = None,
) -> ft.Text:
    """One line of a tile: a tight line height, so seven tiles fit a phone."""
    return ft.Text(
        text,
        size=size,
        weight=weight,
        color=color,
        max_lines=1,
        overflow=ft.TextOverflow.ELLIPSIS,
        style=ft.TextStyle(height=1.3),
    )


def prospect_tile(
    row: WhitelistRow,
    lang: str,
    on_open: Callable[[str], None],
    from_me: bool = False,
    on_log: Callable[[str], None] | None = None,
    selected: bool = False,
) -> ft.Control:
    """A prospect of the list: tap it for its card; ``on_log``: its quick-log button;
    ``selected``: its card is open beside the list (highlighted)."""
    details = [t("whitelist.line", lang, amount=format_money(row.pre_approved_line, lang))]
    if row.distance_km is not None:
        key = "whitelist.distance_me" if from_me else "whitelist.distance"
        details.append(t(key, lang, distance=format_distance(row.distance_km, lang)))
    if row.next_follow_up is not None:
        details.append(t("whitelist.follow_up", lang, date=format_date(row.next_follow_up, lang)))
    subtitle = f"{row.legal_rep} · {row.industry} · {row.batch_product}"
    if row.outlet_name:  # a sub-branch manager's list: which of its outlets
        subtitle = f"{row.outlet_name} · {subtitle}"
    name = _line(row.company_name, size=15, weight=ft.FontWeight.W_600)
    name.expand, name.expand_loose = True, True  # the status right after the name
    title = ft.Row(
        [name, status_chip(row.status, lang)],
        spacing=6,
    )
    text = ft.Column(
        spacing=2,
        expand=True,
        controls=[
            title,
            _line(subtitle, size=13, color=ft.Colors.ON_SURFACE_VARIANT),
            ft.Row(
                [_line(d, size=13, color=BRAND if i == 0 else None) for i, d in enumerate(details)],
                spacing=12,
                wrap=True,
            ),
        ],
    )
    controls: list[ft.Control] = [text]
    if on_log is not None:
        controls.append(_quick_log(row.id, lang, on_log))
    return ft.Semantics(
        identifier=f"prospect-{row.id}",
        button=True,
        selected=selected,
        content=ft.Container(
            on_click=lambda _e: on_open(row.id),
            ink=True,
            bgcolor=ft.Colors.SECONDARY_CONTAINER if selected else None,
            padding=ft.Padding.only(left=12 if selected else 16, right=8, top=8, bottom=8),
            border=ft.Border.only(
                left=ft.BorderSide(4, BRAND) if selected else None,
                bottom=ft.BorderSide(1, ft.Colors.OUTLINE_VARIANT),
            ),
            content=ft.Row(controls, spacing=4),
        ),
    )


def _quick_log(pid: str, lang: str, on_log: Callable[[str], None]) -> ft.Control:
    """写日志 straight from the list: the log form, one tap instead of two."""
    return tappable(
        f"log-{pid}",
        ft.Container(
            width=56,
            height=56,
            border_radius=12,
            ink=True,
            alignment=ft.Alignment.CENTER,
            on_click=lambda _e: on_log(pid),
            content=ft.Column(
                [
                    ft.Icon(ft.Icons.EDIT_NOTE, color=BRAND, size=24),
                    ft.Text(t("whitelist.quick_log", lang), size=11, color=BRAND),
                ],
                spacing=0,
                tight=True,
                horizontal_alignment=ft.CrossAxisAlignment.CENTER,
            ),
        ),
    )


def _chip(  # type: ignore[no-untyped-def]
    label: str,
    selected: bool,
    on_select,
    icon: ft.IconData | None = None,
    *,
    identifier: str | None = None,
    color: ft.ColorValue | None = None,
) -> ft.Control:
    """A filter chip 48 px tall; selected shows as a tick and the selected colour only
    (``color`` tints the icon and text of an unselected chip, never its background)."""
    chip = ft.Chip(
        label=ft.Row(
            [ft.Text(label, size=13, color=color)],
            height=CHIP_LABEL,
            tight=True,
            vertical_alignment=ft.CrossAxisAlignment.CENTER,
        ),
        label_padding=ft.Padding.symmetric(horizontal=4),
        selected=selected,
        show_checkmark=True,
        selected_color=ft.Colors.SECONDARY_CONTAINER,
        on_select=on_select,
        leading=ft.Icon(icon, size=18, color=color) if icon else None,
    )
    return ft.Semantics(identifier=identifier, content=chip) if identifier else chip


def view_toggle(view: str, lang: str, on_pick: Handler) -> ft.Control:
    """列表 / 表格: a manager's choice on a wide window."""
    return ft.Semantics(
        identifier="view-toggle",
        content=ft.SegmentedButton(
            selected=[view],
            on_change=on_pick,
            show_selected_icon=False,
            style=SEGMENT_STYLE,
            segments=[
                ft.Segment(value=v, label=ft.Text(t(f"whitelist.view.{v}", lang)))
                for v in ("list", "table")
            ],
        ),
    )


@ft.component
def WhitelistScreen(selected: str = "", table: bool = False) -> ft.Control:
    """The list; ``selected``: the prospect whose card is open beside it; ``table``: a
    manager's table view instead of the rows (the same title, search and filters)."""
    workbench = use_workbench()
    app = use_observed(workbench.state)
    lists = workbench.whitelist
    state = use_observed(lists.state)
    tables = use_observed(workbench.table.state)
    lang, p, f = app.lang, app.progress, state.filters
    page = ft.context.page
    panel_open = state.filters_open if state.filters_open is not None else app.wide

    async def pick_sort(e: ft.Event) -> None:
        await lists.set_filters(sort=text_of(e) or "distance")

    async def pick_industry(e: ft.Event) -> None:
        value = text_of(e)
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

    def open_log(pid: str) -> None:
        page.navigate(f"/prospect/{pid}/log")

    async def search_now(e: ft.Event) -> None:
        await lists.search(text_of(e))

    boxed = lists.search_box
    clear_search = ft.Semantics(
        identifier="search-clear",
        button=True,
        label=t("whitelist.search_clear", lang),
        content=ft.Container(
            ft.Icon(ft.Icons.CLOSE, size=20),
            width=TOUCH,
            height=TOUCH,
            border_radius=TOUCH // 2,
            ink=True,
            alignment=ft.Alignment.CENTER,
            on_click=lambda _e: page.run_task(lists.search, ""),
        ),
    )
    search_box = ft.Semantics(
        identifier="search",
        content=ft.TextField(
            label=t("whitelist.search", lang),
            hint_text=t("whitelist.search_hint", lang),
            prefix_icon=ft.Icons.SEARCH,
            suffix_icon=clear_search if boxed else None,
            # what is typed survives a re-render (a sync finishing) before it is searched
            value=boxed,
            on_change=lambda e: lists.type_search(text_of(e)),
            on_submit=search_now,
            dense=True,
            height=TOUCH,
            content_padding=ft.Padding.symmetric(horizontal=12, vertical=12),
        ),
    )
    active = f.active()
    filters_label = (
        t("whitelist.filters_active", lang, count=active)
        if active
        else t("whitelist.filters", lang)
    )
    filters_button = ft.Semantics(
        identifier="filters",
        expanded=panel_open,
        content=(ft.FilledTonalButton if active else ft.OutlinedButton)(
            filters_label,
            icon=ft.Icons.EXPAND_LESS if panel_open else ft.Icons.TUNE,
            height=TOUCH,
            on_click=lambda _e: lists.toggle_panel(panel_open),
        ),
    )

    async def pick_view(e: ft.Event) -> None:
        await lists.set_view(segment_of(e, "list"))

    # 列表 / 表格 for a manager on a wide window
    offered = lists.table_offered() and app.wide
    toggle = [view_toggle("table" if table else "list", lang, pick_view)] if offered else []

    scope_label = t(f"whitelist.scope.{f.scope}", lang)
    title_key, title_params = lists.title()
    title_line: list[ft.Control] = [
        ft.Text(
            t(title_key, lang, **title_params),
            size=18,
            weight=ft.FontWeight.BOLD,
            max_lines=1,
            overflow=ft.TextOverflow.ELLIPSIS,
        ),
    ]
    summary = ft.Text(
        t("whitelist.summary", lang, total=state.total) + f" · {scope_label}",
        size=13,
        color=ft.Colors.ON_SURFACE_VARIANT,
        expand=True,
        max_lines=1,
        overflow=ft.TextOverflow.ELLIPSIS,
    )
    # a manager's title names the outlet (long): the count and 列表 / 表格 go under it
    # the table's 自动分配 (the outlet's pool to its marketers) sits beside 列表 / 表格
    auto = [AutoAssign()] if table else []
    lines = [[*title_line, summary]] if not toggle else [title_line, [summary, *toggle, *auto]]
    header: list[ft.Control] = [
        *(
            ft.Row(line, spacing=10, vertical_alignment=ft.CrossAxisAlignment.CENTER)
            for line in lines
        ),
        ft.Row(
            [ft.Container(search_box, expand=True), filters_button],
            spacing=8,
            vertical_alignment=ft.CrossAxisAlignment.CENTER,
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

    items: list[ft.Control] = []
    if panel_open:
        items.append(filter_panel(lists, state, lang, pick_sort, pick_industry, toggle_from_me))
    if table:
        items += table_items(workbench.table, tables, lang, selected, open_card)
    elif state.loading:
        items.append(ft.Container(ft.ProgressRing(), alignment=ft.Alignment.CENTER, padding=24))
    elif not state.rows:
        narrowed = bool(f.text.strip()) or f.active() > 0
        items.append(note(t("whitelist.no_match" if narrowed else "whitelist.empty", lang)))
    else:
        from_me = state.rows_from_me  # not the filter's: rows still shown may predate it
        items += [
            prospect_tile(
                r,
                lang,
                open_card,
                from_me,
                open_log if lists.may_log(r) else None,
                selected=r.id == selected,
            )
            for r in state.rows
        ]
        if len(state.rows) < state.total:
            more = ft.TextButton(
                t("whitelist.more", lang, shown=len(state.rows), total=state.total),
                height=TOUCH,
                on_click=lambda _e: page.run_task(lists.load_more),
            )
            items.append(ft.Container(more, alignment=ft.Alignment.CENTER, padding=12))
    return ft.Semantics(
        identifier="whitelist-screen",
        container=True,
        content=ft.Column(
            expand=True,
            spacing=0,
            controls=[
                ft.Container(
                    padding=ft.Padding.only(left=16, right=16, top=8, bottom=8),
                    content=ft.Column(spacing=6, controls=header),
                ),
                *([BulkBar()] if table else []),
                ft.Semantics(
                    identifier="whitelist-list",
                    container=True,
                    expand=True,
                    content=ft.ListView(controls=items, expand=True),
                ),
            ],
        ),
    )


def filter_panel(
    lists: WhitelistController,
    state: WhitelistState,
    lang: str,
    pick_sort: Handler,
    pick_industry: Handler,
    toggle_from_me: Handler,
) -> ft.Control:
    """The unfolded filters: where from, status (funnel order), batch, sort, industry."""
    f = state.filters
    page = ft.context.page

    def badge(b: BatchBadge) -> ft.Control:
        urgent = b.expired or b.days_left <= URGENT_DAYS
        if b.expired:
            label = t("whitelist.batch_expired", lang, product=b.product)
        else:
            label = t("whitelist.batch_days", lang, product=b.product, days=b.days_left)
        return _chip(
            label,
            f.batch == b.id,
            lambda _e: page.run_task(lists.toggle_batch, b.id),
            ft.Icons.HOURGLASS_BOTTOM if urgent else None,
            identifier=f"batch-{b.id}",
            color=ft.Colors.ERROR if urgent else None,
        )

    quick = [
        _chip(
            t("whitelist.filter.due", lang),
            f.due,
            lambda _e: page.run_task(lists.set_filters, due=not f.due),
            ft.Icons.ALARM,
            identifier="filter-due",
        ),
        _chip(
            t("whitelist.filter.near", lang),
            f.near,
            lambda _e: page.run_task(lists.set_filters, near=not f.near),
            ft.Icons.NEAR_ME,
            identifier="filter-near",
        ),
        _chip(
            t("whitelist.filter.from_me", lang),
            f.origin is not None,
            toggle_from_me,
            ft.Icons.MY_LOCATION,
            identifier="from-me",
        ),
    ]
    statuses = [
        _chip(
            f"{t(f'funnel.{s}', lang)} {state.status_counts.get(s, 0)}",
            f.status == s,
            lambda _e, s=s: page.run_task(lists.toggle_status, s),
            identifier=f"status-{s}",
        )
        for s in STATUS_ORDER
        if state.status_counts.get(s) or f.status == s
    ]
    sort_name = t(f"whitelist.sort.{f.sort}", lang)
    sort_menu = ft.Semantics(
        identifier="sort",
        label=t("whitelist.sort_label", lang, sort=sort_name),
        content=ft.Dropdown(
            value=f.sort,
            on_select=pick_sort,
            width=160,
            label=t("whitelist.sort", lang),
            options=[ft.DropdownOption(key=s, text=t(f"whitelist.sort.{s}", lang)) for s in SORTS],
        ),
    )
    industry_name = f.industry or t("whitelist.filter.all", lang)
    industry_menu = ft.Semantics(
        identifier="industry",
        label=t("whitelist.industry_label", lang, industry=industry_name),
        content=ft.Dropdown(
            value=f.industry or "*",
            on_select=pick_industry,
            width=180,
            label=t("whitelist.filter.industry", lang),
            options=[
                ft.DropdownOption(key="*", text=t("whitelist.filter.all", lang)),
                *[
                    ft.DropdownOption(key=i.industry, text=f"{i.industry} {i.count}")
                    for i in state.industries
                ],
            ],
        ),
    )
    menus: list[ft.Control] = [sort_menu, industry_menu]
    if f.active():
        menus.append(
            ft.Semantics(
                identifier="filters-clear",
                content=ft.TextButton(
                    t("whitelist.filters_clear", lang),
                    icon=ft.Icons.FILTER_ALT_OFF,
                    height=TOUCH,
                    on_click=lambda _e: page.run_task(lists.clear_filters),
                ),
            )
        )

    def group(controls: list[ft.Control]) -> ft.Control:
        return ft.Row(controls, wrap=True, spacing=8, run_spacing=8)

    return ft.Semantics(
        identifier="filter-panel",
        container=True,
        content=ft.Container(
            padding=ft.Padding.only(left=16, right=16, top=4, bottom=12),
            border=ft.Border.only(bottom=ft.BorderSide(1, ft.Colors.OUTLINE_VARIANT)),
            content=ft.Column(
                spacing=10,
                controls=[
                    group(quick),
                    group(statuses),
                    group([badge(b) for b in state.batches]),
                    group(menus),
                ],
            ),
        ),
    )

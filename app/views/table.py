"""A manager's table view of the whitelist: sortable columns, a page at a time, a box per
row and one for the page, and the bulk bar (分配给…, 退回公海) once rows are ticked."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import flet as ft

from app.i18n import format_date, format_datetime, format_money, t
from app.services.whitelist import TableRow, TableSort
from app.views.context import use_observed, use_workbench
from app.views.theme import BRAND
from app.views.widgets import TOUCH, note, status_chip, tappable
from app.workbench.card import Marketer
from app.workbench.table import TABLE_PAGE, TableController, TableState

COLUMNS: tuple[tuple[TableSort, bool], ...] = (  # (column, numeric)
    (TableSort.COMPANY, False),
    (TableSort.STATUS, False),
    (TableSort.ASSIGNEE, False),
    (TableSort.LINE, True),
    (TableSort.SCORE, True),
    (TableSort.LAST_CONTACT, False),
    (TableSort.NEXT_FOLLOW_UP, False),
)
POOL = "__pool__"  # the bulk dialog's "back to the pool"


def _cells(row: TableRow, lang: str, on_open: Callable[[str], None]) -> list[ft.DataCell]:
    name = tappable(
        f"open-{row.id}",
        ft.Text(
            row.company_name,
            color=BRAND,
            weight=ft.FontWeight.W_600,
            max_lines=1,
            overflow=ft.TextOverflow.ELLIPSIS,
            width=200,
        ),
    )
    return [
        ft.DataCell(name, on_tap=lambda _e: on_open(row.id)),
        ft.DataCell(status_chip(row.status, lang)),
        ft.DataCell(
            ft.Semantics(
                identifier=f"assignee-of-{row.id}",
                content=ft.Text(row.assignee_name or t("whitelist.pool", lang)),
            )
        ),
        ft.DataCell(ft.Text(format_money(row.pre_approved_line, lang))),
        ft.DataCell(ft.Text(str(row.score))),
        ft.DataCell(
            ft.Text(format_datetime(row.last_contact_at, lang) if row.last_contact_at else "—")
        ),
        ft.DataCell(ft.Text(format_date(row.next_follow_up, lang) if row.next_follow_up else "—")),
    ]


def data_table(
    tables: TableController,
    state: TableState,
    lang: str,
    opened: str,
    on_open: Callable[[str], None],
) -> ft.Control:
    """The page as a DataTable: a heading tap sorts (in SQL), a row's box ticks it."""
    page = ft.context.page
    sort_index = next((i for i, (c, _) in enumerate(COLUMNS) if c == state.sort), 0)
    columns = [
        ft.DataColumn(
            label=ft.Text(t(f"table.col.{c}", lang), weight=ft.FontWeight.W_600),
            numeric=numeric,
            on_sort=lambda _e, c=c: page.run_task(tables.sort_by, c),
        )
        for c, numeric in COLUMNS
    ]
    rows = [
        ft.DataRow(
            cells=_cells(r, lang, on_open),
            selected=r.id in state.selected,
            color=ft.Colors.with_opacity(0.12, BRAND) if r.id == opened else None,
            on_select_change=lambda _e, pid=r.id: tables.toggle(pid, pid not in state.selected),
        )
        for r in state.rows
    ]
    table = ft.DataTable(
        columns=columns,
        rows=rows,
        sort_column_index=sort_index,
        sort_ascending=not state.descending,
        show_checkbox_column=True,
        on_select_all=lambda _e: tables.toggle_page(state.page_selected is not True),
        data_row_min_height=TOUCH,
        data_row_max_height=TOUCH,
        heading_row_height=TOUCH + 8,
        column_spacing=20,
        horizontal_margin=12,
        divider_thickness=1,
    )
    return ft.Semantics(
        identifier="whitelist-table",
        container=True,
        content=ft.Row([table], scroll=ft.ScrollMode.AUTO),
    )


def pager(tables: TableController, state: TableState, lang: str) -> ft.Control:
    page = ft.context.page
    first = state.page * TABLE_PAGE + 1 if state.total else 0
    last = min(state.total, first + len(state.rows) - 1) if state.total else 0
    return ft.Row(
        alignment=ft.MainAxisAlignment.CENTER,
        vertical_alignment=ft.CrossAxisAlignment.CENTER,
        controls=[
            tappable(
                "page-previous",
                ft.TextButton(
                    t("table.previous", lang),
                    icon=ft.Icons.CHEVRON_LEFT,
                    height=TOUCH,
                    disabled=state.page == 0,
                    on_click=lambda _e: page.run_task(tables.go, state.page - 1),
                ),
            ),
            ft.Text(
                t(
                    "table.page",
                    lang,
                    page=state.page + 1,
                    pages=state.pages,
                    first=first,
                    last=last,
                    total=state.total,
                ),
                size=13,
            ),
            tappable(
                "page-next",
                ft.TextButton(
                    t("table.next", lang),
                    icon=ft.Icons.CHEVRON_RIGHT,
                    height=TOUCH,
                    disabled=state.page >= state.pages - 1,
                    on_click=lambda _e: page.run_task(tables.go, state.page + 1),
                ),
            ),
        ],
    )


@ft.component
def BulkBar() -> ft.Control:
    """With rows ticked: how many, 分配给…, 退回公海, 取消选择; each asks first."""
    workbench = use_workbench()
    lang = use_observed(workbench.state).lang
    tables = workbench.table
    state = use_observed(tables.state)
    asking, set_asking = ft.use_state(None)  # "assign" / "pool" while its dialog is open
    count = len(state.selected)
    if not count:
        return ft.Container(height=0)

    async def confirm(to: str) -> None:
        set_asking(None)
        await tables.assign_selected(None if to == POOL else to)

    controls: list[ft.Control] = [
        ft.Text(t("bulk.selected", lang, count=count), weight=ft.FontWeight.W_600, expand=True),
        tappable(
            "bulk-assign",
            ft.FilledButton(
                t("bulk.assign", lang),
                icon=ft.Icons.PERSON_ADD,
                height=TOUCH,
                on_click=lambda _e: set_asking("assign"),
            ),
        ),
        tappable(
            "bulk-pool",
            ft.OutlinedButton(
                t("bulk.pool", lang),
                icon=ft.Icons.UNDO,
                height=TOUCH,
                on_click=lambda _e: set_asking("pool"),
            ),
        ),
        tappable(
            "bulk-clear",
            ft.TextButton(
                t("bulk.clear", lang), height=TOUCH, on_click=lambda _e: tables.clear_selection()
            ),
        ),
    ]
    if asking:
        controls.append(
            BulkDialog(
                asking, count, state.marketers, confirm, lambda: set_asking(None), key=asking
            )
        )
    return ft.Semantics(
        identifier="bulk-bar",
        container=True,
        content=ft.Container(
            bgcolor=ft.Colors.SECONDARY_CONTAINER,
            padding=ft.Padding.symmetric(horizontal=16, vertical=4),
            content=ft.Row(controls, spacing=8, vertical_alignment=ft.CrossAxisAlignment.CENTER),
        ),
    )


@ft.component
def BulkDialog(
    action: str,
    count: int,
    marketers: list[Marketer],
    confirm: Callable[[str], Awaitable[None]],
    cancel: Callable[[], None],
) -> ft.Control:
    """分配给…: pick a marketer, then confirm naming the count; 退回公海: confirm."""
    workbench = use_workbench()
    lang = use_observed(workbench.state).lang
    chosen, set_chosen = ft.use_state(POOL if action == "pool" else None)
    saving, set_saving = ft.use_state(False)

    async def ok(_e: ft.Event) -> None:
        if chosen is None:
            return
        set_saving(True)
        await confirm(chosen)

    if action == "pool":
        title = t("bulk.pool_title", lang, count=count)
        body: list[ft.Control] = [ft.Text(t("bulk.pool_body", lang), size=14)]
        button = t("bulk.pool_confirm", lang, count=count)
    else:
        title = t("bulk.assign_title", lang, count=count)
        name = next((m.name for m in marketers if m.id == chosen), "")
        button = (
            t("bulk.assign_confirm", lang, count=count, name=name)
            if chosen
            else t("bulk.pick", lang)
        )
        body = [
            ft.Semantics(
                identifier=f"bulk-to-{m.id}",
                button=True,
                selected=chosen == m.id,
                content=ft.ListTile(
                    leading=ft.Icon(
                        ft.Icons.RADIO_BUTTON_CHECKED
                        if chosen == m.id
                        else ft.Icons.RADIO_BUTTON_UNCHECKED,
                        color=BRAND,
                    ),
                    title=ft.Text(m.name, size=15),
                    selected=chosen == m.id,
                    min_height=TOUCH,
                    on_click=lambda _e, uid=m.id: set_chosen(uid),
                ),
            )
            for m in marketers
        ] or [note(t("bulk.no_marketers", lang))]
    dialog = ft.AlertDialog(
        modal=True,
        scrollable=True,
        title=ft.Text(title, size=18),
        content=ft.Column(tight=True, spacing=0, width=420, controls=body),
        actions=[
            tappable(
                "bulk-cancel",
                ft.TextButton(t("bulk.cancel", lang), height=TOUCH, on_click=lambda _e: cancel()),
            ),
            tappable(
                "bulk-confirm",
                ft.FilledButton(
                    button, height=TOUCH, disabled=saving or chosen is None, on_click=ok
                ),
            ),
        ],
        on_dismiss=lambda _e: cancel(),
    )
    ft.use_dialog(dialog)
    return ft.Container(width=0, height=0)


def table_items(
    tables: TableController,
    state: TableState,
    lang: str,
    opened: str,
    on_open: Callable[[str], None],
) -> list[ft.Control]:
    """What the table view shows under the filters: the table and its pager."""
    if state.loading:
        return [ft.Container(ft.ProgressRing(), alignment=ft.Alignment.CENTER, padding=24)]
    if not state.rows:
        return [note(t("whitelist.no_match", lang))]
    return [data_table(tables, state, lang, opened, on_open), pager(tables, state, lang)]

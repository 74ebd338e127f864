"""管理 (Manage): import a whitelist file and see the batches; managers and admins only.

On a desktop (≥ 1100 px) the import is two columns, the form on the left and the
preview on the right; on a phone they stack. Both screens need the network; the
controller (``app.workbench.imports``) says so in words when it is missing.
"""

from __future__ import annotations

import flet as ft

from app.i18n import format_datetime, t
from app.models.imports import BatchOut, ImportMode, ImportProblemOut
from app.services.funnel import FunnelStatus
from app.services.whitelist_import import ImportField
from app.views.context import use_observed, use_workbench
from app.views.quality import QualityReport, rates_line
from app.views.theme import BRAND
from app.views.widgets import TOUCH, choice_chip, error_box, note, section, tappable, text_of, words
from app.workbench.imports import DATUMS, SOURCES, may_manage
from app.workbench.loans import may_review_loans

_FUNNEL = {status.value: i for i, status in enumerate(FunnelStatus)}  # the funnel's order
TWO_COLUMNS = 1100  # px: form and preview side by side
PROBLEMS_SHOWN = 200  # rows listed on screen; the report has every one
FIELDS = tuple(f.value for f in ImportField)
IMPORT, BATCHES, LOANS = "/manage", "/manage/batches", "/manage/loans"
DASHBOARD, LEAGUE = "/manage/dashboard", "/manage/league"


TARGETS = "/manage/targets"


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MB"
    return f"{max(1, round(n / 1024))} KB"


@ft.component
def Tabs(current: str) -> ft.Control:
    """导入白名单 | 批次 | 看板 | 营销任务 | 排行榜 (| 贷款回流 for an admin): the screens of
    管理."""
    app = use_observed(use_workbench().state)
    lang = app.lang
    role = app.session.role if app.session is not None else None
    page = ft.context.page

    def tab(path: str, key: str, icon: ft.IconData) -> ft.Control:
        chosen = path == current
        kind = ft.FilledTonalButton if chosen else ft.TextButton
        return ft.Semantics(
            identifier=f"manage-tab-{key.rsplit('_', 1)[-1]}",
            selected=chosen,
            button=True,
            content=kind(
                t(key, lang), icon=icon, height=TOUCH, on_click=lambda _e: page.navigate(path)
            ),
        )

    tabs = [
        tab(IMPORT, "admin.tab_import", ft.Icons.UPLOAD_FILE),
        tab(BATCHES, "admin.tab_batches", ft.Icons.INVENTORY_2),
        tab(DASHBOARD, "admin.tab_dashboard", ft.Icons.INSIGHTS),
        tab(TARGETS, "admin.tab_targets", ft.Icons.FLAG),
        tab(LEAGUE, "admin.tab_league", ft.Icons.LEADERBOARD),
    ]
    if may_review_loans(role):
        tabs.append(tab(LOANS, "admin.tab_loans", ft.Icons.REQUEST_QUOTE))
    return ft.Row(tabs, spacing=8, wrap=True)


def frame(title: str, current: str, *body: ft.Control) -> ft.Control:
    return ft.Column(
        expand=True,
        scroll=ft.ScrollMode.AUTO,
        spacing=12,
        controls=[
            ft.Container(
                ft.Row(
                    [ft.Text(title, size=22, weight=ft.FontWeight.BOLD, expand=True)],
                    vertical_alignment=ft.CrossAxisAlignment.CENTER,
                ),
                padding=ft.Padding.only(left=16, right=16, top=8),
            ),
            ft.Container(Tabs(current), padding=ft.Padding.symmetric(horizontal=16)),
            ft.Container(
                ft.Column(
                    list(body), spacing=12, horizontal_alignment=ft.CrossAxisAlignment.STRETCH
                ),
                padding=ft.Padding.only(left=16, right=16, bottom=24),
            ),
        ],
    )


@ft.component
def NotForYou() -> ft.Control:
    lang = use_observed(use_workbench().state).lang
    return note(t("admin.not_allowed", lang))


# -- import ------------------------------------------------------------------------------


@ft.component
def ImportScreen() -> ft.Control:
    workbench = use_workbench()
    app = use_observed(workbench.state)
    if app.session is None or not may_manage(app.session.role):
        return NotForYou()
    page = ft.context.page
    wide = (page.width or 0) >= TWO_COLUMNS
    title = t("admin.title", app.lang)
    if wide:
        row = ft.Row(
            [
                ft.Container(ImportForm(), width=440),
                ft.Container(ImportPreview(), expand=True),
            ],
            vertical_alignment=ft.CrossAxisAlignment.START,
            spacing=16,
        )
        return frame(title, IMPORT, row)
    return frame(title, IMPORT, ImportForm(), ImportPreview())


@ft.component
def ImportForm() -> ft.Control:
    workbench = use_workbench()
    lang = use_observed(workbench.state).lang
    s = use_observed(workbench.imports.state)
    imports = workbench.imports
    page = ft.context.page
    picker, _ = ft.use_state(lambda: ft.FilePicker())
    busy = bool(s.busy)

    async def pick(_e: ft.Event) -> None:
        files = await picker.pick_files(
            dialog_title=t("admin.file_pick", lang),
            file_type=ft.FilePickerFileType.CUSTOM,
            allowed_extensions=["xlsx", "csv"],
            with_data=True,
            cancel_upload_on_window_blur=False,
        )
        if files:
            chosen = files[0]
            await imports.choose_file(chosen.name, chosen.bytes or b"")

    file_line = (
        t("admin.file_chosen", lang, name=s.file_name, size=_size(s.file_size))
        if s.file_name
        else t("admin.file_none", lang)
    )
    file_section = section(
        t("admin.file", lang),
        ft.Semantics(identifier="import-file", container=True, content=ft.Text(file_line)),
        ft.Row(
            [
                tappable(
                    "import-pick",
                    ft.FilledButton(
                        t("admin.file_pick", lang),
                        icon=ft.Icons.FOLDER_OPEN,
                        on_click=pick,
                        disabled=busy,
                        height=TOUCH,
                    ),
                )
            ],
            wrap=True,
        ),
        ft.Text(t("admin.datum", lang), size=12, color=ft.Colors.ON_SURFACE_VARIANT),
        ft.Row(
            [
                choice_chip(
                    f"datum-{d}",
                    t(f"admin.datum.{d}", lang),
                    s.datum == d,
                    lambda _e, d=d: page.run_task(imports.set_datum, d),
                    disabled=busy,
                )
                for d in DATUMS
            ],
            wrap=True,
            spacing=8,
            run_spacing=8,
        ),
        stretch=True,
    )

    if s.batch_id:
        batch_section = section(
            t("admin.batch", lang),
            ft.Text(t("admin.new_version_of", lang, name=s.batch_name), weight=ft.FontWeight.W_600),
            ft.Row(
                [
                    tappable(
                        "import-new-batch",
                        ft.TextButton(
                            t("admin.new_batch", lang),
                            on_click=lambda _e: imports.start_over(),
                            height=TOUCH,
                        ),
                    )
                ]
            ),
            stretch=True,
        )
    else:
        batch_section = section(
            t("admin.batch", lang),
            ft.TextField(
                label=t("admin.batch_name", lang),
                value=s.name,
                on_change=lambda e: imports.set_meta(name=text_of(e)),
            ),
            ft.TextField(
                label=t("admin.product", lang),
                value=s.product,
                on_change=lambda e: imports.set_meta(product=text_of(e)),
            ),
            ft.Text(t("admin.source", lang), size=12, color=ft.Colors.ON_SURFACE_VARIANT),
            ft.Row(
                [
                    choice_chip(
                        f"source-{src}",
                        t(f"admin.source.{src}", lang),
                        s.source == src,
                        lambda _e, src=src: imports.set_meta(source=src),
                    )
                    for src in SOURCES
                ],
                wrap=True,
                spacing=8,
                run_spacing=8,
            ),
            ft.Row(
                [
                    ft.TextField(
                        label=t("admin.valid_from", lang),
                        hint_text="2026-01-01",
                        value=s.valid_from,
                        expand=True,
                        on_change=lambda e: imports.set_meta(valid_from=text_of(e)),
                    ),
                    ft.TextField(
                        label=t("admin.valid_until", lang),
                        hint_text="2026-12-31",
                        value=s.valid_until,
                        expand=True,
                        on_change=lambda e: imports.set_meta(valid_until=text_of(e)),
                    ),
                ],
                spacing=8,
            ),
            stretch=True,
        )
    return ft.Column(
        [file_section, batch_section],
        spacing=12,
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )


def _problem_row(p: ImportProblemOut, lang: str) -> ft.Control:
    parts = [t("admin.problem_line", lang, line=p.line)]
    if p.column:
        parts.append(p.column)
    parts.append(words(p.code, p.message, lang, code=p.value, value=p.value))
    if p.value:
        parts.append(t("admin.problem_value", lang, value=p.value))
    return ft.Container(
        padding=ft.Padding.symmetric(horizontal=8, vertical=6),
        border=ft.Border.only(bottom=ft.BorderSide(1, ft.Colors.OUTLINE_VARIANT)),
        content=ft.Text(" · ".join(parts), size=14),
    )


@ft.component
def ImportPreview() -> ft.Control:
    workbench = use_workbench()
    lang = use_observed(workbench.state).lang
    s = use_observed(workbench.imports.state)
    imports = workbench.imports
    saver, _ = ft.use_state(lambda: ft.FilePicker())

    async def download(_e: ft.Event) -> None:
        content = await imports.report()
        if content is None:
            return
        path = await saver.save_file(
            dialog_title=t("admin.report", lang),
            file_name=imports.report_name(),
            src_bytes=content,
            file_type=ft.FilePickerFileType.CUSTOM,
            allowed_extensions=["xlsx"],
        )
        imports.report_saved(path)

    controls: list[ft.Control] = []
    error = error_box(words(s.error_code, s.error_message, lang)) if s.error_code else None
    if error is not None and s.preview is None:
        controls.append(error)
    if s.busy:
        controls.append(
            ft.Semantics(
                identifier="import-busy",
                container=True,
                content=ft.Row(
                    [
                        ft.ProgressRing(width=20, height=20, stroke_width=2),
                        ft.Text(t(f"admin.busy.{s.busy}", lang), expand=True),
                    ]
                ),
            )
        )
    if s.result is not None:
        controls.append(ImportResult())
    p = s.preview
    if p is None:
        if s.result is None and not s.busy and not s.error_code:
            controls.append(note(t("admin.preview_empty", lang)))
        return section(t("admin.preview", lang), *controls, stretch=True)

    counts = t("admin.counts", lang, total=p.total, valid=p.valid, bad=p.bad)
    controls.append(
        ft.Semantics(
            identifier="import-counts",
            container=True,
            content=ft.Text(counts, size=18, weight=ft.FontWeight.W_600),
        )
    )
    controls.append(
        ft.Text(
            t("admin.encoding", lang, encoding=p.encoding),
            size=12,
            color=ft.Colors.ON_SURFACE_VARIANT,
        )
    )
    if p.outlets:
        chips = [
            ft.Container(
                ft.Text(t("admin.outlet_count", lang, code=code, count=n), size=13),
                bgcolor=ft.Colors.SURFACE_CONTAINER_HIGH,
                border_radius=12,
                padding=ft.Padding.symmetric(horizontal=10, vertical=4),
            )
            for code, n in sorted(p.outlets.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        controls.append(
            ft.Column(
                [
                    ft.Text(t("admin.outlets", lang), size=12, color=ft.Colors.ON_SURFACE_VARIANT),
                    ft.Semantics(
                        identifier="import-outlets",
                        container=True,
                        content=ft.Row(chips, wrap=True, spacing=6, run_spacing=6),
                    ),
                ],
                spacing=4,
            )
        )
    if p.unknown_headers or s.mapping:
        controls.append(Mapping())
    if p.problems:
        shown = p.problems[:PROBLEMS_SHOWN]
        rows = [_problem_row(problem, lang) for problem in shown]
        if len(p.problems) > len(shown):
            rows.append(note(t("admin.problems_more", lang, count=len(p.problems) - len(shown))))
        controls.append(
            ft.Text(t("admin.problems", lang), size=12, color=ft.Colors.ON_SURFACE_VARIANT)
        )
        # a few rows in place; many in a list of their own that scrolls
        listed: ft.Control = (
            ft.Column(rows, spacing=0, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)
            if len(rows) <= 8
            else ft.Container(ft.ListView(rows, spacing=0), height=360)
        )
        controls.append(
            ft.Semantics(
                identifier="import-problems",
                container=True,
                content=ft.Container(
                    listed,
                    border=ft.Border.all(1, ft.Colors.OUTLINE_VARIANT),
                    border_radius=8,
                ),
            )
        )
    else:
        controls.append(ft.Text(t("admin.no_problems", lang), color=BRAND))

    buttons: list[ft.Control] = []
    if p.problems:
        buttons.append(
            tappable(
                "import-report",
                ft.OutlinedButton(
                    t("admin.report", lang),
                    icon=ft.Icons.DOWNLOAD,
                    on_click=download,
                    disabled=bool(s.busy),
                    height=TOUCH,
                ),
            )
        )
    buttons.append(
        tappable(
            "import-all",
            ft.FilledButton(
                t("admin.import_all", lang),
                icon=ft.Icons.CLOUD_UPLOAD,
                on_click=lambda _e: imports.ask(ImportMode.ALL),
                disabled=not imports.can_import_all,
                height=TOUCH,
            ),
        )
    )
    if p.bad:
        buttons.append(
            tappable(
                "import-valid",
                ft.FilledTonalButton(
                    t("admin.import_valid", lang, count=p.valid),
                    icon=ft.Icons.PLAYLIST_ADD_CHECK,
                    on_click=lambda _e: imports.ask(ImportMode.VALID_ONLY),
                    disabled=not imports.can_import_valid,
                    height=TOUCH,
                ),
            )
        )
    if p.bad:
        controls.append(
            ft.Text(t("admin.all_blocked", lang), size=12, color=ft.Colors.ON_SURFACE_VARIANT)
        )
    if error is not None:  # beside the buttons that led to it (a phone shows no more)
        controls.append(error)
    controls.append(ft.Row(buttons, wrap=True, spacing=8, run_spacing=8))
    controls.append(ConfirmImport())
    return section(t("admin.preview", lang), *controls, stretch=True)


@ft.component
def Mapping() -> ft.Control:
    """A drop-down per unknown header: which field it holds, or ignore it."""
    workbench = use_workbench()
    lang = use_observed(workbench.state).lang
    s = use_observed(workbench.imports.state)
    imports = workbench.imports
    page = ft.context.page
    p = s.preview
    headers = list(dict.fromkeys([*(p.unknown_headers if p else []), *s.mapping]))
    options = [ft.DropdownOption(key="", text=t("admin.mapping_ignore", lang))] + [
        ft.DropdownOption(key=f, text=t(f"admin.field.{f}", lang)) for f in FIELDS
    ]
    rows = [
        ft.Semantics(
            identifier=f"mapping-{i}",
            container=True,
            content=ft.Dropdown(
                label=header,
                value=s.mapping.get(header, ""),
                options=options,
                disabled=bool(s.busy),
                expand=True,
                on_select=lambda e, h=header: page.run_task(imports.map_header, h, text_of(e)),
            ),
        )
        for i, header in enumerate(headers)
    ]
    return ft.Column(
        [
            ft.Text(t("admin.mapping", lang), weight=ft.FontWeight.W_600),
            ft.Text(t("admin.mapping_hint", lang), size=12, color=ft.Colors.ON_SURFACE_VARIANT),
            *rows,
        ],
        spacing=8,
    )


@ft.component
def ConfirmImport() -> ft.Control:
    workbench = use_workbench()
    lang = use_observed(workbench.state).lang
    s = use_observed(workbench.imports.state)
    imports = workbench.imports
    p = s.preview
    asking = bool(s.confirm) and p is not None
    if asking and p is not None:
        if s.confirm == ImportMode.VALID_ONLY:
            question = t("admin.confirm_valid", lang, valid=p.valid, bad=p.bad)
        else:
            question = t("admin.confirm_all", lang, valid=p.valid)
        if s.batch_id:
            question += "\n" + t("admin.confirm_version", lang, name=s.batch_name)
    else:
        question = ""

    async def go(_e: ft.Event) -> None:
        await imports.commit()

    dialog = ft.AlertDialog(
        modal=True,
        title=ft.Text(t("admin.confirm_title", lang)),
        content=ft.Semantics(
            identifier="import-confirm",
            container=True,
            content=ft.Text(question, width=360),
        ),
        actions=[
            tappable(
                "import-confirm-yes",
                ft.FilledButton(t("admin.confirm", lang), on_click=go, height=TOUCH),
            ),
            tappable(
                "import-confirm-no",
                ft.TextButton(
                    t("admin.cancel", lang), on_click=lambda _e: imports.cancel(), height=TOUCH
                ),
            ),
        ],
        on_dismiss=lambda _e: imports.cancel(),
    )
    ft.use_dialog(dialog if asking else None)
    return ft.Container()


@ft.component
def ImportResult() -> ft.Control:
    workbench = use_workbench()
    lang = use_observed(workbench.state).lang
    s = use_observed(workbench.imports.state)
    r = s.result
    if r is None:
        return ft.Container()
    lines: list[ft.Control] = [
        ft.Text(t("admin.result", lang, version=r.version), size=18, weight=ft.FontWeight.W_600),
        ft.Text(
            t(
                "admin.result_counts",
                lang,
                added=r.added,
                updated=r.updated,
                withdrawn=r.withdrawn,
                unchanged=r.unchanged,
            ),
            size=16,
        ),
    ]
    if r.rows_bad:
        lines.append(ft.Text(t("admin.result_bad", lang, count=r.rows_bad)))
    lines.append(ft.Text(t("admin.result_sync", lang), size=12, color=ft.Colors.ON_SURFACE_VARIANT))
    return ft.Semantics(
        identifier="import-result",
        container=True,
        live_region=True,
        content=ft.Container(
            bgcolor=ft.Colors.SECONDARY_CONTAINER,
            border_radius=8,
            padding=12,
            content=ft.Column(lines, spacing=4),
        ),
    )


# -- batches -----------------------------------------------------------------------------


@ft.component
def BatchesScreen() -> ft.Control:
    workbench = use_workbench()
    app = use_observed(workbench.state)
    lang = app.lang
    b = use_observed(workbench.imports.batches)
    imports = workbench.imports
    page = ft.context.page
    manager = app.session is not None and may_manage(app.session.role)

    async def first_load() -> None:
        if manager:
            await imports.load_batches()

    ft.use_effect(first_load, [])
    if not manager:
        return NotForYou()

    controls: list[ft.Control] = [
        ft.Row(
            [
                tappable(
                    "batches-refresh",
                    ft.OutlinedButton(
                        t("admin.refresh", lang),
                        icon=ft.Icons.REFRESH,
                        on_click=lambda _e: page.run_task(imports.load_batches),
                        disabled=b.busy,
                        height=TOUCH,
                    ),
                )
            ]
        )
    ]
    if b.error_code:
        controls.append(error_box(words(b.error_code, b.error_message, lang)))
    if b.busy and not b.loaded:
        controls.append(ft.Row([ft.ProgressRing(width=20, height=20, stroke_width=2)]))
    elif b.loaded and not b.batches:
        controls.append(note(t("admin.batches_empty", lang)))
    controls.extend(BatchCard(batch) for batch in b.batches)
    return frame(t("admin.title", lang), BATCHES, *controls)


@ft.component
def BatchCard(batch: BatchOut) -> ft.Control:
    workbench = use_workbench()
    lang = use_observed(workbench.state).lang
    b = use_observed(workbench.imports.batches)
    imports = workbench.imports
    page = ft.context.page
    open_ = b.expanded == batch.id

    async def reimport(_e: ft.Event) -> None:
        await imports.new_version_of(batch)
        page.navigate(IMPORT)

    head = ft.Row(
        [
            ft.Text(batch.name, size=17, weight=ft.FontWeight.W_600, expand=True),
            ft.Text(t("admin.batch_version", lang, version=batch.version), size=13),
        ],
        vertical_alignment=ft.CrossAxisAlignment.CENTER,
    )
    facts = [
        batch.product or "—",
        t(f"admin.source.{batch.source}", lang),
        t(
            "admin.validity",
            lang,
            start=batch.valid_from.isoformat(),
            end=batch.valid_until.isoformat(),
        ),
        t("admin.total", lang, count=batch.total),
    ]
    info: list[ft.Control] = [ft.Text(" · ".join(facts), size=14)]
    if batch.expired:
        info.insert(
            0,
            ft.Container(
                ft.Text(t("admin.expired", lang), size=12, color=ft.Colors.ON_ERROR),
                bgcolor=ft.Colors.ERROR,
                border_radius=12,
                padding=ft.Padding.symmetric(horizontal=10, vertical=3),
            ),
        )
    statuses = [
        f"{t(f'funnel.{status}', lang)} {n}"
        for status, n in sorted(batch.by_status.items(), key=lambda kv: _FUNNEL.get(kv[0], 99))
        if n
    ]
    body: list[ft.Control] = [
        head,
        ft.Row(info, wrap=True, spacing=8, vertical_alignment=ft.CrossAxisAlignment.CENTER),
    ]
    if statuses:
        body.append(ft.Text(" · ".join(statuses), size=13, color=ft.Colors.ON_SURFACE_VARIANT))
    body.append(rates_line(batch.quality, lang, f"batch-quality-{batch.id}"))
    body.append(
        ft.Row(
            [
                tappable(
                    f"batch-details-{batch.id}",
                    ft.TextButton(
                        t("admin.hide_details" if open_ else "admin.show_details", lang),
                        icon=ft.Icons.EXPAND_LESS if open_ else ft.Icons.EXPAND_MORE,
                        on_click=lambda _e: page.run_task(workbench.quality.toggle, batch.id),
                        height=TOUCH,
                    ),
                ),
                tappable(
                    f"batch-reimport-{batch.id}",
                    ft.OutlinedButton(
                        t("admin.reimport", lang),
                        icon=ft.Icons.UPLOAD_FILE,
                        on_click=reimport,
                        disabled=batch.source == "field",
                        height=TOUCH,
                    ),
                ),
            ],
            wrap=True,
            spacing=8,
        )
    )
    if open_:
        body.append(QualityReport(batch.id, key=f"quality-{batch.id}"))
        outlets = [
            ft.Text(f"{o.code} {o.name} · {o.count}", size=14)
            for o in sorted(batch.by_outlet, key=lambda o: (-o.count, o.code))
        ]
        body.append(ft.Text(t("admin.by_outlet", lang), weight=ft.FontWeight.W_600))
        body.append(ft.Column(outlets or [ft.Text("—")], spacing=2))
        body.append(ft.Text(t("admin.versions", lang), weight=ft.FontWeight.W_600))
        versions = b.versions.get(batch.id)
        if versions is None:
            body.append(ft.ProgressRing(width=20, height=20, stroke_width=2))
        for v in versions or []:
            line = t(
                "admin.version_line",
                lang,
                version=v.version,
                when=format_datetime(v.imported_at, lang),
                file=v.file_name or "—",
                mode=t(f"admin.mode.{v.mode}", lang),
            )
            counts = t(
                "admin.version_counts",
                lang,
                added=v.added,
                updated=v.updated,
                withdrawn=v.withdrawn,
                unchanged=v.unchanged,
                bad=v.rows_bad,
            )
            body.append(
                ft.Column(
                    [
                        ft.Text(line, size=14),
                        ft.Text(counts, size=13, color=ft.Colors.ON_SURFACE_VARIANT),
                    ],
                    spacing=0,
                )
            )
    return ft.Semantics(
        identifier=f"batch-{batch.id}",
        container=True,
        content=ft.Container(
            bgcolor=ft.Colors.SURFACE_CONTAINER_LOWEST,
            border=ft.Border.all(1, ft.Colors.OUTLINE_VARIANT),
            border_radius=12,
            padding=16,
            content=ft.Column(body, spacing=8),
        ),
    )

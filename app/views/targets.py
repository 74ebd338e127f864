"""管理 → 营销任务: this month's or quarter's targets of the outlets or marketers in reach,
with their progress; set, changed and removed (``app.workbench.targets``). Layout and
wiring only."""

from __future__ import annotations

import flet as ft

from app.i18n import format_date, format_datetime, format_money, t
from app.models.target import TargetOut
from app.views.admin import TARGETS, NotForYou, frame
from app.views.context import use_observed, use_workbench
from app.views.theme import BRAND
from app.views.widgets import (
    TOUCH,
    choice_chip,
    error_box,
    icon_button,
    note,
    tappable,
    text_of,
    use_confirm,
    use_xlsx_download,
    words,
)
from app.workbench.targets import (
    AMOUNT,
    METRICS,
    PERIODS,
    TargetRow,
    TargetsController,
    may_set_targets,
    typed,
)


def figure(metric: str, actual: int, target: int, lang: str) -> str:
    """ "30 / 40 次", "12 万元 / 50 万元": how far a target has come, in its unit."""
    if metric == AMOUNT:
        shown = (format_money(actual, lang), format_money(target, lang))
    else:
        shown = (f"{actual:,}", f"{target:,}")
    return t(f"targets.figure.{metric}", lang, actual=shown[0], target=shown[1])


def done_words(progress: float | None, met: bool, lang: str) -> str:
    """The progress in words: "已完成 75%", "已达成（120%）", or a target of 0 said so."""
    if progress is None:
        return t("targets.pct_zero", lang)
    pct = f"{progress * 100:.0f}"
    return t("targets.pct_met" if met else "targets.pct", lang, pct=pct)


def progress_line(
    label: str, metric: str, actual: int, value: int, progress: float | None, lang: str
) -> ft.Control:
    """One target: its label and figure, a bar, and the % in words."""
    met = actual >= value
    column = ft.Column(
        [
            ft.Row(
                [
                    ft.Text(label, weight=ft.FontWeight.W_600, expand=True),
                    ft.Text(figure(metric, actual, value, lang), size=14),
                ],
                vertical_alignment=ft.CrossAxisAlignment.CENTER,
            ),
            ft.ProgressBar(
                value=min(progress or 0.0, 1.0),
                bar_height=8,
                border_radius=4,
                color=ft.Colors.GREEN_700 if met and progress is not None else BRAND,
                bgcolor=ft.Colors.SURFACE_CONTAINER_HIGH,
            ),
            ft.Text(done_words(progress, met, lang), size=13, color=ft.Colors.ON_SURFACE_VARIANT),
        ],
        spacing=4,
    )
    # read out as one: "营销次数 30 / 40 次 已完成 75%"
    return ft.Semantics(container=True, content=column, expand=True)


def grid(items: list[ft.Control]) -> ft.Control:
    """A subject's targets side by side on a wide screen, one above the other on a phone."""
    return ft.ResponsiveRow(
        [ft.Container(item, col={"xs": 12, "md": 6, "lg": 4}) for item in items],
        spacing=24,
        run_spacing=12,
        vertical_alignment=ft.CrossAxisAlignment.START,
    )


@ft.component
def TargetsScreen() -> ft.Control:
    workbench = use_workbench()
    app = use_observed(workbench.state)
    lang = app.lang
    goals = workbench.targets
    s = use_observed(goals.state)
    page = ft.context.page
    download = use_xlsx_download(t("league.download", lang), goals.download, goals.saved)
    allowed = app.session is not None and may_set_targets(app.session.role)

    async def first_load() -> None:
        if allowed:
            await goals.load()

    ft.use_effect(first_load, [])
    if not allowed:
        return NotForYou()

    level = goals.level()
    busy = bool(s.busy)
    controls: list[ft.Control] = []
    offered = goals.levels()
    if len(offered) > 1:
        controls.append(
            ft.Row(
                [
                    choice_chip(
                        f"targets-level-{v}",
                        t(f"targets.level.{v}", lang),
                        v == level,
                        lambda _e, v=v: page.run_task(goals.choose, level=v),
                        disabled=busy,
                    )
                    for v in offered
                ],
                wrap=True,
                spacing=8,
                run_spacing=8,
            )
        )
    named = dict(zip(PERIODS, goals.period_names(), strict=True))
    controls.append(
        ft.Row(
            [
                ft.Row(
                    [
                        choice_chip(
                            f"targets-period-{v}",
                            t(f"targets.period.{v}", lang, name=named[v]),
                            v == s.period,
                            lambda _e, v=v: page.run_task(goals.choose, period=v),
                            disabled=busy,
                        )
                        for v in PERIODS
                    ],
                    wrap=True,
                    spacing=8,
                    run_spacing=8,
                ),
                tappable(
                    "targets-download",
                    ft.OutlinedButton(
                        t("league.download", lang),
                        icon=ft.Icons.DOWNLOAD,
                        on_click=download,
                        disabled=busy,
                        height=TOUCH,
                    ),
                ),
            ],
            wrap=True,
            spacing=16,
            run_spacing=8,
            alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
        )
    )
    controls.append(
        ft.Text(t(f"targets.explain.{level}", lang), size=12, color=ft.Colors.ON_SURFACE_VARIANT)
    )
    if s.loaded and s.start and s.end:
        controls.append(
            ft.Semantics(
                identifier="targets-as-of",
                container=True,
                content=ft.Text(
                    t(
                        "targets.as_of",
                        lang,
                        start=format_date(s.start, lang),
                        end=format_date(s.end, lang),
                        time=format_datetime(s.as_of, lang),
                    ),
                    size=12,
                    color=ft.Colors.ON_SURFACE_VARIANT,
                ),
            )
        )
    if s.saved:
        controls.append(ft.Text(t("league.saved", lang, path=s.saved), color=ft.Colors.PRIMARY))
    if s.notice:
        controls.append(
            ft.Semantics(
                identifier="targets-notice",
                live_region=True,
                content=ft.Text(t(s.notice, lang, **s.notice_params), color=ft.Colors.PRIMARY),
            )
        )
    if s.error_code and s.editing is None:  # an open form says its own beside its button
        controls.append(error_box(words(s.error_code, s.error_message, lang), "targets-error"))
    if s.busy == "load" and not s.loaded:
        controls.append(ft.Row([ft.ProgressRing(width=20, height=20, stroke_width=2)]))
    elif s.loaded and not s.rows:
        controls.append(note(t(f"targets.empty.{level}", lang)))
    controls.extend(TargetCard(row, key=f"{row.subject}-{row.subject_id}") for row in s.rows)
    controls.append(ConfirmDelete())
    return frame(t("admin.title", lang), TARGETS, *controls)


@ft.component
def TargetCard(row: TargetRow) -> ft.Control:
    workbench = use_workbench()
    lang = use_observed(workbench.state).lang
    goals = workbench.targets
    s = use_observed(goals.state)
    editing = s.editing == row.subject_id
    busy = bool(s.busy)
    who = " · ".join(x for x in (row.code, row.place) if x)
    head: list[ft.Control] = [
        ft.Column(
            [
                ft.Text(row.name, size=17, weight=ft.FontWeight.W_600),
                ft.Text(who, size=12, color=ft.Colors.ON_SURFACE_VARIANT),
            ],
            spacing=0,
            expand=True,
        )
    ]
    if s.editing is None:  # one form at a time: the others offer nothing meanwhile
        head.append(
            tappable(
                f"target-edit-{row.subject_id}",
                ft.FilledTonalButton(
                    t("targets.edit" if row.targets else "targets.set", lang),
                    icon=ft.Icons.EDIT if row.targets else ft.Icons.ADD_TASK,
                    on_click=lambda _e: goals.edit(row.subject_id),
                    disabled=busy,
                    height=TOUCH,
                ),
            )
        )
    body: list[ft.Control] = [
        ft.Row(head, vertical_alignment=ft.CrossAxisAlignment.CENTER, spacing=8)
    ]
    if editing:
        body.extend(_fields(goals, row, lang))
    elif not row.targets:
        body.append(
            ft.Text(t("targets.none_set", lang), size=14, color=ft.Colors.ON_SURFACE_VARIANT)
        )
    else:
        lines: list[ft.Control] = []
        for metric in METRICS:
            goal = row.targets.get(metric)
            if goal is None:
                continue
            label = t(f"target.metric.{metric}", lang)
            lines.append(
                ft.Row(
                    [
                        progress_line(label, metric, goal.actual, goal.value, goal.progress, lang),
                        _delete(goals, goal, lang, busy),
                    ],
                    vertical_alignment=ft.CrossAxisAlignment.CENTER,
                    spacing=4,
                )
            )
        body.append(grid(lines))
    return ft.Semantics(
        identifier=f"target-{row.subject_id}",
        container=True,
        content=ft.Container(
            bgcolor=ft.Colors.SURFACE_CONTAINER_LOWEST,
            border=ft.Border.all(1, BRAND if editing else ft.Colors.OUTLINE_VARIANT),
            border_radius=12,
            padding=ft.Padding.symmetric(horizontal=16, vertical=12),
            content=ft.Column(body, spacing=10),
        ),
    )


def _delete(goals: TargetsController, goal: TargetOut, lang: str, busy: bool) -> ft.Control:
    """删除 beside a target: asks first (``ConfirmDelete``)."""
    label = t("targets.delete", lang, metric=t(f"target.metric.{goal.metric.value}", lang))
    button = icon_button(
        ft.Icons.DELETE_OUTLINE,
        label,
        lambda _e: goals.ask_delete(goal.id),
        identifier=f"target-delete-{goal.id}",
    )
    return ft.Container(button, disabled=busy)


def _fields(goals: TargetsController, row: TargetRow, lang: str) -> list[ft.Control]:
    """The three figures of the subject as typed, each with what is wrong with it."""
    s = goals.state
    page = ft.context.page
    busy = bool(s.busy)
    fields: list[ft.Control] = []
    for metric in METRICS:
        problem = s.problems.get(metric)
        held = row.targets.get(metric)
        field = ft.TextField(
            label=t(f"targets.field.{metric}", lang),
            value=s.drafts.get(metric, ""),
            hint_text=typed(metric, held.value) if held else None,
            helper=t("targets.field_hint", lang) if held is None and not problem else None,
            error=t(problem, lang) if problem else None,
            keyboard_type=ft.KeyboardType.NUMBER,
            disabled=busy,
            expand=True,
            on_change=lambda e, m=metric: goals.type(m, text_of(e)),
        )
        line: list[ft.Control] = [
            ft.Semantics(
                identifier=f"target-field-{metric}", container=True, content=field, expand=True
            )
        ]
        if held is not None:
            line.append(_delete(goals, held, lang, busy))
        fields.append(ft.Row(line, vertical_alignment=ft.CrossAxisAlignment.START, spacing=4))
    out = [grid(fields)]
    if s.error_code:
        out.append(error_box(words(s.error_code, s.error_message, lang), "targets-error"))
    out.append(
        ft.Row(
            [
                tappable(
                    "target-save",
                    ft.FilledButton(
                        t("targets.save", lang),
                        icon=ft.Icons.SAVE,
                        on_click=lambda _e: page.run_task(goals.save),
                        disabled=busy,
                        height=TOUCH,
                    ),
                ),
                tappable(
                    "target-cancel",
                    ft.TextButton(
                        t("admin.cancel", lang),
                        on_click=lambda _e: goals.cancel_edit(),
                        disabled=busy,
                        height=TOUCH,
                    ),
                ),
            ],
            wrap=True,
            spacing=8,
        )
    )
    return out


@ft.component
def ConfirmDelete() -> ft.Control:
    """The question before a target is removed: whose, which period, which figure."""
    workbench = use_workbench()
    lang = use_observed(workbench.state).lang
    goals = workbench.targets
    s = use_observed(goals.state)
    found = goals.target(s.deleting or "")
    question = ""
    if found is not None:
        row, goal = found
        metric = goal.metric.value
        value = format_money(goal.value, lang) if metric == AMOUNT else f"{goal.value:,}"
        question = t(
            "targets.confirm_delete",
            lang,
            name=row.name,
            period=goal.period,
            metric=t(f"target.metric.{metric}", lang),
            value=value,
        )
    use_confirm(
        found is not None,
        "target-confirm",
        lang,
        title=t("targets.confirm_title", lang),
        question=question,
        yes=t("targets.confirm", lang),
        on_yes=goals.delete,
        on_cancel=goals.cancel_delete,
    )
    return ft.Container()

"""管理 → 排行榜: outlets or marketers ranked within the branch (``app.workbench.league``),
with its download as an .xlsx. Layout and wiring only."""

from __future__ import annotations

import flet as ft

from app.i18n import format_datetime, format_money, t
from app.models.dashboard import LeagueRowOut
from app.views.admin import LEAGUE, NotForYou, frame
from app.views.context import use_observed, use_workbench
from app.views.widgets import TOUCH, chip_row, error_box, note, tappable, use_xlsx_download, words
from app.workbench.imports import may_manage
from app.workbench.league import LEVELS, METRICS, PERIODS


@ft.component
def LeagueScreen() -> ft.Control:
    workbench = use_workbench()
    app = use_observed(workbench.state)
    lang = app.lang
    league = workbench.league
    s = use_observed(league.state)
    page = ft.context.page
    download = use_xlsx_download(t("league.download", lang), league.download, league.saved)
    manager = app.session is not None and may_manage(app.session.role)

    async def first_load() -> None:
        if manager:
            await league.load()

    ft.use_effect(first_load, [])
    if not manager:
        return NotForYou()

    def chips(kind: str, values: tuple[str, ...], chosen: str) -> ft.Control:
        return chip_row(
            f"league-{kind}",
            values,
            chosen,
            lambda v: t(f"league.{kind}.{v}", lang),
            lambda v: page.run_task(league.choose, **{kind: v}),
            disabled=bool(s.busy),
        )

    if s.as_of is None:
        fresh = t("league.not_yet", lang)
    else:
        fresh = t("league.as_of", lang, time=format_datetime(s.as_of, lang))
    controls: list[ft.Control] = [
        chips("level", LEVELS, s.level),
        chips("metric", METRICS, s.metric),
        ft.Row(
            [
                chips("period", PERIODS, s.period),
                tappable(
                    "league-download",
                    ft.OutlinedButton(
                        t("league.download", lang),
                        icon=ft.Icons.DOWNLOAD,
                        on_click=download,
                        disabled=bool(s.busy),
                        height=TOUCH,
                    ),
                ),
            ],
            wrap=True,
            spacing=16,
            run_spacing=8,
            alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
        ),
        ft.Text(
            f"{t('league.ranked', lang, count=s.ranked)} · {fresh}",
            size=12,
            color=ft.Colors.ON_SURFACE_VARIANT,
        ),
    ]
    if s.saved:
        controls.append(ft.Text(t("league.saved", lang, path=s.saved), color=ft.Colors.PRIMARY))
    if s.error_code:
        controls.append(error_box(words(s.error_code, s.error_message, lang), "league-error"))
    if s.busy == "load" and not s.loaded:
        controls.append(ft.Row([ft.ProgressRing(width=20, height=20, stroke_width=2)]))
    elif s.loaded and not s.rows:
        controls.append(note(t("league.empty", lang)))
    controls.extend(_row(r, s.metric, s.level, lang) for r in s.rows)
    return frame(t("admin.title", lang), LEAGUE, *controls)


def _figures(row: LeagueRowOut, level: str, lang: str) -> dict[str, str]:
    if row.participation is None:
        taken = t("league.row.participation", lang, rate="—")
    elif level == "marketer":  # a marketer's figure is the roles held, not a share
        taken = t("league.row.roles", lang, n=int(row.participation))
    else:
        taken = t("league.row.participation", lang, rate=f"{row.participation:.0%}")
    return {
        "disbursed_amount": format_money(row.disbursed_amount, lang),
        "disbursed_count": t("league.row.loans", lang, n=row.disbursed_count),
        "contacts": t("league.row.contacts", lang, n=row.contacts),
        "participation": taken,
    }


def _row(row: LeagueRowOut, metric: str, level: str, lang: str) -> ft.Control:
    """One ranked outlet or marketer: its rank, name, the ranking figure large, the rest."""
    figures = _figures(row, level, lang)
    others = " · ".join(text for key, text in figures.items() if key != metric)
    line = [row.code, others]
    if row.shared > 1:  # said under the name: a long name keeps its line
        line.insert(1, t("league.tie", lang, n=row.shared))
    return ft.Semantics(
        identifier=f"league-row-{row.id}",
        container=True,
        content=ft.Container(
            bgcolor=ft.Colors.SURFACE_CONTAINER_LOWEST,
            border=ft.Border.all(1, ft.Colors.OUTLINE_VARIANT),
            border_radius=12,
            padding=ft.Padding.symmetric(horizontal=14, vertical=10),
            content=ft.Row(
                [
                    ft.Container(
                        ft.Text(str(row.rank), size=20, weight=ft.FontWeight.BOLD),
                        width=48,
                        alignment=ft.Alignment.CENTER,
                    ),
                    ft.Column(
                        [
                            ft.Text(row.name, weight=ft.FontWeight.W_600),
                            ft.Text(
                                " · ".join(line),
                                size=12,
                                color=ft.Colors.ON_SURFACE_VARIANT,
                            ),
                        ],
                        spacing=2,
                        expand=True,
                    ),
                    ft.Text(figures[metric], size=16, weight=ft.FontWeight.W_600),
                ],
                vertical_alignment=ft.CrossAxisAlignment.CENTER,
            ),
        ),
    )

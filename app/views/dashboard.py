"""管理 → 看板: the central store's figures over the user's reach (``app.workbench.
dashboard``): the period's funnel and results, participation and coverage, and each
batch's coverage and conversion. Layout and wiring only."""

from __future__ import annotations

import flet as ft

from app.i18n import format_datetime, format_money, t
from app.models.dashboard import BatchRowOut, ParticipationRowOut
from app.views.admin import DASHBOARD, NotForYou, frame
from app.views.context import use_observed, use_workbench
from app.views.widgets import chip_row, error_box, labelled, note, section, words
from app.workbench.dashboard import GROUPS, PERIODS
from app.workbench.imports import may_manage


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


@ft.component
def DashboardScreen() -> ft.Control:
    workbench = use_workbench()
    app = use_observed(workbench.state)
    manager = app.session is not None and may_manage(app.session.role)
    if not manager:
        return NotForYou()
    return frame(t("admin.title", app.lang), DASHBOARD, DashboardBody())


@ft.component
def DashboardBody() -> ft.Control:
    """The store's figures over the user's reach: 管理 → 看板, and an admin's 业绩."""
    workbench = use_workbench()
    lang = use_observed(workbench.state).lang
    board = workbench.dashboard
    s = use_observed(board.state)
    page = ft.context.page
    ft.use_effect(board.load, [])

    def chips(kind: str, values: tuple[str, ...], chosen: str) -> ft.Control:
        return chip_row(
            f"dashboard-{kind}",
            values,
            chosen,
            lambda v: t(f"dashboard.{kind}.{v}", lang),
            lambda v: page.run_task(board.choose, **{kind: v}),
            disabled=bool(s.busy),
        )

    fresh = (
        t("league.as_of", lang, time=format_datetime(s.as_of, lang))
        if s.as_of is not None
        else t("league.not_yet", lang)
    )
    controls: list[ft.Control] = [
        chips("period", PERIODS, s.period),
        ft.Text(fresh, size=12, color=ft.Colors.ON_SURFACE_VARIANT),
    ]
    if s.error_code:
        controls.append(error_box(words(s.error_code, s.error_message, lang), "dashboard-error"))
    if s.busy and s.overview is None:
        controls.append(ft.Row([ft.ProgressRing(width=20, height=20, stroke_width=2)]))
    if s.overview is not None:
        o = s.overview
        figures = [
            ("dashboard.outlets", str(o.outlets)),
            ("dashboard.prospects", f"{o.prospects:,}"),
            ("dashboard.contacts", f"{o.contacts:,}"),
            ("dashboard.disbursed_count", f"{o.disbursed_count:,}"),
            ("dashboard.disbursed_amount", format_money(o.disbursed_amount, lang)),
        ]
        funnel = " · ".join(
            f"{t(f'funnel.{status}', lang)} {n:,}" for status, n in o.status_counts.items() if n
        )
        controls.append(
            ft.Semantics(
                identifier="dashboard-overview",
                container=True,
                content=section(
                    t("dashboard.overview", lang, start=o.start.isoformat(), end=o.end.isoformat()),
                    ft.Row(
                        [labelled(t(key, lang), value) for key, value in figures],
                        wrap=True,
                        spacing=28,
                        run_spacing=12,
                    ),
                    ft.Text(funnel, size=12, color=ft.Colors.ON_SURFACE_VARIANT),
                ),
            )
        )
    if s.participation is not None:
        p = s.participation
        rows = [
            _participation(p.total, lang, total=True),
            *(_participation(r, lang, tier=s.by == "tier") for r in p.rows),
        ]
        controls.append(
            ft.Semantics(
                identifier="dashboard-participation",
                container=True,
                content=section(
                    t("dashboard.participation", lang),
                    chips("by", GROUPS, s.by),
                    ft.Text(t("dashboard.participation_explain", lang), size=12),
                    *rows,
                    stretch=True,
                ),
            )
        )
    if s.batches is not None:
        b = s.batches
        body = [_batch(r, lang) for r in b.rows] or [note(t("dashboard.no_batches", lang))]
        controls.append(
            ft.Semantics(
                identifier="dashboard-batches",
                container=True,
                content=section(t("dashboard.batches", lang), *body, stretch=True),
            )
        )
    return ft.Column(controls, spacing=12, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)


def _participation(
    row: ParticipationRowOut, lang: str, *, total: bool = False, tier: bool = False
) -> ft.Control:
    name = t("dashboard.total", lang) if total else (row.label or row.key)
    if tier:
        name = t(f"outlet.tier.{row.key}", lang)
    if row.code:
        name = f"{name}（{row.code}）"
    outlets = t(
        "dashboard.outlet_rates",
        lang,
        n=row.outlets,
        booked=_rate(row.booked_outlet_rate),
        marketed=_rate(row.marketed_outlet_rate),
        originated=_rate(row.originated_outlet_rate),
    )
    staff = t(
        "dashboard.staff_rates",
        lang,
        n=row.staff,
        any=_rate(row.any_staff_rate),
        booked=_rate(row.booked_staff_rate),
        marketed=_rate(row.marketed_staff_rate),
        originated=_rate(row.originated_staff_rate),
    )
    coverage = t(
        "dashboard.coverage",
        lang,
        covered=row.covered,
        customers=row.customers,
        rate=_rate(row.coverage),
    )
    return ft.Container(
        padding=ft.Padding.only(top=6, bottom=6),
        border=ft.Border.only(top=ft.BorderSide(1, ft.Colors.OUTLINE_VARIANT)),
        content=ft.Column(
            [
                ft.Text(name, weight=ft.FontWeight.BOLD if total else ft.FontWeight.W_600),
                ft.Text(outlets, size=13),
                ft.Text(staff, size=13),
                ft.Text(coverage, size=12, color=ft.Colors.ON_SURFACE_VARIANT),
            ],
            spacing=2,
        ),
    )


def _batch(row: BatchRowOut, lang: str) -> ft.Control:
    windows = " · ".join(
        t("dashboard.window", lang, days=w.days, rate=_rate(w.share)) for w in row.windows
    )
    line = t(
        "dashboard.batch_line",
        lang,
        entries=f"{row.entries:,}",
        windows=windows,
        disbursed=row.disbursed,
        conversion=_rate(row.conversion),
    )
    return ft.Container(
        padding=ft.Padding.only(top=6, bottom=6),
        border=ft.Border.only(top=ft.BorderSide(1, ft.Colors.OUTLINE_VARIANT)),
        content=ft.Column(
            [
                ft.Text(f"{row.name} · {row.product}", weight=ft.FontWeight.W_600),
                ft.Text(line, size=13),
                ft.Text(
                    f"{row.valid_from.isoformat()} ~ {row.valid_until.isoformat()}",
                    size=12,
                    color=ft.Colors.ON_SURFACE_VARIANT,
                ),
            ],
            spacing=2,
        ),
    )

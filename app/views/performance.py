"""Performance: mine, or the outlet's with each marketer; week / month / quarter."""

from __future__ import annotations

from datetime import datetime

import flet as ft
import flet_charts as fch

from app.i18n import format_datetime, format_money, t
from app.services.funnel import MAIN_LINE
from app.services.performance import PerformanceReport
from app.views.context import use_observed, use_workbench
from app.views.theme import BRAND, STATUS_COLORS
from app.views.widgets import labelled, screen, section
from app.workbench.performance import PERIODS


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.0f}%"


def _nice_ceiling(value: float) -> int:
    """A round axis top above ``value`` (5, 10, 20, 50, 100, ...), so labels never collide."""
    step = 5
    while step * 10 < value:
        step *= 10
    return int(-(-value * 1.1 // step) * step) or step


def _kpis(report: PerformanceReport, lang: str, ranked_at: datetime | None) -> ft.Control:
    items: list[tuple[str, str, str]] = [
        (t("perf.logs", lang), str(report.contacts), ""),
        (t("perf.contacts", lang), str(report.contacted_prospects), ""),
        (t("perf.disbursed_count", lang), str(report.disbursed_count), ""),
        (t("perf.disbursed_amount", lang), format_money(report.disbursed_amount, lang), ""),
    ]
    if report.rank is not None:
        key = "perf.rank_tied" if report.rank_shared > 1 else "perf.rank_value"
        when = ""  # ranked by the central store at the last sync: say when
        if ranked_at:
            when = t("perf.rank_as_of", lang, time=format_datetime(ranked_at, lang))
        items.append(
            (t("perf.rank", lang), t(key, lang, rank=report.rank, of=report.rank_of), when)
        )

    def kpi(label: str, value: str, caption: str) -> ft.Control:
        shown: list[ft.Control] = [ft.Text(value, size=22, weight=ft.FontWeight.BOLD, color=BRAND)]
        if caption:
            shown.append(ft.Text(caption, size=12, color=ft.Colors.ON_SURFACE_VARIANT))
        return ft.Container(
            labelled(label, ft.Column(shown, spacing=0)), col={"xs": 6, "md": 3}, padding=4
        )

    return ft.ResponsiveRow([kpi(*item) for item in items])


def _funnel(report: PerformanceReport, lang: str) -> list[ft.Control]:
    stages = [s for s in MAIN_LINE if s != "unassigned"]
    top = max([report.reached.get(s, 0) for s in stages] + [1])
    chart = fch.BarChart(
        height=200,
        interactive=False,
        max_y=_nice_ceiling(top),
        groups=[
            fch.BarChartGroup(
                x=i,
                rods=[
                    fch.BarChartRod(
                        from_y=0,
                        to_y=report.reached.get(s, 0),
                        width=22,
                        color=STATUS_COLORS[s],
                        border_radius=4,
                    )
                ],
            )
            for i, s in enumerate(stages)
        ],
        bottom_axis=fch.ChartAxis(
            labels=[
                fch.ChartAxisLabel(
                    value=i,
                    label=ft.Text(t(f"funnel.short.{s}", lang), size=10 if lang == "zh" else 9),
                )
                for i, s in enumerate(stages)
            ],
            label_size=28,
        ),
        left_axis=fch.ChartAxis(label_size=36),
    )
    rates = ft.Row(
        [
            ft.Text(
                f"{t('funnel.' + c.from_status, lang)}→{t('funnel.' + c.to_status, lang)} "
                f"{_pct(c.rate)}",
                size=12,
            )
            for c in report.conversions
            if c.from_status != "unassigned"
        ],
        wrap=True,
        spacing=12,
    )
    return [chart, ft.Text(t("perf.conversion", lang), size=13), rates]


def _weekly(report: PerformanceReport, lang: str) -> ft.Control:
    points = [fch.LineChartDataPoint(i, n) for i, (_, n) in enumerate(report.weekly_contacts)]
    top = _nice_ceiling(max([n for _, n in report.weekly_contacts] + [1]))
    labels = [
        fch.ChartAxisLabel(value=i, label=ft.Text(f"{d.month}/{d.day}", size=10))
        for i, (d, _) in enumerate(report.weekly_contacts)
        if i % 2 == 0
    ]
    return fch.LineChart(
        height=180,
        min_y=0,
        max_y=top,
        interactive=False,
        data_series=[fch.LineChartData(points=points, color=BRAND, stroke_width=3, curved=True)],
        bottom_axis=fch.ChartAxis(labels=labels, label_size=24),
        left_axis=fch.ChartAxis(label_size=32),
    )


def _mix(report: PerformanceReport, lang: str) -> ft.Control:
    shares = [(s, v) for s, v in report.status_mix.items() if v > 0]
    pie = fch.PieChart(
        height=180,
        center_space_radius=36,
        sections=[
            fch.PieChartSection(value=v * 100, color=STATUS_COLORS.get(s), radius=50, title="")
            for s, v in shares
        ],
    )
    legend = ft.Column(
        [
            ft.Row(
                [
                    ft.Container(
                        width=12, height=12, bgcolor=STATUS_COLORS.get(s), border_radius=2
                    ),
                    ft.Text(f"{t('funnel.' + s, lang)} {v * 100:.0f}%", size=12),
                ]
            )
            for s, v in shares
        ],
        spacing=4,
    )
    return ft.ResponsiveRow(
        [ft.Container(pie, col={"xs": 12, "sm": 6}), ft.Container(legend, col={"xs": 12, "sm": 6})]
    )


@ft.component
def PerformanceScreen() -> ft.Control:
    workbench = use_workbench()
    app = use_observed(workbench.state)
    perf = workbench.performance
    state = use_observed(perf.state)
    lang = app.lang
    ft.use_effect(perf.load, [app.progress.last_sync_at])
    report = state.report

    async def pick_period(e: ft.Event) -> None:
        await perf.pick(period=(list(e.control.selected) or ["month"])[0])

    async def pick_subject(e: ft.Event) -> None:
        await perf.pick(subject=(list(e.control.selected) or ["mine"])[0])

    pickers: list[ft.Control] = [
        ft.SegmentedButton(
            selected=[state.period],
            on_change=pick_period,
            segments=[ft.Segment(value=p, label=ft.Text(t(f"perf.{p}", lang))) for p in PERIODS],
        )
    ]
    subjects = perf.subjects()
    if len(subjects) > 1:
        pickers.append(
            ft.SegmentedButton(
                selected=[state.subject],
                on_change=pick_subject,
                segments=[
                    ft.Segment(value=s, label=ft.Text(t(f"perf.{s}", lang))) for s in subjects
                ],
            )
        )
    controls: list[ft.Control] = [ft.Row(pickers, wrap=True, spacing=12, run_spacing=8)]
    if report is None:
        controls.append(ft.ProgressRing())
        return screen(t("perf.title", lang), *controls)
    coverage = [
        ft.Row(
            [
                ft.Text(f"{b.product}", expand=True),
                ft.Text(f"{t('perf.coverage_7', lang)} {_pct(b.share_7)}", size=13),
                ft.Text(f"{t('perf.coverage_30', lang)} {_pct(b.share_30)}", size=13),
            ],
            wrap=True,
        )
        for b in report.batches
    ]
    controls += [
        _kpis(report, lang, state.ranked_at),
        section(t("perf.funnel", lang), *_funnel(report, lang)),
        section(t("perf.contacts_per_week", lang), _weekly(report, lang)),
        section(t("perf.status_mix", lang), _mix(report, lang)),
        section(t("perf.coverage", lang), *coverage),
    ]
    if state.breakdown:
        rows = [
            ft.Row(
                [
                    ft.Text(f"{r.rank}. {r.name}", expand=True),
                    ft.Text(f"{t('perf.logs', lang)} {r.contacts}", size=13),
                    ft.Text(
                        f"{t('perf.disbursed', lang)} {r.disbursed_count} · "
                        f"{format_money(r.disbursed_amount, lang)}",
                        size=13,
                    ),
                ],
                wrap=True,
            )
            for r in state.breakdown
        ]
        controls.append(section(t("perf.marketers", lang), *rows))
    return screen(t("perf.title", lang), *controls)

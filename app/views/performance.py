"""Performance: mine, or the outlet's with each marketer; week / month / quarter."""

from __future__ import annotations

from datetime import datetime

import flet as ft
import flet_charts as fch

from app.i18n import format_datetime, format_money, t
from app.services.funnel import MAIN_LINE
from app.views.context import StateContext, WorkbenchState
from app.views.theme import BRAND, STATUS_COLORS
from app.views.widgets import labelled, screen, section


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.0f}%"


def _nice_ceiling(value: float) -> int:
    """A round axis top above ``value`` (5, 10, 20, 50, 100, ...), so labels never collide."""
    step = 5
    while step * 10 < value:
        step *= 10
    return int(-(-value * 1.1 // step) * step) or step


def _kpis(report, lang: str, ranked_at: str | None) -> ft.Control:  # type: ignore[no-untyped-def]
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
            when = t("perf.rank_as_of", lang,
                     time=format_datetime(datetime.fromisoformat(ranked_at), lang))  # fmt: skip
        items.append((t("perf.rank", lang), t(key, lang, rank=report.rank, of=report.rank_of),
                      when))  # fmt: skip

    def kpi(label: str, value: str, caption: str) -> ft.Control:
        shown: list[ft.Control] = [ft.Text(value, size=22, weight=ft.FontWeight.BOLD, color=BRAND)]
        if caption:
            shown.append(ft.Text(caption, size=12, color=ft.Colors.ON_SURFACE_VARIANT))
        return ft.Container(labelled(label, ft.Column(shown, spacing=0)), col={"xs": 6, "md": 3},
                            padding=4)  # fmt: skip

    return ft.ResponsiveRow([kpi(*item) for item in items])


def _funnel(report, lang: str) -> list[ft.Control]:  # type: ignore[no-untyped-def]
    stages = [s for s in MAIN_LINE if s != "unassigned"]
    top = max([report.reached.get(s, 0) for s in stages] + [1])
    chart = fch.BarChart(
        height=200, interactive=False, max_y=_nice_ceiling(top),
        groups=[fch.BarChartGroup(x=i, rods=[fch.BarChartRod(
            from_y=0, to_y=report.reached.get(s, 0), width=22, color=STATUS_COLORS[s],
            border_radius=4)]) for i, s in enumerate(stages)],
        bottom_axis=fch.ChartAxis(labels=[fch.ChartAxisLabel(
            value=i, label=ft.Text(t(f"funnel.short.{s}", lang), size=10 if lang == "zh" else 9))
            for i, s in enumerate(stages)],
            label_size=28),
        left_axis=fch.ChartAxis(label_size=36),
    )  # fmt: skip
    rates = ft.Row([ft.Text(f"{t('funnel.' + c.from_status, lang)}→{t('funnel.' + c.to_status, lang)} "
                            f"{_pct(c.rate)}", size=12) for c in report.conversions
                    if c.from_status != "unassigned"], wrap=True, spacing=12)  # fmt: skip
    return [chart, ft.Text(t("perf.conversion", lang), size=13), rates]


def _weekly(report, lang: str) -> ft.Control:  # type: ignore[no-untyped-def]
    points = [fch.LineChartDataPoint(i, n) for i, (_, n) in enumerate(report.weekly_contacts)]
    top = _nice_ceiling(max([n for _, n in report.weekly_contacts] + [1]))
    labels = [fch.ChartAxisLabel(value=i, label=ft.Text(f"{d.month}/{d.day}", size=10))
              for i, (d, _) in enumerate(report.weekly_contacts) if i % 2 == 0]  # fmt: skip
    return fch.LineChart(
        height=180, min_y=0, max_y=top, interactive=False,
        data_series=[fch.LineChartData(points=points, color=BRAND, stroke_width=3, curved=True)],
        bottom_axis=fch.ChartAxis(labels=labels, label_size=24),
        left_axis=fch.ChartAxis(label_size=32),
    )  # fmt: skip


def _mix(report, lang: str) -> ft.Control:  # type: ignore[no-untyped-def]
    shares = [(s, v) for s, v in report.status_mix.items() if v > 0]
    pie = fch.PieChart(height=180, center_space_radius=36, sections=[
        fch.PieChartSection(value=v * 100, color=STATUS_COLORS.get(s), radius=50, title="")
        for s, v in shares])  # fmt: skip
    legend = ft.Column([ft.Row([ft.Container(width=12, height=12, bgcolor=STATUS_COLORS.get(s),
                                             border_radius=2),
                                ft.Text(f"{t('funnel.' + s, lang)} {v * 100:.0f}%", size=12)])
                        for s, v in shares], spacing=4)  # fmt: skip
    return ft.ResponsiveRow([ft.Container(pie, col={"xs": 12, "sm": 6}),
                             ft.Container(legend, col={"xs": 12, "sm": 6})])  # fmt: skip


@ft.component
def PerformanceScreen() -> ft.Control:
    state: WorkbenchState = ft.use_context(StateContext)
    wb, lang = state.wb, state.lang
    ft.use_effect(
        wb.load_performance, [state.perf_period, state.perf_subject, state.progress.last_sync_at]
    )
    report = state.performance

    async def pick_period(e: ft.Event) -> None:
        state.perf_period = (list(e.control.selected) or ["month"])[0]

    async def pick_subject(e: ft.Event) -> None:
        state.perf_subject = (list(e.control.selected) or ["mine"])[0]

    periods = ft.SegmentedButton(selected=[state.perf_period], on_change=pick_period, segments=[
        ft.Segment(value=p, label=ft.Text(t(f"perf.{p}", lang))) for p in ("week", "month",
                                                                           "quarter")])  # fmt: skip
    controls: list[ft.Control] = [ft.Row([periods], wrap=True)]
    session = state.session
    if (
        session
        and session.role in ("outlet_manager", "admin")
        or (session and session.role == "marketer")
    ):
        controls[0] = ft.Row([periods, ft.SegmentedButton(
            selected=[state.perf_subject], on_change=pick_subject, segments=[
                ft.Segment(value=s, label=ft.Text(t(f"perf.{s}", lang)))
                for s in ("mine", "outlet")])], wrap=True, spacing=12, run_spacing=8)  # fmt: skip
    if report is None:
        controls.append(ft.ProgressRing())
        return screen(t("perf.title", lang), *controls)
    controls += [
        # An admin's device ranks the branch itself; others show the store's ranks.
        _kpis(report, lang, None if session and session.role == "admin" else state.ranked_at),
        section(t("perf.funnel", lang), *_funnel(report, lang)),
        section(t("perf.contacts_per_week", lang), _weekly(report, lang)),
        section(t("perf.status_mix", lang), _mix(report, lang)),
        section(t("perf.coverage", lang), *[
            ft.Row([ft.Text(f"{b.product}", expand=True),
                    ft.Text(f"{t('perf.coverage_7', lang)} {_pct(b.share_7)}", size=13),
                    ft.Text(f"{t('perf.coverage_30', lang)} {_pct(b.share_30)}", size=13)],
                   wrap=True)
            for b in report.batches]),
    ]  # fmt: skip
    if state.breakdown:
        controls.append(section(t("perf.marketers", lang), *[
            ft.Row([ft.Text(f"{r.rank}. {r.name}", expand=True),
                    ft.Text(f"{t('perf.logs', lang)} {r.contacts}", size=13),
                    ft.Text(f"{t('perf.disbursed', lang)} {r.disbursed_count} · "
                            f"{format_money(r.disbursed_amount, lang)}", size=13)], wrap=True)
            for r in state.breakdown]))  # fmt: skip
    return screen(t("perf.title", lang), *controls)

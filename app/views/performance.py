"""Performance: mine, or the outlet's with each marketer; week / month / quarter."""

from __future__ import annotations

from datetime import datetime

import flet as ft
import flet_charts as fch

from app.i18n import format_datetime, format_money, t
from app.models.target import TargetMetric
from app.models.user import Role
from app.services.funnel import MAIN_LINE
from app.services.performance import MarketerRow, PerformanceReport, ShareTally, Subject
from app.services.targets import TargetProgress
from app.views.context import use_observed, use_workbench
from app.views.dashboard import DashboardBody
from app.views.targets import grid, progress_line
from app.views.theme import BRAND, STATUS_COLORS
from app.views.widgets import labelled, note, screen, section, segment_of, text_of
from app.workbench.performance import OUTLET, PERIODS

METRIC_ORDER = list(TargetMetric)


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.0f}%"


def _nice_ceiling(value: float) -> int:
    """A round axis top above ``value`` (5, 10, 20, 50, 100, ...), so labels never collide."""
    step = 5
    while step * 10 < value:
        step *= 10
    return int(-(-value * 1.1 // step) * step) or step


def _shares(shares: ShareTally, subject: Subject, lang: str) -> tuple[str, str]:
    """分润's total and its parts: a person's as marketer and originator, an outlet's as
    the booking outlet and its staff's."""
    key = "perf.shares.outlet" if subject == Subject.OUTLET else "perf.shares.person"
    first, second = (format_money(fen / 100, lang) for fen in (shares.first, shares.second))
    return format_money(shares.total / 100, lang), t(key, lang, first=first, second=second)


def _kpis(
    report: PerformanceReport, lang: str, ranked_at: datetime | None, rank_pending: bool = False
) -> ft.Control:
    items: list[tuple[str, str, str]] = [
        (t("perf.logs", lang), str(report.contacts), ""),
        (t("perf.contacts", lang), str(report.contacted_prospects), ""),
        (t("perf.disbursed_count", lang), str(report.disbursed_count), ""),
        (t("perf.disbursed_amount", lang), format_money(report.disbursed_amount, lang), ""),
    ]
    if report.shares is not None:  # 分润 as the store counted it at the last sync
        items.append((t("perf.shares", lang), *_shares(report.shares, report.subject, lang)))
    if report.rank is not None:
        key = "perf.rank_tied" if report.rank_shared > 1 else "perf.rank_value"
        when = ""  # ranked by the central store at the last sync: say when
        if ranked_at:
            when = t("perf.rank_as_of", lang, time=format_datetime(ranked_at, lang))
        items.append(
            (t("perf.rank", lang), t(key, lang, rank=report.rank, of=report.rank_of), when)
        )
    elif rank_pending:  # the store had not ranked the branch yet when the device asked
        items.append(
            (t("perf.rank", lang), t("perf.rank_pending", lang), t("perf.rank_later", lang))
        )

    def kpi(label: str, value: str, caption: str) -> ft.Control:
        shown: list[ft.Control] = [ft.Text(value, size=22, weight=ft.FontWeight.BOLD, color=BRAND)]
        if caption:
            shown.append(ft.Text(caption, size=12, color=ft.Colors.ON_SURFACE_VARIANT))
        return ft.Container(
            labelled(label, ft.Column(shown, spacing=0)), col={"xs": 6, "md": 3}, padding=4
        )

    return ft.ResponsiveRow([kpi(*item) for item in items])


def _funnel(report: PerformanceReport, lang: str, narrow: bool) -> list[ft.Control]:
    stages = [s for s in MAIN_LINE if s != "unassigned"]
    top = max([report.reached.get(s, 0) for s in stages] + [1])
    stagger = narrow and lang != "zh"
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
                    # the stage names of the rest of the app; English ones are wider than a
                    # bar's slot on a phone, so every other one goes a line lower
                    label=ft.Text(
                        ("\n" if stagger and i % 2 else "") + t(f"funnel.{s}", lang),
                        size=10 if lang == "zh" else 9,
                        text_align=ft.TextAlign.CENTER,
                    ),
                )
                for i, s in enumerate(stages)
            ],
            label_size=32 if stagger else 28,
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
        # every other week back from this one: the oldest (x = 0) would sit on the "0"
        if (len(report.weekly_contacts) - 1 - i) % 2 == 0
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


def _cells(*items: tuple[str, str]) -> ft.Control:
    """Small labelled figures that wrap onto more lines on a narrow screen."""
    return ft.Row(
        [labelled(label, ft.Text(value, size=14)) for label, value in items],
        wrap=True,
        spacing=20,
        run_spacing=6,
    )


def _coverage(report: PerformanceReport, lang: str) -> list[ft.Control]:
    return [
        ft.Column(
            [
                ft.Text(f"{b.product} · {b.name}", size=14, weight=ft.FontWeight.W_600),
                _cells(
                    (t("perf.prospects", lang), str(b.prospects)),
                    (t("perf.coverage_7", lang), _pct(b.share_7)),
                    (t("perf.coverage_30", lang), _pct(b.share_30)),
                ),
            ],
            spacing=4,
        )
        for b in report.batches
    ]


def _marketers(rows: list[MarketerRow], lang: str) -> list[ft.Control]:
    rate = f"{t('funnel.contacted', lang)}→{t('funnel.disbursed', lang)}"
    return [
        ft.Semantics(
            identifier=f"marketer-{r.user_id}",
            content=ft.Column(
                [
                    ft.Text(
                        f"{r.rank}. {r.name} · {r.employee_no}", size=14, weight=ft.FontWeight.W_600
                    ),
                    _cells(
                        (t("perf.prospects", lang), str(r.prospects)),
                        (t("perf.logs", lang), str(r.contacts)),
                        (t("perf.contacts", lang), str(r.contacted_prospects)),
                        (t("perf.disbursed_count", lang), str(r.disbursed_count)),
                        (t("perf.disbursed_amount", lang), format_money(r.disbursed_amount, lang)),
                        (rate, _pct(r.conversion)),
                        *(
                            [(t("perf.shares", lang), format_money(r.shares.total / 100, lang))]
                            if r.shares is not None
                            else []
                        ),
                    ),
                ],
                spacing=4,
            ),
        )
        for r in rows
    ]


def _targets(
    goals: list[TargetProgress], subject: str, as_of: datetime | None, lang: str
) -> ft.Control:
    """The targets (营销任务) of the subject shown, this month's then this quarter's, as the
    central store counted them when the last sync fetched them."""
    lines: list[ft.Control] = []
    quarterly = lambda g: "Q" in g.period  # noqa: E731 - "2026-Q4"; a month is "2026-12"
    for goal in sorted(goals, key=lambda g: (quarterly(g), METRIC_ORDER.index(g.metric))):
        period = "quarter" if quarterly(goal) else "month"
        label = t(
            "perf.targets.line",
            lang,
            period=t(f"perf.targets.period.{period}", lang),
            metric=t(f"target.metric.{goal.metric.value}", lang),
        )
        lines.append(
            progress_line(label, goal.metric.value, goal.actual, goal.value, goal.progress, lang)
        )
    lines = [grid(lines)]
    lines.append(
        ft.Text(
            t("perf.targets.as_of", lang, time=format_datetime(as_of, lang)),
            size=12,
            color=ft.Colors.ON_SURFACE_VARIANT,
        )
    )
    title = t("perf.targets.outlet" if subject == OUTLET else "perf.targets.mine", lang)
    return ft.Semantics(
        identifier="perf-targets", container=True, content=section(title, *lines, stretch=True)
    )


def _segments(selected: str, values: tuple[str, ...], lang: str, on_change) -> ft.Control:  # type: ignore[no-untyped-def]
    """A segmented choice whose segments are at least 48 px tall (a finger's width)."""
    return ft.SegmentedButton(
        selected=[selected],
        on_change=on_change,
        style=ft.ButtonStyle(
            visual_density=ft.VisualDensity.STANDARD,
            padding=ft.Padding.symmetric(horizontal=16, vertical=14),
        ),
        segments=[ft.Segment(value=v, label=ft.Text(t(f"perf.{v}", lang))) for v in values],
    )


@ft.component
def PerformanceScreen() -> ft.Control:
    """An admin's 业绩 is the branch's, answered by the central store (the 看板's figures:
    an admin's device is not where the branch is counted); everyone else's, their own."""
    app = use_observed(use_workbench().state)
    if app.session is not None and app.session.role == Role.ADMIN:
        return screen(
            t("perf.title", app.lang), note(t("perf.branch_from_store", app.lang)), DashboardBody()
        )
    return OwnPerformance()


@ft.component
def OwnPerformance() -> ft.Control:
    workbench = use_workbench()
    app = use_observed(workbench.state)
    perf = workbench.performance
    state = use_observed(perf.state)
    lang = app.lang
    ft.use_effect(perf.load, [app.progress.last_sync_at])
    report = state.report

    async def pick_period(e: ft.Event) -> None:
        await perf.pick(period=segment_of(e, "month"))

    async def pick_subject(e: ft.Event) -> None:
        await perf.pick(subject=segment_of(e, "mine"))

    pickers: list[ft.Control] = [_segments(state.period, PERIODS, lang, pick_period)]
    subjects = perf.subjects()
    if len(subjects) > 1:
        pickers.append(_segments(perf.subject(), subjects, lang, pick_subject))
    outlets = perf.outlets()  # a sub-branch manager: which of its outlets
    if outlets and perf.subject() == "outlet":

        async def pick_outlet(e: ft.Event) -> None:
            await perf.pick(outlet=text_of(e))

        pickers.append(
            ft.Dropdown(
                value=perf.outlet(),
                on_select=pick_outlet,
                width=220,
                label=t("perf.outlet_pick", lang),
                options=[ft.DropdownOption(key=oid, text=name) for oid, name in outlets],
            )
        )
    controls: list[ft.Control] = [ft.Row(pickers, wrap=True, spacing=12, run_spacing=8)]
    if state.from_store:
        # a marketer's device holds only part of the outlet: its totals come from the store
        if report is None:
            controls.append(note(t("perf.outlet_needs_sync", lang)))
        else:
            when = format_datetime(state.ranked_at, lang)
            controls += [
                _kpis(report, lang, state.ranked_at, state.rank_pending),
                note(t("perf.outlet_from_store", lang, time=when)),
            ]
        if state.targets:
            controls.append(_targets(state.targets, state.subject, state.targets_as_of, lang))
        return screen(t("perf.title", lang), *controls)
    if report is None:
        controls.append(ft.ProgressRing())
        return screen(t("perf.title", lang), *controls)
    controls.append(_kpis(report, lang, state.ranked_at, state.rank_pending))
    if state.targets:
        controls.append(_targets(state.targets, state.subject, state.targets_as_of, lang))
    controls += [
        section(t("perf.funnel", lang), *_funnel(report, lang, narrow=not app.wide)),
        section(t("perf.contacts_per_week", lang), _weekly(report, lang)),
        section(t("perf.status_mix", lang), _mix(report, lang)),
        section(t("perf.coverage", lang), *_coverage(report, lang)),
    ]
    if state.breakdown:
        controls.append(section(t("perf.marketers", lang), *_marketers(state.breakdown, lang)))
    return screen(t("perf.title", lang), *controls)

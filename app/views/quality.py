"""List quality beside each batch (管理 → 批次): the rates on every card, the report in an
opened one, its download, and an admin's withdrawal of bad entries
(``app.workbench.quality``). Layout and wiring only."""

from __future__ import annotations

import flet as ft

from app.i18n import format_datetime, t
from app.models.imports import BatchQualityOut
from app.models.quality import QualityEntryOut, QualityReportOut
from app.views.context import use_observed, use_workbench
from app.views.theme import BRAND
from app.views.widgets import (
    TOUCH,
    choice_chip,
    error_box,
    note,
    tappable,
    text_of,
    use_confirm,
    use_xlsx_download,
    words,
)
from app.workbench.quality import FILTERS, QualityController


def pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.0f}%"


def reason_words(reason: str, lang: str) -> str:
    if reason in ("", "unspecified"):
        return t("quality.reason.unspecified", lang)
    return t(f"feedback.reason.{reason}", lang)


def _withdrawn_words(reason: str, lang: str) -> str:
    """Why an entry left the list: a ``WithdrawReason`` in words."""
    key = f"batchq.withdrawn.{reason}"
    text = t(key, lang)
    return reason or "—" if text == key else text


def rates_line(q: BatchQualityOut, lang: str, identifier: str) -> ft.Control:
    """A batch's invalid and wrong-contact rates at a glance (the batch list's figures)."""
    if not q.worked:
        text = t("batchq.not_worked", lang)
    else:
        text = t(
            "batchq.rates",
            lang,
            invalid=pct(q.invalid_rate),
            wrong=pct(q.wrong_contact_rate),
            worked=q.worked,
        )
    return ft.Semantics(
        identifier=identifier,
        container=True,
        content=ft.Row(
            [
                ft.Icon(ft.Icons.FACT_CHECK, size=18, color=BRAND),
                ft.Text(text, size=14, expand=True),
            ],
            spacing=6,
        ),
    )


def _heading(text: str) -> ft.Control:
    return ft.Text(text, weight=ft.FontWeight.W_600)


def _small(text: str) -> ft.Control:
    return ft.Text(text, size=13, color=ft.Colors.ON_SURFACE_VARIANT)


@ft.component
def QualityReport(batch_id: str) -> ft.Control:
    """An opened batch's list quality: the whole, per outlet (worst first), the reasons,
    the latest notes; its download (下载电子表格); and for an admin 撤回问题条目."""
    workbench = use_workbench()
    lang = use_observed(workbench.state).lang
    quality = workbench.quality
    s = use_observed(quality.state)
    page = ft.context.page
    download = use_xlsx_download(
        t("batchq.download", lang), lambda: quality.download(batch_id), quality.saved
    )
    report = s.reports.get(batch_id)
    mine = s.batch_id == batch_id  # the last call was this batch's: its news is shown here
    busy = bool(s.busy)

    out: list[ft.Control] = [_heading(t("batchq.title", lang))]
    if report is None:
        if s.busy == "report" and mine:
            out.append(ft.ProgressRing(width=20, height=20, stroke_width=2))
    else:
        out.extend(_report(report, lang))
    buttons: list[ft.Control] = [
        tappable(
            f"quality-download-{batch_id}",
            ft.OutlinedButton(
                t("batchq.download", lang),
                icon=ft.Icons.DOWNLOAD,
                on_click=download,
                disabled=busy,
                height=TOUCH,
            ),
        )
    ]
    if quality.may_withdraw and s.withdrawing != batch_id:
        buttons.append(
            tappable(
                f"quality-withdraw-{batch_id}",
                ft.FilledTonalButton(
                    t("batchq.withdraw", lang),
                    icon=ft.Icons.REMOVE_CIRCLE_OUTLINE,
                    on_click=lambda _e: page.run_task(quality.open_withdraw, batch_id),
                    disabled=busy,
                    height=TOUCH,
                ),
            )
        )
    out.append(ft.Row(buttons, wrap=True, spacing=8, run_spacing=8))
    if mine and s.saved:
        out.append(ft.Text(t("league.saved", lang, path=s.saved), color=ft.Colors.PRIMARY))
    if mine and s.notice:
        out.append(
            ft.Semantics(
                identifier="quality-notice",
                live_region=True,
                content=ft.Text(t(s.notice, lang, **s.notice_params), color=ft.Colors.PRIMARY),
            )
        )
    if mine and s.error_code:
        out.append(error_box(words(s.error_code, s.error_message, lang), "quality-error"))
    if s.withdrawing == batch_id:
        out.append(WithdrawPanel(batch_id))
    return ft.Column(out, spacing=8, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)


def _report(r: QualityReportOut, lang: str) -> list[ft.Control]:
    # the whole batch's rates are on the card above: here, what they are made of
    summary = t(
        "batchq.summary",
        lang,
        entries=r.entries,
        worked=r.worked,
        invalid=r.invalid,
        declined=r.declined,
        withdrawn=r.withdrawn,
    )
    out: list[ft.Control] = [ft.Text(summary, size=14)]
    if r.outlets:
        out.append(_heading(t("batchq.by_outlet", lang)))
        for o in r.outlets:
            out.append(
                ft.Semantics(
                    identifier=f"quality-outlet-{o.outlet_id}",
                    container=True,
                    content=ft.Column(
                        [
                            ft.Text(f"{o.code} {o.name}", size=14),
                            _small(
                                t(
                                    "batchq.outlet_line",
                                    lang,
                                    invalid=pct(o.invalid_rate),
                                    wrong=pct(o.wrong_contact_rate),
                                    worked=o.worked,
                                )
                            ),
                        ],
                        spacing=0,
                    ),
                )
            )
    out.append(_heading(t("batchq.reasons", lang)))
    given = [c for c in r.reasons if c.total]
    if not given:
        out.append(_small(t("batchq.no_reasons", lang)))
    for c in sorted(given, key=lambda c: -c.total):
        line = t(
            "batchq.reason_line",
            lang,
            reason=reason_words(c.reason, lang),
            total=c.total,
            invalid=c.invalid,
            declined=c.declined,
        )
        out.append(ft.Text(line, size=14))
    if r.notes:
        out.append(_heading(t("batchq.notes", lang)))
        for n in r.notes:
            head = f"{n.company_name} · {n.outlet_code} · {reason_words(n.reason, lang)}"
            out.append(
                ft.Column(
                    [
                        ft.Text(f"“{n.note}”", size=14),
                        _small(f"{head} · {format_datetime(n.at, lang)}"),
                    ],
                    spacing=0,
                )
            )
    return out


@ft.component
def WithdrawPanel(batch_id: str) -> ft.Control:
    """The flagged entries of a batch, ticked for withdrawal, with the reason (admins)."""
    workbench = use_workbench()
    lang = use_observed(workbench.state).lang
    quality = workbench.quality
    s = use_observed(quality.state)
    page = ft.context.page
    busy = bool(s.busy)
    ticked = set(s.selected)
    out: list[ft.Control] = [
        _heading(t("batchq.withdraw_title", lang)),
        ft.Row(
            [
                choice_chip(
                    f"quality-filter-{f}",
                    t(f"batchq.filter.{f}", lang),
                    s.filter == f,
                    lambda _e, f=f: page.run_task(quality.choose_filter, f),
                    disabled=busy,
                )
                for f in FILTERS
            ],
            wrap=True,
            spacing=8,
            run_spacing=8,
        ),
        ft.Semantics(
            identifier="quality-listed",
            container=True,
            content=_small(
                t(
                    "batchq.listed",
                    lang,
                    total=s.total,
                    shown=len(s.entries),
                    selected=len(s.selected),
                )
            ),
        ),
    ]
    if s.busy == "entries" and not s.entries:
        out.append(ft.ProgressRing(width=20, height=20, stroke_width=2))
    elif not s.entries:
        out.append(note(t("batchq.none_flagged", lang)))
    else:
        out.append(
            ft.Row(
                [
                    tappable(
                        "quality-select-all",
                        ft.TextButton(
                            t("batchq.select_all", lang),
                            icon=ft.Icons.DONE_ALL,
                            on_click=lambda _e: quality.tick_all(True),
                            disabled=busy or not quality.selectable,
                            height=TOUCH,
                        ),
                    ),
                    tappable(
                        "quality-select-none",
                        ft.TextButton(
                            t("batchq.select_none", lang),
                            on_click=lambda _e: quality.tick_all(False),
                            disabled=busy or not s.selected,
                            height=TOUCH,
                        ),
                    ),
                ],
                wrap=True,
                spacing=8,
            )
        )
        out.extend(_entry(quality, e, e.prospect_id in ticked, lang) for e in s.entries)
    if len(s.entries) < s.total:
        out.append(
            ft.Row(
                [
                    tappable(
                        "quality-more",
                        ft.TextButton(
                            t("batchq.more", lang),
                            icon=ft.Icons.EXPAND_MORE,
                            on_click=lambda _e: page.run_task(quality.more),
                            disabled=busy,
                            height=TOUCH,
                        ),
                    )
                ]
            )
        )
    out.append(
        ft.TextField(
            label=t("batchq.reason", lang),
            value=s.reason,
            multiline=True,
            min_lines=1,
            max_length=200,
            disabled=busy,
            on_change=lambda e: quality.set_reason(text_of(e)),
        )
    )
    out.append(
        ft.Row(
            [
                tappable(
                    "quality-withdraw-ask",
                    ft.FilledButton(
                        t("batchq.withdraw_selected", lang, count=len(s.selected)),
                        icon=ft.Icons.REMOVE_CIRCLE_OUTLINE,
                        on_click=lambda _e: quality.ask(),
                        disabled=busy,
                        height=TOUCH,
                    ),
                ),
                tappable(
                    "quality-withdraw-cancel",
                    ft.TextButton(
                        t("admin.cancel", lang),
                        on_click=lambda _e: quality.close_withdraw(),
                        height=TOUCH,
                    ),
                ),
            ],
            wrap=True,
            spacing=8,
        )
    )
    out.append(ConfirmWithdraw())
    return ft.Container(
        ft.Column(out, spacing=8, horizontal_alignment=ft.CrossAxisAlignment.STRETCH),
        border=ft.Border.only(top=ft.BorderSide(1, ft.Colors.OUTLINE_VARIANT)),
        padding=ft.Padding.only(top=8),
    )


def _entry(quality: QualityController, e: QualityEntryOut, ticked: bool, lang: str) -> ft.Control:
    """A flagged entry: tap the row to tick it (a withdrawn one says so and is not offered)."""
    line = t(
        "batchq.entry_line",
        lang,
        outlet=e.outlet_code,
        reason=f"{t(f'funnel.{e.status}', lang)} · {reason_words(e.reason, lang)}",
        who=e.closed_by_name or "—",
        when=format_datetime(e.closed_at, lang),
    )
    texts: list[ft.Control] = [
        ft.Text(e.company_name, weight=ft.FontWeight.W_600),
        _small(line),
    ]
    if e.note:
        texts.append(ft.Text(f"“{e.note}”", size=13))
    if e.withdrawn:
        texts.append(
            ft.Text(
                t(
                    "batchq.entry_withdrawn",
                    lang,
                    reason=_withdrawn_words(e.withdrawn_reason, lang),
                ),
                size=13,
                color=ft.Colors.ERROR,
            )
        )
        if e.withdrawn_note:  # head office's words, and who withdrew it
            who = e.withdrawn_by_name or "—"
            texts.append(_small(t("batchq.withdrawn_note", lang, note=e.withdrawn_note, who=who)))
    if e.withdrawn:
        icon = ft.Icons.REMOVE_CIRCLE_OUTLINE
    else:
        icon = ft.Icons.CHECK_BOX if ticked else ft.Icons.CHECK_BOX_OUTLINE_BLANK
    row = ft.Container(
        ft.Row(
            [
                ft.Icon(icon, color=ft.Colors.ON_SURFACE_VARIANT if e.withdrawn else BRAND),
                ft.Column(texts, spacing=0, expand=True),
            ],
            spacing=12,
            vertical_alignment=ft.CrossAxisAlignment.CENTER,
        ),
        padding=ft.Padding.symmetric(horizontal=8, vertical=8),
        border_radius=8,
        bgcolor=ft.Colors.SECONDARY_CONTAINER if ticked else None,
        ink=not e.withdrawn,
        on_click=None if e.withdrawn else lambda _e: quality.tick(e.prospect_id, not ticked),
    )
    if e.withdrawn:
        return ft.Semantics(
            identifier=f"quality-entry-{e.prospect_id}", container=True, content=row
        )
    return ft.Semantics(
        identifier=f"quality-entry-{e.prospect_id}",
        checked=ticked,
        container=True,
        content=row,
    )


@ft.component
def ConfirmWithdraw() -> ft.Control:
    """The question before the ticked entries go: how many, and why."""
    workbench = use_workbench()
    lang = use_observed(workbench.state).lang
    quality = workbench.quality
    s = use_observed(quality.state)
    count = len(s.selected)
    question = t("batchq.confirm", lang, count=count, reason=s.reason.strip()) if s.confirm else ""
    use_confirm(
        s.confirm,
        "quality-confirm",
        lang,
        title=t("batchq.confirm_title", lang),
        question=question,
        yes=t("batchq.confirm_yes", lang, count=count),
        on_yes=quality.withdraw,
        on_cancel=quality.cancel,
    )
    return ft.Container()

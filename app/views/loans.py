"""管理 → 贷款回流, two parts: 待匹配, the loan system's events no prospect matched, for an
admin to match to a prospect or set aside (``app.workbench.loans``); and 分润调整, a
disbursed loan's split changed by hand (``app.views.shares``). Layout and wiring only."""

from __future__ import annotations

import flet as ft

from app.i18n import format_date, format_money, t
from app.models.loan import LoanEventOut
from app.services.whitelist import WhitelistRow
from app.views.admin import LOANS, NotForYou, frame
from app.views.context import use_observed, use_workbench
from app.views.shares import SharesPart
from app.views.widgets import TOUCH, card, chip_row, error_box, note, tappable, text_of, words
from app.workbench.loans import may_review_loans

PARTS = ("queue", "shares")


@ft.component
def LoansScreen() -> ft.Control:
    workbench = use_workbench()
    app = use_observed(workbench.state)
    lang = app.lang
    queue = workbench.loans
    s = use_observed(queue.state)
    page = ft.context.page
    admin = app.session is not None and may_review_loans(app.session.role)
    part, set_part = ft.use_state("queue")  # "queue" (待匹配) | "shares" (分润调整)

    async def first_load() -> None:
        if admin:
            await queue.load()

    ft.use_effect(first_load, [])
    if not admin:
        return NotForYou()
    parts = chip_row(
        "loans-part",
        PARTS,
        part,
        lambda v: t(f"loans.part.{v}", lang),
        set_part,
    )
    if part == "shares":
        return frame(t("admin.title", lang), LOANS, parts, SharesPart())
    controls: list[ft.Control] = [
        parts,
        ft.Row(
            [
                ft.Text(t("loans.waiting", lang, count=s.total), size=15, expand=True),
                tappable(
                    "loans-refresh",
                    ft.OutlinedButton(
                        t("admin.refresh", lang),
                        icon=ft.Icons.REFRESH,
                        on_click=lambda _e: page.run_task(queue.load),
                        disabled=bool(s.busy),
                        height=TOUCH,
                    ),
                ),
            ],
            vertical_alignment=ft.CrossAxisAlignment.CENTER,
        ),
        ft.Text(t("loans.explain", lang), size=12, color=ft.Colors.ON_SURFACE_VARIANT),
    ]
    if s.notice:
        controls.append(
            ft.Semantics(
                identifier="loans-notice",
                live_region=True,
                content=ft.Text(t(s.notice, lang), color=ft.Colors.PRIMARY),
            )
        )
    if s.error_code:
        controls.append(error_box(words(s.error_code, s.error_message, lang), "loans-error"))
    if s.busy == "load" and not s.loaded:
        controls.append(ft.Row([ft.ProgressRing(width=20, height=20, stroke_width=2)]))
    elif s.loaded and not s.items:
        controls.append(note(t("loans.empty", lang)))
    controls.extend(LoanCard(event, key=event.id) for event in s.items)
    return frame(t("admin.title", lang), LOANS, *controls)


@ft.component
def LoanCard(event: LoanEventOut) -> ft.Control:
    workbench = use_workbench()
    lang = use_observed(workbench.state).lang
    queue = workbench.loans
    s = use_observed(queue.state)
    page = ft.context.page
    opened = s.open_id == event.id
    lines: list[ft.Control] = [
        ft.Row(
            [
                ft.Text(
                    t(f"loan.status.{event.status}", lang),
                    weight=ft.FontWeight.W_600,
                    color=ft.Colors.PRIMARY,
                ),
                ft.Text(format_money(event.amount, lang), size=16, weight=ft.FontWeight.W_600),
                ft.Text(format_date(event.occurred_on, lang), size=13),
            ],
            wrap=True,
            spacing=12,
        ),
        ft.Text(t("loans.code", lang, code=event.credit_code), size=13),
        ft.Text(
            t("loans.where", lang, loan=event.loan_id, outlet=event.booking_outlet_code),
            size=12,
            color=ft.Colors.ON_SURFACE_VARIANT,
        ),
    ]
    if not opened:
        lines.append(
            ft.Row(
                [
                    tappable(
                        f"loan-match-{event.id}",
                        ft.FilledButton(
                            t("loans.match", lang),
                            icon=ft.Icons.LINK,
                            height=TOUCH,
                            on_click=lambda _e: queue.open(event.id, "match"),
                        ),
                    ),
                    tappable(
                        f"loan-dismiss-{event.id}",
                        ft.OutlinedButton(
                            t("loans.dismiss", lang),
                            icon=ft.Icons.BLOCK,
                            height=TOUCH,
                            on_click=lambda _e: queue.open(event.id, "dismiss"),
                        ),
                    ),
                ],
                wrap=True,
            )
        )
    elif s.mode == "match":
        lines.append(MatchPanel(event.id))
    else:
        lines.append(
            ft.TextField(
                label=t("loans.reason", lang),
                value=s.reason,
                multiline=True,
                min_lines=1,
                max_length=200,
                on_change=lambda e: queue.set_reason(text_of(e)),
            )
        )
        lines.append(
            ft.Row(
                [
                    tappable(
                        f"loan-dismiss-confirm-{event.id}",
                        ft.FilledButton(
                            t("loans.dismiss_confirm", lang),
                            height=TOUCH,
                            disabled=bool(s.busy),
                            on_click=lambda _e: page.run_task(queue.dismiss, event.id),
                        ),
                    ),
                    _cancel(queue.close, lang),
                ],
                wrap=True,
            )
        )
    return card(f"loan-{event.id}", lines)


@ft.component
def MatchPanel(event_id: str) -> ft.Control:
    """Search the prospects the device holds; 匹配到此客户 on the right one."""
    workbench = use_workbench()
    lang = use_observed(workbench.state).lang
    queue = workbench.loans
    s = use_observed(queue.state)
    page = ft.context.page

    def candidate(row: WhitelistRow) -> ft.Control:
        return ft.Row(
            [
                ft.Column(
                    [
                        ft.Text(row.company_name, weight=ft.FontWeight.W_600),
                        ft.Text(
                            " · ".join(
                                part
                                for part in (
                                    t(f"funnel.{row.status}", lang),
                                    row.legal_rep,
                                    row.phone_masked,
                                    row.outlet_name,
                                )
                                if part
                            ),
                            size=12,
                            color=ft.Colors.ON_SURFACE_VARIANT,
                        ),
                    ],
                    spacing=2,
                    expand=True,
                ),
                tappable(
                    f"loan-match-to-{row.id}",
                    ft.FilledTonalButton(
                        t("loans.match_to", lang),
                        height=TOUCH,
                        disabled=bool(s.busy),
                        on_click=lambda _e, pid=row.id: page.run_task(queue.match, event_id, pid),
                    ),
                ),
            ],
            vertical_alignment=ft.CrossAxisAlignment.CENTER,
        )

    found: list[ft.Control] = [candidate(r) for r in s.candidates]
    if len(s.query.strip()) >= 2 and not s.candidates:
        found = [note(t("loans.no_candidates", lang))]
    return ft.Column(
        [
            ft.Semantics(
                identifier="loan-search",
                container=True,
                content=ft.TextField(
                    label=t("loans.search", lang),
                    value=s.query,
                    autofocus=True,
                    prefix_icon=ft.Icons.SEARCH,
                    on_change=lambda e: page.run_task(queue.search, text_of(e)),
                ),
            ),
            *found,
            ft.Row([_cancel(queue.close, lang)]),
        ],
        spacing=8,
    )


def _cancel(on_cancel, lang: str) -> ft.Control:  # type: ignore[no-untyped-def]
    return tappable(
        "loan-cancel",
        ft.TextButton(t("admin.cancel", lang), height=TOUCH, on_click=lambda _e: on_cancel()),
    )

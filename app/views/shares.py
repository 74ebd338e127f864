"""管理 → 贷款回流 → 分润调整: find a disbursed loan, see its split and its adjustments, and
re-split it (``app.workbench.shares``). Layout and wiring only."""

from __future__ import annotations

from datetime import date

import flet as ft

from app.i18n import format_date, format_datetime, format_fen, format_money, t
from app.models.loan import LoanListItem, ShareOut, ShareParty
from app.views.context import use_observed, use_workbench
from app.views.widgets import TOUCH, card, error_box, note, tappable, text_of, words
from app.workbench.online import OFFLINE
from app.workbench.shares import REASON_LIMIT

_NOT_THE_STORES = (OFFLINE, "admin.failed")  # codes whose message is no store's words


def said(code: str, message: str, lang: str, params: dict[str, object]) -> str:
    """A failure in words: the store's own (it words its refusals in Chinese, details
    filled in) when it sent them, else our catalogue's."""
    if message and code not in _NOT_THE_STORES and (lang == "zh" or t(code, lang) == code):
        return message
    return words(code, message, lang, **params)


def person(share: ShareOut) -> str:
    """Whose share: "张伟（M1）" for a person, the outlet's name for the booking outlet."""
    if share.party == ShareParty.BOOKING_OUTLET:
        return share.outlet_name
    if share.user_name and share.employee_no:
        return f"{share.user_name}（{share.employee_no}）"
    return share.user_name or share.employee_no or "—"


@ft.component
def SharesPart() -> ft.Control:
    workbench = use_workbench()
    s = use_observed(workbench.shares.state)
    if s.loan is not None:
        return ShareEditor()
    return LoanFinder()


def _messages(lang: str, s) -> list[ft.Control]:  # type: ignore[no-untyped-def]
    shown: list[ft.Control] = []
    if s.notice:
        shown.append(
            ft.Semantics(
                identifier="shares-notice",
                live_region=True,
                content=ft.Text(t(s.notice, lang), color=ft.Colors.PRIMARY),
            )
        )
    if s.error_code:
        text = said(s.error_code, s.error_message, lang, s.error_params)
        shown.append(error_box(text, "shares-error"))
    return shown


@ft.component
def LoanFinder() -> ft.Control:
    workbench = use_workbench()
    lang = use_observed(workbench.state).lang
    c = workbench.shares
    s = use_observed(c.state)
    page = ft.context.page
    busy = bool(s.busy)
    controls: list[ft.Control] = [
        ft.Text(t("shares.explain", lang), size=12, color=ft.Colors.ON_SURFACE_VARIANT),
        ft.Row(
            [
                ft.Semantics(
                    identifier="shares-search",
                    container=True,
                    expand=True,
                    content=ft.TextField(
                        label=t("shares.search", lang),
                        value=s.query,
                        prefix_icon=ft.Icons.SEARCH,
                        max_length=64,
                        counter="",
                        on_change=lambda e: c.set_query(text_of(e)),
                        on_submit=lambda _e: page.run_task(c.search),
                    ),
                ),
                tappable(
                    "shares-find",
                    ft.FilledButton(
                        t("shares.find", lang),
                        icon=ft.Icons.SEARCH,
                        height=TOUCH,
                        disabled=busy,
                        on_click=lambda _e: page.run_task(c.search),
                    ),
                ),
            ],
            vertical_alignment=ft.CrossAxisAlignment.START,
        ),
        *_messages(lang, s),
    ]
    if s.busy in ("search", "open"):
        controls.append(ft.Row([ft.ProgressRing(width=20, height=20, stroke_width=2)]))
    if s.searched:
        if s.results:
            controls.append(ft.Text(t("shares.found", lang, count=s.total), size=15))
        else:
            controls.append(note(t("shares.none", lang)))
    controls.extend(LoanRow(item, key=item.loan_id) for item in s.results)
    if s.total > len(s.results) or s.page > 1:
        controls.append(
            ft.Row(
                [
                    tappable(
                        "shares-prev",
                        ft.OutlinedButton(
                            t("shares.prev", lang),
                            height=TOUCH,
                            disabled=busy or s.page <= 1,
                            on_click=lambda _e: page.run_task(c.search, s.page - 1),
                        ),
                    ),
                    ft.Text(t("shares.page", lang, page=s.page, pages=s.pages)),
                    tappable(
                        "shares-next",
                        ft.OutlinedButton(
                            t("shares.next", lang),
                            height=TOUCH,
                            disabled=busy or s.page >= s.pages,
                            on_click=lambda _e: page.run_task(c.search, s.page + 1),
                        ),
                    ),
                ],
                alignment=ft.MainAxisAlignment.CENTER,
                vertical_alignment=ft.CrossAxisAlignment.CENTER,
            )
        )
    return ft.Column(controls, spacing=12, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)


def adjusted_badge(lang: str) -> ft.Control:
    return ft.Container(
        ft.Text(t("shares.adjusted", lang), size=12, color=ft.Colors.ON_TERTIARY_CONTAINER),
        bgcolor=ft.Colors.TERTIARY_CONTAINER,
        border_radius=12,
        padding=ft.Padding.symmetric(horizontal=10, vertical=3),
    )


@ft.component
def LoanRow(item: LoanListItem) -> ft.Control:
    workbench = use_workbench()
    lang = use_observed(workbench.state).lang
    c = workbench.shares
    s = use_observed(c.state)
    page = ft.context.page
    head: list[ft.Control] = [
        ft.Text(item.company_name or "—", weight=ft.FontWeight.W_600, size=15, expand=True)
    ]
    if item.adjusted:
        head.append(adjusted_badge(lang))
    return card(
        f"shares-loan-{item.loan_id}",
        [
            ft.Row(head, vertical_alignment=ft.CrossAxisAlignment.CENTER),
            _dated(
                item.occurred_on,
                item.product,
                lang,
                ft.Text(format_money(item.amount, lang), size=16, weight=ft.FontWeight.W_600),
            ),
            _loan_line(item.loan_id, item.booking_outlet_name, lang),
            ft.Text(t("loans.code", lang, code=item.credit_code_masked), size=12),
            ft.Row(
                [
                    tappable(
                        f"shares-open-{item.loan_id}",
                        ft.FilledTonalButton(
                            t("shares.open", lang),
                            icon=ft.Icons.EDIT,
                            height=TOUCH,
                            disabled=bool(s.busy),
                            on_click=lambda _e: page.run_task(c.open, item.loan_id),
                        ),
                    )
                ]
            ),
        ],
    )


def _dated(on: date, product: str, lang: str, *first: ft.Control) -> ft.Control:
    """A loan's disbursal date and product (after ``first``), wrapping on a phone."""
    return ft.Row(
        [
            *first,
            ft.Text(t("shares.disbursed_on", lang, date=format_date(on, lang)), size=13),
            ft.Text(product, size=13, color=ft.Colors.ON_SURFACE_VARIANT),
        ],
        wrap=True,
        spacing=12,
    )


def _loan_line(loan_id: str, outlet: str, lang: str) -> ft.Control:
    """The loan's number and its booking outlet."""
    return ft.Text(
        t("shares.loan_line", lang, loan=loan_id, outlet=outlet),
        size=12,
        color=ft.Colors.ON_SURFACE_VARIANT,
    )


@ft.component
def ShareEditor() -> ft.Control:
    workbench = use_workbench()
    lang = use_observed(workbench.state).lang
    c = workbench.shares
    s = use_observed(c.state)
    page = ft.context.page
    loan = s.loan
    if loan is None:
        return ft.Container()
    busy = bool(s.busy)
    head: list[ft.Control] = [
        ft.Text(loan.company_name or "—", size=18, weight=ft.FontWeight.W_600, expand=True)
    ]
    if loan.adjusted:
        head.append(adjusted_badge(lang))
    about = ft.Column(
        [
            ft.Row(head, vertical_alignment=ft.CrossAxisAlignment.CENTER),
            ft.Text(
                t("shares.amount", lang, amount=format_fen(loan.amount_fen, lang)),
                size=16,
                weight=ft.FontWeight.W_600,
            ),
            _dated(loan.occurred_on, loan.product, lang),
            _loan_line(loan.loan_id, loan.booking_outlet_name, lang),
        ],
        spacing=4,
    )

    def share_box(i: int, share: ShareOut) -> ft.Control:
        party = t(f"share.party.{share.party}", lang)
        problem = s.problems.get(i, "")
        name = share.user_name if share.party != ShareParty.BOOKING_OUTLET else ""
        field = ft.TextField(
            label=t("shares.field", lang, party=party, who=f" {name} " if name else ""),
            value=s.drafts[i] if i < len(s.drafts) else "",
            error=t(problem, lang) if problem else None,
            suffix="元" if lang == "zh" else None,
            keyboard_type=ft.KeyboardType.NUMBER,
            disabled=busy,
            expand=True,
            on_change=lambda e, i=i: c.type_amount(i, text_of(e)),
        )
        lines: list[ft.Control] = [
            ft.Row(
                [
                    ft.Text(party, weight=ft.FontWeight.W_600, color=ft.Colors.PRIMARY),
                    ft.Text(person(share), weight=ft.FontWeight.W_600, expand=True),
                ],
            ),
        ]
        where = (
            t("shares.outlet_share", lang)
            if share.party == ShareParty.BOOKING_OUTLET
            else t("shares.outlet", lang, outlet=share.outlet_name)
        )
        lines.append(ft.Text(where, size=12))
        lines.append(
            ft.Text(
                t(
                    "shares.current",
                    lang,
                    amount=format_fen(share.amount_fen, lang),
                    ratio=f"{share.ratio_bp / 100:.2f}%",
                ),
                size=12,
                color=ft.Colors.ON_SURFACE_VARIANT,
            )
        )
        lines.append(
            ft.Container(
                ft.Row(
                    [
                        ft.Semantics(
                            identifier=f"shares-amount-{i}",
                            container=True,
                            expand=True,
                            content=field,
                        )
                    ]
                ),
                padding=ft.Padding.only(top=6),
            )
        )
        return ft.Container(
            card(f"shares-part-{i}", lines),
            col={"xs": 12, "md": 6, "lg": 4},
        )

    total, difference = c.typed_total(), c.difference()
    if total is None or difference is None:
        status, color = t("shares.sum_unknown", lang), ft.Colors.ERROR
    elif difference == 0:
        status, color = t("shares.sum_ok", lang), ft.Colors.PRIMARY
    elif difference < 0:
        status = t("shares.sum_short", lang, diff=format_fen(-difference, lang))
        color = ft.Colors.ERROR
    else:
        status = t("shares.sum_over", lang, diff=format_fen(difference, lang))
        color = ft.Colors.ERROR
    running = ft.Semantics(
        identifier="shares-sum",
        live_region=True,
        container=True,
        content=ft.Column(
            [
                ft.Text(
                    t(
                        "shares.sum",
                        lang,
                        sum=format_fen(total, lang),
                        amount=format_fen(loan.amount_fen, lang),
                    ),
                    size=15,
                    weight=ft.FontWeight.W_600,
                ),
                ft.Text(status, color=color),
            ],
            spacing=2,
        ),
    )
    reason = ft.Semantics(
        identifier="shares-reason",
        container=True,
        content=ft.TextField(
            label=t("shares.reason", lang),
            value=s.reason,
            multiline=True,
            min_lines=1,
            max_length=REASON_LIMIT,
            disabled=busy,
            on_change=lambda e: c.set_reason(text_of(e)),
        ),
    )
    buttons = ft.Row(
        [
            tappable(
                "shares-save",
                ft.FilledButton(
                    t("shares.save", lang),
                    icon=ft.Icons.SAVE,
                    height=TOUCH,
                    disabled=busy,
                    on_click=lambda _e: page.run_task(c.save),
                ),
            ),
            tappable(
                "shares-reset",
                ft.OutlinedButton(
                    t("shares.reset", lang),
                    icon=ft.Icons.UNDO,
                    height=TOUCH,
                    disabled=busy,
                    on_click=lambda _e: c.reset(),
                ),
            ),
        ],
        wrap=True,
        spacing=8,
        run_spacing=8,
    )
    history: list[ft.Control] = [
        ft.Text(t("shares.history", lang), size=16, weight=ft.FontWeight.W_600)
    ]
    if not loan.adjustments:
        history.append(
            ft.Text(t("shares.history_none", lang), size=13, color=ft.Colors.ON_SURFACE_VARIANT)
        )
    for a in reversed(loan.adjustments):  # newest first
        admin = a.admin_name or a.admin_employee_no or a.admin_id
        if a.admin_name and a.admin_employee_no:
            admin = f"{a.admin_name}（{a.admin_employee_no}）"
        history.append(
            ft.Text(
                t(
                    "shares.history_line",
                    lang,
                    at=format_datetime(a.at, lang),
                    admin=admin,
                    reason=a.reason,
                ),
                size=13,
            )
        )
    return ft.Column(
        [
            ft.Row(
                [
                    tappable(
                        "shares-back",
                        ft.TextButton(
                            t("shares.back", lang),
                            icon=ft.Icons.ARROW_BACK,
                            height=TOUCH,
                            on_click=lambda _e: c.close(),
                        ),
                    )
                ]
            ),
            card("shares-loan", [about]),
            ft.ResponsiveRow(
                [share_box(i, share) for i, share in enumerate(loan.shares)],
                spacing=12,
                run_spacing=12,
            ),
            running,
            reason,
            *_messages(lang, s),
            buttons,
            ft.Semantics(
                identifier="shares-history",
                container=True,
                content=ft.Container(
                    ft.Column(history, spacing=6),
                    padding=ft.Padding.only(top=8),
                ),
            ),
        ],
        spacing=12,
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )

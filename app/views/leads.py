"""Field finds (外拓线索): the finder's list and add form, the manager's review queue.

A marketer sees their finds with a status chip (待审核 / 已通过 / 已退回 / 重复) and,
sent back, the reviewer's reason; 新增客户 opens the add form (the credit code checked as
it is typed, the device's position, 保存 under the thumb). A manager sees the outlet's
finds, pending first, each with 通过 and 退回 (a reason, and a note for 其他).
"""

from __future__ import annotations

import flet as ft

from app.i18n import format_datetime, t
from app.models.field_lead import LeadRejectReason, LeadStatus
from app.services.leads import LeadRow
from app.views.context import use_observed, use_workbench
from app.views.device import device_position
from app.views.widgets import (
    TOUCH,
    card,
    choice_chip,
    loading,
    note,
    position_line,
    screen,
    section,
    tappable,
    text_of,
    with_save_bar,
)
from app.workbench import Workbench

LEAD_COLORS = {
    LeadStatus.PENDING: ft.Colors.AMBER_800,
    LeadStatus.APPROVED: ft.Colors.GREEN_700,
    LeadStatus.REJECTED: ft.Colors.RED_700,
    LeadStatus.DUPLICATE: ft.Colors.BLUE_GREY_600,
}


def lead_chip(status: str, lang: str) -> ft.Control:
    return ft.Container(
        content=ft.Text(t(f"leads.status.{status}", lang), size=12, color=ft.Colors.WHITE),
        bgcolor=LEAD_COLORS.get(status, ft.Colors.GREY_600),
        border_radius=12,
        padding=ft.Padding.symmetric(horizontal=10, vertical=3),
    )


def _why(row: LeadRow, lang: str) -> str:
    """What the finder reads of a verdict: the reason (and note) of a rejection; of a
    duplicate only that it is listed already, never where or whose."""
    if row.status == LeadStatus.DUPLICATE:
        return t("leads.duplicate_line", lang)
    if row.status != LeadStatus.REJECTED:
        return ""
    reason = t(f"leads.reason.{row.review_reason}", lang) if row.review_reason else ""
    said = " · ".join(s for s in (reason, row.review_note) if s)
    return t("leads.reason_line", lang, reason=said)


@ft.component
def RejectPanel(row: LeadRow, lang: str) -> ft.Control:
    """The reason picker under a pending find: one reason, a note (needed for 其他)."""
    workbench = use_workbench()
    state = use_observed(workbench.leads.state)
    reason, set_reason = ft.use_state(None)
    text, set_text = ft.use_state("")
    errors = state.review_errors

    async def confirm(_e: ft.Event) -> None:
        await workbench.leads.reject(row.id, reason, text)

    def choose(value: str) -> None:
        set_reason(value)
        workbench.leads.corrected("reason")
        if value != LeadRejectReason.OTHER:
            workbench.leads.corrected("note")

    def typed(e: ft.Event) -> None:
        set_text(text_of(e))
        workbench.leads.corrected("note")

    reasons = [
        choice_chip(
            f"reason-{r.value}",
            t(f"leads.reason.{r.value}", lang),
            reason == r.value,
            lambda _e, v=r.value: choose(v),
        )
        for r in LeadRejectReason
    ]
    reason_error = t(errors["reason"], lang) if "reason" in errors else ""
    return ft.Column(
        spacing=8,
        controls=[
            ft.Text(t("leads.reject_reason", lang), size=13),
            ft.Row(reasons, wrap=True, spacing=8, run_spacing=8),
            ft.Text(reason_error, color=ft.Colors.ERROR, size=12, visible=bool(reason_error)),
            ft.TextField(
                label=t("leads.reject_note", lang),
                value=text,
                multiline=True,
                min_lines=1,
                error=t(errors["note"], lang) if "note" in errors else None,
                on_change=typed,
            ),
            ft.Row(
                [
                    tappable(
                        "reject-confirm",
                        ft.FilledButton(
                            t("leads.reject_confirm", lang),
                            icon=ft.Icons.UNDO,
                            height=TOUCH,
                            style=ft.ButtonStyle(bgcolor=ft.Colors.ERROR),
                            on_click=confirm,
                        ),
                    ),
                    tappable(
                        "reject-cancel",
                        ft.TextButton(
                            t("leads.cancel", lang),
                            height=TOUCH,
                            on_click=lambda _e: workbench.leads.open_reject(None),
                        ),
                    ),
                ],
                wrap=True,
            ),
        ],
    )


def _lead_card(
    workbench: Workbench, page: ft.Page, row: LeadRow, lang: str, *, reviewer: bool, rejecting: bool
) -> ft.Control:
    lines: list[ft.Control] = [
        ft.Row(
            [
                ft.Text(row.company_name, size=16, weight=ft.FontWeight.W_600, expand=True),
                lead_chip(row.status, lang),
            ],
            vertical_alignment=ft.CrossAxisAlignment.START,
        ),
        ft.Text(" · ".join(s for s in (row.credit_code, row.industry) if s), size=13),
    ]
    contact = " · ".join(s for s in (row.contact_name, row.phone) if s)
    if contact:
        lines.append(ft.Text(contact, size=13))
    if row.address:
        lines.append(ft.Text(row.address, size=13, color=ft.Colors.ON_SURFACE_VARIANT))
    if row.note:
        lines.append(ft.Text(row.note, size=13, italic=True))
    when = format_datetime(row.created_at, lang)
    found = (
        t("leads.found_by", lang, name=row.finder_name or "—", time=when)
        if reviewer
        else t("leads.found_at", lang, time=when)
    )
    if not row.has_position:
        found += " · " + t("leads.no_position_short", lang)
    lines.append(ft.Text(found, size=12, color=ft.Colors.ON_SURFACE_VARIANT))
    why = _why(row, lang)
    if why:
        lines.append(
            ft.Semantics(
                identifier=f"lead-why-{row.id}",
                container=True,
                content=ft.Text(why, size=13, color=ft.Colors.ERROR, weight=ft.FontWeight.W_600),
            )
        )
    if not row.uploaded:
        lines.append(ft.Text(t("leads.unsynced", lang), size=12, color=ft.Colors.PRIMARY))
    if reviewer and row.status == LeadStatus.PENDING:
        if rejecting:
            lines.append(RejectPanel(row, lang, key=f"reject-panel-{row.id}"))
        else:
            lines.append(
                ft.Row(
                    [
                        tappable(
                            f"approve-{row.id}",
                            ft.FilledButton(
                                t("leads.approve", lang),
                                icon=ft.Icons.CHECK,
                                height=TOUCH,
                                on_click=lambda _e: page.run_task(workbench.leads.approve, row.id),
                            ),
                        ),
                        tappable(
                            f"reject-{row.id}",
                            ft.OutlinedButton(
                                t("leads.reject", lang),
                                icon=ft.Icons.UNDO,
                                height=TOUCH,
                                on_click=lambda _e: workbench.leads.open_reject(row.id),
                            ),
                        ),
                    ],
                    wrap=True,
                )
            )
    if row.status == LeadStatus.APPROVED and row.prospect_id and row.uploaded:
        lines.append(
            tappable(
                f"lead-prospect-{row.id}",
                ft.TextButton(
                    t("leads.open_prospect", lang),
                    icon=ft.Icons.OPEN_IN_NEW,
                    height=TOUCH,
                    on_click=lambda _e: page.navigate(f"/prospect/{row.prospect_id}"),
                ),
            )
        )
    return card(f"lead-{row.id}", lines)


@ft.component
def LeadsScreen() -> ft.Control:
    workbench = use_workbench()
    app = use_observed(workbench.state)
    state = use_observed(workbench.leads.state)
    lang = app.lang
    page = ft.context.page
    ft.use_effect(workbench.leads.load, [app.progress.last_sync_at])
    rows = state.rows
    if rows is None:
        return loading()
    head: list[ft.Control] = []
    if state.proposes:
        add = tappable(
            "add-lead",
            ft.FilledButton(
                t("leads.add", lang),
                icon=ft.Icons.ADD_BUSINESS,
                height=56,
                width=320 if app.wide else None,  # a thumb's width on a phone, a button's on a desk
                on_click=lambda _e: page.navigate("/leads/new"),
            ),
        )
        head.append(ft.Row([add]) if app.wide else add)

    def card(row: LeadRow) -> ft.Control:
        rejecting = state.rejecting == row.id
        return _lead_card(workbench, page, row, lang, reviewer=state.reviews, rejecting=rejecting)

    if not state.reviews:
        title = t("leads.title_finder", lang)
        body = [card(r) for r in rows] or [note(t("leads.mine_empty", lang))]
        return screen(title, *head, *body)
    pending = [r for r in rows if r.status == LeadStatus.PENDING]
    done = [r for r in rows if r.status != LeadStatus.PENDING]
    parts: list[ft.Control] = [
        section(
            t("leads.pending_section", lang, count=len(pending)),
            *([card(r) for r in pending] or [note(t("leads.queue_empty", lang))]),
        )
    ]
    if done:
        parts.append(
            section(t("leads.done_section", lang, count=len(done)), *[card(r) for r in done])
        )
    return screen(t("leads.title_review", lang), *head, *parts)


def _code_ok(lang: str) -> ft.Control:
    return ft.Row(
        [
            ft.Icon(ft.Icons.CHECK_CIRCLE, size=14, color=ft.Colors.GREEN_700),
            ft.Text(t("leads.form.credit_code_ok", lang), size=12, color=ft.Colors.GREEN_700),
        ],
        spacing=4,
        tight=True,
    )


@ft.component
def LeadFormScreen() -> ft.Control:
    workbench = use_workbench()
    app = use_observed(workbench.state)
    state = use_observed(workbench.leads.state)
    lang = app.lang
    page = ft.context.page
    company, set_company = ft.use_state("")
    code, set_code = ft.use_state("")
    contact, set_contact = ft.use_state("")
    phone, set_phone = ft.use_state("")
    industry, set_industry = ft.use_state("")
    address, set_address = ft.use_state("")
    remark, set_remark = ft.use_state("")
    errors, set_errors = ft.use_state({})
    fix, set_fix = ft.use_state(None)  # the device's (lat, lon), when it gives one
    locating, set_locating = ft.use_state(True)
    saving, set_saving = ft.use_state(False)

    async def locate() -> None:
        set_locating(True)
        set_fix(await device_position())
        set_locating(False)

    ft.use_effect(locate, [])

    async def save(_e: ft.Event) -> None:
        set_saving(True)
        try:
            problems = await workbench.leads.save(
                company_name=company,
                credit_code=code,
                contact_name=contact,
                phone=phone,
                industry=industry,
                address=address,
                note=remark,
                position=None if locating else fix,
            )
        finally:
            set_saving(False)
        set_errors(problems)
        if not problems:
            page.navigate("/leads")

    def edit(field: str, setter):  # type: ignore[no-untyped-def]
        """The field's on_change: its value, and its last save's error gone (it is being
        corrected; the credit code is checked again as it is typed)."""

        def changed(e: ft.Event) -> None:
            setter(text_of(e))
            if field in errors:
                set_errors({k: v for k, v in errors.items() if k != field})

        return changed

    def err(field: str) -> str | None:
        if field not in errors:
            return None
        return t(errors[field], lang, company=state.duplicate_of)

    live = workbench.leads.credit_code_problem(code)  # as it is typed
    code_error = (t(live, lang) if live else None) or err("credit_code")
    code_ok = code_error is None and len("".join(code.split())) >= 18
    found = None if fix is None else f"{t('log.checkin.device', lang)} {fix[0]:.5f}, {fix[1]:.5f}"
    where = position_line(
        lang,
        locating=locating,
        found=found,
        none=t("leads.form.no_position", lang),  # the find is saved without a position
        on_retry=lambda _e: page.run_task(locate),
    )
    form_error = err("form") or ""
    industries = ft.Dropdown(
        label=t("leads.form.industry", lang),
        value=industry or None,
        options=[ft.DropdownOption(key=i, text=i) for i in workbench.leads.industries],
        error_text=err("industry"),
        on_select=lambda e: set_industry(text_of(e)),
        expand=True,
    )
    form = screen(
        t("leads.form.title", lang),
        ft.TextField(
            label=t("leads.form.company", lang),
            value=company,
            error=err("company_name"),
            on_change=edit("company_name", set_company),
        ),
        ft.Semantics(
            identifier="credit-code",
            container=True,
            content=ft.TextField(
                label=t("leads.form.credit_code", lang),
                value=code,
                error=code_error,
                helper=_code_ok(lang) if code_ok else None,
                capitalization=ft.TextCapitalization.CHARACTERS,
                on_change=edit("credit_code", set_code),
            ),
        ),
        ft.TextField(
            label=t("leads.form.contact", lang),
            value=contact,
            error=err("contact_name"),
            on_change=edit("contact_name", set_contact),
        ),
        ft.TextField(
            label=t("leads.form.phone", lang),
            value=phone,
            error=err("phone"),
            keyboard_type=ft.KeyboardType.PHONE,
            on_change=edit("phone", set_phone),
        ),
        ft.Row(
            [
                ft.Semantics(
                    identifier="industry",
                    # the menu's button is otherwise read out nameless
                    label=t(
                        "leads.form.industry_label",
                        lang,
                        industry=industry or t("leads.form.industry_none", lang),
                    ),
                    expand=True,
                    content=industries,
                )
            ]
        ),
        ft.TextField(
            label=t("leads.form.address", lang),
            value=address,
            error=err("address"),
            on_change=edit("address", set_address),
        ),
        ft.TextField(
            label=t("leads.form.note", lang),
            value=remark,
            multiline=True,
            min_lines=2,
            error=err("note"),
            on_change=edit("note", set_remark),
        ),
        ft.Text(t("leads.form.position", lang), size=13),
        ft.Semantics(identifier="lead-position", content=where),
        ft.Text(form_error, color=ft.Colors.ERROR, size=13, visible=bool(form_error)),
        on_back=lambda _e: page.navigate("/leads"),
    )
    return with_save_bar(
        form, "save-lead", t("leads.form.save", lang), on_click=save, saving=saving
    )

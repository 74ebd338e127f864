"""Follow-ups due today and overdue; one tap to the card."""

from __future__ import annotations

import flet as ft

from app.i18n import format_money, t
from app.services.followups import FollowUpRow
from app.views.context import use_observed, use_workbench
from app.views.widgets import note, screen, section, status_chip


@ft.component
def FollowupsScreen() -> ft.Control:
    workbench = use_workbench()
    app = use_observed(workbench.state)
    state = use_observed(workbench.followups.state)
    lang = app.lang
    page = ft.context.page
    ft.use_effect(workbench.followups.load, [app.progress.last_sync_at])
    due = state.due
    if due is None:
        return ft.Container(ft.ProgressRing(), alignment=ft.Alignment.CENTER, expand=True)

    def tile(row: FollowUpRow, overdue: bool) -> ft.Control:
        sub = [row.legal_rep, format_money(row.pre_approved_line, lang)]
        if overdue:
            sub.append(t("followups.days_overdue", lang, days=row.days_overdue))
        return ft.Semantics(
            identifier=f"followup-{row.prospect_id}",
            button=True,
            content=ft.ListTile(
                title=ft.Text(row.company_name, weight=ft.FontWeight.W_600),
                subtitle=ft.Text(" · ".join(sub), color=ft.Colors.ERROR if overdue else None),
                trailing=status_chip(row.status, lang),
                min_height=64,
                on_click=lambda _e: page.navigate(f"/prospect/{row.prospect_id}"),
            ),
        )

    if not due.overdue and not due.today:
        return screen(t("followups.title", lang), note(t("followups.none", lang)))
    return screen(
        t("followups.title", lang),
        section(
            t("followups.overdue", lang, count=len(due.overdue)),
            *[tile(r, True) for r in due.overdue],
        ),
        section(
            t("followups.today", lang, count=len(due.today)), *[tile(r, False) for r in due.today]
        ),
    )

"""Follow-ups due today and overdue; one tap to the card."""

from __future__ import annotations

import flet as ft

from app.i18n import format_money, t
from app.views.context import StateContext, WorkbenchState
from app.views.widgets import note, screen, section, status_chip


@ft.component
def FollowupsScreen() -> ft.Control:
    state: WorkbenchState = ft.use_context(StateContext)
    wb, lang = state.wb, state.lang
    page = ft.context.page
    ft.use_effect(wb.load_followups, [state.progress.last_sync_at])
    data = state.followups
    if data is None:
        return ft.Container(ft.ProgressRing(), alignment=ft.Alignment.CENTER, expand=True)

    def tile(row, overdue: bool) -> ft.Control:  # type: ignore[no-untyped-def]
        sub = [row.legal_rep, format_money(row.pre_approved_line, lang)]
        if overdue:
            sub.append(t("followups.days_overdue", lang, days=row.days_overdue))
        return ft.Semantics(identifier=f"followup-{row.prospect_id}", button=True,
                            content=ft.ListTile(
            title=ft.Text(row.company_name, weight=ft.FontWeight.W_600),
            subtitle=ft.Text(" · ".join(sub), color=ft.Colors.ERROR if overdue else None),
            trailing=status_chip(row.status, lang), min_height=64,
            on_click=lambda _e: page.navigate(f"/prospect/{row.prospect_id}")))  # fmt: skip

    if not data.overdue and not data.today:
        return screen(t("followups.title", lang), note(t("followups.none", lang)))
    return screen(
        t("followups.title", lang),
        section(t("followups.overdue", lang, count=len(data.overdue)),
                *[tile(r, True) for r in data.overdue]),
        section(t("followups.today", lang, count=len(data.today)),
                *[tile(r, False) for r in data.today]),
    )  # fmt: skip

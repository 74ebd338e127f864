"""Follow-ups: overdue, today, tomorrow, the next 7 days and later; one tap to the card."""

from __future__ import annotations

import flet as ft

from app.i18n import format_date, format_money, t
from app.services.followups import FollowUpRow
from app.views.context import use_observed, use_workbench
from app.views.widgets import loading, note, screen, section, status_chip, tappable


def _when(row: FollowUpRow, lang: str) -> str:
    """Overdue by how long, or (ahead of today) the day it is planned for."""
    if row.days_overdue > 0:
        key = "followups.days_overdue_one" if row.days_overdue == 1 else "followups.days_overdue"
        return t(key, lang, days=row.days_overdue)
    day = row.next_follow_up
    weekday = t(f"followups.weekday.{day.weekday()}", lang)
    return t("followups.due_on", lang, date=format_date(day, lang), weekday=weekday)


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
        return loading()

    def tile(row: FollowUpRow, *, overdue: bool = False, dated: bool = False) -> ft.Control:
        sub = [row.legal_rep, format_money(row.pre_approved_line, lang)]
        if overdue or dated:
            sub.append(_when(row, lang))
        return tappable(
            f"followup-{row.prospect_id}",
            ft.ListTile(
                title=ft.Text(row.company_name, weight=ft.FontWeight.W_600),
                subtitle=ft.Text(" · ".join(sub), color=ft.Colors.ERROR if overdue else None),
                trailing=status_chip(row.status, lang),
                min_height=64,
                on_click=lambda _e: page.navigate(f"/prospect/{row.prospect_id}"),
            ),
        )

    def part(key: str, rows: list[FollowUpRow], **kind: bool) -> list[ft.Control]:
        if not rows:
            return []
        title = t(key, lang, count=len(rows))
        return [section(title, *[tile(r, **kind) for r in rows])]

    if not due.total and not due.upcoming:
        return screen(t("followups.title", lang), note(t("followups.nothing", lang)))
    shown: list[ft.Control] = []
    if due.total:
        shown += part("followups.overdue", due.overdue, overdue=True)
        shown += part("followups.today", due.today)
    else:
        shown.append(note(t("followups.none", lang)))
    shown += part("followups.tomorrow", due.tomorrow)
    shown += part("followups.week", due.week, dated=True)
    shown += part("followups.later", due.later, dated=True)
    return screen(t("followups.title", lang), *shown)

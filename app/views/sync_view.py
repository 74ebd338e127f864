"""Sync details: last sync, pending changes, progress, rejections with their reasons."""

from __future__ import annotations

import flet as ft

from app.i18n import format_datetime, t
from app.views.context import StateContext, WorkbenchState
from app.views.widgets import labelled, note, screen, section


@ft.component
def SyncSection() -> ft.Control:
    state: WorkbenchState = ft.use_context(StateContext)
    wb, lang, p = state.wb, state.lang, state.progress
    ft.use_effect(wb.load_rejections, [p.last_sync_at, p.rejected])

    async def sync_now(_e: ft.Event) -> None:
        await wb.sync()

    rejections = [
        ft.ListTile(leading=ft.Icon(ft.Icons.BLOCK, color=ft.Colors.ERROR),
                    title=ft.Text(r["message"] or t(r["code"], lang)),
                    subtitle=ft.Text(f"{r['kind']} · {format_datetime(r['rejected_at'], lang)}"
                                     if not isinstance(r["rejected_at"], str)
                                     else f"{r['kind']} · {r['rejected_at'][:16]}"))
        for r in state.rejections
    ] or [note(t("sync.no_rejections", lang))]  # fmt: skip
    status = t(f"sync.{p.phase}", lang, done=p.done, total=p.total or "…")
    return ft.Column(spacing=12, horizontal_alignment=ft.CrossAxisAlignment.STRETCH, controls=[
        section(t("sync.title", lang),
                labelled(t("sync.last", lang, time=""), format_datetime(p.last_sync_at, lang)),
                labelled(t("sync.pending_title", lang), str(p.pending)),
                ft.Text(status if p.running else (t(p.error_code, lang, status=p.error_message)
                                                  if p.error_code else "")),
                ft.Text(t("sync.first_incomplete", lang), color=ft.Colors.ERROR,
                        visible=not p.snapshot_complete),
                ft.ProgressBar(value=p.fraction, visible=p.running),
                ft.FilledButton(t("sync.now", lang), icon=ft.Icons.SYNC, on_click=sync_now,
                                disabled=p.running, height=48)),
        section(t("sync.rejections", lang), *rejections),
    ])  # fmt: skip


@ft.component
def SyncScreen() -> ft.Control:
    state: WorkbenchState = ft.use_context(StateContext)
    page = ft.context.page
    return screen(t("sync.title", state.lang), SyncSection(), on_back=lambda _e: page.navigate("/"))

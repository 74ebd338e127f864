"""Sync details: last sync, pending changes, progress, rejections with their reasons."""

from __future__ import annotations

import flet as ft

from app.i18n import format_datetime, t
from app.views.context import use_observed, use_workbench
from app.views.shell import CALM_ERRORS, RetryIn
from app.views.widgets import labelled, note, screen, section


@ft.component
def SyncSection() -> ft.Control:
    workbench = use_workbench()
    app = use_observed(workbench.state)
    state = use_observed(workbench.sync_screen.state)
    lang, p = app.lang, app.progress
    ft.use_effect(workbench.sync_screen.load_rejections, [p.last_sync_at, p.rejected])

    rejections = [
        ft.ListTile(
            leading=ft.Icon(ft.Icons.BLOCK, color=ft.Colors.ERROR),
            title=ft.Text(r.message or t(r.code, lang)),
            subtitle=ft.Text(f"{r.kind} · {format_datetime(r.rejected_at, lang)}"),
        )
        for r in state.rejections
    ] or [note(t("sync.no_rejections", lang))]
    if p.running:
        status = ft.Text(
            t(f"sync.{p.phase}", lang, done=p.done, total=p.total or "…", seconds=p.wait_seconds)
        )
    elif p.error_code:  # the whole message; the bar shows its short form
        status = ft.Semantics(
            identifier="sync-error-details",
            container=True,
            content=ft.Text(
                t(p.error_code, lang, status=p.error_message),
                color=ft.Colors.ON_SURFACE if p.error_code in CALM_ERRORS else ft.Colors.ERROR,
                weight=ft.FontWeight.W_600,
            ),
        )
    else:
        status = ft.Container()
    return ft.Column(
        spacing=12,
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        controls=[
            section(
                t("sync.title", lang),
                labelled(t("sync.last", lang, time=""), format_datetime(p.last_sync_at, lang)),
                labelled(t("sync.pending_title", lang), str(p.pending)),
                labelled(t("sync.rejections", lang), str(p.rejected)),
                status,
                RetryIn(lang) if p.error_code and not p.running else ft.Container(),
                ft.Text(
                    t("sync.first_incomplete", lang),
                    color=ft.Colors.ERROR,
                    visible=not p.snapshot_complete,
                ),
                ft.ProgressBar(value=p.fraction, visible=p.running),
                ft.FilledButton(
                    t("sync.now", lang),
                    icon=ft.Icons.SYNC,
                    on_click=lambda _e: ft.context.page.run_task(workbench.sync),
                    disabled=p.running,
                    height=48,
                ),
            ),
            section(t("sync.rejections", lang), *rejections),
        ],
    )


@ft.component
def SyncScreen() -> ft.Control:
    workbench = use_workbench()
    app = use_observed(workbench.state)
    page = ft.context.page
    return screen(t("sync.title", app.lang), SyncSection(), on_back=lambda _e: page.navigate("/"))

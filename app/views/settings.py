"""Settings: language, central-store address, sync details, log-out with a safeguard."""

from __future__ import annotations

import flet as ft

from app.i18n import t
from app.views.context import use_observed, use_workbench
from app.views.sync_view import SyncSection
from app.views.widgets import screen, section


@ft.component
def SettingsScreen() -> ft.Control:
    workbench = use_workbench()
    app = use_observed(workbench.state)
    lang = app.lang
    page = ft.context.page
    url, set_url = ft.use_state(app.server_url)
    confirm, set_confirm = ft.use_state(False)

    async def pick_lang(e: ft.Event) -> None:
        await workbench.settings_screen.set_language((list(e.control.selected) or ["zh"])[0])

    async def save_url(_e: ft.Event) -> None:
        await workbench.settings_screen.set_server_url(url)

    async def logout(_e: ft.Event) -> None:
        if await workbench.logout():
            page.navigate("/")
        else:
            set_confirm(True)

    async def discard(_e: ft.Event) -> None:
        set_confirm(False)
        await workbench.logout(discard=True)
        page.navigate("/")

    async def sync_first(_e: ft.Event) -> None:
        set_confirm(False)
        await workbench.sync()

    controls: list[ft.Control] = []
    if app.session:
        who = t("settings.user", lang, name=app.session.name, employee_no=app.session.employee_no)
        controls.append(ft.Text(who, size=14))
    language = ft.SegmentedButton(
        selected=[lang],
        on_change=pick_lang,
        segments=[
            ft.Segment(value="zh", label=ft.Text("中文")),
            ft.Segment(value="en", label=ft.Text("English")),
        ],
    )
    controls += [
        section(
            t("settings.language", lang), ft.Semantics(identifier="language", content=language)
        ),
        section(
            t("settings.server", lang),
            ft.TextField(value=url, dense=True, on_change=lambda e: set_url(e.control.value)),
            ft.OutlinedButton(t("settings.save", lang), on_click=save_url),
        ),
        SyncSection(),
    ]
    if confirm:
        warning = ft.Column(
            [
                ft.Text(
                    t("settings.logout_confirm_title", lang),
                    size=16,
                    weight=ft.FontWeight.BOLD,
                    color=ft.Colors.ON_ERROR_CONTAINER,
                ),
                ft.Text(
                    t("settings.logout_confirm", lang, count=app.progress.pending),
                    color=ft.Colors.ON_ERROR_CONTAINER,
                ),
                ft.Row(
                    [
                        ft.FilledButton(t("settings.logout_sync_first", lang), on_click=sync_first),
                        ft.TextButton(
                            t("settings.logout_discard", lang),
                            on_click=discard,
                            style=ft.ButtonStyle(color=ft.Colors.ERROR),
                        ),
                        ft.TextButton(
                            t("settings.cancel", lang), on_click=lambda _e: set_confirm(False)
                        ),
                    ],
                    wrap=True,
                ),
            ]
        )
        controls.append(
            ft.Semantics(
                identifier="logout-warning",
                content=ft.Container(
                    warning, bgcolor=ft.Colors.ERROR_CONTAINER, border_radius=12, padding=16
                ),
            )
        )
    logout_button = ft.OutlinedButton(
        t("settings.logout", lang), icon=ft.Icons.LOGOUT, on_click=logout, height=48
    )
    controls.append(ft.Semantics(identifier="logout", button=True, content=logout_button))
    return screen(t("settings.title", lang), *controls)

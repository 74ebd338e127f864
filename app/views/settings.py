"""Settings: language, central-store address, sync details, log-out with a safeguard.

The safeguard is a dialog, so it shows wherever the screen is scrolled to (the log-out
button sits at the bottom, below a phone's fold).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import flet as ft

from app.i18n import t
from app.views.context import use_observed, use_workbench
from app.views.sync_view import SyncSection
from app.views.widgets import TOUCH, screen, section, tappable, text_of


@ft.component
def SettingsScreen() -> ft.Control:
    workbench = use_workbench()
    app = use_observed(workbench.state)
    lang = app.lang
    page = ft.context.page
    url, set_url = ft.use_state(app.server_url)

    async def pick_lang(code: str) -> None:
        await workbench.settings_screen.set_language(code)

    async def save_url(_e: ft.Event) -> None:
        await workbench.settings_screen.set_server_url(url)

    async def logout(_e: ft.Event) -> None:
        if await workbench.settings_screen.logout():
            page.navigate("/")

    controls: list[ft.Control] = []
    if app.session:
        who = t("settings.user", lang, name=app.session.name, employee_no=app.session.employee_no)
        controls.append(ft.Text(who, size=14))
    language = ft.Row(
        [language_button(code, lang, pick_lang) for code in ("zh", "en")], spacing=8, wrap=True
    )
    controls += [
        section(
            t("settings.language", lang), ft.Semantics(identifier="language", content=language)
        ),
        section(
            t("settings.server", lang),
            ft.TextField(
                value=url,
                label=t("settings.server", lang),
                keyboard_type=ft.KeyboardType.URL,
                on_change=lambda e: set_url(text_of(e)),
                on_submit=save_url,
            ),
            ft.Row(
                [
                    tappable(
                        "save-server",
                        ft.OutlinedButton(
                            t("settings.save", lang), on_click=save_url, height=TOUCH
                        ),
                    )
                ],
            ),
        ),
        SyncSection(),
    ]
    logout_button = ft.OutlinedButton(
        t("settings.logout", lang), icon=ft.Icons.LOGOUT, on_click=logout, height=TOUCH
    )
    controls.append(ft.Semantics(identifier="logout", button=True, content=logout_button))
    controls.append(LogoutWarning())
    return screen(t("settings.title", lang), *controls)


def language_button(code: str, lang: str, pick: Callable[[str], Awaitable[None]]) -> ft.Control:
    """One language, named in itself (中文 / English), 48 px high; the chosen one filled."""
    label = t(f"settings.language_{code}", lang)
    chosen = code == lang
    kind = ft.FilledTonalButton if chosen else ft.OutlinedButton
    button = kind(
        label,
        icon=ft.Icons.CHECK if chosen else None,
        on_click=lambda _e: ft.context.page.run_task(pick, code),
        height=TOUCH,
    )
    return ft.Semantics(identifier=f"language-{code}", selected=chosen, content=button)


@ft.component
def LogoutWarning() -> ft.Control:
    """The dialog over a log-out that would lose records: sync first, discard, or cancel."""
    workbench = use_workbench()
    app = use_observed(workbench.state)
    state = use_observed(workbench.settings_screen.logout_state)
    lang = app.lang
    page = ft.context.page
    controller = workbench.settings_screen

    async def sync_first(_e: ft.Event) -> None:
        if await controller.sync_then_logout():
            page.navigate("/")

    async def discard(_e: ft.Event) -> None:
        if await controller.discard_and_logout():
            page.navigate("/")

    lines: list[ft.Control] = [
        ft.Text(t("settings.logout_confirm", lang, count=app.progress.pending or state.pending))
    ]
    if state.syncing:
        lines.append(
            ft.Row(
                [
                    ft.ProgressRing(width=20, height=20, stroke_width=2),
                    ft.Text(t("settings.logout_syncing", lang), expand=True),
                ]
            )
        )
    elif state.failed_code:
        reason = t(state.failed_code, lang, status=state.failed_message)
        failed = ft.Text(
            t("settings.logout_sync_failed", lang, reason=reason),
            color=ft.Colors.ERROR,
            weight=ft.FontWeight.W_600,
        )
        lines.append(ft.Semantics(identifier="logout-failed", container=True, content=failed))
    elif state.still_pending:
        still = t("settings.logout_still_pending", lang, count=app.progress.pending)
        lines.append(ft.Text(still, color=ft.Colors.ERROR, weight=ft.FontWeight.W_600))

    def action(identifier: str, control: ft.Control) -> ft.Control:
        return ft.Semantics(identifier=identifier, button=True, content=control)

    dialog = ft.AlertDialog(
        modal=True,
        title=ft.Text(t("settings.logout_confirm_title", lang)),
        content=ft.Semantics(
            identifier="logout-warning",
            container=True,
            content=ft.Column(lines, tight=True, spacing=12, width=360),
        ),
        actions=[
            action(
                "logout-sync-first",
                ft.FilledButton(
                    t("settings.logout_sync_first", lang),
                    icon=ft.Icons.SYNC,
                    on_click=sync_first,
                    disabled=state.syncing,
                    height=TOUCH,
                ),
            ),
            action(
                "logout-discard",
                ft.TextButton(
                    t("settings.logout_discard", lang),
                    on_click=discard,
                    disabled=state.syncing,
                    style=ft.ButtonStyle(color=ft.Colors.ERROR),
                    height=TOUCH,
                ),
            ),
            action(
                "logout-cancel",
                ft.TextButton(
                    t("settings.cancel", lang),
                    on_click=lambda _e: controller.cancel_logout(),
                    height=TOUCH,
                ),
            ),
        ],
        on_dismiss=lambda _e: controller.cancel_logout(),
    )
    ft.use_dialog(dialog if state.asking else None)
    return ft.Container()

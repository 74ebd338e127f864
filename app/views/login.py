"""Log-in: employee number and password against the central store (or offline)."""

from __future__ import annotations

import flet as ft

from app.i18n import t
from app.views.context import use_observed, use_workbench
from app.views.theme import BRAND
from app.views.widgets import icon_button, text_of


@ft.component
def LoginScreen() -> ft.Control:
    workbench = use_workbench()
    app = use_observed(workbench.state)
    form = use_observed(workbench.login.state)
    lang = app.lang
    employee_no, set_employee_no = ft.use_state(workbench.login.remembered_employee_no)
    shown, set_shown = ft.use_state(False)

    async def submit(e: ft.Event) -> None:
        # Enter in the password box: take its value now, before on_change re-renders
        typed = text_of(e) if isinstance(e.control, ft.TextField) else form.password
        await workbench.login.submit(employee_no, typed or "")  # a wrong password empties the box

    def typed_password(e: ft.Event) -> None:
        form.password = text_of(e)

    error = t(form.error, lang, **form.error_params) if form.error else None
    # our own eye rather than can_reveal_password: Flutter's has no name and is 40 px
    eye = icon_button(
        ft.Icons.VISIBILITY_OFF if shown else ft.Icons.VISIBILITY,
        t("login.hide_password" if shown else "login.show_password", lang),
        lambda _e: set_shown(not shown),
        identifier="show-password",
    )
    return ft.Container(
        expand=True,
        alignment=ft.Alignment.CENTER,
        padding=24,
        content=ft.Container(
            width=380,
            content=ft.Column(
                tight=True,
                spacing=16,
                horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
                controls=[
                    ft.Icon(ft.Icons.STOREFRONT, size=56, color=BRAND),
                    ft.Text(
                        t("app.title", lang),
                        size=26,
                        weight=ft.FontWeight.BOLD,
                        text_align=ft.TextAlign.CENTER,
                    ),
                    ft.TextField(
                        label=t("login.employee_no", lang),
                        value=employee_no,
                        on_change=lambda e: set_employee_no(text_of(e)),
                        prefix_icon=ft.Icons.BADGE,
                        autofocus=not employee_no,
                    ),
                    ft.TextField(
                        label=t("login.password", lang),
                        value=form.password,
                        password=not shown,
                        suffix_icon=eye,
                        on_submit=submit,
                        on_change=typed_password,
                        prefix_icon=ft.Icons.LOCK,
                        error=error,
                    ),
                    ft.FilledButton(
                        t("login.submit", lang), on_click=submit, disabled=form.busy, height=52
                    ),
                    ft.ProgressBar(visible=form.busy, color=BRAND),
                    ft.Text(
                        t("login.server", lang, url=app.server_url),
                        size=12,
                        color=ft.Colors.ON_SURFACE_VARIANT,
                        text_align=ft.TextAlign.CENTER,
                    ),
                ],
            ),
        ),
    )

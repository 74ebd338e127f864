"""The manager's auto-assign (自动分配): a button and its compact dialog.

    AutoAssign()        the button (managers only) and, once tapped, the dialog
    AutoAssignDialog()  rule (平均分配 / 就近分配), the cap per marketer, 取消 / 确定

Mount ``AutoAssign()`` on a manager's list; it draws nothing for anyone else. State and
the call are ``app.workbench.distribution.DistributionController``'s.
"""

from __future__ import annotations

import flet as ft

from app.i18n import t
from app.views.context import use_observed, use_workbench
from app.views.widgets import SEGMENT_STYLE, TOUCH, segment_of, tappable, text_of
from app.workbench.distribution import RULES


@ft.component
def AutoAssign() -> ft.Control:
    """自动分配 for a manager, with its dialog while open; nothing for other roles."""
    workbench = use_workbench()
    lang = use_observed(workbench.state).lang
    distribution = workbench.distribution
    state = use_observed(distribution.state)
    if not distribution.allowed:
        return ft.Container(width=0, height=0)
    button = tappable(
        "auto-assign",
        ft.OutlinedButton(
            t("distribution.title", lang),
            icon=ft.Icons.GROUP_ADD,
            height=TOUCH,
            on_click=lambda _e: distribution.show(),
        ),
    )
    if not state.open:
        return button
    return ft.Row(tight=True, controls=[button, AutoAssignDialog()])


@ft.component
def AutoAssignDialog() -> ft.Control:
    """The rule, the cap and 确定; the reason in words when it did not happen."""
    workbench = use_workbench()
    lang = use_observed(workbench.state).lang
    distribution = workbench.distribution
    state = use_observed(distribution.state)

    async def confirm(_e: ft.Event) -> None:
        await distribution.confirm()

    rule = ft.Semantics(
        identifier="auto-assign-rule",
        content=ft.SegmentedButton(
            selected=[state.rule],
            on_change=lambda e: distribution.set_rule(segment_of(e, "")),
            show_selected_icon=False,
            style=SEGMENT_STYLE,
            segments=[
                ft.Segment(value=str(r), label=ft.Text(t(f"distribution.rule.{r}", lang)))
                for r in RULES
            ],
        ),
    )
    body: list[ft.Control] = [
        rule,
        ft.Text(t(f"distribution.rule_hint.{state.rule}", lang), size=13),
        ft.Semantics(
            identifier="auto-assign-cap",
            content=ft.TextField(
                label=t("distribution.cap", lang),
                value=state.cap_text,
                keyboard_type=ft.KeyboardType.NUMBER,
                on_change=lambda e: distribution.set_cap(text_of(e)),
            ),
        ),
    ]
    if state.busy:
        body.append(ft.Text(t("distribution.working", lang), size=13))
    if state.problem:
        body.append(
            ft.Semantics(
                identifier="auto-assign-problem",
                live_region=True,
                content=ft.Text(t(state.problem, lang), color=ft.Colors.ERROR, size=13),
            )
        )
    dialog = ft.AlertDialog(
        modal=True,
        title=ft.Text(t("distribution.title", lang), size=18),
        content=ft.Column(tight=True, spacing=12, width=400, controls=body),
        actions=[
            tappable(
                "auto-assign-cancel",
                ft.TextButton(
                    t("distribution.cancel", lang),
                    height=TOUCH,
                    on_click=lambda _e: distribution.close(),
                ),
            ),
            tappable(
                "auto-assign-confirm",
                ft.FilledButton(
                    t("distribution.confirm", lang),
                    height=TOUCH,
                    disabled=state.busy,
                    on_click=confirm,
                ),
            ),
        ],
        on_dismiss=lambda _e: distribution.close(),
    )
    ft.use_dialog(dialog)
    return ft.Container(width=0, height=0)

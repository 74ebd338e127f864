"""Small shared widgets: a tappable control, a choice chip, status chip, section card,
labelled value, empty note, an error in words, a question before something goes, a
loading spinner, the position line of a form, the back button and the scrolling screen."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from string import Formatter

import flet as ft

from app.i18n import CATALOGUES, t
from app.views.context import use_observed, use_workbench
from app.views.theme import STATUS_COLORS

TOUCH = 48  # the least width and height of anything a finger taps (px)
# A browser lays chips and segmented buttons out small (no padded tap target, as a phone
# would add): padded to TOUCH here
CHIP_PADDING = ft.Padding.symmetric(horizontal=8, vertical=13)
SEGMENT_STYLE = ft.ButtonStyle(
    padding=ft.Padding.symmetric(horizontal=4, vertical=14),
    visual_density=ft.VisualDensity.STANDARD,
)


# What a change carries is read from its event, never from ``e.control``: in Flet 1.0.5
# a re-render between the client's change and its event (a sync's progress re-renders
# every screen that shows it) can leave the client's value on a control the render has
# replaced, and ``e.control`` then holds the value from before the change ('' for text
# typed into an empty box: a search for everything, a tab that led back).


def text_of(e: ft.Event) -> str:
    """The text a field's change or submit event carries; a drop-down's or a radio
    group's chosen key, likewise."""
    if isinstance(e.data, str):
        return e.data
    value = getattr(e.control, "value", None)
    return "" if value is None else str(value)


def segment_of(e: ft.Event, default: str) -> str:
    """The segment a SegmentedButton's change event carries (its first; ``default``
    when none is)."""
    if isinstance(e.data, list):
        return str(e.data[0]) if e.data else default
    selected = list(getattr(e.control, "selected", None) or [])
    return str(selected[0]) if selected else default


def tappable(identifier: str, control: ft.Control, **semantics: object) -> ft.Control:
    """``control`` as a button the tests and a screen reader find by ``identifier``."""
    return ft.Semantics(identifier=identifier, button=True, content=control, **semantics)  # type: ignore[arg-type]


def choice_chip(
    identifier: str,
    label: str,
    selected: bool,
    on_select: ft.ControlEventHandler[ft.Chip],
    *,
    disabled: bool = False,
) -> ft.Control:
    """One choice of a row of chips, padded to a finger's size."""
    return tappable(
        identifier,
        ft.Chip(
            label=ft.Text(label),
            padding=CHIP_PADDING,
            visual_density=ft.VisualDensity.STANDARD,
            selected=selected,
            disabled=disabled,
            on_select=on_select,
        ),
    )


def chip_row(
    identifier: str,
    values: Sequence[str],
    chosen: str,
    label: Callable[[str], str],
    on_choose: Callable[[str], object],
    *,
    disabled: bool = False,
) -> ft.Control:
    """One choice among ``values`` as a wrapping row of chips (``identifier-value`` each)."""
    return ft.Row(
        [
            choice_chip(
                f"{identifier}-{v}",
                label(v),
                v == chosen,
                lambda _e, v=v: on_choose(v),
                disabled=disabled,
            )
            for v in values
        ],
        wrap=True,
        spacing=8,
        run_spacing=8,
    )


def card(identifier: str, lines: list[ft.Control]) -> ft.Control:
    """A bordered card of lines (a find, a waiting loan), found by ``identifier``."""
    return ft.Semantics(
        identifier=identifier,
        container=True,
        content=ft.Container(
            bgcolor=ft.Colors.SURFACE_CONTAINER_LOWEST,
            border=ft.Border.all(1, ft.Colors.OUTLINE_VARIANT),
            border_radius=12,
            padding=14,
            content=ft.Column(lines, spacing=6),
        ),
    )


def words(code: str, message: str, lang: str, /, **params: object) -> str:
    """An error or a row's problem in words. The store words its refusals in Chinese with
    their details filled in, and sends the code without those details: where our words
    would need details we lack (and, for its own ``import.*`` refusals, in Chinese), its
    message is shown as it came, whole rather than with blanks; otherwise our
    catalogue's words for the code (the store's message as the last resort, for a code
    we do not know)."""
    if message:
        template = CATALOGUES.get(lang, {}).get(code, "")
        wanted = {name for _, name, _, _ in Formatter().parse(template) if name}
        lacking = wanted - set(params) - {"status", "detail"}
        if lacking or (code.startswith("import.") and (lang == "zh" or not template)):
            return message
    text = t(code, lang, status=message, detail=message, **params)
    return message if text == code and message else text


def error_box(text: str, identifier: str = "admin-error") -> ft.Control:
    return ft.Semantics(
        identifier=identifier,
        live_region=True,
        container=True,
        content=ft.Container(
            bgcolor=ft.Colors.ERROR_CONTAINER,
            border_radius=8,
            padding=12,
            content=ft.Row(
                [
                    ft.Icon(ft.Icons.ERROR_OUTLINE, color=ft.Colors.ON_ERROR_CONTAINER),
                    ft.Text(text, color=ft.Colors.ON_ERROR_CONTAINER, expand=True),
                ]
            ),
        ),
    )


def use_confirm(
    asking: bool,
    identifier: str,
    lang: str,
    *,
    title: str,
    question: str,
    yes: str,
    on_yes: Callable[[], Awaitable[object]],
    on_cancel: Callable[[], object],
) -> None:
    """While ``asking``, a modal question before something goes: ``title``, the ``question``
    (found as ``identifier``), a ``yes`` button that runs ``on_yes`` (``identifier-yes``)
    and 取消 (``identifier-no``); cancelling or dismissing it calls ``on_cancel``. A hook:
    call it before any early return."""
    page = ft.context.page
    dialog = ft.AlertDialog(
        modal=True,
        title=ft.Text(title),
        content=ft.Semantics(
            identifier=identifier, container=True, content=ft.Text(question, width=360)
        ),
        actions=[
            tappable(
                f"{identifier}-yes",
                ft.FilledButton(yes, on_click=lambda _e: page.run_task(on_yes), height=TOUCH),
            ),
            tappable(
                f"{identifier}-no",
                ft.TextButton(
                    t("admin.cancel", lang), on_click=lambda _e: on_cancel(), height=TOUCH
                ),
            ),
        ],
        on_dismiss=lambda _e: on_cancel(),
    )
    ft.use_dialog(dialog if asking else None)


def use_xlsx_download(
    title: str,
    fetch: Callable[[], Awaitable[tuple[str, bytes] | None]],
    saved: Callable[[str | None], None],
) -> Callable[[ft.Event], Awaitable[None]]:
    """The on_click of a 下载电子表格 button: ``fetch`` gives the workbook's name and bytes
    (None: it failed, and said so), then a save dialog on a desktop, the browser's download
    on the web; ``saved`` hears where it went (None on the web). A hook: call it before
    any early return."""
    saver, _ = ft.use_state(lambda: ft.FilePicker())

    async def download(_e: ft.Event) -> None:
        found = await fetch()
        if found is None:
            return
        name, content = found
        path = await saver.save_file(
            dialog_title=title,
            file_name=name,
            src_bytes=content,
            file_type=ft.FilePickerFileType.CUSTOM,
            allowed_extensions=["xlsx"],
        )
        saved(path)

    return download


def loading() -> ft.Control:
    """A screen whose rows are still being read."""
    return ft.Container(ft.ProgressRing(), alignment=ft.Alignment.CENTER, expand=True)


def position_line(
    lang: str, *, locating: bool, found: str | None, none: str, on_retry: ft.ControlEventHandler
) -> ft.Control:
    """Where a form's device stands: looking (a spinner), ``found`` (the fix in words), or
    ``none`` said plainly with a button to try again; nothing stands in for a missing fix."""
    if locating:
        return ft.Row(
            [
                ft.ProgressRing(width=18, height=18, stroke_width=2),
                ft.Text(t("log.checkin.locating", lang), size=13, expand=True),
            ]
        )
    if found is not None:
        return ft.Row([ft.Icon(ft.Icons.PLACE), ft.Text(found, size=13, expand=True)])
    return ft.Column(
        spacing=4,
        controls=[
            ft.Row(
                [
                    ft.Icon(ft.Icons.LOCATION_OFF, color=ft.Colors.ERROR),
                    ft.Text(none, size=13, expand=True),
                ]
            ),
            tappable(
                "locate-again",
                ft.OutlinedButton(
                    t("log.checkin.retry", lang),
                    icon=ft.Icons.MY_LOCATION,
                    height=TOUCH,
                    on_click=on_retry,
                ),
            ),
        ],
        horizontal_alignment=ft.CrossAxisAlignment.START,
    )


def with_save_bar(
    form: ft.Control, identifier: str, label: str, *, on_click: ft.ControlEventHandler, saving: bool
) -> ft.Control:
    """A form with its 保存 button in a bar below it: under the thumb whatever the form's
    length, no scroll before the last tap."""
    button = ft.FilledButton(
        label, icon=ft.Icons.SAVE, on_click=on_click, disabled=saving, height=52
    )
    bar = ft.Container(
        tappable(identifier, button),
        padding=ft.Padding.symmetric(horizontal=16, vertical=8),
        border=ft.Border.only(top=ft.BorderSide(1, ft.Colors.OUTLINE_VARIANT)),
    )
    return ft.Column(
        [ft.Container(form, expand=True), bar],
        spacing=0,
        expand=True,
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )


def status_chip(status: str, lang: str) -> ft.Control:
    return ft.Container(
        content=ft.Text(t(f"funnel.{status}", lang), size=12, color=ft.Colors.WHITE),
        bgcolor=STATUS_COLORS.get(status, ft.Colors.GREY_600),
        border_radius=12,
        padding=ft.Padding.symmetric(horizontal=10, vertical=3),
    )


def section(title: str, *controls: ft.Control, stretch: bool = False) -> ft.Control:
    """A titled card; ``stretch``: its contents span its width (fields as wide as it)."""
    return ft.Container(
        bgcolor=ft.Colors.SURFACE_CONTAINER_LOWEST,
        border=ft.Border.all(1, ft.Colors.OUTLINE_VARIANT),
        border_radius=12,
        padding=16,
        content=ft.Column(
            spacing=10,
            controls=[ft.Text(title, size=16, weight=ft.FontWeight.W_600), *controls],
            horizontal_alignment=(
                ft.CrossAxisAlignment.STRETCH if stretch else ft.CrossAxisAlignment.START
            ),
        ),
    )


def labelled(label: str, value: str | ft.Control) -> ft.Control:
    content = ft.Text(value, size=15) if isinstance(value, str) else value
    return ft.Column(
        spacing=2,
        controls=[ft.Text(label, size=12, color=ft.Colors.ON_SURFACE_VARIANT), content],
    )


def note(text: str) -> ft.Control:
    return ft.Container(ft.Text(text, color=ft.Colors.ON_SURFACE_VARIANT), padding=24)


def icon_button(
    icon: ft.IconData,
    label: str,
    on_click: ft.ControlEventHandler[ft.IconButton],
    *,
    identifier: str | None = None,
    icon_size: float = 24,
) -> ft.Control:
    """An icon button a finger and a screen reader can use: at least 48 × 48 px, and
    named ``label`` (its tooltip). Merged into one semantics node: on its own the tooltip
    names a wrapper around the button, and the button is read out nameless."""
    button = ft.IconButton(
        icon,
        tooltip=label,
        on_click=on_click,
        icon_size=icon_size,
        size_constraints=ft.BoxConstraints(min_width=TOUCH, min_height=TOUCH),
    )
    return ft.MergeSemantics(content=ft.Semantics(identifier=identifier, content=button))


@ft.component
def BackButton(on_click: ft.ControlEventHandler[ft.IconButton]) -> ft.Control:
    """The back arrow, named 返回 / Back."""
    lang = use_observed(use_workbench().state).lang
    label = t("common.back", lang)
    return icon_button(ft.Icons.ARROW_BACK, label, on_click, identifier="back", icon_size=26)


def screen(
    title: str, *controls: ft.Control, actions: list[ft.Control] | None = None, on_back=None
) -> ft.Control:  # type: ignore[no-untyped-def]
    """A scrolling screen with a header row (optional back button and actions)."""
    head: list[ft.Control] = []
    if on_back is not None:
        head.append(BackButton(on_back))
    head.append(ft.Text(title, size=22, weight=ft.FontWeight.BOLD, expand=True))
    head.extend(actions or [])
    return ft.Column(
        expand=True,
        scroll=ft.ScrollMode.AUTO,
        spacing=12,
        controls=[
            ft.Container(
                ft.Row(head, vertical_alignment=ft.CrossAxisAlignment.CENTER),
                # the back button brings its own padding; a bare title lines up with the body
                padding=ft.Padding.only(left=8 if on_back is not None else 16, right=16, top=8),
            ),
            ft.Container(
                ft.Column(
                    list(controls), spacing=12, horizontal_alignment=ft.CrossAxisAlignment.STRETCH
                ),
                padding=ft.Padding.only(left=16, right=16, bottom=24),
            ),
        ],
    )

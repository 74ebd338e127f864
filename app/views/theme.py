"""Colours, the bundled CJK font and status colours."""

from __future__ import annotations

import flet as ft

from app.services.palette import STATUS_COLORS  # one table for the app and the map

FONT_FAMILY = "NotoSansSC"
# One face for all text, bold included (Flutter emboldens it; a registered bold face was
# never picked and cost a 1.6 MB download). It holds every CJK Unified Ideograph, so a
# rare character in a name renders instead of a box: see assets/fonts/README.md.
FONTS = {FONT_FAMILY: "fonts/NotoSansSC-Regular-subset.otf"}
BRAND = "#C8102E"  # bank red

__all__ = ["BRAND", "FONTS", "FONT_FAMILY", "STATUS_COLORS", "apply_theme"]


def apply_theme(page: ft.Page) -> None:
    page.fonts = FONTS
    page.theme = ft.Theme(font_family=FONT_FAMILY, color_scheme_seed=BRAND)
    page.theme_mode = ft.ThemeMode.LIGHT


# Flutter's own words (a tab's "Tab 1 of 5", a tooltip's "Back") follow the page's locale:
# Simplified Chinese first, so it is also the fallback.
LOCALES = {"zh": ft.Locale("zh", "CN", script_code="Hans"), "en": ft.Locale("en", "US")}


def apply_locale(page: ft.Page, lang: str) -> None:
    """Make Flutter's built-in strings speak the UI's language."""
    page.locale_configuration = ft.LocaleConfiguration(
        supported_locales=[ft.Locale("zh"), ft.Locale("zh", script_code="Hans"), *LOCALES.values()],
        current_locale=LOCALES.get(lang, LOCALES["zh"]),
    )
    page.schedule_update()

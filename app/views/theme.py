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

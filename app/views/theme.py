"""Colours, the bundled CJK font and status colours."""

from __future__ import annotations

import json
from pathlib import Path

import flet as ft

FONT_FAMILY = "NotoSansSC"
# One face for all text, bold included (Flutter emboldens it; a registered bold face was
# never picked and cost a 1.6 MB download). It holds every CJK Unified Ideograph, so a
# rare character in a name renders instead of a box: see assets/fonts/README.md.
FONTS = {FONT_FAMILY: "fonts/NotoSansSC-Regular-subset.otf"}
BRAND = "#C8102E"  # bank red

STATUS_COLORS = {
    "unassigned": ft.Colors.BLUE_GREY_400,
    "assigned": ft.Colors.BLUE_600,
    "contacted": ft.Colors.CYAN_700,
    "interested": ft.Colors.AMBER_800,
    "applied": ft.Colors.DEEP_ORANGE_600,
    "approved": ft.Colors.LIGHT_GREEN_700,
    "disbursed": ft.Colors.GREEN_800,
    "declined": ft.Colors.GREY_600,
    "invalid": ft.Colors.GREY_500,
}


def apply_theme(page: ft.Page) -> None:
    page.fonts = FONTS
    page.theme = ft.Theme(font_family=FONT_FAMILY, color_scheme_seed=BRAND)
    page.theme_mode = ft.ThemeMode.LIGHT


def write_web_font_manifest(assets_dir: Path) -> Path:
    """Have the web client load the CJK font before it draws its first frame.

    ``page.fonts`` arrive after the first frames; text laid out before then (chips, the
    industry drop-down) kept the widths of missing glyphs and drew cut off or overlapping,
    and Flutter asked for Noto fallbacks that are not served offline. Fonts in the web
    client's ``assets/FontManifest.json`` load during start-up; flet-web takes that file
    from the app's assets when it has one, so this writes flet's own manifest plus ours
    (the path climbs out of ``assets/`` to the app's ``fonts/``: one file, one download).
    """
    from flet_web import get_package_web_dir

    packaged = Path(get_package_web_dir()) / "assets" / "FontManifest.json"
    manifest = [e for e in json.loads(packaged.read_text("utf-8")) if e["family"] != FONT_FAMILY]
    manifest.append(
        {"family": FONT_FAMILY, "fonts": [{"asset": f"../{path}"} for path in FONTS.values()]}
    )
    target = assets_dir / "assets" / "FontManifest.json"
    text = json.dumps(manifest, ensure_ascii=False, indent=1)
    if not target.exists() or target.read_text("utf-8") != text:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, "utf-8")
    return target

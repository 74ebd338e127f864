"""Serving the workbench in the browser: what the Flet web client needs beside the app."""

from __future__ import annotations

import json
from pathlib import Path

from app.views.theme import FONT_FAMILY, FONTS


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

"""The bundled font draws every character the workbench shows: no boxes.

Flutter's Noto fallback fonts are not served offline, so a character the registered face
lacks is drawn as a box. These read the font files the theme registers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from app.demo import generate
from app.i18n import CATALOGUES
from app.views.theme import FONT_FAMILY, FONTS
from app.web_client import write_web_font_manifest

ASSETS = Path(__file__).resolve().parents[2] / "assets"


@pytest.fixture(scope="module")
def covered() -> set[int]:
    font = TTFont(str(ASSETS / FONTS[FONT_FAMILY]))
    try:
        return set(font.getBestCmap())
    finally:
        font.close()


def missing(text: str, covered: set[int]) -> str:
    return "".join(sorted({c for c in text if c.isprintable() and ord(c) not in covered}))


def test_the_theme_registers_only_files_that_ship() -> None:
    for path in FONTS.values():
        assert (ASSETS / path).is_file(), path


def test_every_message_in_both_languages_is_covered(covered: set[int]) -> None:
    for lang, messages in CATALOGUES.items():
        assert missing("".join(messages.values()), covered) == "", lang


def test_every_demo_name_and_address_is_covered(covered: set[int]) -> None:
    data = generate(prospects=3000)
    text = "".join(
        f"{p['company_name']}{p['legal_rep']}{p['address']}{p['industry']}{p['tags']}"
        for p in data.prospect
    )
    text += "".join(f"{o['name']}{o['address']}{o['branch_name']}" for o in data.outlet)
    text += "".join(u["name"] for u in data.user)
    text += "".join(f"{b['name']}{b['product']}" for b in data.whitelist_batch)
    text += "".join(m["note"] for m in data.marketing_log)
    assert missing(text, covered) == ""


def test_every_hanzi_of_gbk_is_covered(covered: set[int]) -> None:
    """Names outside GB2312 (赟, 燊, 翀, 堃, 喆 …) are common among legal representatives."""
    gbk_hanzi = {
        ord(ch)
        for hi in range(0x81, 0xFF)
        for lo in range(0x40, 0xFF)
        if lo != 0x7F
        for ch in _decode_gbk(bytes((hi, lo)))
        if "\u4e00" <= ch <= "\u9fa5"
    }
    assert len(gbk_hanzi) == 20_902
    assert gbk_hanzi <= covered
    assert missing("赟燊翀堃喆玥珺犇淼垚昇旸彧", covered) == ""


def _decode_gbk(pair: bytes) -> str:
    try:
        return pair.decode("gbk")
    except UnicodeDecodeError:
        return ""


def test_the_web_client_loads_the_font_at_start_up(tmp_path: Path) -> None:
    """The web manifest keeps flet's own fonts and points at our font file, once."""
    target = write_web_font_manifest(tmp_path)
    manifest = json.loads(target.read_text("utf-8"))
    families = [entry["family"] for entry in manifest]
    assert "MaterialIcons" in families
    assert families.count(FONT_FAMILY) == 1
    (ours,) = [entry for entry in manifest if entry["family"] == FONT_FAMILY]
    for font in ours["fonts"]:
        # the client asks for assets/<asset>; ``..`` climbs back to the app's assets root
        assert (tmp_path / "assets" / font["asset"]).resolve() == (
            tmp_path / FONTS[FONT_FAMILY]
        ).resolve()
    assert write_web_font_manifest(tmp_path).read_text("utf-8") == target.read_text("utf-8")

"""Build the bundled CJK font subsets in assets/fonts/.

Takes Noto Sans CJK SC (face 2 of Debian's fonts-noto-cjk collection files) and keeps only
the characters the app needs: ASCII, Latin-1, common punctuation, CJK symbols, full-width
forms, all of GB2312 (6,763 hanzi plus its symbols) and a few extra characters seen in
company and person names; the regular face also keeps every CJK Unified Ideograph
(U+4E00-U+9FFF), so rare characters in names render too. Hinting is dropped.

The Noto CJK faces carry the Japanese, Korean and Traditional Chinese (TW/HK) glyph forms
behind the OpenType `locl` feature of the JAN/KOR/ZHT/ZHH language systems. The app is
Simplified Chinese only, so before subsetting every language system is pinned to the ZHS one:
the regional variants (about 5,800 glyphs, ~1.2 MB per weight) are left out, and text is
always drawn with the Simplified Chinese forms whatever locale the renderer shapes with. The
ZHS `locl` (full-width quotes and dashes in Chinese text) is kept. Pass
--keep-regional-forms to skip this step.

The output is deterministic: the same source font and fontTools version give byte-identical
files.

Run from the repository root:

    .venv/bin/python scripts/make_font_subset.py [--keep-regional-forms]

Uses only the standard library and fontTools.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "assets" / "fonts"
NOTO_DIR = Path("/usr/share/fonts/opentype/noto")
# Face index of "Noto Sans CJK SC" inside the NotoSansCJK-*.ttc collections
# (0 JP, 1 KR, 2 SC, 3 TC, 4 HK, then the Mono faces).
SC_FACE = 2

# (source collection, output file, required?, every unified ideograph?)
# The app draws all its text, bold included, from the regular face, so that face carries
# every CJK Unified Ideograph: a customer's name never shows as boxes, and there is no
# fallback to reach (Flutter's Noto fallback is not served offline). The bold face is only
# for the map pages' CSS and keeps the GB2312 set.
WEIGHTS = [
    ("NotoSansCJK-Regular.ttc", "NotoSansSC-Regular-subset.otf", True, True),
    ("NotoSansCJK-Bold.ttc", "NotoSansSC-Bold-subset.otf", False, False),
]
UNIFIED_IDEOGRAPHS = (0x4E00, 0x9FFF)  # the basic block: every hanzi of GBK and GB 18030's BMP

# Characters used in company/person names and units that may lie outside GB2312.
EXTRA_CHARS = "镕堃喆玥琇珺婧祎犇淼焱垚鑫昇晟昊旻炜烜熠䶮·•×÷≤≥→←↑↓✓✔★☆%‰¥￥"

# Inclusive code point ranges.
RANGES = [
    (0x0020, 0x007E),  # ASCII printable
    (0x00A0, 0x00FF),  # Latin-1 Supplement
    (0x2000, 0x206F),  # General Punctuation
    (0x3000, 0x303F),  # CJK Symbols and Punctuation
    (0xFF00, 0xFFEF),  # Halfwidth and Fullwidth Forms
]


def gb2312_chars() -> set[int]:
    """Every character that a valid GB2312 two-byte code decodes to."""
    chars: set[int] = set()
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                text = bytes((hi, lo)).decode("gb2312")
            except UnicodeDecodeError:
                continue
            chars.update(ord(c) for c in text)
    return chars


def build_charset(all_ideographs: bool = False) -> list[int]:
    chars: set[int] = set()
    for first, last in RANGES:
        chars.update(range(first, last + 1))
    chars.update(gb2312_chars())
    chars.update(ord(c) for c in EXTRA_CHARS)
    if all_ideographs:
        chars.update(range(UNIFIED_IDEOGRAPHS[0], UNIFIED_IDEOGRAPHS[1] + 1))
    return sorted(chars)


def make_options() -> subset.Options:
    options = subset.Options()
    options.font_number = SC_FACE
    options.hinting = False  # drop CFF hints
    options.recalc_timestamp = False  # keep head.modified from the source: deterministic
    options.notdef_outline = True
    options.ignore_missing_unicodes = True  # a few range code points are not in the font
    return options


def pin_language_systems(font: TTFont, keep: str = "ZHS ") -> None:
    """Make every language system of GSUB/GPOS behave like `keep` (in place).

    The other language system records stay, so a renderer asking for, say, JAN still finds
    one, but it gets the ZHS features; the lookups only they referenced become unreferenced
    and the subsetter drops them and the glyphs they alone reach.
    """
    for tag in ("GSUB", "GPOS"):
        if tag not in font or not font[tag].table.ScriptList:
            continue
        for script in font[tag].table.ScriptList.ScriptRecord:
            records = script.Script.LangSysRecord
            pinned = next((r.LangSys for r in records if r.LangSysTag == keep), None)
            if pinned is None:
                continue
            for record in records:
                if record.LangSysTag != keep:
                    record.LangSys = copy.deepcopy(pinned)


def subset_one(
    source: Path, target: Path, unicodes: list[int], keep_regional_forms: bool = False
) -> TTFont:
    options = make_options()
    font = subset.load_font(str(source), options)
    if not keep_regional_forms:
        pin_language_systems(font)
    subsetter = subset.Subsetter(options=options)
    subsetter.populate(unicodes=unicodes)
    subsetter.subset(font)
    target.parent.mkdir(parents=True, exist_ok=True)
    subset.save_font(font, str(target), options)
    return font


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--keep-regional-forms",
        action="store_true",
        help="keep the JP/KR/TW/HK glyph variants reached through locl (about +1.2 MB/weight)",
    )
    args = parser.parse_args(argv)
    for source_name, target_name, required, all_ideographs in WEIGHTS:
        unicodes = build_charset(all_ideographs)
        print(f"{target_name}: {len(unicodes)} code points requested")
        source = NOTO_DIR / source_name
        if not source.exists():
            if required:
                hint = "apt-get install fonts-noto-cjk"
                print(f"error: {source} not found ({hint})", file=sys.stderr)
                return 1
            print(f"skip: {source} not found")
            continue
        target = OUT_DIR / target_name
        subset_one(source, target, unicodes, args.keep_regional_forms)
        out = TTFont(str(target))
        cmap = out.getBestCmap()
        missing = [u for u in unicodes if u not in cmap]
        missing_extra = [c for c in EXTRA_CHARS if ord(c) not in cmap]
        print(
            f"{target.relative_to(ROOT)}: {target.stat().st_size:,} bytes, "
            f"{out['maxp'].numGlyphs} glyphs, {len(cmap)} mapped characters "
            f"({len(missing)} requested code points not in the source font)"
        )
        if missing_extra:
            print(f"  extra characters not in the source font: {''.join(missing_extra)}")
        out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The accessibility check's own rules, on small static pages shaped like Flutter's
semantics tree: it fails on a bad control and passes a good one."""

from __future__ import annotations

import pytest

from tests.e2e.a11y import label_problem, problems
from tests.e2e.conftest import E2E_MARKS, PHONE

pytestmark = E2E_MARKS


def node(role: str | None, x: int, y: int, w: int, h: int, inner: str = "", **attrs: str) -> str:
    """A Flutter semantics node at (x, y), w × h px; ``attrs``: its attributes."""
    role_attr = f' role="{role}"' if role else ""
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    style = f"position:absolute;left:{x}px;top:{y}px;width:{w}px;height:{h}px"
    return f'<flt-semantics{role_attr}{extra} style="{style}">{inner}</flt-semantics>'


def tappable(x: int, y: int, w: int, h: int, text: str = "", role: str = "button", **a: str) -> str:
    return node(role, x, y, w, h, text, flt_tappable="", **a)


@pytest.fixture(scope="module")
def page(browser):  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport=PHONE)
    yield page
    page.close()


def check(page, body: str, lang: str = "zh", names: tuple[str, ...] = ()) -> list[str]:  # type: ignore[no-untyped-def]
    page.set_content(f"<html><body style='margin:0'>{body}</body></html>")
    return problems(page, lang, names)


# -- labels -----------------------------------------------------------------------------


def test_a_good_button_passes(page):
    assert check(page, tappable(10, 10, 96, 48, "同步")) == []
    assert check(page, tappable(10, 10, 96, 48, "Sync"), "en") == []


def test_an_icon_button_without_a_label_fails(page):
    [problem] = check(page, tappable(10, 10, 48, 48))
    assert "no label" in problem and "button" in problem


def test_a_tooltip_on_a_wrapper_does_not_name_its_button(page):
    """Flutter's tooltip labels a role-less node around the button: not the button's name."""
    wrapper = node(None, 10, 10, 48, 48, tappable(0, 0, 48, 48), aria_label="返回")
    [problem] = check(page, wrapper)
    assert "no label" in problem


def test_a_tab_labelled_by_aria_label_passes(page):
    assert check(page, tappable(0, 764, 78, 80, role="tab", aria_label="白名单")) == []


def test_flutters_english_tab_words_fail_in_chinese(page):
    [problem] = check(page, tappable(0, 8, 80, 64, "白名单\nTab 1 of 5"))
    assert "Tab 1 of 5" in problem and "locale" in problem


def test_an_english_word_fails_in_chinese(page):
    [problem] = check(page, tappable(0, 8, 80, 48, "3 km"))
    assert "English in the Chinese UI (km)" in problem


def test_chinese_fails_in_english_unless_it_is_the_banks_data(page):
    company = "遵义市汇川区恒惠食品有限公司"
    tile = tappable(0, 100, 390, 90, f"{company}\nUnassigned\n预授信 84.6 万元")
    [problem] = check(page, tile, "en", names=(company,))
    assert "Chinese in the English UI (预授信, 万元)" in problem
    good = tappable(0, 100, 390, 90, f"{company}\nUnassigned\nPre-approved ¥846,000")
    assert check(page, good, "en", names=(company,)) == []
    [problem] = check(page, good, "en")  # without the store's names: a stray Chinese run
    assert "Chinese in the English UI" in problem


def test_the_wrapper_of_a_button_is_left_to_the_button(page):
    """``ft.Semantics(identifier=..., button=True)`` around a button: two nodes, one control."""
    inner = tappable(0, 0, 96, 48, "同步")  # a child's place is relative to its parent
    good = node("button", 10, 10, 96, 48, inner, flt_semantics_identifier="sync")
    assert check(page, good) == []
    bad = node("button", 10, 10, 48, 48, tappable(0, 0, 48, 48), flt_semantics_identifier="back")
    assert len(check(page, bad)) == 1


def test_text_boxes_are_named_by_their_input(page):
    good = node(None, 24, 378, 342, 48, '<input aria-label="员工号">')
    assert check(page, good) == []
    [problem] = check(page, node(None, 24, 378, 342, 48, "<input>"))
    assert problem.startswith("textbox") and "no label" in problem
    [problem] = check(page, node(None, 24, 378, 342, 48, '<input aria-label="Server address">'))
    assert "English in the Chinese UI (Server, address)" in problem


def test_hidden_nodes_are_not_controls(page):
    assert check(page, f'<div aria-hidden="true">{tappable(10, 10, 20, 20)}</div>') == []


@pytest.mark.parametrize(
    "label",
    ["13985012345", "91520300MA6DYBQJ3C", "M0001", "84.6", "纳税信用A级", "English", "2026-12-02"],
)
def test_numbers_ids_grades_and_the_language_switch_pass_in_chinese(label):
    assert label_problem(label, "zh") is None


@pytest.mark.parametrize("label", ["Back", "Show password", "Zoom in", "Leaflet", "km", "OK", "+"])
def test_english_and_bare_symbols_fail_in_chinese(label):
    assert label_problem(label, "zh") is not None


@pytest.mark.parametrize("label", ["返回", "显示密码", "查看", "第 1 个标签，共 5 个", "…"])
def test_chinese_and_bare_symbols_fail_in_english(label):
    assert label_problem(label, "en") is not None


@pytest.mark.parametrize("label", ["Back", "13985012345", "中文", "Tab 1 of 5"])
def test_english_numbers_and_the_language_switch_pass_in_english(label):
    assert label_problem(label, "en") is None


def test_a_name_from_the_banks_data_may_hold_latin_letters_in_chinese():
    assert label_problem("ABC科技有限公司", "zh") is not None
    assert label_problem("ABC科技有限公司", "zh", ["ABC科技有限公司"]) is None


# -- sizes ------------------------------------------------------------------------------


def test_a_small_target_fails(page):
    [problem] = check(page, tappable(10, 10, 87, 31, role="checkbox", aria_label="待跟进"))
    assert "87×31 px" in problem and "under 48×48" in problem
    [problem] = check(page, tappable(4, 110, 40, 40, "返回"))
    assert "40×40 px" in problem


def scroller(x: int, y: int, w: int, h: int, inner: str, axis: str = "y") -> str:
    style = (
        f"position:absolute;left:{x}px;top:{y}px;width:{w}px;height:{h}px;overflow-{axis}:scroll"
    )
    return (
        f'<flt-semantics role="group" style="{style}">'
        f'<flt-semantics-scroll-overflow style="position:absolute;width:1px;height:2000px">'
        f"</flt-semantics-scroll-overflow>{inner}</flt-semantics>"
    )


def test_a_target_scrolled_out_of_view_is_not_measured_but_is_named(page):
    # the card's body: 662 px of view; a 查看 button 1,000 px down
    below = tappable(20, 1000, 82, 32, "查看")
    assert check(page, scroller(0, 102, 390, 662, below)) == []
    [problem] = check(page, scroller(0, 102, 390, 662, tappable(20, 1000, 82, 32, "View")))
    assert "English" in problem


def test_a_target_cut_by_a_scroll_views_edge_is_measured_only_along_it(page):
    # Flutter reports the visible 10 px of a tile at the bottom edge
    cut = tappable(0, 460 - 10, 390, 10, "遵义市汇川区恒惠食品有限公司")
    assert check(page, scroller(0, 100, 390, 460, cut)) == []
    # a chip row scrolling sideways: the first chip touches the left edge, still 31 px tall
    chip = tappable(0, 0, 87, 31, role="checkbox", aria_label="待跟进")
    [problem] = check(page, scroller(16, 338, 358, 31, chip, axis="x"))
    assert "under 48×48" in problem


def test_a_target_inside_a_scroll_view_is_measured(page):
    [problem] = check(page, scroller(0, 102, 390, 662, tappable(20, 300, 82, 32, "查看")))
    assert "82×32 px" in problem


# -- embedded pages (the map) -------------------------------------------------------------

MAP = """<iframe style="position:absolute;left:16px;top:278px;width:358px;height:420px;border:0"
  srcdoc='<body style="margin:0">
    <a href="#" role="button" aria-label="{zoom}" title="{zoom}"
       style="position:absolute;left:12px;top:12px;width:{size}px;height:{size}px">+</a>
    <div class="leaflet-marker-icon" role="button" tabindex="0"
       style="position:absolute;left:100px;top:100px;width:40px;height:40px">4</div>
  </body>'></iframe>"""


def test_the_controls_of_an_embedded_map_are_checked(page):
    [problem] = check(page, MAP.format(zoom="Zoom in", size=30))  # the 40 px marker is exempt
    assert "English in the Chinese UI (Zoom, in); under 48×48 px" in problem
    assert "30×30 px" in problem
    assert check(page, MAP.format(zoom="放大", size=48)) == []

"""The whitelist screen on a phone (390×844) and a desktop (1280×800), in Chromium.

What a marketer notices: the list starts high with the filters folded behind one 筛选
button; the status chips keep the funnel's order; a batch chip looks selected only
when it is; the search follows typing and its ✕ brings the whole list back; a visit
is logged from the list in four taps or fewer; every control is 48 px to tap and says
what it does in Chinese. Sizes come from Flutter's semantics tree (the rectangles of
``flt-semantics`` nodes), colours from screenshots.
"""

from __future__ import annotations

import re
import struct
import time
import zlib

from app.i18n import t
from app.services.funnel import CLOSED, MAIN_LINE, FunnelStatus
from tests.e2e.conftest import (
    DESKTOP,
    E2E_MARKS,
    PHONE,
    screenshot,
    semantic,
    signed_in,
    texts,
    type_into,
    wait_for_text,
)

pytestmark = E2E_MARKS

# the funnel's main line, then the closed statuses: 已拒绝, 无效
FUNNEL_ORDER = [*MAIN_LINE, *(s for s in FunnelStatus if s in CLOSED)]
FUNNEL_ZH = {s.value: t(f"funnel.{s.value}", "zh") for s in FunnelStatus}
TOUCH = 48
TOUCH_MEASURED = TOUCH - 0.5  # a rectangle's sides come back as 47.99998…
INTERACTIVE = {"button", "checkbox", "textbox", "tab", "radio", "switch", "link", "slider"}
CJK = re.compile(r"[\u4e00-\u9fff]")

_NODES_JS = """(rootId) => {
  const root = rootId ? document.querySelector(`[flt-semantics-identifier="${rootId}"]`)
                      : document.body;
  if (!root) return [];
  const own = e => [...e.childNodes]
    .filter(n => n.nodeType === 3 || (n.nodeType === 1 && n.tagName === 'SPAN'))
    .map(n => n.textContent).join('').trim();
  const describe = e => {
    const r = e.getBoundingClientRect();
    const input = e.querySelector(':scope > input, :scope > textarea');
    return {
      role: input ? 'textbox' : (e.getAttribute('role') || ''),
      label: (e.getAttribute('aria-label') || own(e)
              || (input && (input.getAttribute('aria-label') || input.placeholder)) || '').trim(),
      checked: e.getAttribute('aria-checked'),
      tappable: e.hasAttribute('flt-tappable'),
      x: r.x, y: r.y, w: r.width, h: r.height,
    };
  };
  return [...root.querySelectorAll('flt-semantics')].map(e => {
    const id = e.getAttribute('flt-semantics-identifier') || '';
    const self = describe(e);
    // a hook (ft.Semantics(identifier=...)) around a control: report the control
    const inner = id && !self.role && !self.label ? e.querySelector('flt-semantics') : null;
    const inList = !!e.closest('[flt-semantics-identifier="whitelist-list"]');
    return {id, ...self, ...(inner ? describe(inner) : {}), hook: !!inner, own: self, inList};
  });
}"""


# -- helpers -----------------------------------------------------------------------------


def nodes(page, root: str | None = None) -> list[dict]:  # type: ignore[no-untyped-def]
    """The semantics nodes (under the node identified ``root``), with their rectangles."""
    return page.wait_for_function(_NODES_JS, arg=root, timeout=15_000).json_value()


def node(page, identifier: str) -> dict:  # type: ignore[no-untyped-def]
    found = [n for n in nodes(page) if n["id"] == identifier]
    assert found, f"no {identifier!r}; the screen shows: {texts(page)[:30]}"
    return found[0]


def open_whitelist(browser, url: str, viewport: dict):  # type: ignore[no-untyped-def]
    page = signed_in(browser, url, viewport)
    wait_for_text(page, r"共 [1-9]\d* 户")
    page.wait_for_timeout(800)
    return page


def tiles(page) -> list[dict]:  # type: ignore[no-untyped-def]
    return sorted((n for n in nodes(page) if n["id"].startswith("prospect-")), key=lambda n: n["y"])


def nav_top(page) -> float:  # type: ignore[no-untyped-def]
    """Where the phone's navigation bar starts (the list ends there)."""
    bars = [n for n in nodes(page) if n["role"] == "tablist"]
    return bars[0]["y"] if bars else page.viewport_size["height"]


def unfold_filters(page) -> None:  # type: ignore[no-untyped-def]
    """Show the filters: tap 筛选 (where there is one) and wait for the status chips."""
    toggle = page.locator('[flt-semantics-identifier="filters"]')
    if toggle.count():
        toggle.first.click()
    deadline = time.monotonic() + 10
    while not status_chips(page):
        assert time.monotonic() < deadline, f"no status chips: {texts(page)[:30]}"
        page.wait_for_timeout(250)
    page.wait_for_timeout(600)


def status_chips(page) -> list[dict]:  # type: ignore[no-untyped-def]
    """The status chips (label ``待分配 31``), in reading order."""
    names = {zh: s for s, zh in FUNNEL_ZH.items()}
    found = []
    for n in nodes(page):
        m = re.fullmatch(r"(\S+) (\d+)", n["label"])
        if n["role"] == "checkbox" and not n["hook"] and m and m.group(1) in names:
            found.append({**n, "status": names[m.group(1)], "count": int(m.group(2))})
    return sorted(found, key=lambda n: (round(n["y"]), n["x"]))


def summary_total(page) -> int:  # type: ignore[no-untyped-def]
    for text in texts(page):
        m = re.search(r"共 (\d+) 户", text)
        if m:
            return int(m.group(1))
    raise AssertionError(f"no 共 N 户: {texts(page)[:30]}")


def wait_total(page, check, timeout: float = 15) -> int:  # type: ignore[no-untyped-def]
    """Wait until the summary's count satisfies ``check``; return it."""
    deadline = time.monotonic() + timeout
    total = summary_total(page)
    while not check(total):
        if time.monotonic() > deadline:
            raise AssertionError(f"the list still counts {total} prospects")
        page.wait_for_timeout(200)
        total = summary_total(page)
    return total


def scroll_to_bottom(page) -> None:  # type: ignore[no-untyped-def]
    # over the list: from 800 px wide a card pane sits beside it
    box = semantic(page, "whitelist-list").bounding_box()
    if box is None:
        box = {"x": 0, "y": 0, "width": page.viewport_size["width"], "height": 0}
        box["height"] = page.viewport_size["height"]
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(12):
        page.mouse.wheel(0, 1500)
        page.wait_for_timeout(150)
    page.mouse.move(1, 1)  # no row left hovered (highlighted) in a screenshot
    page.wait_for_timeout(1000)


def background(page, rect: dict) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """The colour just inside a control's top edge (a chip's fill, clear of its text)."""
    clip = {"x": rect["x"] + rect["w"] / 2 - 3, "y": rect["y"] + 5, "width": 6, "height": 2}
    pixels = _png_pixels(page.screenshot(clip=clip))
    return tuple(sorted(pixels, key=pixels.count)[-1])  # type: ignore[return-value]


def _png_pixels(png: bytes) -> list[tuple[int, ...]]:
    """The RGB pixels of an 8-bit RGB(A) PNG (what Chromium's screenshots are)."""
    pos, chunks, header = 8, b"", b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, body = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks += body
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6), (depth, colour)
    bpp = 3 if colour == 2 else 4
    raw, stride, prev, out = zlib.decompress(chunks), width * bpp, bytearray(width * bpp), []
    for row in range(height):
        kind, line = (
            raw[row * (stride + 1)],
            bytearray(raw[row * (stride + 1) + 1 : (row + 1) * (stride + 1)]),
        )
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out += [tuple(line[i : i + 3]) for i in range(0, stride, bpp)]
        prev = line
    return out


def close(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 6) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def small_or_unlabelled(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Every interactive control of the whitelist screen on screen that is under 48×48 px
    or not labelled in Chinese (a row cut by the list's edge is measured once scrolled
    wholly into view)."""
    area = node(page, "whitelist-list")["own"]  # the list's window, not its scrolled content
    top, bottom = area["y"] + 0.5, area["y"] + area["h"] - 0.5
    problems = []
    for n in nodes(page, "whitelist-screen"):
        if n["hook"] or (n["role"] not in INTERACTIVE and not n["tappable"]):
            continue
        if n["h"] == 0 or (n["inList"] and (n["y"] <= top or n["y"] + n["h"] >= bottom)):
            continue  # kept above or below the list's window, or cut by its edge
        what = f"{n['role'] or 'tappable'} {n['id'] or n['label'][:20]!r}"
        if n["w"] < TOUCH_MEASURED or n["h"] < TOUCH_MEASURED:
            problems.append(f"{what} is {n['w']:.0f}×{n['h']:.0f} px")
        if not CJK.search(n["label"]) or re.search(r"[A-Za-z]{2,}", n["label"]):
            problems.append(f"{what} is labelled {n['label']!r}")
    return problems


# -- tests -------------------------------------------------------------------------------


def test_phone_list_starts_high_with_the_filters_folded(workbench, browser):
    """Today the controls take the top 45 % of a phone and four prospects show."""
    page = open_whitelist(browser, workbench.url, PHONE)
    try:
        rows, bottom = tiles(page), nav_top(page)
        assert rows, texts(page)[:30]
        top = rows[0]["y"]
        whole = [r for r in rows if r["y"] >= top and r["y"] + r["h"] <= bottom + 0.5]
        screenshot(page, "whitelist-folded-phone")
        assert top <= 230, f"the list starts at y={top:.0f}"
        assert len(whole) >= 7, f"{len(whole)} whole rows between y={top:.0f} and {bottom:.0f}"
        assert not status_chips(page), "the status chips show while the filters are folded"
        assert node(page, "filters")["label"] == "筛选"  # no filter on: no count

        unfold_filters(page)
        assert [c["status"] for c in status_chips(page)], "unfolded, the status chips show"
        screenshot(page, "whitelist-filters-phone")
        scroll_to_bottom(page)
        wait_for_text(page, r"加载更多|已显示")
        screenshot(page, "whitelist-bottom-phone")
    finally:
        page.close()


def test_chips_keep_the_funnel_order_and_look_selected_only_when_selected(workbench, browser):
    page = open_whitelist(browser, workbench.url, PHONE)
    try:
        unfold_filters(page)
        chips = status_chips(page)
        shown = [c["status"] for c in chips]
        assert len(shown) >= 4, shown
        assert shown == [s for s in FUNNEL_ORDER if s in shown], f"not in funnel order: {shown}"

        # a status picked: ticked, counted on the 筛选 button, nothing moves
        picked = chips[1]
        semantic(page, f"status-{picked['status']}").click()
        wait_total(page, lambda n: n == picked["count"])
        wait_for_text(page, r"^筛选 · 1$")
        after = status_chips(page)
        assert [c["status"] for c in after] == shown
        assert [c["checked"] for c in after].count("true") == 1
        assert next(c for c in after if c["status"] == picked["status"])["checked"] == "true"

        # the batch ending soonest is marked urgent, yet unselected it looks like any other
        batches = sorted(
            (
                n
                for n in nodes(page)
                if n["role"] == "checkbox" and not n["hook"] and "剩" in n["label"]
            ),
            key=lambda n: int(re.search(r"剩 (\d+) 天", n["label"]).group(1)),  # type: ignore[union-attr]
        )
        assert len(batches) >= 2, [n["label"] for n in batches]
        urgent, calm = batches[0], batches[-1]
        assert urgent["checked"] == "false"
        unselected = background(page, calm)
        assert close(background(page, urgent), unselected), (
            f"{urgent['label']!r} is filled {background(page, urgent)} while not selected;"
            f" an unselected chip is {unselected}"
        )
        selected = background(page, next(c for c in after if c["checked"] == "true"))
        assert not close(selected, unselected), "a selected chip looks like an unselected one"
        screenshot(page, "whitelist-status-picked-phone")

        semantic(page, "filters-clear").click()  # every filter off
        wait_for_text(page, r"^筛选$")
        assert all(c["checked"] == "false" for c in status_chips(page))
    finally:
        page.close()


def test_search_follows_typing_and_the_clear_button_restores(workbench, browser):
    page = open_whitelist(browser, workbench.url, PHONE)
    try:
        everyone = summary_total(page)
        target = tiles(page)[-1]["label"].split("\n")[0]  # a company's name
        type_into(page, "搜索客户", target)  # no Enter
        found = wait_total(page, lambda n: n < everyone)
        assert found >= 1
        wait_for_text(page, re.escape(target))
        clear = node(page, "search-clear")
        assert clear["w"] >= TOUCH_MEASURED and clear["h"] >= TOUCH_MEASURED, clear
        assert clear["label"] == "清除搜索", clear
        screenshot(page, "whitelist-searched-phone")

        semantic(page, "search-clear").click()
        wait_total(page, lambda n: n == everyone)
        box = page.get_by_role("textbox", name="搜索客户").first
        assert box.input_value() == ""
        assert not [n for n in nodes(page) if n["id"] == "search-clear"]  # nothing to clear

        # each pause in typing searches again; Enter still searches at once
        type_into(page, "搜索客户", target + "某某")
        wait_total(page, lambda n: n == 0)
        wait_for_text(page, "没有符合搜索或筛选条件的客户")
        type_into(page, "搜索客户", target)
        wait_total(page, lambda n: n == found)
        page.keyboard.press("Enter")
        page.wait_for_timeout(500)
        wait_total(page, lambda n: n == found)
    finally:
        page.close()


def test_touch_targets_and_chinese_labels_on_a_phone(workbench, browser):
    page = open_whitelist(browser, workbench.url, PHONE)
    try:
        type_into(page, "搜索客户", "汇川")  # the clear button shows
        wait_total(page, lambda n: n > 0)
        unfold_filters(page)
        chips = [n for n in nodes(page) if n["role"] == "checkbox" and not n["hook"]]
        assert len(chips) >= 7, [c["label"] for c in chips]  # where from, status, batch
        low = [f"{c['label']} {c['h']:.0f} px" for c in chips if c["h"] < TOUCH_MEASURED]
        assert not low, f"chips under {TOUCH} px tall: {low}"
        problems = small_or_unlabelled(page)
        assert node(page, "sort")["label"] == "排序：距离最近"  # the drop-downs say what they are
        assert node(page, "industry")["label"] == "行业：全部"
        assert node(page, "search-clear")["label"] == "清除搜索"
        scroll_to_bottom(page)  # the rows and 加载更多
        problems += small_or_unlabelled(page)
        assert not problems, "\n".join(dict.fromkeys(problems))
    finally:
        page.close()


def test_a_visit_is_logged_from_the_list_in_four_taps(workbench, browser):
    """Count every tap from the list until the log shows in the timeline (typing the
    note, with the tap that focuses its box, is not a tap of the flow)."""
    page = open_whitelist(browser, workbench.url, PHONE)
    taps: list[str] = []

    def tap(identifier: str) -> None:
        taps.append(identifier)
        semantic(page, identifier).click()

    try:
        row = tiles(page)[0]
        pid = row["id"].removeprefix("prospect-")
        company = row["label"].split("\n")[0]
        tap(f"log-{pid}")
        wait_for_text(page, "营销结果")
        wait_for_text(page, re.escape(company))
        outcome = page.locator('[flt-semantics-identifier="outcome-interested"] [role="checkbox"]')
        if outcome.first.get_attribute("aria-checked") != "true":
            tap("outcome-interested")
        note = f"列表直达日志 {int(time.time())}"
        type_into(page, "备注", note)
        # 保存 is on the screen as the form opens: no swipe before the last tap
        box = semantic(page, "save-log").bounding_box()
        bar = page.get_by_role("tab").first.bounding_box()
        assert box and bar and 0 <= box["y"] and box["y"] + box["height"] <= bar["y"], (box, bar)
        tap("save-log")
        wait_for_text(page, "营销时间线")
        wait_for_text(page, re.escape(note))
        # the channel is the one this marketer used last (whatever an earlier test chose)
        wait_for_text(page, "(上门拜访|电话|微信|到店) · 有意向")
        screenshot(page, "whitelist-quick-log-saved-phone")
        assert len(taps) <= 4, f"{len(taps)} taps: {taps}"
    finally:
        page.close()


def test_desktop_keeps_the_filters_open(workbench, browser):
    page = open_whitelist(browser, workbench.url, DESKTOP)
    try:
        semantic(page, "filter-panel").wait_for(timeout=10_000)
        shown = [c["status"] for c in status_chips(page)]
        assert shown == [s for s in FUNNEL_ORDER if s in shown] and len(shown) >= 4
        assert tiles(page), "the list shows beside the open filters"
        page.wait_for_timeout(500)
        screenshot(page, "whitelist-filters-desktop")
        semantic(page, "filters").click()  # folded on a desktop too, when asked
        page.wait_for_timeout(800)
        assert not status_chips(page)
        screenshot(page, "whitelist-folded-desktop")
        scroll_to_bottom(page)
        wait_for_text(page, r"加载更多|已显示")
        screenshot(page, "whitelist-bottom-desktop")
    finally:
        page.close()

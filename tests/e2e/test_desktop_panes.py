"""The whitelist and its card side by side on a desktop and a tablet either way up, the
phone's one column kept, and the outlet manager's table with a bulk assignment (Chromium).

At 1280×800 the outlet manager G0001 sees the list and a card beside it, switches to
表格, ticks three rows and assigns them to a marketer: the rows show the new marketer
and, after a sync, the central store holds the assignment (a marketer's device pulling
them is tests/integration/test_bulk_assign.py). At 1180×820 and 820×1180 the marketer
M0001 opens a card beside the list and logs a call from it. Every size is photographed
at its top and scrolled to its bottom (test-artifacts/).
"""

from __future__ import annotations

import re
import time

from sqlalchemy import text

from app.i18n import t
from tests.e2e.conftest import (
    DESKTOP,
    E2E_MARKS,
    PHONE,
    nav,
    open_app,
    screenshot,
    semantic,
    signed_in,
    tap_when_enabled,
    texts,
    wait_for_text,
    wait_sync_idle,
)
from tests.e2e.test_whitelist_screen import background

pytestmark = E2E_MARKS

TABLET_LANDSCAPE = {"width": 1180, "height": 820}
TABLET_PORTRAIT = {"width": 820, "height": 1180}

_BOXES_JS = """(prefix) => [...document.querySelectorAll('flt-semantics')]
  .filter(e => (e.getAttribute('flt-semantics-identifier') || '').startsWith(prefix))
  .map(e => { const r = e.getBoundingClientRect();
              return {id: e.getAttribute('flt-semantics-identifier'), x: r.x, y: r.y,
                      w: r.width, h: r.height,
                      selected: e.getAttribute('aria-selected') === 'true'
                                || !!e.querySelector('[aria-selected="true"]'),
                      text: (e.textContent || '').trim()}; })
  .filter(b => b.w > 0 && b.h > 0)"""


def boxes(page, prefix: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return page.wait_for_function(_BOXES_JS, arg=prefix, timeout=15_000).json_value()


def wait_for(page, prefix: str, timeout: float = 30) -> list[dict]:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not (found := boxes(page, prefix)):
        ids = page.evaluate(
            "() => [...document.querySelectorAll('[flt-semantics-identifier]')]"
            ".map(e => e.getAttribute('flt-semantics-identifier'))"
        )
        assert time.monotonic() < deadline, f"no {prefix!r}: {ids} {texts(page)[-30:]}"
        page.wait_for_timeout(250)
    return found


def scroll_at(page, x: float, dy: int) -> None:  # type: ignore[no-untyped-def]
    page.mouse.move(x, page.viewport_size["height"] * 0.6)
    page.mouse.wheel(0, dy)
    page.wait_for_timeout(900)


def shots(page, name: str, xs: list[float]) -> None:  # type: ignore[no-untyped-def]
    """The screen at its top, then each pane (at ``xs``) scrolled to its bottom."""
    page.wait_for_timeout(800)
    screenshot(page, f"{name}-top")
    for x in xs:
        scroll_at(page, x, 20_000)
    screenshot(page, f"{name}-bottom")
    for x in xs:
        scroll_at(page, x, -20_000)


def assert_side_by_side(page, opened: str) -> dict:  # type: ignore[no-untyped-def]
    """The rows on the left, about 40 % of the width; the card's buttons on the right;
    the open one's row highlighted; no back button in the card. The card's first button."""
    rows = wait_for(page, "prospect-")
    card = wait_for(page, "show-map")[0]
    width = page.viewport_size["width"]
    right = max(r["x"] + r["w"] for r in rows)
    assert card["x"] >= right, (rows[:2], card)
    assert 0.3 * width <= right - rows[0]["x"] <= 0.5 * width, rows[0]
    # the open one's row is tinted: its fill is not the other rows' usual one
    height = page.viewport_size["height"]
    shown = [r for r in rows if 0 <= r["y"] and r["y"] + 8 < height]
    fills = {r["id"]: background(page, r) for r in shown}
    others = [f for i, f in fills.items() if i != opened]
    usual = max(set(others), key=others.count)
    assert fills[opened] != usual, f"the open prospect's row is not highlighted: {fills}"
    assert not any(s == t("common.back", "zh") for s in texts(page))
    return {"x": right, "w": width - right}


def test_the_manager_assigns_three_rows_from_the_table(workbench_manager, central, browser):
    page = open_app(browser, workbench_manager.url, DESKTOP)
    try:
        wait_for_text(page, r"网点白名单 · \S+")
        wait_sync_idle(page)
        wait_for_text(page, re.escape(t("panes.nothing_open", "zh")))  # nothing open yet
        rows = wait_for(page, "prospect-")
        shots(page, "panes-manager-desktop-empty", [rows[0]["x"] + 100])

        # a row's card opens beside the list
        semantic(page, rows[0]["id"]).click()
        wait_for_text(page, re.escape(t("card.status", "zh")))
        page.wait_for_timeout(800)
        pane = assert_side_by_side(page, rows[0]["id"])
        shots(page, "panes-manager-desktop", [rows[0]["x"] + 100, pane["x"] + pane["w"] / 2])

        # performance opens on the outlet for a manager
        nav(page, "业绩")
        wait_for_text(page, re.escape(t("perf.title", "zh")))
        page.wait_for_timeout(1500)
        # the outlet's figures, with each marketer's row (the outlet's alone has them)
        wait_for_text(page, re.escape(t("perf.marketers", "zh")), timeout=30)
        screenshot(page, "performance-manager-desktop")
        nav(page, "白名单")
        wait_for_text(page, r"网点白名单 · \S+")

        # 表格: sorted columns, a box per row
        page.get_by_text(t("whitelist.view.table", "zh"), exact=True).first.click()
        wait_for_text(page, re.escape(t("table.col.next_follow_up", "zh")))
        page.wait_for_timeout(1000)
        screenshot(page, "table-manager-desktop-top")
        semantic(page, "filters").click()  # folded: the table's own boxes remain
        page.wait_for_timeout(800)
        table = page.locator('[flt-semantics-identifier="whitelist-table"]')
        boxes_ = (table if table.count() else page).get_by_role("checkbox")
        assert boxes_.count() >= 4, texts(page)[:40]
        with central.engine.connect() as conn:
            marketers = dict(
                conn.execute(
                    text(
                        'SELECT u.name, count(p.id) FROM "user" u LEFT JOIN prospect p'
                        " ON p.assignee_id = u.id WHERE u.role = 'marketer' GROUP BY u.name"
                    )
                ).all()
            )
        # tick rows until three are: the bar that appears moves the rows down, so each
        # tap goes to the first unticked row's box as it is now (the first: the page's)
        for _ in range(12):
            if any(x == t("bulk.selected", "zh", count=3) for x in texts(page)):
                break
            # the topmost unticked row box on screen (the tree's order is not the screen's)
            unticked = [
                b
                for i in range(boxes_.count())
                if boxes_.nth(i).get_attribute("aria-checked") == "false"
                and (b := boxes_.nth(i).bounding_box()) is not None
                and 0 < b["y"] < DESKTOP["height"] - b["height"]
            ]
            if not unticked:  # the tree still places them where the scroll left them
                scroll_at(page, 700, -100)
                page.wait_for_timeout(800)
                continue
            heading = min(b["y"] for b in unticked)  # the page's own box, above the rows
            box = min((b for b in unticked if b["y"] > heading), key=lambda b: b["y"])
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.wait_for_timeout(1200)
        wait_for_text(page, re.escape(t("bulk.selected", "zh", count=3)))
        screenshot(page, "table-selected-desktop")

        semantic(page, "bulk-assign").click()
        wait_for_text(page, re.escape(t("bulk.assign_title", "zh", count=3)))
        choices = wait_for(page, "bulk-to-")
        name = choices[-1]["text"] or ""
        semantic(page, choices[-1]["id"]).click()
        wait_for_text(page, re.escape(f"确认分配 3 个给 {name}"))
        page.wait_for_timeout(500)
        screenshot(page, "table-bulk-dialog-desktop")
        tap_when_enabled(page, "bulk-confirm")
        wait_for_text(page, re.escape(f"已分配 3 个给 {name}"))
        page.wait_for_timeout(1000)
        shown = [b["text"] for b in boxes(page, "assignee-of-")]
        assert shown.count(name) >= 3, shown
        screenshot(page, "table-assigned-desktop")
        scroll_at(page, 700, 20_000)  # the pager under the page's 50 rows
        wait_for_text(page, r"第 1/\d+ 页 · 第 1-50 个，共 \d+ 个")
        screenshot(page, "table-manager-desktop-bottom")

        # the store holds them once the device has synced
        semantic(page, "sync").click()
        page.wait_for_timeout(500)
        wait_sync_idle(page)
        deadline = time.monotonic() + 30
        while True:
            with central.engine.connect() as conn:
                now = conn.execute(
                    text(
                        'SELECT count(p.id) FROM "user" u JOIN prospect p'
                        " ON p.assignee_id = u.id WHERE u.name = :n"
                    ),
                    {"n": name},
                ).scalar_one()
            if now >= marketers.get(name, 0) + 1:
                break
            assert time.monotonic() < deadline, f"{name}: {now} on the store"
            page.wait_for_timeout(500)
        # those ticked that were already with that marketer count too: at least one moved
        assert now <= marketers.get(name, 0) + 3
    finally:
        page.close()


def _a_card_beside_the_list(page, name: str) -> None:  # type: ignore[no-untyped-def]
    wait_for_text(page, "我的白名单")
    wait_sync_idle(page)
    wait_for_text(page, re.escape(t("panes.nothing_open", "zh")))
    rows = wait_for(page, "prospect-")
    semantic(page, rows[1]["id"]).click()
    wait_for_text(page, re.escape(t("card.status", "zh")))
    page.wait_for_timeout(800)
    pane = assert_side_by_side(page, rows[1]["id"])
    shots(page, name, [rows[0]["x"] + 100, pane["x"] + pane["w"] / 2])


def test_a_tablet_in_landscape_opens_the_card_beside_the_list_and_logs_from_it(workbench, browser):
    page = open_app(browser, workbench.url, TABLET_LANDSCAPE, permissions=[])
    try:
        _a_card_beside_the_list(page, "panes-marketer-tablet-landscape")
        # 写日志 from the card in the pane: the form opens in the pane, the list stays
        tap_when_enabled(page, "write-log")
        wait_for_text(page, "营销结果")
        assert boxes(page, "prospect-"), "the list left the screen"
        page.get_by_role("button", name="电话", exact=True).first.click()
        semantic(page, "outcome-no_answer").click()
        page.wait_for_timeout(800)
        screenshot(page, "panes-log-tablet-landscape")
        tap_when_enabled(page, "save-log")
        wait_for_text(page, r"电话 · 未接通")
        assert boxes(page, "prospect-")
    finally:
        page.context.close()


def test_a_tablet_upright_opens_the_card_beside_the_list(workbench, browser):
    page = open_app(browser, workbench.url, TABLET_PORTRAIT)
    try:
        _a_card_beside_the_list(page, "panes-marketer-tablet-portrait")
    finally:
        page.close()


def test_a_phone_keeps_one_column(workbench, browser):
    page = signed_in(browser, workbench.url, PHONE)
    try:
        assert not any(t("panes.nothing_open", "zh") in s for s in texts(page))
        rows = wait_for(page, "prospect-")
        semantic(page, rows[0]["id"]).click()
        wait_for_text(page, re.escape(t("card.status", "zh")))
        page.wait_for_timeout(800)
        assert not boxes(page, "prospect-"), "the list is still beside the card on a phone"
        assert any(s == t("common.back", "zh") for s in texts(page))
        screenshot(page, "panes-phone-card")
    finally:
        page.close()

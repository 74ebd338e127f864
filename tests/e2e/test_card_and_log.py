"""The customer card and the log form in a real Chromium, against a real central store.

A closing status (已拒绝 / 无效) asks why and confirms; the status buttons keep their
places when one is tapped; every control on the card is at least 48 px tall; a visit
logged without a position fix says so, offers to locate again and records no position;
the form starts with the last log's channel and a follow-up three days ahead.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

from sqlalchemy import text

from app.services.clock import beijing_today
from tests.e2e.conftest import (
    DESKTOP,
    E2E_MARKS,
    PHONE,
    enable_semantics,
    screenshot,
    semantic,
    signed_in,
    store_rows,
    tap_when_enabled,
    texts,
    wait_for_text,
    wait_sync_idle,
    wait_until_gone,
)

pytestmark = E2E_MARKS

TOUCH = 48  # px

# Every control a finger can tap, with its identifier, label and box; the shell's own
# (navigation, sync bar) and the notice bar are another screen's business. A control cut
# by the edge of its scrolling area reads shorter than it is: it is left out (it is
# measured whole at another scroll position).
_CONTROLS_JS = """(skip) => [...document.querySelectorAll('flt-semantics')]
    .filter(e => ['button', 'checkbox', 'radio', 'textbox', 'link', 'switch', 'slider']
                   .includes(e.getAttribute('role'))
                 || e.querySelector(':scope > input, :scope > textarea'))
    .filter(e => !e.closest(['notice', 'sync', 'sync-status', ...skip]
                            .map(id => `[flt-semantics-identifier="${id}"]`).join(',')))
    .map(e => {
        const b = e.getBoundingClientRect();
        let area = {top: 0, bottom: window.innerHeight};
        for (let a = e.parentElement; a; a = a.parentElement) {
            if (getComputedStyle(a).overflowY === 'scroll') {
                area = a.getBoundingClientRect();
                break;
            }
        }
        return {id: e.getAttribute('flt-semantics-identifier') || '',
                label: (e.getAttribute('aria-label') || e.textContent || '').trim(),
                x: b.x, y: b.y, width: b.width, height: b.height,
                cut: b.top <= area.top + 0.5 || b.bottom >= area.bottom - 0.5}; })
    .filter(c => c.width > 0 && c.height > 0 && !c.cut
                 && c.y < window.innerHeight && c.y + c.height > 0)"""


def controls(page, skip: tuple[str, ...] = ()) -> list[dict]:  # type: ignore[no-untyped-def]
    """The controls on screen, but those inside the identifiers in ``skip``."""
    return page.evaluate(_CONTROLS_JS, list(skip))


def assert_tall_enough(page, where: str, skip: tuple[str, ...] = ()) -> int:  # type: ignore[no-untyped-def]
    """Every control on screen is at least 48 px tall; how many were measured. ``skip``:
    identifiers of controls another screen's code owns (and the nodes inside them)."""
    found = controls(page, skip)
    short = [
        f"{c['id'] or c['label']!r} {c['height']:.0f} px" for c in found if c["height"] < TOUCH
    ]
    assert not short, f"{where}: under {TOUCH} px tall: {short}"
    return len(found)


def boxes(page, prefix: str) -> dict[str, tuple[float, float, float, float]]:  # type: ignore[no-untyped-def]
    """Where each control whose identifier starts with ``prefix`` sits on screen."""
    return {
        c["id"]: (c["x"], c["y"], c["width"], c["height"])
        for c in controls(page)
        if c["id"].startswith(prefix)
    }


def checked(page, label: str) -> bool:  # type: ignore[no-untyped-def]
    """Whether the chip or segment labelled ``label`` shows as chosen."""
    return bool(
        page.evaluate(
            """label => [...document.querySelectorAll('flt-semantics')].some(e =>
                 (e.getAttribute('aria-label') || e.textContent || '').trim() === label
                 && (e.getAttribute('aria-checked') === 'true'
                     || e.getAttribute('aria-selected') === 'true'
                     || e.getAttribute('aria-current') === 'true'))""",
            label,
        )
    )


def scroll(page, dy: int) -> None:  # type: ignore[no-untyped-def]
    size = page.viewport_size
    page.mouse.move(size["width"] / 2, size["height"] / 2)
    page.mouse.wheel(0, dy)
    page.wait_for_timeout(800)


def mine(central, count: int, offset: int, status: str = "assigned") -> list[dict]:  # type: ignore[no-untyped-def]
    """Prospects the demo marketer holds at ``status``, low lines first (the other
    end-to-end tests work the highest); each test here takes its own."""
    with central.engine.connect() as conn:
        rows = conn.execute(
            text(
                'SELECT p.id, p.company_name FROM prospect p JOIN "user" u'
                " ON u.id = p.assignee_id WHERE u.employee_no = 'M0001'"
                " AND p.status = :s ORDER BY p.pre_approved_line, p.id"
                " LIMIT :n OFFSET :o"
            ),
            {"n": count, "o": offset, "s": status},
        ).mappings()
        return [dict(r) for r in rows]


def open_card(page, url: str, prospect_id: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{url}/prospect/{prospect_id}")
    enable_semantics(page, timeout=60_000)
    wait_for_text(page, "营销状态")
    page.wait_for_timeout(800)


def test_closing_asks_why_and_confirms_and_the_reason_reaches_the_timeline(
    workbench, central, browser
):
    [target] = mine(central, 1, offset=1)
    page = signed_in(browser, workbench.url, PHONE)
    try:
        open_card(page, workbench.url, target["id"])
        measured = assert_tall_enough(page, "card (top)")
        screenshot(page, "card-status-phone")
        scroll(page, 4000)
        measured += assert_tall_enough(page, "card (bottom)")
        assert measured >= 12
        screenshot(page, "card-bottom-phone")
        scroll(page, -4000)

        # a tap opens the confirmation: nothing changes yet
        tap_when_enabled(page, "move-declined")
        wait_for_text(page, "确认将客户标记为“已拒绝”？")
        page.wait_for_timeout(600)
        assert_tall_enough(page, "closing dialog")
        screenshot(page, "close-dialog-phone")

        # 确认 without a reason is refused in words; 取消 saves nothing
        tap_when_enabled(page, "close-confirm")
        wait_for_text(page, "请选择结束营销的原因")
        tap_when_enabled(page, "close-cancel")
        wait_until_gone(page, "确认将客户标记为", timeout=30)
        assert not any("已分配 → 已拒绝" in s for s in texts(page))
        assert not any(re.search(r"待上传 \d+ 条", s) for s in texts(page))

        # "other" needs words; with them, the move is saved and shows with its reason
        tap_when_enabled(page, "move-declined")
        wait_for_text(page, "确认将客户标记为“已拒绝”？")
        semantic(page, "close-reason-other").click()
        tap_when_enabled(page, "close-confirm")
        wait_for_text(page, "原因为“其他”时，请填写说明")
        semantic(page, "close-reason-not_interested").click()
        page.wait_for_timeout(300)
        screenshot(page, "close-dialog-chosen-phone")
        tap_when_enabled(page, "close-confirm")
        wait_until_gone(page, "确认将客户标记为", timeout=30)
        wait_for_text(page, "已分配 → 已拒绝")
        wait_for_text(page, "原因：客户无融资需求")
        wait_for_text(page, "状态已更新为 已拒绝")  # the status in words, not its key
        scroll(page, 4000)
        screenshot(page, "card-closed-phone")

        # uploaded: the store holds the move with its reason
        wait_sync_idle(page)
        semantic(page, "sync").click()
        wait_until_gone(page, r"待上传 \d+ 条")
        wait_sync_idle(page)
        assert store_rows(
            central,
            "SELECT to_status, applied, close_reason FROM funnel_event WHERE prospect_id = :p"
            " AND to_status = 'declined'",
            p=target["id"],
        ) == [("declined", True, "not_interested")]
    finally:
        page.close()


def test_the_status_buttons_stay_where_they_are_when_one_is_tapped(workbench, central, browser):
    [target] = mine(central, 1, offset=2)
    with central.engine.connect() as conn:
        pooled = conn.execute(
            text(
                'SELECT p.id FROM prospect p JOIN "user" u ON u.outlet_id = p.outlet_id'
                " WHERE u.employee_no = 'M0001' AND p.assignee_id IS NULL"
                " ORDER BY p.pre_approved_line, p.id LIMIT 1"
            )
        ).scalar_one()
    page = signed_in(browser, workbench.url, PHONE)
    try:
        # 领取 comes last in its row: once taken (and gone) nothing slides into its place
        open_card(page, workbench.url, pooled)
        row = ("call", "write-log", "show-map")
        before = {k: v for k, v in boxes(page, "").items() if k in row}
        assert set(before) == set(row)
        tap_when_enabled(page, "claim")
        wait_for_text(page, "已领取，将在下次同步时上传")
        page.wait_for_timeout(800)
        assert {k: v for k, v in boxes(page, "").items() if k in row} == before
        assert semantic(page, "claim").count() == 0

        open_card(page, workbench.url, target["id"])
        before = boxes(page, "move-")
        assert {"move-contacted", "move-disbursed", "move-declined", "move-invalid"} <= set(before)
        tap_when_enabled(page, "move-contacted")
        wait_for_text(page, "已分配 → 已触达")
        page.wait_for_timeout(800)
        after = boxes(page, "move-")
        assert after == before  # the next button under the finger is the one that was there
        screenshot(page, "card-after-step-phone")
        # the step taken is no longer a button to tap twice
        assert semantic(page, "move-contacted").evaluate(
            "n => n.matches('[aria-disabled=\"true\"]')"
            " || !!n.querySelector('[aria-disabled=\"true\"]')"
        )
    finally:
        page.close()


def test_a_visit_without_a_position_fix_records_none_and_offers_to_locate_again(
    workbench, central, browser
):
    """A browser that gives no position: the form says so and logs no position (never the
    outlet's); 重新定位 finds the fix once the position is allowed."""
    first, second = mine(central, 2, offset=3)
    page = signed_in(browser, workbench.url, PHONE, permissions=[])
    try:
        open_card(page, workbench.url, first["id"])
        tap_when_enabled(page, "write-log")
        wait_for_text(page, "营销结果")
        wait_for_text(page, "未获取到位置", timeout=30)
        retry = semantic(page, "locate-again")
        retry.wait_for()
        page.mouse.move(PHONE["width"] / 2, 400)  # the form's end, above the fixed 保存
        page.mouse.wheel(0, 400)
        page.wait_for_timeout(600)
        assert retry.bounding_box()["height"] >= TOUCH
        assert "重新定位" in (retry.text_content() or "") + (
            retry.get_attribute("aria-label") or ""
        )
        assert not any("距客户登记地址" in s for s in texts(page))
        # the back arrow is the shared screen header's (widgets.screen), not this form's
        assert_tall_enough(page, "log form (top)", skip=("back",))
        # three days ahead is chosen already; the outcome is the marketer's own choice
        in_three_days = beijing_today() + timedelta(days=3)
        assert checked(page, "3 天后") and not checked(page, "明天")  # saved below: the date
        screenshot(page, "log-form-no-fix-phone")

        page.get_by_role("button", name="上门拜访", exact=True).first.click()
        semantic(page, "outcome-considering").click()
        page.wait_for_timeout(500)
        assert checked(page, "考虑中") and checked(page, "上门拜访")
        screenshot(page, "log-form-chosen-phone")
        tap_when_enabled(page, "save-log")
        wait_for_text(page, "营销时间线")
        wait_for_text(page, r"上门拜访 · 考虑中")
        wait_for_text(page, "未记录签到位置")
        wait_for_text(page, f"跟进 {in_three_days.month}月{in_three_days.day}日")
        assert not any("距客户登记地址" in s for s in texts(page))

        wait_sync_idle(page)
        semantic(page, "sync").click()
        wait_until_gone(page, r"待上传 \d+ 条")
        wait_sync_idle(page)
        assert store_rows(
            central,
            "SELECT lat, lon, channel FROM marketing_log WHERE prospect_id = :p",
            p=first["id"],
        )[-1:] == [(None, None, "visit")]

        # allowed now, and standing at the customer's door: 重新定位 finds the fix
        with central.engine.connect() as conn:
            lat, lon = conn.execute(
                text("SELECT lat, lon FROM prospect WHERE id = :p"), {"p": second["id"]}
            ).one()
        open_card(page, workbench.url, second["id"])
        tap_when_enabled(page, "write-log")
        wait_for_text(page, "未获取到位置", timeout=30)
        page.context.grant_permissions(["geolocation"])
        page.context.set_geolocation({"latitude": lat, "longitude": lon})
        tap_when_enabled(page, "locate-again")
        wait_for_text(page, r"本机定位 .*距客户登记地址 \d+ 米", timeout=30)
        wait_until_gone(page, "未获取到位置", timeout=30)
    finally:
        page.context.close()


def test_the_log_form_remembers_the_channel_and_reads_well_on_a_desktop(
    workbench, central, browser
):
    first, second = mine(central, 2, offset=0, status="contacted")
    page = signed_in(browser, workbench.url, DESKTOP, permissions=[])
    try:
        open_card(page, workbench.url, first["id"])
        screenshot(page, "card-status-desktop")
        scroll(page, 4000)
        screenshot(page, "card-bottom-desktop")
        scroll(page, -4000)
        tap_when_enabled(page, "move-invalid")
        wait_for_text(page, "确认将客户标记为“无效”？")
        page.wait_for_timeout(600)
        screenshot(page, "close-dialog-desktop")
        tap_when_enabled(page, "close-cancel")
        wait_until_gone(page, "确认将客户标记为", timeout=30)

        tap_when_enabled(page, "write-log")
        wait_for_text(page, "营销结果")
        page.get_by_role("button", name="电话", exact=True).first.click()
        semantic(page, "outcome-no_answer").click()
        wait_for_text(page, "未获取到位置", timeout=30)
        page.wait_for_timeout(500)
        screenshot(page, "log-form-desktop")
        tap_when_enabled(page, "save-log")
        wait_for_text(page, r"电话 · 未接通")

        # the next log starts on the telephone, as the last one was
        open_card(page, workbench.url, second["id"])
        tap_when_enabled(page, "write-log")
        wait_for_text(page, "营销结果")
        deadline = time.monotonic() + 15
        while not checked(page, "电话"):
            assert time.monotonic() < deadline, "the last log's channel is not chosen"
            page.wait_for_timeout(250)
        assert not checked(page, "上门拜访")
    finally:
        page.context.close()

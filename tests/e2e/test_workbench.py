"""A marketer's day in a real Chromium, against a real central store.

Log in (a wrong password first), search, open a card, reveal a phone number,
write a visit log, see it in the timeline and in performance, sync it to the
store, switch to English and back, and open the map.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import text

from app.config import Settings
from app.services.clock import beijing_today
from app.services.masking import mask_phone
from tests.e2e.conftest import (
    DESKTOP,
    E2E_MARKS,
    PHONE,
    enable_semantics,
    nav,
    open_app,
    screenshot,
    semantic,
    signed_in,
    tap_when_enabled,
    texts,
    type_into,
    wait_for_text,
    wait_sync_idle,
    wait_until_gone,
)

pytestmark = E2E_MARKS


def demo_prospect(central, employee_no: str = "M0001") -> dict:
    """One of the marketer's assigned prospects, as the store has it."""
    with central.engine.connect() as conn:
        row = (
            conn.execute(
                text(
                    'SELECT p.id, p.company_name, p.phone FROM prospect p JOIN "user" u'
                    " ON u.id = p.assignee_id WHERE u.employee_no = :no AND p.status = 'assigned'"
                    " ORDER BY p.pre_approved_line DESC LIMIT 1"
                ),
                {"no": employee_no},
            )
            .mappings()
            .one()
        )
    return dict(row)


def open_card(page, prospect_id: str) -> None:  # type: ignore[no-untyped-def]
    """Tap a whitelist tile until its card opens: a sync finishing at that moment
    redraws the list, and a tap on the old tile goes nowhere (a user taps again)."""
    tile = semantic(page, f"prospect-{prospect_id}")
    try:
        tile.wait_for(timeout=30_000)
    except Exception as exc:  # say what the screen shows instead
        raise AssertionError(
            f"no tile prospect-{prospect_id}; the screen shows: {texts(page)[:40]}"
        ) from exc
    for _ in range(3):
        tile.click()
        try:
            wait_for_text(page, "营销状态", timeout=8)
            return
        except AssertionError:
            continue
    wait_for_text(page, "营销状态", timeout=1)


def search_and_open(page, target: dict) -> None:  # type: ignore[no-untyped-def]
    """Search the whitelist by a piece of the company name and open its card."""
    type_into(page, "搜索客户", target["company_name"][-6:])
    page.keyboard.press("Enter")
    wait_for_text(page, r"共 [1-9]\d* 户")
    open_card(page, target["id"])


@pytest.mark.flaky(reruns=0)  # one device's whole day: a second attempt starts signed in
def test_a_marketers_day(workbench_login, central, browser):
    target = demo_prospect(central)
    page = open_app(browser, workbench_login.url, PHONE)
    try:
        wait_for_text(page, "中心库地址")
        screenshot(page, "login-phone")
        type_into(page, "员工号", "M0001")
        type_into(page, "密码", "wrong-password")
        page.keyboard.press("Enter")
        wait_for_text(page, "员工号或密码错误")
        password = page.get_by_role("textbox", name="密码").first
        password.click()  # the wrong password is gone: the next is typed into an empty box
        page.wait_for_function("e => e.value === ''", arg=password.element_handle(), timeout=5000)

        type_into(page, "密码", "Puhui@2026")
        page.keyboard.press("Enter")
        wait_for_text(page, "我的白名单")
        wait_sync_idle(page)

        search_and_open(page, target)
        masked = mask_phone(target["phone"])  # a landline too (an imported entry may be one)
        wait_for_text(page, masked.replace("*", r"\*"))
        page.wait_for_timeout(800)
        screenshot(page, "card-phone")

        semantic(page, "reveal-phone").click()
        wait_for_text(page, target["phone"])

        # a visit log, saved on the device and visible in the timeline at once
        semantic(page, "write-log").click()
        wait_for_text(page, "营销结果")
        # the form starts on the channel of the marketer's last log: this one is a visit
        page.get_by_role("button", name="上门拜访", exact=True).first.click()
        semantic(page, "outcome-interested").click()
        type_into(page, "备注", "老板在店，有扩大经营的资金需求")
        semantic(page, "follow-up-in-3").click()  # one tap: back in three days
        page.wait_for_timeout(500)
        screenshot(page, "log-form-phone")
        semantic(page, "save-log").click()
        wait_for_text(page, "营销时间线")
        wait_for_text(page, "上门拜访 · 有意向")
        in_three_days = beijing_today() + timedelta(days=3)
        wait_for_text(page, f"跟进 {in_three_days.month}月{in_three_days.day}日")
        wait_for_text(page, "待上传")
        # the visit moved the funnel: 已分配 → 有意向 without a second trip to the buttons
        wait_for_text(page, "客户状态更新为 有意向")

        # a status change shows in the timeline at once, before any upload
        semantic(page, "move-applied").click()
        wait_for_text(page, "→ 已申请")

        # sync: the pending line goes, the store has the log once, and the audited reveal
        wait_sync_idle(page)
        semantic(page, "sync").click()
        wait_until_gone(page, r"待上传 \d+ 条")
        wait_sync_idle(page)
        with central.engine.connect() as conn:
            logs = conn.execute(
                text("SELECT next_follow_up FROM marketing_log WHERE note = :n"),
                {"n": "老板在店，有扩大经营的资金需求"},
            ).all()
            reveals = conn.execute(
                text(
                    "SELECT count(*) FROM audit_event WHERE prospect_id = :p"
                    " AND action = 'reveal_phone'"
                ),
                {"p": target["id"]},
            ).scalar_one()
        assert [str(row[0]) for row in logs] == [in_three_days.isoformat()]  # once, dated
        with central.engine.connect() as conn:
            status = conn.execute(
                text("SELECT status FROM prospect WHERE id = :p"), {"p": target["id"]}
            ).scalar_one()
        assert status == "applied"
        assert reveals >= 1

        # performance counts the contact
        nav(page, "业绩")
        wait_for_text(page, "营销业绩")
        wait_for_text(page, "营销次数")
        page.wait_for_timeout(1000)
        screenshot(page, "performance-phone")

        # English and back
        nav(page, "设置")
        wait_for_text(page, "界面语言")
        page.get_by_text("English").first.click()
        wait_for_text(page, "Language")
        wait_for_text(page, "Whitelist")
        screenshot(page, "settings-en-phone")
        nav(page, "Whitelist")
        wait_for_text(page, r"Prospects: \d+")
        page.wait_for_timeout(800)
        screenshot(page, "whitelist-en-phone")
        nav(page, "Results")
        wait_for_text(page, "Branch rank")
        page.wait_for_timeout(800)
        screenshot(page, "performance-en-phone")
        nav(page, "Settings")
        page.get_by_text("中文").first.click()
        wait_for_text(page, "界面语言")

        # the map shows markers around the outlet
        nav(page, "地图")
        wait_for_text(page, r"公里内 [1-9]\d* 户|\d+ 户")
        frame = page.frame_locator("iframe").first
        frame.locator(".leaflet-container").first.wait_for(timeout=30_000)
        page.wait_for_timeout(2000)
        screenshot(page, "map-phone")
        # log-out with a change not yet uploaded: tests/e2e/test_sync_and_logout.py (online,
        # a change here goes up by itself within seconds)
    finally:
        page.close()


def test_desktop_uses_a_navigation_rail(workbench, browser):
    page = open_app(browser, workbench.url, DESKTOP)
    try:
        wait_for_text(page, "我的白名单")
        wait_for_text(page, r"上次同步 \d{4}-")
        nav(page, "跟进")
        wait_for_text(page, "跟进提醒")
        page.wait_for_timeout(800)
        screenshot(page, "followups-desktop")
        nav(page, "业绩")
        wait_for_text(page, "营销次数")
        # the branch rank, which only the central store can compute, came with the sync
        wait_for_text(page, r"截至 \d{4}-")
        wait_for_text(page, r"(并列)?第 \d+ / \d+ 名")
        page.wait_for_timeout(1200)
        screenshot(page, "performance-desktop")
        nav(page, "地图")
        page.frame_locator("iframe").first.locator(".leaflet-container").first.wait_for(
            timeout=30_000
        )
        page.wait_for_timeout(2000)
        screenshot(page, "map-desktop")
    finally:
        page.close()


def test_a_manager_reassigns_a_prospect(workbench_manager, central, browser):
    """The manager moves one of M0001's prospects to a colleague; the store follows."""
    target = demo_prospect(central)
    page = signed_in(browser, workbench_manager.url, DESKTOP, title="网点负责人")
    try:
        page.goto(f"{workbench_manager.url}/prospect/{target['id']}")
        enable_semantics(page, timeout=60_000)
        wait_for_text(page, "分配给营销人员")
        page.locator('[flt-semantics-identifier^="assignee-"]').first.click()
        tap_when_enabled(page, "assign")  # enabled once the choice has come back
        wait_for_text(page, "已分配给")
        page.wait_for_timeout(500)
        screenshot(page, "card-manager-desktop")
        semantic(page, "sync").click()
        page.wait_for_timeout(500)
        wait_sync_idle(page)
        with central.engine.connect() as conn:
            owner = conn.execute(
                text(
                    'SELECT u.employee_no FROM prospect p JOIN "user" u'
                    " ON u.id = p.assignee_id WHERE p.id = :p"
                ),
                {"p": target["id"]},
            ).scalar_one()
        assert owner != "M0001"
    finally:
        page.close()


def test_sort_from_my_position(workbench, central, browser):
    """Out in the field, a marketer sorts by distance from where they stand."""
    with central.engine.connect() as conn:
        lat, lon = conn.execute(
            text(
                'SELECT p.lat, p.lon FROM prospect p JOIN "user" u ON u.id = p.assignee_id'
                " WHERE u.employee_no = 'M0001' AND p.withdrawn_at IS NULL"  # on the phone
                " ORDER BY p.pre_approved_line LIMIT 1"
            )
        ).one()
    page = open_app(
        browser,
        workbench.url,
        PHONE,
        permissions=["geolocation"],
        geolocation={"latitude": lat, "longitude": lon},
    )
    try:
        wait_for_text(page, "我的白名单")
        wait_sync_idle(page)
        wait_for_text(page, "距网点")
        semantic(page, "filters").click()  # a phone folds the filters behind 筛选
        semantic(page, "from-me").click()
        # the nearest prospect is the one the marketer stands at: 0 m away
        nearest = wait_for_text(page, r"距我 \d+ 米", timeout=30)
        metres = re.search(r"距我 (\d+) 米", nearest)
        assert metres and int(metres.group(1)) < 50, nearest
        screenshot(page, "whitelist-from-me-phone")
        semantic(page, "from-me").click()
        wait_for_text(page, "距网点")
    finally:
        page.context.close()


def test_show_a_prospect_on_the_map(workbench, central, browser):
    """The card's 'show on the map' centres the map on that prospect, neighbours around it."""
    target = demo_prospect(central)
    page = signed_in(browser, workbench.url, DESKTOP)
    try:
        search_and_open(page, target)
        semantic(page, "show-map").click()
        wait_for_text(page, f"围绕 {target['company_name']}")
        frame = page.frame_locator("iframe").first
        frame.locator(".leaflet-container").first.wait_for(timeout=30_000)
        frame.locator(".puhui-center").first.hover()
        frame.get_by_text(target["company_name"]).first.wait_for(timeout=10_000)  # its tooltip
        page.wait_for_timeout(1500)
        # names and the legend in the bundled CJK font, not the boxes of a bare system
        map_frame = next(f for f in page.frames if "/private-maps/" in f.url)
        assert map_frame.evaluate("""() => document.fonts.check('12px "Puhui Sans"', '已分配')
                                     && [...document.fonts].some(f => f.family.includes('Puhui')
                                                                && f.status === 'loaded')""")
        screenshot(page, "map-prospect-desktop")
    finally:
        page.close()


def streams_become(central, count: int, within: float) -> float:  # type: ignore[no-untyped-def]
    """Seconds until the store serves ``count`` event streams; fails after ``within``."""
    started = time.monotonic()
    while central.app.state.live_streams.open != count:
        assert time.monotonic() - started < within, (
            f"{central.app.state.live_streams.open} streams open, not {count}"
        )
        time.sleep(0.1)
    return time.monotonic() - started


@pytest.mark.skipif(not Settings().live_updates, reason="live updates turned off")
def test_a_closed_tab_lets_its_live_stream_go(workbench, central, browser):
    """Live updates are on: an open tab's session holds an event stream to the store, and
    lets it go within seconds of the tab closing (Flet keeps the session an hour in case
    it comes back; the store must not poke it, nor it pull, for nobody)."""
    streams_become(central, 0, within=15)  # the tabs of the tests before: all closed
    page = signed_in(browser, workbench.url, PHONE)
    try:
        streams_become(central, 1, within=20)
    finally:
        page.close()
    took = streams_become(central, 0, within=10)
    assert took < 5, f"the stream outlived its tab by {took:.1f} s"

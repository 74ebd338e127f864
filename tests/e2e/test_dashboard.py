"""The sub-branch manager's dashboard (管理 → 看板) in a real Chromium: answered by the
central store over its reach (汇川支行's outlets), not from the device's copy. The
figures on screen are the store's own answer; grouped by tier; on a phone, to its
bottom."""

from __future__ import annotations

from app.demo import DEMO_ADMIN, DEMO_SUBBRANCH_MANAGER
from tests.e2e.conftest import (
    DESKTOP,
    E2E_MARKS,
    PHONE,
    nav,
    open_app,
    screenshot,
    signed_in,
    store_answer,
    tap_when_enabled,
    to_bottom,
    wait_for_text,
)

pytestmark = E2E_MARKS


def _overview(central) -> dict:  # type: ignore[no-untyped-def,type-arg]
    return store_answer(central, DEMO_SUBBRANCH_MANAGER, "/dashboards/overview", period="quarter")


def test_the_subbranch_dashboard_is_the_stores_answer(
    workbench_subbranch, central, browser, rolled_up
):
    store = _overview(central)
    assert store["outlets"] == 2  # 汇川支行: the flagship outlet and 香港路分理处
    page = signed_in(browser, workbench_subbranch.url, DESKTOP, title="支行负责人")
    try:
        nav(page, "管理")
        tap_when_enabled(page, "manage-tab-dashboard")
        wait_for_text(page, "经营概况")
        tap_when_enabled(page, "dashboard-period-quarter")
        wait_for_text(page, rf"经营概况（{store['start']} 至 {store['end']}）")
        wait_for_text(page, rf"(?m)^白名单客户\n{store['prospects']:,}$")
        wait_for_text(page, rf"(?m)^营销次数\n{store['contacts']:,}$")
        wait_for_text(page, r"(?m)^合计$")
        wait_for_text(page, r"网点 2 个 · 簿记 ")
        page.wait_for_timeout(600)
        screenshot(page, "dashboard-1-desktop")
        tap_when_enabled(page, "dashboard-by-tier")
        wait_for_text(page, r"(?m)^(旗舰|标杆|普及)$")
        to_bottom(page)
        wait_for_text(page, "批次覆盖与转化")
        screenshot(page, "dashboard-2-desktop-bottom")
    finally:
        page.close()


def test_the_dashboard_on_a_phone(workbench_subbranch, browser, rolled_up):
    page = open_app(browser, workbench_subbranch.url, PHONE)
    try:
        wait_for_text(page, "支行负责人")
        nav(page, "管理")
        tap_when_enabled(page, "manage-tab-dashboard")
        wait_for_text(page, "经营概况")
        page.wait_for_timeout(800)
        screenshot(page, "dashboard-phone")
        to_bottom(page)
        screenshot(page, "dashboard-phone-bottom")
    finally:
        page.close()


def test_an_admins_performance_is_the_branchs_as_the_store_counts_it(
    workbench_admin, central, browser, rolled_up
):
    store = store_answer(central, DEMO_ADMIN, "/dashboards/overview", period="month")
    assert store["prospects"] > 0
    page = signed_in(browser, workbench_admin.url, PHONE, title="管理员")
    try:
        nav(page, "业绩")
        wait_for_text(page, "全行业绩由中心库统计")
        # the whole branch's month, as the store answers it: not the admin's own (none)
        wait_for_text(page, rf"经营概况（{store['start']} 至 {store['end']}）")
        wait_for_text(page, rf"(?m)^白名单客户\n{store['prospects']:,}$")
        wait_for_text(page, rf"(?m)^放款笔数\n{store['disbursed_count']:,}$")
        page.wait_for_timeout(600)
        screenshot(page, "performance-admin-phone")
        to_bottom(page)
        wait_for_text(page, "批次覆盖与转化")
        screenshot(page, "performance-admin-phone-bottom")
    finally:
        page.close()

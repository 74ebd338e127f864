"""The sub-branch manager's dashboard (管理 → 看板) in a real Chromium: answered by the
central store over its reach (汇川支行's outlets), not from the device's copy. The
figures on screen are the store's own answer; grouped by tier; on a phone, to its
bottom."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from app.demo import DEMO_PASSWORD, DEMO_SUBBRANCH_MANAGER
from app.models.sync import PROTOCOL_HEADER, PROTOCOL_VERSION
from app.server.housekeeping import run_housekeeping
from tests.e2e.conftest import (
    DESKTOP,
    E2E_MARKS,
    PHONE,
    Workbench,
    nav,
    open_app,
    screenshot,
    signed_in,
    tap_when_enabled,
    wait_for_text,
)

pytestmark = E2E_MARKS


@pytest.fixture(scope="module")
def workbench_subbranch(central, tmp_path_factory) -> Iterator[Workbench]:  # type: ignore[no-untyped-def]
    run_housekeeping(central.engine, central.app.state.settings)  # the dashboards' rollups
    wb = Workbench(central, tmp_path_factory.mktemp("device"), "--user", DEMO_SUBBRANCH_MANAGER)
    yield wb
    wb.stop()


def _overview(central) -> dict:  # type: ignore[no-untyped-def,type-arg]
    headers = {PROTOCOL_HEADER: str(PROTOCOL_VERSION)}
    with httpx.Client(base_url=central.url, headers=headers, timeout=30) as http:
        login = http.post(
            "/auth/login",
            json={"employee_no": DEMO_SUBBRANCH_MANAGER, "password": DEMO_PASSWORD},
        )
        bearer = {"Authorization": f"Bearer {login.json()['token']}"}
        return http.get("/dashboards/overview", params={"period": "quarter"}, headers=bearer).json()


def _to_bottom(page) -> None:  # type: ignore[no-untyped-def]
    size = page.viewport_size
    page.mouse.move(size["width"] / 2, size["height"] / 2)
    for _ in range(12):
        page.mouse.wheel(0, 800)
        page.wait_for_timeout(120)
    page.wait_for_timeout(800)


def test_the_subbranch_dashboard_is_the_stores_answer(workbench_subbranch, central, browser):
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
        wait_for_text(page, r"(?m)^(旗舰|标杆|普及)网点$")
        _to_bottom(page)
        wait_for_text(page, "批次覆盖与转化")
        screenshot(page, "dashboard-2-desktop-bottom")
    finally:
        page.close()


def test_the_dashboard_on_a_phone(workbench_subbranch, browser):
    page = open_app(browser, workbench_subbranch.url, PHONE)
    try:
        wait_for_text(page, "支行负责人")
        nav(page, "管理")
        tap_when_enabled(page, "manage-tab-dashboard")
        wait_for_text(page, "经营概况")
        page.wait_for_timeout(800)
        screenshot(page, "dashboard-phone")
        _to_bottom(page)
        screenshot(page, "dashboard-phone-bottom")
    finally:
        page.close()

"""营销任务 (issue 10, item 4) in a real Chromium against a real central store.

The demo outlet manager G0001 sets this month's targets of the demo marketer M0001 on a
phone: a bad amount is said beside its field and nothing is stored; the corrected figures
are stored (the amount typed in 万元, stored in 元) and shown with their progress; the
amount target is removed after a confirmation. The demo admin A0001 sets the outlet's
contacts target on a desktop. Then M0001's 业绩 shows both, each with its label and the
time the central store counted them. Every control is labelled and at least 48 px.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from app.demo import DEMO_ADMIN, DEMO_MANAGER, DEMO_MARKETER
from app.services.clock import beijing_today
from app.services.performance import period_name
from tests.e2e.a11y import problems
from tests.e2e.conftest import (
    DESKTOP,
    E2E_MARKS,
    PHONE,
    Workbench,
    nav,
    open_app,
    screenshot,
    semantic,
    signed_in,
    store_rows,
    tap_when_enabled,
    type_into,
    wait_for_text,
    wait_until_gone,
)
from tests.e2e.test_sync_and_logout import scroll_to_bottom

pytestmark = E2E_MARKS


@pytest.fixture(scope="module")
def people(central) -> Iterator[dict[str, str]]:  # type: ignore[no-untyped-def]
    """The demo marketer's id and outlet; the targets this module sets go at its end (the
    store is shared with the other end-to-end modules)."""
    (marketer, outlet) = store_rows(
        central, 'SELECT id, outlet_id FROM "user" WHERE employee_no = :n', n=DEMO_MARKETER
    )[0]
    yield {"marketer": marketer, "outlet": outlet}
    forget_targets(central, marketer)
    forget_targets(central, outlet)


@pytest.fixture(scope="module")
def manager(central, people, tmp_path_factory) -> Iterator[Workbench]:  # type: ignore[no-untyped-def]
    wb = Workbench(central, tmp_path_factory.mktemp("device"), "--user", DEMO_MANAGER)
    yield wb
    wb.stop()


@pytest.fixture(scope="module")
def admin(central, people, tmp_path_factory) -> Iterator[Workbench]:  # type: ignore[no-untyped-def]
    wb = Workbench(central, tmp_path_factory.mktemp("device"), "--user", DEMO_ADMIN)
    yield wb
    wb.stop()


def forget_targets(central, subject_id: str) -> None:  # type: ignore[no-untyped-def]
    """A rerun starts where the first run did."""
    with central.engine.begin() as conn:
        conn.execute(text("DELETE FROM target WHERE subject_id = :s"), {"s": subject_id})


def targets_of(central, subject_id: str) -> set[tuple[str, str, int]]:  # type: ignore[no-untyped-def]
    rows = store_rows(
        central, "SELECT period, metric, value FROM target WHERE subject_id = :s", s=subject_id
    )
    return {(p, m, int(v)) for p, m, v in rows}


def names_of(central) -> set[str]:  # type: ignore[no-untyped-def]
    """The bank's own names, shown in Chinese in either language."""
    rows = store_rows(central, 'SELECT name FROM "user" UNION SELECT name FROM outlet')
    return {r[0] for r in rows}


def test_a_manager_sets_a_marketers_targets_on_a_phone(manager, central, people, browser):
    month = period_name("month", beijing_today())
    marketer = people["marketer"]
    forget_targets(central, marketer)
    page = signed_in(browser, manager.url, PHONE, title="网点负责人")
    try:
        nav(page, "管理")
        tap_when_enabled(page, "manage-tab-targets")
        wait_for_text(page, r"完成情况截至 \d{4}-")
        semantic(page, f"target-{marketer}").wait_for(timeout=30_000)
        page.wait_for_timeout(800)
        screenshot(page, "targets-1-list-phone")
        found = problems(page, "zh", names_of(central))
        assert not found, found

        tap_when_enabled(page, f"target-edit-{marketer}")
        type_into(page, "营销次数（次）", "40")
        type_into(page, "放款笔数（笔）", "3")
        type_into(page, "放款金额（万元）", "12,5x")
        wait_for_text(page, "请填写数字，例如 12 或 12.5")
        tap_when_enabled(page, "target-save")
        wait_for_text(page, "有填写不正确的项（见标红处），未保存任何任务")
        assert targets_of(central, marketer) == set()  # nothing saved half
        page.wait_for_timeout(600)
        screenshot(page, "targets-2-bad-amount-phone")

        type_into(page, "放款金额（万元）", "12.5")
        wait_until_gone(page, "请填写数字")
        tap_when_enabled(page, "target-save")
        wait_for_text(page, r"已保存.+的营销任务")
        assert targets_of(central, marketer) == {
            (month, "contacts", 40),
            (month, "disbursed_count", 3),
            (month, "disbursed_amount", 125_000),
        }
        wait_for_text(page, r"营销次数\n\d+ / 40 次\n(已完成 \d+%|已达成（\d+%）)")
        wait_for_text(page, r"放款金额\n.+ / 12\.5 万元")
        page.wait_for_timeout(800)
        screenshot(page, "targets-3-saved-phone")
        found = problems(page, "zh", names_of(central))
        assert not found, found

        (amount_id,) = store_rows(
            central,
            "SELECT id FROM target WHERE subject_id = :s AND metric = 'disbursed_amount'",
            s=marketer,
        )[0]
        tap_when_enabled(page, f"target-delete-{amount_id}")
        wait_for_text(page, rf"删除.+ {month} 的放款金额目标（12\.5 万元）？")
        page.wait_for_timeout(1500)  # the dialog's opening animation
        screenshot(page, "targets-4-confirm-phone")
        tap_when_enabled(page, "target-confirm-yes")
        wait_for_text(page, r"已删除.+的放款金额目标")
        assert targets_of(central, marketer) == {
            (month, "contacts", 40),
            (month, "disbursed_count", 3),
        }
        scroll_to_bottom(page)
        screenshot(page, "targets-5-bottom-phone")
    finally:
        page.close()


def test_an_admin_sets_the_outlets_targets_on_a_desktop(admin, central, people, browser):
    month = period_name("month", beijing_today())
    outlet = people["outlet"]
    forget_targets(central, outlet)
    page = signed_in(browser, admin.url, DESKTOP, title="管理员")
    try:
        nav(page, "管理")
        tap_when_enabled(page, "manage-tab-targets")
        wait_for_text(page, "为各网点下达本期的营销任务")
        semantic(page, f"target-{outlet}").wait_for(timeout=30_000)
        tap_when_enabled(page, f"target-edit-{outlet}")
        type_into(page, "营销次数（次）", "-5")
        wait_for_text(page, "不能是负数")
        type_into(page, "营销次数（次）", "300")
        type_into(page, "放款金额（万元）", "2000000")
        wait_for_text(page, "不能超过 1,000,000 万元")
        page.wait_for_timeout(500)
        screenshot(page, "targets-6-outlet-editing-desktop")
        type_into(page, "放款金额（万元）", "")
        tap_when_enabled(page, "target-save")
        wait_for_text(page, r"已保存.+的营销任务")
        assert targets_of(central, outlet) == {(month, "contacts", 300)}
        wait_for_text(page, r"营销次数\n\d+ / 300 次")
        page.wait_for_timeout(800)
        screenshot(page, "targets-7-outlets-desktop")
        scroll_to_bottom(page, DESKTOP)
        screenshot(page, "targets-8-outlets-bottom-desktop")
        found = problems(page, "zh", names_of(central), sizes=False)
        assert not found, found
    finally:
        page.close()


@pytest.fixture(scope="module")
def marketer(central, people, tmp_path_factory) -> Iterator[Workbench]:  # type: ignore[no-untyped-def]
    """M0001's device, first synced when a test asks for it (after the targets are set)."""
    wb = Workbench(central, tmp_path_factory.mktemp("device"))
    yield wb
    wb.stop()


@pytest.mark.parametrize(("size", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_the_marketer_sees_its_own_and_its_outlets_targets(
    central, people, browser, size, viewport, request
):
    """After the two tests above: M0001's device brings the targets with its ranks."""
    if not targets_of(central, people["marketer"]) or not targets_of(central, people["outlet"]):
        pytest.skip("needs the targets the tests above set")
    wb = request.getfixturevalue("marketer")
    page = signed_in(browser, wb.url, viewport)
    try:
        nav(page, "业绩")
        wait_for_text(page, "我的营销任务")
        wait_for_text(page, r"本月 · 营销次数\n\d+ / 40 次")
        wait_for_text(page, r"中心库统计，截至 \d{4}-\d\d-\d\d \d\d:\d\d（上次同步时带来）")
        page.wait_for_timeout(800)
        screenshot(page, f"targets-perf-mine-{size}")
        page.get_by_text("本网点", exact=True).first.click()
        wait_for_text(page, "本网点营销任务")
        wait_for_text(page, r"营销次数\n\d+ / 300 次")
        page.wait_for_timeout(800)
        screenshot(page, f"targets-perf-outlet-{size}")
        scroll_to_bottom(page, viewport)
        screenshot(page, f"targets-perf-outlet-bottom-{size}")
    finally:
        page.close()
    # English
    page = open_app(browser, wb.url, viewport)
    try:
        wait_for_text(page, "我的白名单")
        nav(page, "设置")
        page.get_by_text("English", exact=True).first.click()
        wait_for_text(page, "^Results")
        nav(page, "Results")
        wait_for_text(page, "My targets")
        wait_for_text(page, r"This month · Contacts\n\d+ / 40 contacts")
        page.wait_for_timeout(800)
        screenshot(page, f"targets-perf-mine-en-{size}")
        nav(page, "Settings")
        page.get_by_text("中文", exact=True).first.click()
        wait_for_text(page, re.escape("界面语言"))
    finally:
        page.close()

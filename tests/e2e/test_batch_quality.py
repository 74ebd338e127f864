"""List quality beside each batch (issue 10, item 5: 双向传导) in a real Chromium against a
real central store.

A batch of five entries at the demo marketer's outlet, worked by M0001: one closed invalid
for a wrong contact ("电话是空号"), one invalid as not eligible, one declined as not
interested, one contacted, one interested. So 5 worked, 2 invalid (40 %), 1 wrong
contact (20 %). The demo admin A0001 sees those rates on the batch's card, opens its
report, downloads it as an .xlsx, and withdraws the two invalid entries with a reason
after a confirmation that says how many; the outlet manager G0001 reads the same report
and is offered no withdrawal.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from app.demo import DEMO_ADMIN, DEMO_MANAGER, DEMO_MARKETER
from app.models.ids import new_id, utcnow
from app.server.changes import bulk_insert
from app.server.db import write_session
from tests.e2e.a11y import problems
from tests.e2e.conftest import (
    DESKTOP,
    E2E_MARKS,
    PHONE,
    Workbench,
    nav,
    screenshot,
    semantic,
    signed_in,
    store_rows,
    tap_when_enabled,
    type_into,
    wait_for_text,
)
from tests.e2e.test_sync_and_logout import scroll_to_bottom
from tests.integration.test_quality import close, move

pytestmark = E2E_MARKS
BATCH = "端到端名单质量测试"


@pytest.fixture(scope="module")
def batch(central) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """The module's batch (its docstring counts it): its id and its entries' ids."""
    (marketer, outlet) = store_rows(
        central, 'SELECT id, outlet_id FROM "user" WHERE employee_no = :n', n=DEMO_MARKETER
    )[0]
    now = utcnow()
    batch_id = new_id()
    entries = [
        dict(
            id=new_id(),
            batch_id=batch_id,
            company_name=f"遵义质量测试商行{i}",
            credit_code=f"91520300MA6DQ{i:04d}X"[:18],
            legal_rep="钱七",
            phone=f"1390000{i:04d}",
            industry="零售",
            address=f"遵义市汇川区质量路{i}号",
            lat=27.70 + i * 0.001,
            lon=106.93,
            tags="[]",
            outlet_id=outlet,
            assignee_id=marketer,
            status="assigned",
            updated_at=now,
        )
        for i in range(5)
    ]
    with write_session(central.engine) as session:
        bulk_insert(
            session,
            "whitelist_batch",
            [
                dict(
                    id=batch_id,
                    name=BATCH,
                    product="经营快贷",
                    source="head_office",
                    valid_from=now.date(),
                    valid_until=now.date() + timedelta(days=90),
                    created_at=now,
                )
            ],
        )
        bulk_insert(session, "prospect", entries)
    close(central, entries[0], "invalid", "wrong_contact", "电话是空号")
    close(central, entries[1], "invalid", "not_eligible", "非小微企业")
    close(central, entries[2], "declined", "not_interested")
    move(central, entries[3], "contacted")
    move(central, entries[4], "interested")
    return {"id": batch_id, "entries": [e["id"] for e in entries]}


@pytest.fixture(scope="module")
def admin(central, batch, tmp_path_factory) -> Iterator[Workbench]:  # type: ignore[no-untyped-def]
    wb = Workbench(central, tmp_path_factory.mktemp("device"), "--user", DEMO_ADMIN)
    yield wb
    wb.stop()


@pytest.fixture(scope="module")
def manager(central, batch, tmp_path_factory) -> Iterator[Workbench]:  # type: ignore[no-untyped-def]
    wb = Workbench(central, tmp_path_factory.mktemp("device"), "--user", DEMO_MANAGER)
    yield wb
    wb.stop()


def names_of(central) -> set[str]:  # type: ignore[no-untyped-def]
    rows = store_rows(
        central,
        'SELECT name FROM "user" UNION SELECT name FROM outlet UNION SELECT name FROM'
        " whitelist_batch UNION SELECT company_name FROM prospect",
    )
    return {r[0] for r in rows}


def test_an_admin_sees_a_batchs_quality_downloads_it_and_withdraws_bad_rows(
    admin, central, batch, browser, tmp_path
):
    bid = batch["id"]
    invalid_one, invalid_two = batch["entries"][:2]
    page = signed_in(browser, admin.url, DESKTOP, title="管理员")
    try:
        nav(page, "管理")
        tap_when_enabled(page, "manage-tab-batches")
        wait_for_text(page, BATCH)
        wait_for_text(page, r"^无效率 40% · 联系方式错误率 20% · 已处理 5 条$")
        tap_when_enabled(page, f"batch-details-{bid}")
        wait_for_text(page, "各网点（无效率高的在前）")
        wait_for_text(page, r"不符合准入条件：1 条（无效 1 · 已拒绝 0）")
        wait_for_text(page, "“电话是空号”")
        page.wait_for_timeout(800)
        screenshot(page, "quality-1-report-desktop")

        with page.expect_download(timeout=30_000) as download:
            tap_when_enabled(page, f"quality-download-{bid}")
        assert download.value.suggested_filename.startswith("白名单质量报告")
        saved = tmp_path / "quality.xlsx"
        download.value.save_as(saved)
        book = load_workbook(io.BytesIO(saved.read_bytes()))
        assert "按网点" in book.sheetnames and "按原因" in book.sheetnames

        tap_when_enabled(page, f"quality-withdraw-{bid}")
        semantic(page, f"quality-entry-{invalid_one}").wait_for(timeout=30_000)  # wrong contact
        tap_when_enabled(page, "quality-filter-invalid")
        semantic(page, f"quality-entry-{invalid_two}").wait_for(timeout=30_000)
        wait_for_text(page, r"共 2 条 · 已列出 2 条 · 已勾选 0 条")
        tap_when_enabled(page, "quality-withdraw-ask")  # nothing ticked: said, nothing asked
        wait_for_text(page, "请先勾选要撤回的条目")
        semantic(page, f"quality-entry-{invalid_one}").click()
        semantic(page, f"quality-entry-{invalid_two}").click()
        wait_for_text(page, r"已勾选 2 条")
        type_into(page, "撤回原因（必填）", "总行核实：空号与不准入")
        tap_when_enabled(page, "quality-withdraw-ask")
        wait_for_text(page, r"从白名单撤回这 2 条条目？")
        page.wait_for_timeout(1500)  # the dialog's opening animation
        screenshot(page, "quality-2-confirm-desktop")
        tap_when_enabled(page, "quality-confirm-yes")
        wait_for_text(page, "已撤回 2 条，各设备同步后不再显示")
        gone = store_rows(
            central,
            "SELECT id, withdrawn_reason FROM prospect WHERE batch_id = :b"
            " AND withdrawn_at IS NOT NULL",
            b=bid,
        )
        assert set(gone) == {(invalid_one, "quality"), (invalid_two, "quality")}
        wait_for_text(page, "已撤回：总行按名单质量撤回")
        wait_for_text(page, r"撤回原因：总行核实：空号与不准入（.+）")  # the words, and who
        page.wait_for_timeout(800)
        screenshot(page, "quality-3-withdrawn-desktop")
        scroll_to_bottom(page, DESKTOP)
        screenshot(page, "quality-4-bottom-desktop")
        found = problems(page, "zh", names_of(central), sizes=False)
        assert not found, found
    finally:
        page.close()


def test_the_quality_on_a_phone_and_for_an_outlet_manager(admin, manager, central, batch, browser):
    bid = batch["id"]
    page = signed_in(browser, admin.url, PHONE, title="管理员")
    try:
        nav(page, "管理")
        tap_when_enabled(page, "manage-tab-batches")
        wait_for_text(page, BATCH)
        page.wait_for_timeout(800)
        screenshot(page, "quality-5-batches-phone")
        found = problems(page, "zh", names_of(central))
        assert not found, found
        tap_when_enabled(page, f"batch-details-{bid}")
        wait_for_text(page, "各网点（无效率高的在前）")
        tap_when_enabled(page, f"quality-withdraw-{bid}")
        wait_for_text(page, r"共 \d+ 条 · 已列出")
        page.wait_for_timeout(800)
        screenshot(page, "quality-6-report-phone")
        found = problems(page, "zh", names_of(central))
        assert not found, found
        page.mouse.move(PHONE["width"] / 2, PHONE["height"] / 2)
        page.mouse.wheel(0, 700)
        page.wait_for_timeout(800)
        screenshot(page, "quality-7-withdraw-phone")
        found = problems(page, "zh", names_of(central))
        assert not found, found
        scroll_to_bottom(page)
        screenshot(page, "quality-8-bottom-phone")
    finally:
        page.close()

    page = signed_in(browser, manager.url, DESKTOP, title="网点负责人")
    try:  # the report is the manager's to read; the withdrawal head office's
        nav(page, "管理")
        tap_when_enabled(page, "manage-tab-batches")
        wait_for_text(page, BATCH)
        tap_when_enabled(page, f"batch-details-{bid}")
        wait_for_text(page, "各网点（无效率高的在前）")
        semantic(page, f"quality-download-{bid}").wait_for(timeout=15_000)
        assert semantic(page, f"quality-withdraw-{bid}").count() == 0
        page.wait_for_timeout(800)
        screenshot(page, "quality-9-manager-desktop")
    finally:
        page.close()

"""The admin's queue of loans the loan system reported and no prospect matched (管理 →
贷款回流), in a real Chromium against a real central store: two loans come in through
the feed with credit codes no whitelist carries; the demo admin A0001 matches the first
to the right prospect (found by name on the device) and sets the second aside with a
reason. The store then holds the match: the prospect has moved to 已审批."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from app.models.ids import new_id
from app.server.api_keys import create_api_key
from app.services.clock import beijing_today
from app.services.validation import make_credit_code
from tests.e2e.conftest import (
    DESKTOP,
    E2E_MARKS,
    PHONE,
    nav,
    open_app,
    screenshot,
    semantic,
    signed_in,
    store_rows,
    tap_when_enabled,
    type_into,
    wait_for_text,
)

pytestmark = E2E_MARKS


@pytest.fixture(scope="module")
def waiting(central) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Two loans reported through the feed, both queued: loan id → event id."""
    key = create_api_key(
        central.engine, name=f"e2e-loan-queue-{new_id()[-8:]}"
    )  # a rerun makes its own
    day = (beijing_today() - timedelta(days=1)).isoformat()
    events = [
        {
            "loan_id": loan_id,
            "credit_code": make_credit_code("520303", body),
            "status": status,
            "amount": amount,
            "occurred_on": day,
            "booking_outlet_code": "GZ-ZY-001",
        }
        for loan_id, body, status, amount in (
            ("E2E-LOAN-1", "E2EL0001", "approved", 300_000),
            ("E2E-LOAN-2", "E2EL0002", "applied", 50_000),
        )
    ]
    reply = httpx.post(
        f"{central.url}/loans/events", json={"events": events}, headers={"X-API-Key": key}
    )
    assert reply.status_code == 200, reply.text
    assert [r["outcome"] for r in reply.json()["results"]] == ["queued", "queued"]
    rows = store_rows(central, "SELECT loan_id, id FROM loan_event WHERE loan_id LIKE 'E2E-%'")
    return dict(rows)


def test_an_admin_matches_one_loan_and_sets_another_aside(
    workbench_admin, central, browser, waiting
):
    (pid, name) = store_rows(
        central,
        "SELECT id, company_name FROM prospect WHERE status IN ('contacted', 'interested')"
        " AND withdrawn_at IS NULL ORDER BY company_name LIMIT 1",
    )[0]
    first, second = waiting["E2E-LOAN-1"], waiting["E2E-LOAN-2"]
    page = signed_in(browser, workbench_admin.url, DESKTOP, title="管理员")
    try:
        nav(page, "管理")
        tap_when_enabled(page, "manage-tab-loans")
        wait_for_text(page, "待匹配 2 笔")
        wait_for_text(page, r"30 万元")  # the approved loan's amount, in the bank's unit
        page.wait_for_timeout(600)
        screenshot(page, "loans-1-queue-desktop")

        tap_when_enabled(page, f"loan-match-{first}")
        type_into(page, "按企业名称或电话搜索客户", name[:6])
        semantic(page, f"loan-match-to-{pid}").wait_for(timeout=30_000)
        page.wait_for_timeout(400)
        screenshot(page, "loans-match-desktop")
        tap_when_enabled(page, f"loan-match-to-{pid}")
        wait_for_text(page, "已匹配，客户状态和分润已生效")
        assert store_rows(central, "SELECT state FROM loan_event WHERE id = :i", i=first) == [
            ("applied",)
        ]
        assert store_rows(central, "SELECT status FROM prospect WHERE id = :i", i=pid) == [
            ("approved",)
        ]

        tap_when_enabled(page, f"loan-dismiss-{second}")
        tap_when_enabled(page, f"loan-dismiss-confirm-{second}")  # no reason yet: refused
        wait_for_text(page, "请写明搁置原因")
        type_into(page, "搁置原因", "个体户以经营者个人名义贷款，白名单无此户")
        tap_when_enabled(page, f"loan-dismiss-confirm-{second}")
        wait_for_text(page, "没有待匹配的贷款")
        assert store_rows(
            central, "SELECT state, resolution_note FROM loan_event WHERE id = :i", i=second
        ) == [("dismissed", "个体户以经营者个人名义贷款，白名单无此户")]
        page.wait_for_timeout(600)
        screenshot(page, "loans-2-done-desktop")
    finally:
        page.close()


def test_the_queue_on_a_phone_and_for_a_manager(workbench_admin, workbench_manager, browser):
    page = open_app(browser, workbench_admin.url, PHONE)
    try:
        wait_for_text(page, "管理员")
        nav(page, "管理")
        tap_when_enabled(page, "manage-tab-loans")
        wait_for_text(page, "待匹配")
        page.wait_for_timeout(600)
        screenshot(page, "loans-phone")
    finally:
        page.close()
    page = open_app(browser, workbench_manager.url, DESKTOP)
    try:  # an outlet manager's 管理 has no 贷款回流: the queue is the admins'
        wait_for_text(page, "网点负责人")
        nav(page, "管理")
        wait_for_text(page, "白名单文件")
        assert semantic(page, "manage-tab-batches").count() == 1
        assert semantic(page, "manage-tab-loans").count() == 0
    finally:
        page.close()

"""A sub-branch manager (Z0001, 汇川支行: 营业室 and 香港路分理处) in a real Chromium."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from tests.conftest import LiveServer
from tests.e2e.conftest import (
    DESKTOP,
    E2E_MARKS,
    Workbench,
    enable_semantics,
    screenshot,
    semantic,
    signed_in,
    tap_when_enabled,
    wait_for_text,
    wait_sync_idle,
)

pytestmark = E2E_MARKS


@pytest.fixture(scope="module")
def workbench_subbranch(
    central: LiveServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workbench]:
    wb = Workbench(central, tmp_path_factory.mktemp("device"), "--user", "Z0001")
    yield wb
    wb.stop()


def _one(central: LiveServer, sql: str) -> dict:  # type: ignore[type-arg]
    with central.engine.connect() as conn:
        return dict(conn.execute(text(sql)).mappings().first() or {})


def test_a_sub_branch_manager_sees_its_outlets_and_their_people(
    workbench_subbranch, central, browser
):
    """The list names each row's outlet; a card offers both outlets' marketers, labelled."""
    # a pool prospect of 香港路分理处 (GZ-ZY-002), the sister outlet, and its marketer
    target = _one(
        central,
        "SELECT p.id FROM prospect p JOIN outlet o ON o.id = p.outlet_id"
        " WHERE o.code = 'GZ-ZY-002' AND p.assignee_id IS NULL ORDER BY p.id",
    )
    theirs = _one(
        central,
        'SELECT u.id, u.employee_no FROM "user" u JOIN outlet o ON o.id = u.outlet_id'
        " WHERE o.code = 'GZ-ZY-002' AND u.role = 'marketer'",
    )
    page = signed_in(browser, workbench_subbranch.url, DESKTOP, title="支行负责人")
    try:
        wait_for_text(page, r"(?m)^(营业室|香港路分理处) · ")  # each row: which outlet
        screenshot(page, "whitelist-subbranch-desktop")

        page.goto(f"{workbench_subbranch.url}/prospect/{target['id']}")
        enable_semantics(page, timeout=60_000)
        wait_for_text(page, "分配给营销人员")
        wait_for_text(page, r"(?m) · 营业室$")  # the flagship outlet's marketers
        wait_for_text(page, r"(?m) · 香港路分理处$")  # and the sister outlet's
        screenshot(page, "card-subbranch-desktop")
        semantic(page, f"assignee-{theirs['id']}").click()
        tap_when_enabled(page, "assign")
        wait_for_text(page, "已分配给")
        semantic(page, "sync").click()
        page.wait_for_timeout(500)
        wait_sync_idle(page)
        owner = _one(central, f"SELECT assignee_id FROM prospect WHERE id = '{target['id']}'")
        assert owner["assignee_id"] == theirs["id"]
    finally:
        page.close()

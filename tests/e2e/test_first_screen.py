"""The first screen in a real Chromium: the marketer's whitelist, in Chinese, with sync."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app.models.ids import new_id, utcnow
from app.server.changes import bulk_insert
from app.server.db import write_session
from tests.e2e.conftest import (
    DESKTOP,
    E2E_MARKS,
    PHONE,
    assert_not_cut,
    open_app,
    screenshot,
    wait_for_text,
    wait_sync_idle,
)

pytestmark = E2E_MARKS


@pytest.mark.parametrize("size,viewport", [("phone", PHONE), ("desktop", DESKTOP)])
def test_whitelist_opens_synced_in_chinese(workbench, browser, size, viewport):
    page = open_app(browser, workbench["url"], viewport)
    try:
        wait_for_text(page, "我的白名单")
        # The first sync lands: the summary counts the prospects and a tile shows a company.
        wait_for_text(page, r"上次同步 \d{4}-\d{2}-\d{2}")
        wait_for_text(page, r"共 [1-9]\d* 户")
        wait_for_text(page, "有限公司|商行|个体工商户|合作社")
        wait_for_text(page, r"预授信 [\d,.]+ ?万?元")
        wait_for_text(page, r"距网点 [\d.]+ ?(公里|米)")
        page.wait_for_timeout(1500)
        if size == "phone":  # a phone folds the filters behind 筛选
            page.locator('[flt-semantics-identifier="filters"]').first.click()
            wait_for_text(page, "待跟进")
            page.wait_for_timeout(800)
        assert_not_cut(page, "待跟进")  # laid out with the CJK font, not before it loaded
        screenshot(page, f"whitelist-{size}")
    finally:
        page.close()


def test_sync_button_brings_a_new_prospect(workbench, browser):
    """A prospect pushed to the outlet after the first sync shows up after a tap on 同步."""
    page = open_app(browser, workbench["url"], PHONE)
    try:
        wait_sync_idle(page)
        server = workbench["server"]
        add_pool_prospect(server.engine, "M0001", "遵义市汇川区同步验证商贸有限公司")
        page.locator('[flt-semantics-identifier="sync"]').first.click()
        wait_for_text(page, "遵义市汇川区同步验证商贸有限公司")
        page.wait_for_timeout(1000)
        screenshot(page, "whitelist-after-sync-phone")
    finally:
        page.close()


def add_pool_prospect(engine, employee_no: str, company: str) -> None:
    """Head office pushes one more prospect into the user's outlet pool, at the outlet."""
    with write_session(engine) as session:
        outlet_id, lat, lon, batch_id = session.execute(
            text(
                "SELECT o.id, o.lat, o.lon, (SELECT id FROM whitelist_batch LIMIT 1)"
                ' FROM outlet o JOIN "user" u ON u.outlet_id = o.id WHERE u.employee_no = :no'
            ),
            {"no": employee_no},
        ).one()
        bulk_insert(
            session,
            "prospect",
            [
                dict(
                    id=new_id(),
                    batch_id=batch_id,
                    company_name=company,
                    credit_code="91520300MA6DYBQJ3C",
                    legal_rep="周敏",
                    phone="13985012345",
                    industry="批发零售",
                    address="遵义市汇川区大连路8号",
                    lat=lat,
                    lon=lon,
                    pre_approved_line=500_000,
                    score=88,
                    tags="[]",
                    outlet_id=outlet_id,
                    assignee_id=None,
                    status="unassigned",
                    disbursed_amount=None,
                    last_contact_at=None,
                    next_follow_up=None,
                    updated_at=utcnow(),
                )
            ],
        )


def test_make_run_on_a_new_machine_serves_the_whitelist(browser, tmp_path):
    """`make run` as a new user runs it: an empty data folder, the central store created
    with demo data on first run, the workbench signed in as the demo marketer."""
    import os
    import subprocess
    import sys

    from tests.conftest import free_port
    from tests.e2e.conftest import ROOT, _wait_port, die_with_this_process

    port, store_port = free_port(), free_port()
    log = open(tmp_path / "run.log", "w")  # noqa: SIM115
    env = {**os.environ, "PUHUI_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    env.pop("DISPLAY", None)  # no desktop: web mode, as on a server or in CI
    proc = subprocess.Popen(
        [sys.executable, "main.py", "run", "--port", str(port), "--store-port", str(store_port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=die_with_this_process,
    )
    try:
        _wait_port(port, proc, timeout=120)
        page = open_app(browser, f"http://127.0.0.1:{port}", PHONE)
        try:
            wait_for_text(page, "我的白名单")
            wait_sync_idle(page, timeout=90)
            wait_for_text(page, r"共 [1-9]\d* 户")
        finally:
            page.close()
        printed = (tmp_path / "run.log").read_text()
        assert "首次运行" in printed  # demo data was created on this first run
        assert f"http://127.0.0.1:{port}" in printed  # the address a user opens
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()

"""Issue 10's journey in a real Chromium: the demo admin A0001 opens 管理 → 排行榜, sees
the outlets ranked on this quarter's disbursements (as the central store's rollups have
them), switches to the marketers, and downloads the league table as an .xlsx, which
opens with openpyxl with its Chinese headers and the same first place."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from app.demo import DEMO_ADMIN
from tests.e2e.conftest import (
    DESKTOP,
    E2E_MARKS,
    PHONE,
    nav,
    open_app,
    screenshot,
    semantic,
    signed_in,
    store_answer,
    tap_when_enabled,
    wait_for_text,
)

pytestmark = E2E_MARKS


def _league(central, level: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """The store's own answer, as the screen asks it."""
    params = {"level": level, "metric": "disbursed_amount", "period": "quarter"}
    return store_answer(central, DEMO_ADMIN, "/dashboards/league", **params)


def test_an_admin_reads_the_league_table_and_downloads_it(
    workbench_admin, central, browser, tmp_path, rolled_up
):
    outlets = _league(central, "outlet")
    assert outlets["rows"], "the demo's disbursements rank the outlets"
    top = outlets["rows"][0]
    page = signed_in(browser, workbench_admin.url, DESKTOP, title="管理员")
    try:
        nav(page, "管理")
        tap_when_enabled(page, "manage-tab-league")
        wait_for_text(page, r"全行共 \d+ 个参与排名 · 数据截至 ")
        tap_when_enabled(page, "league-period-quarter")
        semantic(page, f"league-row-{top['id']}").wait_for(timeout=30_000)
        wait_for_text(page, top["name"])
        page.wait_for_timeout(600)
        screenshot(page, "league-1-outlets-desktop")

        tap_when_enabled(page, "league-level-marketer")
        marketers = _league(central, "marketer")
        first = marketers["rows"][0]
        semantic(page, f"league-row-{first['id']}").wait_for(timeout=30_000)
        page.wait_for_timeout(600)
        screenshot(page, "league-2-marketers-desktop")

        with page.expect_download(timeout=30_000) as download:
            tap_when_enabled(page, "league-download")
        assert download.value.suggested_filename.startswith("排行榜-")
        saved = tmp_path / "league.xlsx"
        download.value.save_as(saved)
        book = load_workbook(io.BytesIO(saved.read_bytes()))
        assert book.sheetnames == ["网点排名", "营销人员排名"]
        rows = list(book["网点排名"].iter_rows(values_only=True))
        header = next(i for i, r in enumerate(rows) if r[0] == "名次")
        assert rows[header][:3] == ("名次", "代码", "名称")
        assert rows[header][5] == "放款金额（万元）"
        assert rows[header + 1][:3] == (top["rank"], top["code"], top["name"])
    finally:
        page.close()


def test_the_league_table_on_a_phone(workbench_admin, browser, rolled_up):
    page = open_app(browser, workbench_admin.url, PHONE)
    try:
        wait_for_text(page, "管理员")
        nav(page, "管理")
        tap_when_enabled(page, "manage-tab-league")
        wait_for_text(page, r"全行共 \d+ 个参与排名")
        page.wait_for_timeout(800)
        screenshot(page, "league-phone")
    finally:
        page.close()

"""Prospects from the field (外拓线索) in a real Chromium, against a real central store.

The demo marketer opens 线索, taps 新增客户, types a credit code with a wrong check
character and reads what is wrong in words, corrects it, saves, and sees the find
pending (待审核); after a sync the central store holds it, waiting for review.
"""

from __future__ import annotations

from sqlalchemy import text

from app.services.validation import CREDIT_CODE_CHARSET, make_credit_code
from tests.e2e.conftest import (
    E2E_MARKS,
    PHONE,
    open_app,
    screenshot,
    texts,
    wait_for_text,
    wait_sync_idle,
)
from tests.e2e.test_card_and_log import assert_tall_enough, semantic, tap_when_enabled
from tests.e2e.test_workbench import nav, type_into

pytestmark = E2E_MARKS

GOOD = make_credit_code("520303", "E2ELEAD1")
# the same code with another check character: one character off, as a typo would be
BAD = GOOD[:17] + next(c for c in CREDIT_CODE_CHARSET if c != GOOD[17])
COMPANY = "汇川区外拓测试餐馆"


def test_a_marketer_adds_a_find_fixes_a_bad_credit_code_and_sees_it_pending(
    workbench, central, browser
):
    page = open_app(browser, workbench.url, PHONE, permissions=[])
    try:
        wait_for_text(page, "我的白名单")
        wait_sync_idle(page)
        nav(page, "线索")
        wait_for_text(page, "外拓线索")
        tap_when_enabled(page, "add-lead")
        wait_for_text(page, "新增外拓客户")
        wait_for_text(page, "未获取到位置", timeout=30)  # no fix in this browser: said so
        type_into(page, "企业名称", COMPANY)
        type_into(page, "统一社会信用代码", BAD)
        wait_for_text(page, "统一社会信用代码校验位不正确")  # as it is typed, in words
        type_into(page, "联系人", "周老板")
        type_into(page, "联系电话", "0851 2822 1234")
        assert_tall_enough(page, "lead form (top)", skip=("back", "locate-again"))  # cut
        page.mouse.move(PHONE["width"] / 2, 400)  # the form's end, above the fixed 保存
        page.mouse.wheel(0, 600)
        page.wait_for_timeout(600)
        assert_tall_enough(page, "lead form (end)", skip=("back",))
        screenshot(page, "lead-form-bad-code-phone")
        tap_when_enabled(page, "save-lead")
        page.wait_for_timeout(800)
        assert any("新增外拓客户" in s for s in texts(page))  # refused: still on the form
        wait_for_text(page, "统一社会信用代码校验位不正确")

        type_into(page, "统一社会信用代码", GOOD)
        wait_for_text(page, "校验通过")
        assert not any("校验位不正确" in s for s in texts(page))
        screenshot(page, "lead-form-good-code-phone")
        tap_when_enabled(page, "save-lead")
        wait_for_text(page, COMPANY)
        wait_for_text(page, "待审核")
        wait_for_text(page, GOOD)
        screenshot(page, "leads-pending-phone")

        wait_sync_idle(page)
        semantic(page, "sync").click()
        page.wait_for_timeout(500)
        wait_sync_idle(page)
        with central.engine.connect() as conn:
            stored = conn.execute(
                text("SELECT status, phone, lat FROM field_lead WHERE credit_code = :c"),
                {"c": GOOD},
            ).all()
        assert [tuple(r) for r in stored] == [("pending", "0851-28221234", None)]
        wait_for_text(page, "待审核")
        assert not any("待上传" == s for s in texts(page))
        screenshot(page, "leads-synced-phone")
    finally:
        page.context.close()

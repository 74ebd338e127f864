"""Performance and follow-ups in a real Chromium, scrolled to the bottom, at both sizes.

Before this module's devices first sync, another device of the demo marketer M0001
(their second phone) plans follow-ups for yesterday, tomorrow and in five days, and
their colleague M0002 logs three contacts: so 本网点 (the outlet) has more activity
than 我的 (M0001's own), which a marketer's device cannot count itself.
"""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text

from app.demo import DEMO_PASSWORD
from app.i18n import format_money
from app.models.ids import new_id
from app.queries.performance import branch_ranks
from app.server.api_keys import create_api_key
from app.server.ranks import refresh_ranks
from app.services.clock import beijing_today
from app.services.marketing import new_log
from app.services.scope import Scope
from app.sync import local
from tests.conftest import Device
from tests.e2e.conftest import (
    DESKTOP,
    E2E_MARKS,
    PHONE,
    Workbench,
    nav,
    screenshot,
    signed_in,
    texts,
    wait_for_text,
)

pytestmark = E2E_MARKS
SIZES = [("phone", PHONE), ("desktop", DESKTOP)]
TALLEST = 5_000  # px: no control on these screens is near this tall; a failed layout is


# -- set-up: made through the central store's API, as the app's devices do -------------


def _logs(central, path, employee_no: str, plan: list[tuple[str, object]]) -> None:  # type: ignore[no-untyped-def]
    """Sign ``employee_no`` in on a device of their own, write ``plan`` ((prospect id, next
    follow-up or None) each) as phone calls and upload them."""
    device = Device(central.url, path)
    try:
        user = device.login(employee_no, DEMO_PASSWORD)["user"]
        me = Scope(user["id"], user["role"], user["outlet_id"])
        device.sync()
        for pid, follow_up in plan:
            log = new_log(
                prospect_id=pid, channel="phone", outcome="considering", next_follow_up=follow_up
            )
            local.record_log(device.store, me, log)
        assert device.sync().phase == "done"
    finally:
        device.close()


def _open_prospects(central, employee_no: str, n: int) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with central.engine.connect() as conn:
        rows = conn.execute(
            text(
                'SELECT p.id, p.company_name FROM prospect p JOIN "user" u ON u.id = p.assignee_id'
                " WHERE u.employee_no = :no AND p.status IN ('contacted', 'interested')"
                " ORDER BY p.id LIMIT :n"
            ),
            {"no": employee_no, "n": n},
        ).all()
    assert len(rows) == n, f"{employee_no} has too few open prospects"
    return [(str(r[0]), str(r[1])) for r in rows]


@pytest.fixture(scope="module")
def planned(central, tmp_path_factory):  # type: ignore[no-untyped-def]
    today = beijing_today()
    tomorrow, in_five, yesterday = _open_prospects(central, "M0001", 3)
    _logs(
        central,
        tmp_path_factory.mktemp("second-phone") / "d.sqlite3",
        "M0001",
        [
            (tomorrow[0], today + timedelta(days=1)),
            (in_five[0], today + timedelta(days=5)),
            (yesterday[0], today - timedelta(days=1)),
        ],
    )
    colleague = _open_prospects(central, "M0002", 1)[0][0]
    _logs(
        central,
        tmp_path_factory.mktemp("colleague") / "d.sqlite3",
        "M0002",
        [(colleague, None)] * 3,
    )
    _loan(central, _open_prospects(central, "M0001", 4)[3][0])
    refresh_ranks(central.engine)  # the store's ranks job, now: these logs count from now on
    return {"tomorrow": tomorrow, "in_five": in_five, "yesterday": yesterday}


def _loan(central, prospect_id: str) -> None:  # type: ignore[no-untyped-def]
    """The loan system reports a loan of 300,000 元 on ``prospect_id``, disbursed today,
    originated by M0001's colleague M0002: M0001's 分润 as its marketer."""
    with central.engine.connect() as conn:
        code, outlet = conn.execute(
            text(
                "SELECT p.credit_code, o.code FROM prospect p JOIN outlet o ON o.id = p.outlet_id"
                " WHERE p.id = :id"
            ),
            {"id": prospect_id},
        ).one()
    key = create_api_key(central.engine, name=f"信贷系统-{new_id()[-8:]}")
    events = [
        {
            "loan_id": f"E2E-{prospect_id[:12]}",
            "credit_code": code,
            "status": status,
            "amount": 300_000,
            "occurred_on": beijing_today().isoformat(),
            "booking_outlet_code": outlet,
            "originator_employee_no": "M0002",
        }
        for status in ("applied", "approved", "disbursed")
    ]
    answer = httpx.post(
        f"{central.url}/loans/events", json={"events": events}, headers={"X-API-Key": key}
    )
    assert answer.status_code == 200, answer.text


def _shares_this_month(central, employee_no: str) -> int:  # type: ignore[no-untyped-def]
    """Fen of 分润 the store credits ``employee_no`` with this month."""
    start = beijing_today().replace(day=1)
    with central.engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    'SELECT coalesce(sum(s.amount_fen), 0) FROM profit_share s JOIN "user" u'
                    " ON u.id = s.user_id WHERE u.employee_no = :no AND s.occurred_on >= :start"
                ),
                {"no": employee_no, "start": start},
            ).scalar_one()
        )


@pytest.fixture(scope="module")
def marketer(central, planned, tmp_path_factory):  # type: ignore[no-untyped-def]
    wb = Workbench(central, tmp_path_factory.mktemp("device"))
    yield wb
    wb.stop()


@pytest.fixture(scope="module")
def manager(central, planned, tmp_path_factory):  # type: ignore[no-untyped-def]
    wb = Workbench(central, tmp_path_factory.mktemp("device"), "--user", "G0001")
    yield wb
    wb.stop()


# -- reading the semantics tree ----------------------------------------------------------

_NODES_JS = """() => [...document.querySelectorAll('flt-semantics')].map(e => {
    const r = e.getBoundingClientRect();
    const spans = [...e.children].filter(c => c.tagName === 'SPAN').map(c => c.textContent);
    const own = e.childElementCount ? spans.join('') : (e.textContent || '');
    return {label: (e.getAttribute('aria-label') || own).trim(),
            id: e.getAttribute('flt-semantics-identifier') || '',
            role: e.getAttribute('role') || '', x: r.x, y: r.y, w: r.width, h: r.height}; })"""


def nodes(page) -> list[dict]:  # type: ignore[no-untyped-def]
    return page.wait_for_function(_NODES_JS, timeout=15_000).json_value()


def scroll_through(page, viewport: dict) -> tuple[dict, set[str], set[str]]:  # type: ignore[no-untyped-def]
    """Scroll the screen to its bottom; the tallest node met on the way, and every label
    and identifier shown."""
    tallest: dict = {"h": 0, "label": ""}
    labels: set[str] = set()
    ids: set[str] = set()
    last = None
    page.mouse.move(viewport["width"] / 2, viewport["height"] / 2)
    for _ in range(40):
        shown = nodes(page)
        tallest = max([tallest, *shown], key=lambda n: n["h"])
        labels |= {n["label"] for n in shown if n["label"]}
        ids |= {n["id"] for n in shown if n["id"]}
        where = [(n["label"], round(n["y"])) for n in shown if n["label"]]
        if where == last:
            break
        last = where
        page.mouse.wheel(0, viewport["height"] * 0.6)
        page.wait_for_timeout(500)
    return tallest, labels, ids


def assert_laid_out(tallest: dict) -> None:
    assert tallest["h"] < TALLEST, (
        f"a {tallest['h']:.0f} px tall node ({tallest['label'][:40]!r}): a control failed to lay out"
    )


def assert_fingers_fit(page, *, labels: set[str] = frozenset(), prefix: str = "") -> int:  # type: ignore[no-untyped-def]
    """Every control labelled one of ``labels`` (or identified ``prefix``…) is ≥ 48×48 px:
    those wholly on screen, between the sync bar and the navigation bar (a control half
    scrolled under them is cut to its visible part)."""
    size = page.viewport_size
    bottom = size["height"] - (80 if size["width"] < 840 else 0)  # the phone's bar: 80 px
    found = [
        n
        for n in nodes(page)
        if n["label"] in labels or (prefix and n["id"].startswith(prefix))
        if n["w"] and n["h"] and n["y"] > 102 and n["y"] + n["h"] < bottom
    ]
    assert found, f"nothing labelled {labels} or identified {prefix!r}…"
    small = [
        (n["label"] or n["id"], round(n["w"]), round(n["h"]))
        for n in found
        if min(n["w"], n["h"]) < 48
    ]
    assert not small, f"under 48×48 px: {small}"
    return len(found)


def value_under(page, label: str) -> str:  # type: ignore[no-untyped-def]
    """The figure shown under a KPI's label."""
    shown = nodes(page)
    head = next(n for n in shown if n["label"] == label)
    below = [
        n
        for n in shown
        if abs(n["x"] - head["x"]) < 2 and 0 < n["y"] - head["y"] < 60 and n["label"] != label
    ]
    assert below, f"no figure under {label!r}"
    return min(below, key=lambda n: n["y"])["label"]


def pick(page, label: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("button", name=label, exact=True).first.click()
    page.wait_for_timeout(1200)


# -- the tests ---------------------------------------------------------------------------


@pytest.mark.parametrize("size,viewport", SIZES)
def test_a_manager_sees_the_outlet_to_the_bottom(manager, browser, size, viewport):
    """Batch coverage and each marketer's row lay out (they were 100,000 px grey blocks)."""
    page = signed_in(browser, manager["url"], viewport, title="网点负责人")
    try:
        nav(page, "业绩")
        wait_for_text(page, "营销漏斗")  # a manager opens on the outlet
        page.wait_for_timeout(1000)
        assert_fingers_fit(page, labels={"本周", "本月", "本季", "我的", "本网点"})
        tallest, labels, ids = scroll_through(page, viewport)
        page.wait_for_timeout(800)
        screenshot(page, f"performance-manager-bottom-{size}")
        assert_laid_out(tallest)
        assert {"批次覆盖率", "营销人员明细", "7天内触达", "30天内触达"} <= labels
        assert any(re.fullmatch(r"\d+%", s) for s in labels)  # coverage figures
        assert any(re.search(r"经营快贷 · .*白名单", s) for s in labels)  # a batch's row
        rows = {i for i in ids if i.startswith("marketer-")}
        assert len(rows) >= 2, ids  # the outlet's marketers, one row each
        # one row per marketer, read out whole: rank, name, number, then the figures
        assert any(re.match(r"\d+\. .+ · M0001\n客户数\n\d+\n营销次数\n\d+", s) for s in labels)
    finally:
        page.close()


@pytest.mark.parametrize("size,viewport", SIZES)
def test_a_marketers_outlet_is_the_stores_count(marketer, central, browser, size, viewport):
    """我的 is the marketer's own; 本网点 the whole outlet as the central store counted it,
    said so, with no funnel made of the device's part of the outlet."""
    page = signed_in(browser, marketer["url"], viewport)
    try:
        nav(page, "业绩")
        wait_for_text(page, "营销漏斗")
        page.wait_for_timeout(1000)
        mine = int(value_under(page, "营销次数"))
        # 分润: the store's count of M0001's shares this month (the loan fed at set-up)
        shares = _shares_this_month(central, "M0001")
        assert shares >= 300_000 * 100 * 40 // 100
        assert value_under(page, "分润") == format_money(shares / 100)
        screenshot(page, f"performance-mine-top-{size}")
        tallest, labels, _ = scroll_through(page, viewport)
        page.wait_for_timeout(800)
        screenshot(page, f"performance-mine-bottom-{size}")
        assert_laid_out(tallest)
        assert {"批次覆盖率", "7天内触达"} <= labels

        page.mouse.wheel(0, -100_000)
        page.wait_for_timeout(800)
        pick(page, "本网点")
        wait_for_text(page, "中心库统计的网点合计")
        assert_fingers_fit(page, labels={"本周", "本月", "本季", "我的", "本网点"})
        outlet = int(value_under(page, "营销次数"))
        with central.engine.connect() as conn:
            oid = conn.execute(
                text("SELECT outlet_id FROM \"user\" WHERE employee_no = 'M0001'")
            ).scalar_one()
            counted = branch_ranks(conn, beijing_today())["month"]["outlet_tallies"][oid][0]
        assert outlet == counted and outlet >= mine + 3, (mine, outlet, counted)
        shown = texts(page)
        assert "营销漏斗" not in shown and "批次覆盖率" not in shown  # not the device's part
        tallest, _, _ = scroll_through(page, viewport)
        screenshot(page, f"performance-outlet-marketer-bottom-{size}")
        assert_laid_out(tallest)
    finally:
        page.close()


@pytest.mark.parametrize("size,viewport", SIZES)
def test_follow_ups_show_what_is_planned(marketer, planned, browser, size, viewport):
    """Overdue and today, and tomorrow and the next seven days to plan, with counts."""
    page = signed_in(browser, marketer["url"], viewport)
    try:
        nav(page, "跟进")
        wait_for_text(page, r"已逾期（[1-9]\d*）")
        wait_for_text(page, r"明天（[1-9]\d*）")
        page.wait_for_timeout(800)
        screenshot(page, f"followups-top-{size}")
        tallest, labels, ids = scroll_through(page, viewport)
        page.wait_for_timeout(800)
        screenshot(page, f"followups-bottom-{size}")
        assert_laid_out(tallest)
        assert any(re.fullmatch(r"未来7天（[1-9]\d*）", s) for s in labels), labels
        for key in ("tomorrow", "in_five", "yesterday"):
            assert f"followup-{planned[key][0]}" in ids, (key, ids)
        in_five = beijing_today() + timedelta(days=5)
        assert any(f"{in_five.month}月{in_five.day}日（周" in s for s in labels), labels
        assert any("逾期 1 天" in s for s in labels)
        page.mouse.wheel(0, -100_000)
        page.wait_for_timeout(800)
        assert assert_fingers_fit(page, prefix="followup-") >= 2
    finally:
        page.close()


def test_english_counts_days_and_names_stages_as_elsewhere(marketer, planned, browser):
    page = signed_in(browser, marketer["url"], PHONE)
    try:
        nav(page, "设置")
        wait_for_text(page, "界面语言")
        page.get_by_text("English").first.click()
        wait_for_text(page, "Language")

        nav(page, "Agenda")
        wait_for_text(page, r"Tomorrow \([1-9]\d*\)")
        _, labels, _ = scroll_through(page, PHONE)
        screenshot(page, "followups-en-bottom-phone")
        assert any("1 day overdue" in s for s in labels), labels
        assert not [s for s in labels if re.search(r"\b1 days\b", s)]
        assert any(re.fullmatch(r"Next 7 days \([1-9]\d*\)", s) for s in labels)

        nav(page, "Results")
        wait_for_text(page, "Funnel")
        page.wait_for_timeout(1000)
        screenshot(page, "performance-en-phone")
        axis = {s.strip() for s in texts(page)}
        assert {"Contacted", "Interested", "Disbursed"} <= axis, axis
        assert not {"Reached", "Interest"} & axis
        tallest, _, _ = scroll_through(page, PHONE)
        screenshot(page, "performance-en-bottom-phone")
        assert_laid_out(tallest)
    finally:
        nav(page, "Settings")
        page.get_by_text("中文").first.click()
        wait_for_text(page, "界面语言")
        page.close()

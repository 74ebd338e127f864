"""Every screen on a phone (390 × 844), in Chinese and once in English: each control has a
label in the UI's language and is at least 48 × 48 px (the rules: tests/e2e/a11y.py).

A failure lists every problem of every screen, so one run shows all there is to fix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from sqlalchemy import text

from app.i18n import t
from app.views.shell import tabs_for
from tests.e2e.a11y import problems
from tests.e2e.conftest import (
    DESKTOP,
    E2E_MARKS,
    PHONE,
    enable_semantics,
    nav,
    open_app,
    screenshot,
    semantic,
    texts,
    type_into,
    wait_for_text,
    wait_sync_idle,
)
from tests.e2e.test_workbench import demo_prospect

pytestmark = [*E2E_MARKS[:2], pytest.mark.timeout(600, method="signal")]

Report = dict[str, list[str]]


def bank_names(central) -> set[str]:  # type: ignore[no-untyped-def]
    """The bank's own data, shown in Chinese in either language: companies, people,
    outlets, batches, products, industries, tags and addresses."""
    queries = [
        "SELECT company_name, legal_rep, industry, address, tags FROM prospect",
        "SELECT name, product, '', '', '[]' FROM whitelist_batch",
        "SELECT name, branch_name, address, '', '[]' FROM outlet",
        "SELECT name, '', '', '', '[]' FROM \"user\"",
        "SELECT company_name, contact_name, industry, address, '[]' FROM field_lead",
    ]
    names: set[str] = set()
    with central.engine.connect() as conn:
        for query in queries:
            for *fields, tags in conn.execute(text(query)):
                names.update(f for f in fields if f)
                names.update(json.loads(tags or "[]"))
    return names


def _slug(screen: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", screen.lower()).strip("-")


def _size_name(page) -> str:  # type: ignore[no-untyped-def]
    return "phone" if page.viewport_size["width"] < 840 else "desktop"


def look(page, report: Report, screen: str, lang: str, names: set[str]) -> None:  # type: ignore[no-untyped-def]
    """Add what ``problems`` finds on the screen now: once per control, under the first
    screen it shows on (the sync bar is on all of them). Sizes are a phone's rule: on a
    desktop, labels alone are checked."""
    page.wait_for_timeout(800)  # the last render and the CJK font settle

    def unplaced(problem: str) -> str:  # the same control, scrolled
        return re.sub(r" at \(-?\d+,-?\d+\)", "", problem)

    known = {unplaced(p) for found in report.values() for p in found}
    found = report.setdefault(screen, [])
    for problem in problems(page, lang, names, sizes=_size_name(page) == "phone"):
        if unplaced(problem) not in known:
            found.append(problem)
            known.add(unplaced(problem))


def look_down(
    page, report: Report, screen: str, lang: str, names: set[str], wheel_at: float = 0.5
) -> None:  # type: ignore[no-untyped-def]
    """Look at the screen from its top to its bottom, a wheel turn at a time (the bottom:
    three turns that change nothing; a turn during a render can be lost)."""
    look(page, report, screen, lang, names)
    screenshot(page, f"screen-{_slug(screen)}-{lang}-{_size_name(page)}")
    before, still = texts(page), 0
    viewport = page.viewport_size
    for _ in range(20):
        page.mouse.move(viewport["width"] / 2, viewport["height"] * wheel_at)
        page.mouse.wheel(0, 500)
        page.wait_for_timeout(500)
        now = texts(page)
        look(page, report, screen, lang, names)
        still = still + 1 if now == before else 0
        if still == 3:
            break
        before = now
    screenshot(page, f"screen-{_slug(screen)}-bottom-{lang}-{_size_name(page)}")


def go(page, label: str, title: str) -> None:  # type: ignore[no-untyped-def]
    """A tab of the bar or rail, tapped again if its screen has not come (a tap during a
    render can be lost, as a person's can)."""
    for attempt in range(3):
        nav(page, label)
        try:
            wait_for_text(page, re.escape(title), timeout=15)
            return
        except AssertionError:
            if attempt == 2:
                raise


def visit(report: Report, screen: str, step: Callable[[], None]) -> None:
    """Run one screen's step; a screen that cannot be reached is a problem of its own."""
    try:
        step()
    except Exception as exc:  # noqa: BLE001 - report it with the others, go on
        report.setdefault(screen, []).append(f"could not check the screen: {exc}"[:300])


def failures(report: Report) -> str:
    return "\n".join(
        f"{screen} ({len(found)}):\n" + "\n".join(f"  - {p}" for p in found)
        for screen, found in report.items()
        if found
    )


def assert_clean(report: Report) -> None:
    if any(report.values()):
        pytest.fail("controls a person cannot use:\n" + failures(report), pytrace=False)


def walk_every_screen(  # type: ignore[no-untyped-def]
    page, url: str, lang: str, names: set[str], target: dict, title: str = "whitelist.title"
) -> Report:
    """The signed-in screens, in the order a marketer meets them; ``title``: the list's
    (a manager's names the outlet: its start is enough)."""
    report: Report = {}

    def whitelist() -> None:
        go(page, t("nav.whitelist", lang), t(title, lang, name=""))
        wait_sync_idle(page)
        look_down(page, report, "whitelist", lang, names)

    def card() -> None:
        page.goto(f"{url}/prospect/{target['id']}")
        enable_semantics(page, timeout=60_000)
        wait_for_text(page, re.escape(t("card.status", lang)))
        # the disbursed-amount box is wide enough for its label on one line (in English
        # a 220 px box wrapped "Disbursed amount (yuan)" and clipped it): ~9 px a letter
        label = t("card.amount", lang)
        box = page.get_by_role("textbox", name=label).first.bounding_box()
        least = len(label) * (9 if lang == "en" else 16) + 32
        if box is None or box["width"] < least:
            report.setdefault("card", []).append(f"{label!r} box {box}: under {least} px wide")
        look_down(page, report, "card", lang, names)

    def log_form() -> None:
        page.goto(f"{url}/prospect/{target['id']}/log")
        enable_semantics(page, timeout=60_000)
        wait_for_text(page, re.escape(t("log.outcome", lang)))
        look_down(page, report, "log form", lang, names)

    def followups() -> None:
        go(page, t("nav.followups", lang), t("followups.title", lang))
        look_down(page, report, "follow-ups", lang, names)

    def performance(subject: str) -> Callable[[], None]:
        def step() -> None:
            go(page, t("nav.performance", lang), t("perf.title", lang))
            page.get_by_text(t(f"perf.{subject}", lang), exact=True).first.click()
            page.wait_for_timeout(1000)
            look_down(page, report, f"performance {subject}", lang, names)

        return step

    def map_() -> None:
        go(page, t("nav.map", lang), t("map.title", lang))
        page.frame_locator("iframe").first.locator(".leaflet-container").first.wait_for(
            timeout=30_000
        )
        page.wait_for_timeout(1500)
        # turned below the map (a wheel over it zooms the map, not the screen)
        look_down(page, report, "map", lang, names, wheel_at=0.88)

    def leads() -> None:
        # a finder's list or a manager's review queue, by the role signed in
        titles = (t("leads.title_finder", lang), t("leads.title_review", lang))
        nav(page, t("nav.leads", lang))
        wait_for_text(page, "|".join(re.escape(title) for title in titles), timeout=15)
        look_down(page, report, "leads", lang, names)

    def lead_form() -> None:
        page.goto(f"{url}/leads/new")
        enable_semantics(page, timeout=60_000)
        wait_for_text(page, re.escape(t("leads.form.title", lang)))
        look_down(page, report, "lead form", lang, names)

    def sync() -> None:
        semantic(page, "sync-status").click()
        wait_for_text(page, re.escape(t("sync.title", lang)))
        look_down(page, report, "sync", lang, names)

    def settings() -> None:
        go(page, t("nav.settings", lang), t("settings.language", lang))
        look_down(page, report, "settings", lang, names)

    visit(report, "whitelist", whitelist)
    visit(report, "card", card)
    visit(report, "log form", log_form)
    visit(report, "follow-ups", followups)
    visit(report, "performance mine", performance("mine"))
    visit(report, "performance outlet", performance("outlet"))
    visit(report, "map", map_)
    visit(report, "leads", leads)
    visit(report, "lead form", lead_form)
    visit(report, "sync", sync)
    visit(report, "settings", settings)
    return report


def switch_language(page, lang: str) -> None:  # type: ignore[no-untyped-def]
    """Settings → 界面语言 → 中文 / English."""
    nav(page, t("nav.settings", "en" if lang == "zh" else "zh"))
    page.get_by_text("English" if lang == "en" else "中文", exact=True).first.click()
    wait_for_text(page, re.escape(t("settings.language", lang)))
    wait_for_text(page, re.escape(t("nav.whitelist", lang)))


def test_log_in_is_named_in_the_ui_language_and_fits_a_finger(workbench_login, browser):
    page = open_app(browser, workbench_login.url, PHONE)
    report: Report = {}
    try:
        wait_for_text(page, re.escape(t("login.server", "zh", url="")))
        page.wait_for_timeout(800)
        report["log-in"] = problems(page, "zh")
        screenshot(page, "a11y-login-phone")
        desktop = open_app(browser, workbench_login.url, DESKTOP)
        try:
            wait_for_text(desktop, re.escape(t("login.server", "zh", url="")))
            desktop.wait_for_timeout(800)
            report["log-in, desktop (labels)"] = problems(desktop, "zh", sizes=False)
            screenshot(desktop, "a11y-login-desktop")
        finally:
            desktop.close()

        # the eye shows what was typed, and then offers to hide it again
        type_into(page, "员工号", "M0001")
        type_into(page, "密码", "Puhui@2026")
        box = page.get_by_role("textbox", name="密码").first
        assert box.get_attribute("type") == "password"
        page.get_by_role("button", name="显示密码", exact=True).click()
        page.get_by_role("button", name="隐藏密码", exact=True).wait_for(timeout=10_000)
        page.wait_for_function("e => e.type === 'text'", arg=box.element_handle(), timeout=5000)
        assert box.input_value() == "Puhui@2026"
        report["log-in, password shown"] = problems(page, "zh")
        screenshot(page, "a11y-login-password-shown-phone")

        # in English: signed in, switched, signed out
        page.get_by_role("button", name="登录", exact=True).click()
        wait_for_text(page, re.escape(t("whitelist.title", "zh")))
        wait_sync_idle(page)
        switch_language(page, "en")
        semantic(page, "logout").click()
        wait_for_text(page, re.escape(t("login.server", "en", url="")))
        page.wait_for_timeout(800)
        report["log-in (English)"] = problems(page, "en")
        screenshot(page, "a11y-login-en-phone")
    finally:
        page.close()
    assert_clean(report)


@pytest.mark.flaky(reruns=0)  # a long walk; a screen it cannot reach is reported, not retried
def test_every_screen_in_chinese(workbench, central, browser):
    target = demo_prospect(central)
    page = open_app(browser, workbench.url, PHONE)
    try:
        wait_for_text(page, re.escape(t("whitelist.title", "zh")))
        report = walk_every_screen(page, workbench.url, "zh", bank_names(central), target)
    finally:
        page.close()
    assert_clean(report)


@pytest.mark.flaky(reruns=0)
def test_every_screen_in_english(workbench, central, browser):
    target = demo_prospect(central)
    page = open_app(browser, workbench.url, PHONE)
    try:
        wait_for_text(page, re.escape(t("whitelist.title", "zh")))
        wait_sync_idle(page)
        switch_language(page, "en")
        report = walk_every_screen(page, workbench.url, "en", bank_names(central), target)
    finally:
        try:
            switch_language(page, "zh")  # the device is shared with the other tests here
        finally:
            page.close()
    assert_clean(report)


@pytest.mark.flaky(reruns=0)
def test_every_screen_on_a_desktop(workbench_manager, central, browser):
    """The outlet manager at 1280 × 800: every control named in Chinese (sizes are a
    phone's rule), and each screen photographed from its top to its bottom."""
    target = demo_prospect(central)
    page = open_app(browser, workbench_manager.url, DESKTOP)
    try:
        title = "whitelist.title_outlet"  # 网点白名单 · <the outlet>
        wait_for_text(page, re.escape(t(title, "zh", name="")))
        report = walk_every_screen(
            page, workbench_manager.url, "zh", bank_names(central), target, title
        )
    finally:
        page.close()
    assert_clean(report)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_navigation_rail_speaks_the_ui_language(workbench, browser, lang):
    """Flutter's own words on the rail's destinations ("Tab 1 of 6") follow the language."""
    page = open_app(browser, workbench.url, DESKTOP)
    try:
        wait_for_text(page, re.escape(t("whitelist.title", "zh")))
        if lang == "en":
            switch_language(page, "en")
        wait_for_text(page, re.escape(t("nav.whitelist", lang)))
        page.wait_for_timeout(800)
        count = len(tabs_for("marketer"))  # the demo marketer: no 管理 tab
        rail = [p for p in problems(page, lang, sizes=False) if f"of {count}" in p or "标签" in p]
        assert rail == [], "\n".join(rail)
        tab = f"第 1 个标签，共 {count} 个" if lang == "zh" else f"Tab 1 of {count}"
        assert any(tab in s for s in texts(page)), texts(page)[:20]
    finally:
        try:
            if lang == "en":
                switch_language(page, "zh")
        finally:
            page.close()

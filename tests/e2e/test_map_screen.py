"""The map screen in a real Chromium: a marker's popup opens the card; the count never
reads "0 户" before the prospects are counted; every control in the marketer's language
and big enough for a finger.

The map is a Leaflet page in an iframe (flet-webview in web mode); the test taps into it
as a person would: clusters until single markers show, then a marker, then 查看客户.
"""

from __future__ import annotations

import re

from tests.e2e.conftest import (
    DESKTOP,
    E2E_MARKS,
    PHONE,
    nav,
    open_app,
    screenshot,
    signed_in,
    texts,
    wait_for_text,
)

pytestmark = E2E_MARKS

# Every count text the semantics tree shows, from the moment it is installed: a mutation
# observer sees each frame's texts, where polling could miss a short-lived one.
_WATCH_COUNT_JS = """() => {
    window.__countTexts = [];
    const look = () => {
        for (const e of document.querySelectorAll('flt-semantics')) {
            for (const s of [e.getAttribute('aria-label') || '', e.textContent || '']) {
                if (/公里内|统计/.test(s) && s.length < 40 && !window.__countTexts.includes(s)) {
                    window.__countTexts.push(s);
                }
            }
        }
    };
    look();
    new MutationObserver(look).observe(document.body, {
        subtree: true, childList: true, characterData: true, attributes: true });
}"""

# In the map's frame: a single prospect marker to tap (clear of the controls and the
# centre), else a cluster to tap (it zooms in); positions in the map container's pixels.
_TARGET_JS = """() => {
    const values = Object.keys(window).map(k => window[k]);
    const map = values.find(v => v instanceof L.Map);
    const layer = Object.keys(window).filter(k => k.startsWith('prospect_layer_'))
        .map(k => window[k]).find(v => v instanceof L.Layer);
    const box = map.getContainer().getBoundingClientRect();
    const blocked = [...document.querySelectorAll('.leaflet-control, .puhui-center')]
        .map(e => e.getBoundingClientRect());
    const clear = (x, y) => x > 30 && y > 30 && x < box.width - 30 && y < box.height - 30
        && !blocked.some(r => x > r.left - box.left - 28 && x < r.right - box.left + 28
                              && y > r.top - box.top - 28 && y < r.bottom - box.top + 28);
    for (const m of layer.getLayers()) {
        if (!map.hasLayer(m)) { continue; }  // inside a cluster
        const p = map.latLngToContainerPoint(m.getLatLng());
        if (clear(p.x, p.y)) { return { kind: 'marker', x: p.x, y: p.y }; }
    }
    for (const c of document.querySelectorAll('.puhui-cluster')) {
        const r = c.getBoundingClientRect();
        const x = r.left - box.left + r.width / 2, y = r.top - box.top + r.height / 2;
        if (clear(x, y)) { return { kind: 'cluster', x: x, y: y }; }
    }
    return null;
}"""


def map_frame(page):  # type: ignore[no-untyped-def]
    """The map page's frame, once Leaflet has drawn it."""
    page.frame_locator("iframe").first.locator(".leaflet-container").first.wait_for(timeout=30_000)
    return next(f for f in page.frames if "/private-maps/" in f.url)


def open_a_marker_popup(page) -> str:  # type: ignore[no-untyped-def]
    """Tap clusters until single markers show, tap one; the popup's prospect name."""
    frame = map_frame(page)
    container = page.frame_locator("iframe").first.locator(".leaflet-container").first
    for _ in range(8):
        target = frame.wait_for_function(_TARGET_JS, timeout=15_000).json_value()
        container.click(position={"x": target["x"], "y": target["y"]})
        page.wait_for_timeout(900)  # the zoom's animation, the popup's
        if target["kind"] == "marker":
            popup = frame.locator(".leaflet-popup .puhui-popup b").first
            if popup.count():
                return popup.inner_text()
    raise AssertionError("no marker's popup opened")


def test_a_popup_opens_the_card_and_the_count_never_reads_zero(workbench, browser):
    page = signed_in(browser, workbench.url, PHONE)
    try:
        page.evaluate(_WATCH_COUNT_JS)
        nav(page, "地图")
        count = wait_for_text(page, r"3 公里内 [1-9]\d* 户")
        seen = page.evaluate("() => window.__countTexts")
        # the outlet has prospects around it: no "0 户" before they are counted
        assert not [s for s in seen if re.search(r"(?<!\d)0 户", s)], seen
        assert count in seen

        frame = map_frame(page)
        zoom = frame.evaluate("""() => [...document.querySelectorAll('.leaflet-control-zoom a')]
            .map(a => { const r = a.getBoundingClientRect();
                        return [a.title, a.getAttribute('aria-label'), r.width, r.height]; })""")
        assert [z[:2] for z in zoom] == [["放大", "放大"], ["缩小", "缩小"]]
        assert all(w >= 48 and h >= 48 for _, _, w, h in zoom), zoom
        scale = frame.locator(".leaflet-control-scale-line")
        assert scale.count() == 1  # metric only: no miles and feet line
        assert re.fullmatch(r"\d+ (米|公里)", scale.first.inner_text().strip())
        # the radius choices and the rest of the screen in Chinese
        assert not [s for s in texts(page) if re.search(r"\bkm\b|Zoom|Open", s)]
        wait_for_text(page, "1 公里")

        page.mouse.move(195, 240)  # above the map: the screen scrolls, not the map
        page.mouse.wheel(0, 4000)
        page.wait_for_timeout(1200)
        screenshot(page, "map-bottom-phone")
        page.mouse.wheel(0, -4000)
        page.wait_for_timeout(1200)

        name = open_a_marker_popup(page)
        close = frame.locator(".leaflet-popup-close-button").first
        assert close.get_attribute("aria-label") == "关闭"
        box = close.bounding_box()
        assert box and box["width"] >= 48 and box["height"] >= 48
        button = page.frame_locator("iframe").first.get_by_role("button", name="查看客户")
        button.wait_for(timeout=5_000)
        page.wait_for_timeout(400)
        screenshot(page, "map-popup-phone")

        button.click()
        wait_for_text(page, "营销状态", timeout=15)  # the card, in the app
        wait_for_text(page, re.escape(name), timeout=5)
        assert "/prospect/" in page.url
        page.wait_for_timeout(800)
        screenshot(page, "map-popup-card-phone")
    finally:
        page.close()


def test_the_map_at_desktop_size(workbench, browser):
    page = open_app(browser, workbench.url, DESKTOP)
    try:
        wait_for_text(page, "我的白名单")
        nav(page, "地图")
        wait_for_text(page, r"3 公里内 [1-9]\d* 户")
        frame = map_frame(page)
        # clusters are drawn in the legend's colours, not markercluster's green/yellow/orange
        legend = set(
            frame.evaluate("""() => [...document.querySelectorAll('.puhui-legend i')]
                .map(i => getComputedStyle(i).backgroundColor)""")
        )
        clusters = set(
            frame.evaluate("""() => [...document.querySelectorAll('.puhui-cluster span')]
                .map(s => getComputedStyle(s).backgroundColor)""")
        )
        assert clusters and clusters <= legend, (clusters, legend)
        page.wait_for_timeout(1500)
        screenshot(page, "map-screen-desktop")
    finally:
        page.close()

"""End-to-end fixtures: a real central store, the workbench served in web mode as
a separate process, and Debian's Chromium driven by Playwright through Flutter's
semantics tree. Screenshots go to test-artifacts/ (not committed)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text as sql_text

from app.config import Settings
from app.demo import DEMO_ADMIN, DEMO_PASSWORD, DEMO_SUBBRANCH_MANAGER, generate
from app.models.sync import PROTOCOL_HEADER, PROTOCOL_VERSION
from app.server.admin import load_demo
from app.server.housekeeping import run_housekeeping
from app.server.ranks import refresh_ranks
from tests.conftest import TEST_SECRET, LiveServer, free_port, need

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Every end-to-end test: one retry for a headless Chromium that hiccups (a test failing
# twice fails the run), and a per-test limit that fails the test, not the whole run.
E2E_MARKS = [
    pytest.mark.e2e,
    pytest.mark.flaky(reruns=1, reruns_delay=2),
    pytest.mark.timeout(240, method="signal"),
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def die_with_this_process() -> None:
    """For ``Popen(preexec_fn=...)``: the child is ended when the test process ends, even
    when a timeout ends the test process without its fixtures' teardown (Linux)."""
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _wait_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"workbench exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError("workbench did not start")


class Workbench:
    """A running workbench process (web mode) against a live central store."""

    def __init__(self, server: LiveServer, data: Path, *extra: str) -> None:
        self.server = server
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data / "workbench.log"
        env = {**os.environ, "PUHUI_DATA_DIR": str(data), "PYTHONUNBUFFERED": "1"}
        self._log = open(self.log_path, "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "main.py",
                "run",
                "--no-store",
                "--store-port",
                str(server.port),
                "--port",
                str(self.port),
                *extra,
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_this_process,
        )
        _wait_port(self.port, self.proc)

    def __getitem__(self, key: str):  # type: ignore[no-untyped-def]
        return {"url": self.url, "server": self.server, "log": self.log_path}[key]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()


@pytest.fixture(scope="session")
def central(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One central store with demo data for the end-to-end tests."""
    need(Path(CHROMIUM).exists(), "Debian's chromium (apt-get install chromium)")
    data = tmp_path_factory.mktemp("central")
    settings = Settings(
        database_url=f"sqlite:///{data / 'central.sqlite3'}", data_dir=data, secret_key=TEST_SECRET
    )
    with LiveServer(settings) as server:
        load_demo(server.engine, generate(prospects=1500))
        refresh_ranks(server.engine)  # the ranks job counts the demo now, not in a minute
        yield server


@pytest.fixture(scope="module")
def workbench(central: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """The workbench as `make run` starts it: signed in as the demo marketer."""
    wb = Workbench(central, tmp_path_factory.mktemp("device"))
    yield wb
    wb.stop()


@pytest.fixture(scope="module")
def workbench_login(central: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """A fresh device that starts on the log-in screen."""
    wb = Workbench(central, tmp_path_factory.mktemp("device"), "--no-login")
    yield wb
    wb.stop()


@pytest.fixture(scope="module")
def workbench_manager(central: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """The outlet manager of the demo marketer, on a desktop."""
    wb = Workbench(central, tmp_path_factory.mktemp("device"), "--user", "G0001")
    yield wb
    wb.stop()


@pytest.fixture(scope="module")
def workbench_admin(central: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """The demo admin (head office), on a desktop."""
    wb = Workbench(central, tmp_path_factory.mktemp("device"), "--user", DEMO_ADMIN)
    yield wb
    wb.stop()


@pytest.fixture(scope="module")
def workbench_subbranch(central: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """The demo sub-branch manager (汇川支行: two outlets)."""
    wb = Workbench(central, tmp_path_factory.mktemp("device"), "--user", DEMO_SUBBRANCH_MANAGER)
    yield wb
    wb.stop()


@pytest.fixture(scope="module")
def rolled_up(central: LiveServer) -> None:
    """The dashboards' rollups made now (the store's housekeeping would, on its clock)."""
    run_housekeeping(central.engine, central.app.state.settings)


def store_answer(central: LiveServer, employee_no: str, path: str, **params: object) -> Any:
    """What the central store answers ``employee_no`` at ``path`` (GET), as JSON."""
    headers = {PROTOCOL_HEADER: str(PROTOCOL_VERSION)}
    with httpx.Client(base_url=central.url, headers=headers, timeout=30) as http:
        login = http.post(
            "/auth/login", json={"employee_no": employee_no, "password": DEMO_PASSWORD}
        )
        login.raise_for_status()
        bearer = {"Authorization": f"Bearer {login.json()['token']}"}
        answer = http.get(path, params=params, headers=bearer)
        answer.raise_for_status()
        return answer.json()


def to_bottom(page) -> None:  # type: ignore[no-untyped-def]
    """Scroll the screen under the pointer to its bottom (a wheel, as a person would)."""
    size = page.viewport_size
    page.mouse.move(size["width"] / 2, size["height"] / 2)
    for _ in range(12):
        page.mouse.wheel(0, 800)
        page.wait_for_timeout(120)
    page.wait_for_timeout(1000)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    need(Path(CHROMIUM).exists(), "Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def open_app(browser, url: str, viewport: dict, **context: object):  # type: ignore[no-untyped-def]
    """A page with Flutter's semantics tree switched on; ``context``: Playwright's browser
    context options (a position, permissions); the page then owns its context."""
    if context:
        page = browser.new_context(viewport=viewport, **context).new_page()
    else:
        page = browser.new_page(viewport=viewport)
    page.goto(url)
    enable_semantics(page)
    return page


def enable_semantics(page, timeout: float = 90_000) -> None:  # type: ignore[no-untyped-def]
    """Switch on Flutter's semantics tree (after any page load)."""
    placeholder = page.locator("flt-semantics-placeholder")
    placeholder.wait_for(state="attached", timeout=timeout)
    placeholder.dispatch_event("click")


def screenshot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


_TEXTS_JS = """() => Array.from(document.querySelectorAll('flt-semantics')).flatMap(e =>
    [e.getAttribute('aria-label') || '', e.childElementCount ? '' : (e.textContent || ''),
     ...Array.from(e.children).filter(c => c.tagName === 'SPAN').map(c => c.textContent || '')])
    .filter(s => s)"""


def texts(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Every text and label Flutter's semantics tree exposes right now.

    Through ``wait_for_function`` (an array is truthy at once) rather than
    ``evaluate``: a renderer that stops answering fails the test in 15 s instead of
    blocking it until the run's timeout."""
    return page.wait_for_function(_TEXTS_JS, timeout=15_000).json_value()


_WIDTHS_JS = """(label) => [...document.querySelectorAll('flt-semantics')]
    .filter(e => (e.getAttribute('aria-label') || e.textContent || '').trim() === label)
    .map(e => e.getBoundingClientRect().width)"""


def assert_not_cut(page, label: str, font_px: float = 12, extra_px: float = 40) -> None:  # type: ignore[no-untyped-def]
    """A chip or button labelled with CJK ``label`` is wide enough to show all of it.

    Text laid out before the CJK font has loaded keeps the width of the missing glyphs and
    is drawn cut off ("待跟进" as "待"); the control is then narrower than its characters.
    ``extra_px``: the least an icon and paddings add (chips: a 16 px icon, 2 × 12 px).
    """
    widths = page.evaluate(_WIDTHS_JS, label)
    assert widths, f"nothing labelled {label!r}"
    least = font_px * len(label) + extra_px
    assert min(widths) >= least, (
        f"{label!r} is {min(widths):.0f} px wide, under {least:.0f}: cut off"
    )


def wait_for_text(page, pattern: str, timeout: float = 60) -> str:  # type: ignore[no-untyped-def]
    """Wait until some exposed text matches ``pattern`` (a regex); return it."""
    regex = re.compile(pattern)
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        seen = texts(page)
        for text in seen:
            if regex.search(text):
                return text
        page.wait_for_timeout(250)
    raise AssertionError(f"no text matching {pattern!r}; the screen shows: {seen[:40]}")


def wait_sync_idle(page, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    """Wait until no sync is running (the sync button is enabled again)."""
    busy = re.compile("正在上传|正在下载|正在校验|Uploading|Downloading|Verifying")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(busy.search(s) for s in texts(page)) and any(
            re.search(r"上次同步 \d{4}|Last sync \d{4}", s) for s in texts(page)
        ):
            return
        page.wait_for_timeout(250)
    raise AssertionError("sync did not finish")


def wait_until_gone(page, pattern: str, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    """Wait until no exposed text matches ``pattern`` (a regex)."""
    deadline = time.monotonic() + timeout
    while any(re.search(pattern, s) for s in texts(page)):
        if time.monotonic() > deadline:
            raise AssertionError(f"still showing {pattern!r}: {texts(page)[:40]}")
        page.wait_for_timeout(250)


def signed_in(browser, url: str, viewport: dict, title: str = "我的白名单", **context: object):  # type: ignore[no-untyped-def]
    """``open_app``, then wait for the signed-in screen (its ``title``) and its sync to end."""
    page = open_app(browser, url, viewport, **context)
    try:
        wait_for_text(page, title)
        wait_sync_idle(page)
    except BaseException:
        (page.context if context else page).close()
        raise
    return page


def semantic(page, identifier: str):  # type: ignore[no-untyped-def]
    """The first node marked ``identifier`` (``ft.Semantics(identifier=...)``)."""
    return page.locator(f'[flt-semantics-identifier="{identifier}"]').first


def tap_when_enabled(page, identifier: str) -> None:  # type: ignore[no-untyped-def]
    """Tap a button once it is enabled; a tap before its enabling render does nothing."""
    # as for a person: the tap on a button still disabled on the client is lost
    page.wait_for_function(
        """id => { const n = document.querySelector(`[flt-semantics-identifier="${id}"]`);
                   return n && !n.matches('[aria-disabled="true"]')
                            && !n.querySelector('[aria-disabled="true"]'); }""",
        arg=identifier,
        timeout=15_000,
    )
    semantic(page, identifier).click()


def nav(page, label: str) -> None:  # type: ignore[no-untyped-def]
    """Go to a tab of the navigation bar (phone) or rail (desktop)."""
    # The bar's destinations are tabs, the rail's buttons; each is named by its label, then
    # its place ("跟进\n第 2 个标签，共 5 个"): matched from the start, so a control that
    # only contains the label (不设跟进, 在地图上查看) is never the one tapped.
    name = re.compile(rf"^{re.escape(label)}(\s|$)")  # Playwright reads the line break as a space
    tab = page.get_by_role("tab", name=name)
    rail = page.get_by_role("button", name=name)  # the rail comes first in the tree
    tab.or_(rail).first.click()


def type_into(page, label: str, value: str) -> None:  # type: ignore[no-untyped-def]
    """Tap the text box named ``label`` and type ``value`` into it (no Enter)."""
    # Flutter connects its text input to the box a few frames after the tap and then writes
    # the box's own text (e.g. a password the app has just emptied) over the DOM input: a
    # fill that lands before that is lost. So the fill is repeated until it holds.
    box = page.get_by_role("textbox", name=label).first
    box.click()
    for _ in range(5):
        box.fill(value)
        page.wait_for_timeout(300)
        if box.input_value() == value:
            return
    raise AssertionError(f"the box {label!r} does not keep {value!r}: {box.input_value()!r}")


def store_rows(central, sql: str, **params: object) -> list[tuple]:  # type: ignore[no-untyped-def]
    """The rows ``sql`` (with ``params``) reads from the central store."""
    with central.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sql_text(sql), params)]

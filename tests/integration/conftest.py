"""Fixtures the integration tests share: a quiet central store over real HTTP on each
database, a client speaking the current protocol, and a sign-in for a bearer header.

A module may define its own ``settings``, ``server``, ``http`` or ``api``; pytest then uses
the module's (test_dashboards.py's ``http`` signs every employee in, for one).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from app.config import Settings
from app.models.sync import PROTOCOL_HEADER, PROTOCOL_VERSION
from tests.conftest import LiveServer
from tests.world import PASSWORD

# what a device sends on every request: sign-in needs it, the loan feed ignores it
PROTOCOL = {PROTOCOL_HEADER: str(PROTOCOL_VERSION)}


@pytest.fixture
def settings(store_settings: Settings) -> Settings:
    """``store_settings`` (SQLite, then PostgreSQL) with the housekeeping clock stopped: the
    store runs its housekeeping (pool returns, the dashboards' rollups) only when a test
    calls it."""
    quiet = {"housekeeping_interval_seconds": 0, "dashboards_interval_seconds": 0}
    return store_settings.model_copy(update=quiet)


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    """A quiet central store (``settings``) under uvicorn on a free port."""
    with LiveServer(settings) as live:
        yield live


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    """An HTTP client of the quiet ``server``, speaking the current protocol, with no token."""
    with httpx.Client(base_url=server.url, headers=PROTOCOL, timeout=60) as client:
        yield client


@pytest.fixture
def api(live_server: LiveServer) -> Iterator[httpx.Client]:
    """An HTTP client of ``live_server`` (its housekeeping on the clock), speaking the current
    protocol, with no token."""
    with httpx.Client(base_url=live_server.url, headers=PROTOCOL, timeout=60) as client:
        yield client


def bearer(http: httpx.Client, who: str) -> dict[str, str]:
    """The Authorization header of employee ``who`` (tests/world.py's password), signed in
    afresh through ``http``."""
    answer = http.post("/auth/login", json={"employee_no": who, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}

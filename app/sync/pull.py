"""Pull: fetch pages since the saved cursor and apply each with its cursor, atomically.

While one page is applied, the next is already being fetched (one request at a
time, on one helper thread), so the device and the store work side by side.
Killed between pages, the device resumes from the last saved cursor; until a
snapshot has fully landed, ``snapshot_complete`` stays unset so no screen presents
a half-loaded whitelist as complete.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from app.sync.apply import apply_page
from app.sync.busy import Patience
from app.sync.client import SyncClient
from app.sync.state import StateKey
from app.sync.store import DeviceStore


def pull_all(
    store: DeviceStore,
    client: SyncClient,
    *,
    limit: int | None = None,
    on_page: Callable[[dict[str, Any]], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    patience: Patience | None = None,
) -> int:
    """Pull until the store has nothing more; returns rows applied. With ``patience``, a
    page the store is too busy to serve is asked for again after its ``Retry-After``."""
    applied = 0
    if should_stop():
        return applied
    ask = patience.call if patience is not None else _now
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pull") as fetcher:
        upcoming = fetcher.submit(ask, partial(client.pull, store.state(StateKey.CURSOR), limit))
        while True:
            page = upcoming.result()
            more = bool(page.get("has_more")) and not should_stop()
            if more:  # fetch the next page while this one is written
                upcoming = fetcher.submit(ask, partial(client.pull, page["cursor"], limit))
            with store.transaction() as conn:
                counts = apply_page(conn, page)
            applied += sum(counts.values())
            if on_page:
                on_page(page)
            if not more:
                return applied


def _now(request: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    return request()

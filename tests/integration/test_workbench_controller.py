"""The workbench controller against a real central store: what the whitelist screen shows."""

from __future__ import annotations

import asyncio

import pytest

from app.config import Settings
from app.views import context
from app.views.context import Workbench
from tests.world import PASSWORD, build_world


@pytest.fixture
def workbench(live_server, tmp_path):  # type: ignore[no-untyped-def]
    build_world(live_server.engine, per_marketer=6, pool=4)
    settings = Settings(server_url=live_server.url, data_dir=tmp_path / "device")
    wb = Workbench(settings, maps_dir=tmp_path / "maps")
    yield wb
    wb.http.close()
    wb.store.close()


async def test_a_search_is_not_overwritten_by_an_older_slower_read(workbench, monkeypatch):
    """A sync finishing redraws the list with the query of that moment; a search submitted
    meanwhile must win, whichever read comes back last."""
    wb = workbench
    assert await wb.login("M1", PASSWORD)
    await asyncio.to_thread(wb.engine.sync_once)
    await wb.refresh()
    everything = wb.state.total
    assert everything > 1

    real = context.whitelist.query_whitelist

    def slow_when_unfiltered(conn, query, **kwargs):  # type: ignore[no-untyped-def]
        if not query.text:
            import time

            time.sleep(0.5)  # the redraw of the sync that just finished: slower
        return real(conn, query, **kwargs)

    monkeypatch.setattr(context.whitelist, "query_whitelist", slow_when_unfiltered)
    redraw = asyncio.create_task(wb.refresh())  # started first, with no search text
    await asyncio.sleep(0.05)
    first = wb.state.rows[0].company_name
    await wb.set_query(text=first[-3:])
    await redraw

    assert wb.state.query_text == first[-3:]
    assert 1 <= wb.state.total < everything
    assert all(first[-3:] in row.company_name for row in wb.state.rows)


async def test_the_card_tapped_last_is_the_card_shown(workbench, monkeypatch):
    """Tap one customer, back, tap another: the first card's slower read must not land last
    (the screen would wait for the second card for ever)."""
    wb = workbench
    assert await wb.login("M1", PASSWORD)
    await asyncio.to_thread(wb.engine.sync_once)
    await wb.refresh()
    first, second = (row.id for row in wb.state.rows[:2])

    real = context.get_card

    def slow_for_the_first(conn, prospect_id):  # type: ignore[no-untyped-def]
        if prospect_id == first:
            import time

            time.sleep(0.5)
        return real(conn, prospect_id)

    monkeypatch.setattr(context, "get_card", slow_for_the_first)
    tapped_first = asyncio.create_task(wb.open_card(first))
    await asyncio.sleep(0.05)
    await wb.open_card(second)
    await tapped_first
    assert wb.state.card is not None and wb.state.card.id == second

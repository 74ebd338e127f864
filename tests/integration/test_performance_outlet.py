"""本网点 on each device: a manager's holds the whole outlet; a marketer's holds only their
own prospects and the outlet's pool, so its outlet figures are the central store's.

Hand-counted world (outlet A: M1, M2, manager G1; outlet B: M3): this month M1 logs one
contact, M2 three on two prospects and disburses 200,000 元 on one of them.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from app.config import Settings
from app.models import Prospect
from app.server.api_keys import create_api_key
from app.server.db import write_session
from app.server.ranks import refresh_ranks
from app.services.clock import beijing_today
from app.services.marketing import new_log
from app.services.performance import stored_shares
from app.services.scope import Scope
from app.services.validation import make_credit_code
from app.sync import local
from app.sync.state import StateKey
from app.workbench import Workbench
from tests.integration.test_branch_ranks import disburse
from tests.integration.test_sync_scenarios import signed_in as device_signed_in
from tests.integration.test_sync_scenarios import synced
from tests.world import PASSWORD, build_world


@pytest.fixture
def world(live_server, make_device):  # type: ignore[no-untyped-def]
    world = build_world(live_server.engine)
    for no, prospects in [("M1", [0]), ("M2", [0, 0, 1])]:
        device, me = device_signed_in(make_device, live_server, no)
        synced(device)
        for i in prospects:
            pid = world.prospects_of(no)[i]["id"]
            local.record_log(
                device.store,
                Scope(me.user_id, me.role, me.outlet_id),
                new_log(prospect_id=pid, channel="phone", outcome="considering"),
            )
        synced(device)
    disburse(live_server, world, "M2", 200_000)
    refresh_ranks(live_server.engine)  # the store's ranks job counts them (on its clock)
    return world


async def _signed_in(live_server, tmp_path, employee_no: str) -> Workbench:  # type: ignore[no-untyped-def]
    workbench = Workbench(
        Settings(server_url=live_server.url, data_dir=tmp_path / f"device-{employee_no}")
    )
    assert await workbench.login.submit(employee_no, PASSWORD)
    await asyncio.to_thread(workbench.engine.sync_once)
    return workbench


async def test_a_marketers_outlet_is_the_stores_count_of_the_whole_outlet(
    world, live_server, tmp_path
):
    marketer = await _signed_in(live_server, tmp_path, "M1")
    manager = await _signed_in(live_server, tmp_path, "G1")
    try:
        perf = marketer.performance
        await perf.load()
        assert perf.state.subject == "mine" and not perf.state.from_store
        mine = perf.state.report
        assert mine is not None and (mine.contacts, mine.disbursed_amount) == (1, 0)

        await perf.pick(subject="outlet")
        outlet = perf.state.report
        assert perf.state.from_store and perf.state.ranked_at is not None
        assert outlet is not None
        # the whole outlet, colleagues included: not the device's own part (M1's 1 contact)
        assert (outlet.contacts, outlet.contacted_prospects) == (4, 3)
        assert (outlet.disbursed_count, outlet.disbursed_amount) == (1, 200_000)
        assert (outlet.rank, outlet.rank_of) == (1, 2)
        assert outlet.batches == []  # no coverage from a device that holds only part of it

        # the manager's device holds the outlet: the same figures, counted on the device
        await manager.performance.load()
        state = manager.performance.state
        assert state.subject == "outlet" and not state.from_store  # a manager opens on it
        assert state.report is not None
        assert (state.report.contacts, state.report.disbursed_amount) == (4, 200_000)
        assert [(r.employee_no, r.contacts) for r in state.breakdown] == [("M2", 3), ("M1", 1)]
        assert state.report.batches  # and the whole funnel and coverage
    finally:
        marketer.close()
        manager.close()


async def test_profit_shares_reach_each_persons_and_outlets_performance(
    world, live_server, tmp_path
):
    # the loan system reports a loan of 123,457 元 on one of M1's
    # prospects, originated by M2 and booked at outlet B: 40 / 30 / 30 of 12,345,700 fen
    prospect = world.prospects_of("M1")[1]
    code = make_credit_code("520303", "MA6DP001")
    with write_session(live_server.engine) as session:
        session.execute(
            update(Prospect).where(Prospect.id == prospect["id"]).values(credit_code=code)
        )
    key = create_api_key(live_server.engine, name="信贷系统")
    events = [
        {
            "loan_id": "DK-P1",
            "credit_code": code,
            "status": status,
            "amount": 123_457,
            "occurred_on": beijing_today().isoformat(),
            "booking_outlet_code": "T-002",
            "originator_employee_no": "M2",
            "product": "经营快贷",
        }
        for status in ("applied", "approved", "disbursed")
    ]
    answer = httpx.post(
        f"{live_server.url}/loans/events", json={"events": events}, headers={"X-API-Key": key}
    )
    assert answer.status_code == 200, answer.text
    refresh_ranks(live_server.engine)
    marketer = await _signed_in(live_server, tmp_path, "M1")
    manager = await _signed_in(live_server, tmp_path, "G1")
    try:
        perf = marketer.performance
        await perf.load()
        mine = perf.state.report
        assert mine is not None and mine.shares is not None
        # M1 worked it: 40 % (4,938,280 fen), none as originator
        assert (mine.shares.first, mine.shares.second) == (4_938_280, 0)
        await perf.pick(subject="outlet")
        outlet = perf.state.report
        # outlet A booked nothing; its staff hold M1's 40 % and M2's 30 %
        assert outlet is not None and outlet.shares is not None
        assert (outlet.shares.first, outlet.shares.second) == (0, 4_938_280 + 3_703_710)

        await manager.performance.load()
        rows = {r.employee_no: r.shares for r in manager.performance.state.breakdown}
        assert rows["M1"] is not None and rows["M1"].total == 4_938_280
        assert rows["M2"] is not None and (rows["M2"].first, rows["M2"].second) == (0, 3_703_710)
        # last quarter's figures are not this quarter's: another period shows none
        stored = json.loads(marketer.store.state(StateKey.BRANCH_RANKS) or "{}")
        later = beijing_today() + timedelta(days=120)
        assert stored_shares(stored, "quarter", later, user_id=world.user_id("M1")) is None
    finally:
        marketer.close()
        manager.close()

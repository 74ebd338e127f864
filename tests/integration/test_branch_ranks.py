"""Ranks within the branch reach devices that cannot compute them (SQLite and PostgreSQL).

A marketer's device holds only their outlet, so "第 2 / 3 名" must come from the
central store. Hand-counted world: this month M3 (outlet B) disbursed 500,000 元,
M1 (outlet A) 200,000 元, M2 (outlet A) nothing. Marketers: M3 1st, M1 2nd, M2 3rd
of 3; outlets: B 1st, A 2nd of 2.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from sqlalchemy import event

from app.config import Settings
from app.i18n import t
from app.models.ids import new_id, utcnow
from app.queries.performance import marketer_report
from app.server.changes import bulk_insert
from app.server.db import write_session
from app.server.ranks import refresh_ranks
from app.services.clock import beijing_today
from app.services.performance import with_stored_rank
from app.sync.session import sign_out
from app.sync.state import StateKey
from app.workbench import Workbench
from tests.integration.conftest import bearer
from tests.integration.test_sync_scenarios import signed_in, synced
from tests.world import PASSWORD, build_world


def disburse(server, world, employee_no: str, amount: int) -> None:  # type: ignore[no-untyped-def]
    prospect = world.prospects_of(employee_no)[0]
    now = utcnow()
    event = dict(
        id=new_id(),
        prospect_id=prospect["id"],
        actor_id=world.user_id(employee_no),
        from_status="approved",
        to_status="disbursed",
        applied=True,
        reason_code="",
        amount=amount,
        occurred_at=now,
        recorded_at=now,
        rev=1,
    )
    with write_session(server.engine) as session:
        bulk_insert(session, "funnel_event", [event])


def test_a_marketer_and_a_manager_see_branch_ranks_from_the_store(live_server, make_device):
    world = build_world(live_server.engine)
    disburse(live_server, world, "M3", 500_000)
    disburse(live_server, world, "M1", 200_000)
    refresh_ranks(live_server.engine)  # the store's ranks job (on its clock in production)
    m1, _ = signed_in(make_device, live_server, "M1")
    synced(m1)
    stored = json.loads(m1.engine.store.state(StateKey.BRANCH_RANKS))
    month = stored["periods"]["month"]
    assert month["marketers"] == {world.user_id("M1"): [2, 3, 1]}  # nobody else's rank
    assert month["outlet"] == [2, 2, 1]

    today = beijing_today()
    with m1.store.read() as conn:
        report = marketer_report(conn, world.user_id("M1"), "month", today)
    shown = with_stored_rank(report, stored, "month", today, user_id=world.user_id("M1"))
    assert (shown.rank, shown.rank_of, shown.rank_shared) == (2, 3, 1)
    next_month = today.replace(day=1) + timedelta(days=32)  # last sync was last month
    stale = with_stored_rank(report, stored, "month", next_month, user_id=world.user_id("M1"))
    assert stale.rank is None

    g1, _ = signed_in(make_device, live_server, "G1")
    synced(g1)
    manager = json.loads(g1.engine.store.state(StateKey.BRANCH_RANKS))["periods"]["quarter"]
    assert manager["marketers"] == {world.user_id("M1"): [2, 3, 1], world.user_id("M2"): [3, 3, 1]}
    assert manager["outlet"] == [2, 2, 1]

    sign_out(m1.store)  # the next person on this device must not see M1's ranks
    assert m1.store.state(StateKey.BRANCH_RANKS) is None


def test_ranks_unreachable_leave_the_sync_done(live_server, make_device):
    """Ranks are shown, not synced data: a store without the endpoint fails nothing."""
    world = build_world(live_server.engine)
    device, _ = signed_in(make_device, live_server, "M1")
    # A central store of an older release, without /stats/ranks
    live_server.app.router.routes[:] = [
        r
        for r in live_server.app.router.routes
        if getattr(getattr(r, "original_router", None), "prefix", "") != "/stats"
    ]
    progress = synced(device)
    assert progress.pending == 0
    assert device.store.state(StateKey.BRANCH_RANKS) is None
    assert device.ids() == {p["id"] for p in world.prospects_of("M1") + world.pool(world.outlet_a)}


def test_a_rank_everyone_shares_says_so(live_server, make_device):
    """A new month: nobody has disbursed or called yet, so all share first place."""
    world = build_world(live_server.engine)
    refresh_ranks(live_server.engine)
    device, _ = signed_in(make_device, live_server, "M1")
    synced(device)
    stored = json.loads(device.store.state(StateKey.BRANCH_RANKS))
    assert stored["periods"]["week"]["marketers"] == {world.user_id("M1"): [1, 3, 3]}
    with device.store.read() as conn:
        report = marketer_report(conn, world.user_id("M1"), "week", beijing_today())
    shown = with_stored_rank(report, stored, "week", beijing_today(), user_id=world.user_id("M1"))
    assert (shown.rank, shown.rank_shared) == (1, 3)


def test_ranks_are_asked_for_once_in_ten_minutes_not_at_every_sync(live_server, make_device):
    """A sync with nothing new stays cheap: the ranks come at most every ranks_interval."""
    build_world(live_server.engine)
    device, _ = signed_in(make_device, live_server, "M1")
    paths: list[str] = []
    device.http.event_hooks["request"].append(lambda r: paths.append(r.url.path))
    synced(device)
    synced(device)
    assert paths.count("/stats/ranks") == 1
    device.engine.ranks_interval = timedelta(0)  # ten minutes later
    synced(device)
    assert paths.count("/stats/ranks") == 2


def test_a_sub_branch_manager_sees_its_outlets_marketers_and_each_outlets_figures(
    live_server, make_device
):
    """Z1 (汇川支行: outlets A and C) gets the ranks of A's and C's marketers, not B's, and
    each of its outlets' rank and figures; a plain manager gets its one outlet's."""
    world = build_world(live_server.engine, subbranch=True)
    disburse(live_server, world, "M3", 500_000)  # outlet B, another sub-branch
    disburse(live_server, world, "M1", 200_000)  # outlet A
    disburse(live_server, world, "M4", 100_000)  # outlet C
    refresh_ranks(live_server.engine)
    z1, _ = signed_in(make_device, live_server, "Z1")
    synced(z1)
    month = json.loads(z1.engine.store.state(StateKey.BRANCH_RANKS))["periods"]["month"]
    ids = {no: world.user_id(no) for no in ("M1", "M2", "M3", "M4")}
    assert month["marketers"] == {
        ids["M1"]: [2, 4, 1],
        ids["M4"]: [3, 4, 1],
        ids["M2"]: [4, 4, 1],
    }
    assert month["outlet"] == [2, 3, 1]  # where Z1 sits: A
    assert month["outlets"] == {world.outlet_a: [2, 3, 1], world.outlet_c: [3, 3, 1]}
    assert set(month["outlet_tallies"]) == {world.outlet_a, world.outlet_c}
    assert month["outlet_tallies"][world.outlet_c][2:] == [1, 100_000]

    g1, _ = signed_in(make_device, live_server, "G1")
    synced(g1)
    manager = json.loads(g1.engine.store.state(StateKey.BRANCH_RANKS))["periods"]["month"]
    assert set(manager["marketers"]) == {ids["M1"], ids["M2"]}
    assert set(manager["outlets"]) == {world.outlet_a}


# -- counted by the store's job, read by the request --------------------------------------


class Statements:
    """The SQL the store runs while it is watched."""

    def __init__(self, engine) -> None:  # type: ignore[no-untyped-def]
        self.engine, self.seen = engine, list[str]()

    def _record(self, _conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        self.seen.append(statement.lower())

    def __enter__(self) -> Statements:
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)

    def reading(self, *tables: str) -> list[str]:
        return [s for s in self.seen if any(f" {t}" in s for t in tables)]


def test_the_answer_is_the_jobs_last_count_until_it_counts_again(server, http):
    """/stats/ranks reads what the ranks job stored: a disbursement after the count changes
    nothing a device is told (not its rank, not its outlet's figures, not the count's
    time) until the job counts again; the request reads no log, funnel event or share."""
    world = build_world(server.engine)
    refresh_ranks(server.engine)
    m1 = bearer(http, "M1")
    before = http.get("/stats/ranks", headers=m1).json()
    assert before["ranked"] is True
    assert before["periods"]["month"]["marketers"] == {world.user_id("M1"): [1, 3, 3]}
    assert before["periods"]["month"]["outlet_tally"][2:] == [0, 0]

    disburse(server, world, "M1", 300_000)
    with Statements(server.engine) as sql:
        still = http.get("/stats/ranks", headers=m1).json()
    assert still["periods"] == before["periods"] and still["as_of"] == before["as_of"]
    whole_store = sql.reading("marketing_log", "funnel_event", "profit_share", "prospect")
    assert whole_store == [], whole_store  # the caller's rows of the count, nothing more

    refresh_ranks(server.engine)  # the job's next round
    after = http.get("/stats/ranks", headers=m1).json()
    assert after["periods"]["month"]["marketers"] == {world.user_id("M1"): [1, 3, 1]}
    assert after["periods"]["month"]["outlet_tally"][2:] == [1, 300_000]
    assert after["as_of"] > before["as_of"]


def test_a_store_not_yet_counted_says_so_and_a_device_shows_it(server, http, make_device):
    """A store just made, before its first count: no rank and no 分润 passed off as 0, but
    ``ranked: false``; the device keeps that and asks again at its next sync."""
    world = build_world(server.engine)
    answer = http.get("/stats/ranks", headers=bearer(http, "M1")).json()
    assert answer["ranked"] is False and answer["as_of"] is None
    assert answer["periods"] == {} and "shares" not in answer
    assert answer["targets"] == []

    device, _ = signed_in(make_device, server, "M1")
    synced(device)
    assert json.loads(device.store.state(StateKey.BRANCH_RANKS))["ranked"] is False
    refresh_ranks(server.engine)
    synced(device)  # within ranks_interval, yet asked again: the last answer had no ranks
    stored = json.loads(device.store.state(StateKey.BRANCH_RANKS))
    assert stored["ranked"] is True
    assert stored["periods"]["week"]["marketers"] == {world.user_id("M1"): [1, 3, 3]}


def test_a_slow_count_overtaken_by_a_newer_one_is_not_kept(server, http):
    """Two counts at once (a replica's round and an operator's ``main.py housekeeping``):
    the one whose snapshot is older never replaces the newer one's result."""
    world = build_world(server.engine)
    started = utcnow()
    disburse(server, world, "M2", 100_000)
    refresh_ranks(server.engine)  # the newer count, finished first
    assert refresh_ranks(server.engine, started - timedelta(seconds=5)) == 0  # the older one
    month = http.get("/stats/ranks", headers=bearer(http, "M2")).json()["periods"]["month"]
    assert month["marketers"] == {world.user_id("M2"): [1, 3, 1]}


async def test_the_performance_screen_says_the_rank_is_not_counted_yet(server, tmp_path):
    """A marketer who syncs before the store's first count is told the rank is being
    counted (计算中), not shown none; once counted, the next sync brings it."""
    build_world(server.engine)
    workbench = Workbench(
        Settings(server_url=server.url, data_dir=tmp_path / "device", live_updates=False)
    )
    try:
        assert await workbench.login.submit("M1", PASSWORD)
        await asyncio.to_thread(workbench.engine.sync_once)
        perf = workbench.performance
        await perf.load()
        assert perf.state.rank_pending and perf.state.report is not None
        assert perf.state.report.rank is None
        assert t("perf.rank_pending", "zh") == "计算中"

        refresh_ranks(server.engine)
        await asyncio.to_thread(workbench.engine.sync_once)
        await perf.load()
        assert not perf.state.rank_pending
        assert perf.state.report is not None
        assert (perf.state.report.rank, perf.state.report.rank_of) == (1, 3)
    finally:
        workbench.close()


def test_an_admin_is_told_every_marketers_rank(server, http):
    """An admin's answer: every marketer of the branch ranked (read whole, not by id)."""
    world = build_world(server.engine)
    disburse(server, world, "M3", 500_000)
    refresh_ranks(server.engine)
    month = http.get("/stats/ranks", headers=bearer(http, "A1")).json()["periods"]["month"]
    assert month["marketers"] == {
        world.user_id("M3"): [1, 3, 1],
        world.user_id("M1"): [2, 3, 2],
        world.user_id("M2"): [2, 3, 2],
    }

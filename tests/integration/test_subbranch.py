"""A sub-branch manager's device against the real central store (SQLite and PostgreSQL).

The world: outlets A and C under 汇川支行, B under 红花岗支行; Z1 manages 汇川支行 from A.
Its device must hold exactly A's and C's prospects (masked: none is assigned to it),
their history and their people, follow a prospect out of the sub-branch and in again,
and take in an outlet the sub-branch gains.
"""

from __future__ import annotations

from app.config import Settings
from app.models import Outlet
from app.models.ids import new_id, utcnow
from app.server.changes import bulk_insert, record_change
from app.server.db import write_session
from app.server.ranks import refresh_ranks
from app.services.marketing import new_log
from app.services.masking import mask_phone
from app.sync import local
from app.workbench import Workbench
from tests.integration.test_branch_ranks import disburse
from tests.integration.test_sync_scenarios import device_rows, signed_in, synced
from tests.world import PASSWORD, build_world


def test_the_snapshot_holds_exactly_its_outlets_prospects_and_people(live_server, make_device):
    world = build_world(live_server.engine, subbranch=True)
    a, b, c = world.outlet_a, world.outlet_b, world.outlet_c
    m3, other = signed_in(make_device, live_server, "M3")
    synced(m3)
    theirs = world.prospects_of("M3")[0]["id"]
    local.record_log(
        m3.store, other, new_log(prospect_id=theirs, channel="visit", outcome="interested")
    )
    m4, sister = signed_in(make_device, live_server, "M4")
    synced(m4)
    ours = world.prospects_of("M4")[0]["id"]
    log_id = local.record_log(
        m4.store, sister, new_log(prospect_id=ours, channel="phone", outcome="considering")
    )
    synced(m3)
    synced(m4)

    z1, me = signed_in(make_device, live_server, "Z1")
    synced(z1)

    assert z1.ids() == {p["id"] for p in world.prospects if p["outlet_id"] in (a, c)}
    assert not {p["id"] for p in world.prospects if p["outlet_id"] == b} & z1.ids()
    people = {world.user_id(no) for no in ("M1", "M2", "G1", "M4", "Z1", "A1")}
    assert z1.ids("user") == people  # its outlets' colleagues and the admins, not M3
    assert z1.ids("outlet") == {a, b, c}  # every outlet: the sub-branch is made of them
    assert z1.row("marketing_log", log_id) is not None  # its outlets' history
    assert device_rows(z1, "marketing_log", theirs) == []
    shown = z1.row("prospect", ours)
    assert shown["phone"] == mask_phone(
        next(p["phone"] for p in world.prospects if p["id"] == ours)
    )
    assert me.role == "subbranch_manager"


def test_a_prospect_moved_to_another_sub_branch_leaves_its_device_and_one_moved_in_arrives(
    live_server, make_device
):
    world = build_world(live_server.engine, subbranch=True)
    z1, _ = signed_in(make_device, live_server, "Z1")
    a1, admin = signed_in(make_device, live_server, "A1")
    m4, sister = signed_in(make_device, live_server, "M4")
    for d in (z1, a1, m4):
        synced(d)
    leaving = world.prospects_of("M4")[0]["id"]
    local.record_log(
        m4.store, sister, new_log(prospect_id=leaving, channel="visit", outcome="considering")
    )
    synced(m4)
    synced(z1)
    assert device_rows(z1, "marketing_log", leaving)
    coming = world.prospects_of("M3")[0]["id"]
    assert coming not in z1.ids()

    synced(a1)
    local.assign(
        a1.store, admin, prospect_id=leaving, to_user_id=world.user_id("M3"), reason="客户搬迁"
    )
    local.assign(
        a1.store, admin, prospect_id=coming, to_user_id=world.user_id("M1"), reason="客户搬迁"
    )
    synced(a1)
    synced(z1)

    assert leaving not in z1.ids()  # now at B, another sub-branch's
    for entity in ("marketing_log", "funnel_event", "transfer"):
        assert device_rows(z1, entity, leaving) == [], entity
    row = z1.row("prospect", coming)
    assert (row["outlet_id"], row["assignee_id"]) == (world.outlet_a, world.user_id("M1"))
    assert [t["to_user_id"] for t in device_rows(z1, "transfer", coming)] == [world.user_id("M1")]


def test_an_outlet_the_sub_branch_gains_comes_with_its_prospects(live_server, make_device):
    """A new outlet under 汇川支行 widens Z1's scope: its prospects come with the next sync."""
    world = build_world(live_server.engine, subbranch=True)
    z1, _ = signed_in(make_device, live_server, "Z1")
    synced(z1)
    before = z1.ids()
    d = new_id()
    outlet = dict(
        id=d,
        code="T-004",
        name="测试汇川高桥网点",
        tier="general",
        branch_name="汇川支行",
        address="遵义市汇川区高桥路4号",
        lat=27.7552,
        lon=106.9238,
    )
    prospect = {**world.prospects[0], "id": new_id(), "outlet_id": d, "assignee_id": None}
    prospect |= {"status": "unassigned", "credit_code": "91520300MA6DZZZZ9X"}
    prospect |= {"phone": "13999990000", "updated_at": utcnow()}
    with write_session(live_server.engine) as session:
        bulk_insert(session, "outlet", [outlet])
        bulk_insert(session, "prospect", [prospect])

    synced(z1)

    assert z1.ids() == before | {prospect["id"]}


def test_an_outlet_moved_between_sub_branches_moves_its_prospects_with_it(live_server, make_device):
    """B joins 汇川支行: no prospect of B changed, yet Z1's device must now hold them (its
    cursor, issued for the old scope, is refused and the device takes its scope again);
    B goes back to 红花岗支行: they leave the device."""
    world = build_world(live_server.engine, subbranch=True)
    z1, _ = signed_in(make_device, live_server, "Z1")
    synced(z1)
    before = z1.ids()
    at_b = {p["id"] for p in world.prospects if p["outlet_id"] == world.outlet_b}

    def rename(branch: str) -> None:
        with write_session(live_server.engine) as session:
            outlet = session.get(Outlet, world.outlet_b)
            assert outlet is not None
            outlet.branch_name = branch
            session.flush()
            record_change(session, "outlet", outlet.id)

    rename("汇川支行")
    progress = synced(z1)
    assert progress.resynced
    assert z1.ids() == before | at_b
    assert world.user_id("M3") in z1.ids("user")  # B's people come too

    rename("红花岗支行")
    synced(z1)
    assert z1.ids() == before


async def test_a_sub_branch_managers_performance_opens_on_its_outlet_and_picks_another(
    live_server, tmp_path
):
    """Its device holds every outlet of the sub-branch: it opens on the outlet it sits at,
    and picks its sister outlet C, counted on the device, ranked by the store."""
    world = build_world(live_server.engine, subbranch=True)
    disburse(live_server, world, "M4", 100_000)  # outlet C
    refresh_ranks(live_server.engine)  # the store's ranks job (on its clock in production)
    workbench = Workbench(Settings(server_url=live_server.url, data_dir=tmp_path / "z1"))
    try:
        assert await workbench.login.submit("Z1", PASSWORD)
        await workbench.sync()
        perf = workbench.performance
        await perf.load()
        a, c = world.outlet_a, world.outlet_c
        assert perf.outlets() == [(a, "测试汇川网点"), (c, "测试汇川香港路网点")]
        state = perf.state
        assert state.subject == "outlet" and not state.from_store
        assert state.report is not None and state.report.subject_id == a
        assert state.report.disbursed_amount == 0

        await perf.pick(outlet=c)
        report = state.report
        assert report is not None and report.subject_id == c
        assert (report.disbursed_count, report.disbursed_amount) == (1, 100_000)
        assert (report.rank, report.rank_of) == (1, 3)  # C's rank, not A's
        assert [r.employee_no for r in state.breakdown] == ["M4"]

        await perf.pick(outlet=world.outlet_b)  # not its outlet: ignored
        assert state.report is not None and state.report.subject_id == c
    finally:
        workbench.close()

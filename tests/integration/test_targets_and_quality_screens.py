"""管理 → 营销任务 and the list quality beside each batch, through their controllers against
a real central store (SQLite and PostgreSQL): what the screens would show, what reaches
the store, and what never does.

The world (tests/world.py): outlet A (T-001) with marketers M1 张伟, M2 李娜 and manager G1;
outlet B (T-002) with M3; admin A1. For the quality: the closures of
``tests/integration/test_quality.py`` (A: 5 worked, 2 invalid, 1 wrong contact; B: 2
worked, 1 invalid, 1 wrong contact; the batch 3/7 invalid and 2/7 wrong contact).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.config import Settings
from app.i18n import t
from app.models import Prospect
from app.models.ids import new_id, utcnow
from app.models.target import Target
from app.server.changes import bulk_insert
from app.server.db import write_session
from app.services.clock import beijing_today
from app.services.performance import period_name
from app.workbench import Workbench
from app.workbench.targets import TargetRow
from app.workbench.targets import _rows as target_rows
from tests.integration.test_quality import close, move
from tests.world import PASSWORD, World, build_world


@pytest.fixture
def device(live_server, tmp_path):  # type: ignore[no-untyped-def]
    made: list[Workbench] = []

    async def sign_in(employee_no: str) -> Workbench:
        settings = Settings(server_url=live_server.url, data_dir=tmp_path / employee_no)
        workbench = Workbench(settings)
        made.append(workbench)
        assert await workbench.login.submit(employee_no, PASSWORD)
        await asyncio.to_thread(workbench.engine.sync_once)
        await workbench.load_outlets()  # as a sync through the workbench does
        return workbench

    yield sign_in
    for workbench in made:
        workbench.close()


def stored_targets(live_server) -> set[tuple[str, str, str, int]]:  # type: ignore[no-untyped-def]
    with write_session(live_server.engine) as session:
        rows = session.execute(select(Target)).scalars()
        return {(r.period, r.subject_id, r.metric, r.value) for r in rows}


def logs_this_month(live_server, world: World, who: str, n: int) -> None:  # type: ignore[no-untyped-def]
    at = utcnow().replace(microsecond=0) - timedelta(minutes=5)
    prospect = world.prospects_of(who)[0]
    rows = [
        dict(
            id=new_id(),
            prospect_id=prospect["id"],
            author_id=world.user_id(who),
            channel="phone",
            occurred_at=at,
            outcome="considering",
            note="",
            attachments="[]",
            device_id="",
            recorded_at=at,
        )
        for _ in range(n)
    ]
    with write_session(live_server.engine) as session:
        bulk_insert(session, "marketing_log", rows)


# -- 营销任务 --------------------------------------------------------------------------------


async def test_an_outlet_manager_sets_a_marketers_targets_sees_progress_and_removes_one(
    live_server, device
):
    world = build_world(live_server.engine)
    logs_this_month(live_server, world, "M1", 3)
    workbench = await device("G1")
    goals = workbench.targets
    await goals.load()
    s = goals.state
    month = period_name("month", beijing_today())
    assert goals.levels() == ("marketer",)  # an outlet manager sets its marketers' only
    assert (s.period_name, s.loaded, s.error_code) == (month, True, "")
    assert [(r.name, r.code) for r in s.rows] == [("张伟", "M1"), ("李娜", "M2")]
    assert all(not r.targets for r in s.rows)

    m1 = world.user_id("M1")
    goals.edit(m1)
    goals.type("contacts", "40")
    goals.type("disbursed_count", "３")
    goals.type("disbursed_amount", "12.5")
    assert s.problems == {}
    assert await goals.save()
    assert stored_targets(live_server) == {
        (month, m1, "contacts", 40),
        (month, m1, "disbursed_count", 3),
        (month, m1, "disbursed_amount", 125_000),  # typed in 万元, stored in 元
    }
    row = goals.row(m1)
    assert row is not None and s.editing is None
    contacts = row.targets["contacts"]
    assert (contacts.actual, contacts.value, contacts.progress) == (3, 40, 0.075)
    assert t(s.notice, "zh", **s.notice_params) == "已保存张伟的营销任务"

    # bad input: said beside each field, and nothing sent while one is wrong
    goals.edit(m1)
    assert s.drafts == {"contacts": "40", "disbursed_count": "3", "disbursed_amount": "12.5"}
    goals.type("contacts", "60")  # a good change, held back with the bad ones
    goals.type("disbursed_count", "-1")
    goals.type("disbursed_amount", "abc")
    assert s.problems == {
        "disbursed_count": "targets.problem.negative",
        "disbursed_amount": "targets.problem.not_a_number",
    }
    assert t(s.problems["disbursed_count"], "zh") == "不能是负数"
    assert not await goals.save()
    assert s.error_code == "targets.problems"
    goals.type("disbursed_count", "2000000")
    goals.type("disbursed_amount", "")  # removing is 删除's, not an empty field's
    assert s.problems == {
        "disbursed_count": "targets.problem.too_large",
        "disbursed_amount": "targets.problem.cleared",
    }
    assert not await goals.save()
    assert (month, m1, "contacts", 40) in stored_targets(live_server)  # nothing saved half
    goals.cancel_edit()

    # removed after a confirmation
    amount = row.targets["disbursed_amount"]
    goals.ask_delete(amount.id)
    assert s.deleting == amount.id
    assert await goals.delete()
    assert stored_targets(live_server) == {
        (month, m1, "contacts", 40),
        (month, m1, "disbursed_count", 3),
    }
    assert "disbursed_amount" not in goals.row(m1).targets  # type: ignore[union-attr]
    assert t(s.notice, "zh", **s.notice_params) == "已删除张伟的放款金额目标"

    # this quarter is another period, with its own targets (none yet)
    await goals.choose(period="quarter")
    assert s.period_name == period_name("quarter", beijing_today())
    assert all(not r.targets for r in s.rows)


async def test_an_admin_sets_outlets_and_a_subbranch_manager_both(live_server, device):
    world = build_world(live_server.engine, subbranch=True)
    admin = await device("A1")
    goals = admin.targets
    assert goals.levels() == ("outlet",)
    await goals.load()
    assert [(r.code, r.subject) for r in goals.state.rows] == [
        ("T-001", "outlet"),
        ("T-002", "outlet"),
        ("T-003", "outlet"),
    ]
    goals.edit(world.outlet_b)
    goals.type("disbursed_amount", "300")
    assert await goals.save()
    month = period_name("month", beijing_today())
    assert stored_targets(live_server) == {(month, world.outlet_b, "disbursed_amount", 3_000_000)}

    z1 = await device("Z1")
    goals = z1.targets
    assert goals.levels() == ("outlet", "marketer")
    await goals.load()
    assert [r.code for r in goals.state.rows] == ["T-001", "T-003"]  # its sub-branch's
    await goals.choose(level="marketer")
    rows = goals.state.rows
    assert [(r.code, bool(r.place)) for r in rows] == [
        ("M1", True),
        ("M2", True),
        ("M4", True),
    ]  # several outlets: each marketer says where
    goals.edit(world.user_id("M4"))
    goals.type("contacts", "15")
    assert await goals.save()
    assert (month, world.user_id("M4"), "contacts", 15) in stored_targets(live_server)


async def test_a_failure_is_said_in_words_and_the_screen_stops_waiting(live_server, device):
    world = build_world(live_server.engine)
    workbench = await device("G1")
    goals = workbench.targets
    await goals.load()
    goals.edit(world.user_id("M2"))
    goals.type("contacts", "10")
    workbench.client.point_to("http://127.0.0.1:9")  # the store out of reach
    assert not await goals.save()
    s = goals.state
    assert (s.busy, s.error_code, s.editing) == ("", "admin.needs_online", world.user_id("M2"))
    assert t(s.error_code, "zh").startswith("需要联网")
    assert stored_targets(live_server) == set()


def test_a_target_of_someone_the_device_does_not_list_is_still_shown():
    """A marketer who has left keeps their targets in sight, to be removed."""
    from app.models.target import TargetMetric, TargetOut, TargetSubject

    def out(subject_id: str, code: str, metric: str) -> TargetOut:
        return TargetOut(
            id=f"{subject_id}-{metric}",
            period="2026-12",
            subject=TargetSubject.MARKETER,
            subject_id=subject_id,
            subject_name=f"name {code}",
            subject_code=code,
            outlet_id="A",
            metric=TargetMetric(metric),
            value=1,
            actual=0,
            progress=0.0,
            set_by="G",
            set_at=utcnow(),
        )

    listed = [TargetRow("marketer", "u1", "张伟", "M1"), TargetRow("marketer", "u2", "李娜", "M2")]
    rows = target_rows(
        listed,
        [
            out("u2", "M2", "contacts"),
            out("gone", "M9", "contacts"),
            out("u1", "M1", "disbursed_count"),
        ],
    )
    assert [(r.code, sorted(r.targets)) for r in rows] == [
        ("M1", ["disbursed_count"]),
        ("M2", ["contacts"]),
        ("M9", ["contacts"]),
    ]


async def test_the_performance_screen_holds_the_targets_and_their_time_offline_too(
    live_server, device
):
    world = build_world(live_server.engine)
    admin = await device("A1")
    await admin.targets.load()
    admin.targets.edit(world.outlet_a)
    admin.targets.type("contacts", "20")
    assert await admin.targets.save()
    before = utcnow()
    m1 = await device("M1")
    perf = m1.performance
    await perf.pick(subject="outlet")
    assert [(g.metric.value, g.value) for g in perf.state.targets] == [("contacts", 20)]
    when = perf.state.targets_as_of
    assert when is not None and before - timedelta(seconds=5) <= when <= utcnow()
    m1.client.point_to("http://127.0.0.1:9")  # offline: the last sync's figures stay
    await perf.pick(period="quarter")
    await perf.pick(period="month")
    assert [(g.metric.value, g.value) for g in perf.state.targets] == [("contacts", 20)]
    assert perf.state.targets_as_of == when
    await perf.pick(subject="mine")
    assert (perf.state.targets, perf.state.targets_as_of) == ([], None)


# -- list quality ---------------------------------------------------------------------------


@pytest.fixture
def closed(live_server) -> World:  # type: ignore[no-untyped-def]
    """The closures of tests/integration/test_quality.py's world (its docstring counts)."""
    world = build_world(live_server.engine)
    m1, m2, m3 = world.prospects_of("M1"), world.prospects_of("M2"), world.prospects_of("M3")
    close(live_server, m1[0], "invalid", "wrong_contact", "电话是空号")
    close(live_server, m1[1], "invalid", "business_closed")
    close(live_server, m2[0], "declined", "not_interested")
    move(live_server, m2[1], "contacted")
    move(live_server, m1[2], "disbursed")
    close(live_server, m3[0], "declined", "wrong_contact", "号码已换人")
    close(live_server, m3[1], "invalid")
    return world


async def test_an_admin_reads_a_batchs_quality_and_withdraws_its_bad_entries(
    live_server, device, closed
):
    workbench = await device("A1")
    quality, imports = workbench.quality, workbench.imports
    await imports.load_batches()
    (batch,) = imports.batches.batches
    assert (batch.quality.worked, batch.quality.invalid, batch.quality.wrong_contact) == (7, 3, 2)

    await quality.toggle(batch.id)  # opened: its report beside its outlets and versions
    assert imports.batches.expanded == batch.id
    report = quality.state.reports[batch.id]
    assert [o.code for o in report.outlets] == ["T-002", "T-001"]  # the worse first
    assert [n.note for n in report.notes] == ["号码已换人", "电话是空号"]
    assert quality.may_withdraw

    await quality.open_withdraw(batch.id)
    s = quality.state
    m1, m3 = closed.prospects_of("M1"), closed.prospects_of("M3")
    assert (s.filter, s.total) == ("wrong_contact", 2)
    assert {e.prospect_id for e in s.entries} == {m1[0]["id"], m3[0]["id"]}
    await quality.choose_filter("invalid")
    assert {e.prospect_id for e in s.entries} == {m1[0]["id"], m1[1]["id"], m3[1]["id"]}
    await quality.choose_filter("all")
    assert s.total == 5
    await quality.choose_filter("wrong_contact")

    quality.ask()  # nothing ticked: said, nothing asked
    assert (s.confirm, s.error_code) == (False, "batchq.pick_some")
    quality.tick_all(True)
    quality.ask()  # no reason: said, nothing asked
    assert (s.confirm, s.error_code) == (False, "batchq.reason_required")
    quality.set_reason("联系方式错误，总行核实")
    quality.ask()
    assert (s.confirm, s.error_code) == (True, "")
    assert t("batchq.confirm", "zh", count=len(s.selected), reason=s.reason).startswith(
        "从白名单撤回这 2 条条目"
    )
    assert await quality.withdraw()
    assert t(s.notice, "zh", **s.notice_params) == "已撤回 2 条，各设备同步后不再显示"
    with write_session(live_server.engine) as session:
        gone = session.execute(
            select(Prospect.id, Prospect.withdrawn_reason).where(Prospect.withdrawn_at.is_not(None))
        ).all()
    assert {(pid, reason) for pid, reason in gone} == {
        (m1[0]["id"], "quality"),
        (m3[0]["id"], "quality"),
    }
    # read again: the report, the flagged list (withdrawn ones said and not offered) and
    # the batch list
    assert quality.state.reports[batch.id].withdrawn == 2
    assert all(e.withdrawn for e in s.entries) and quality.selectable == []
    assert imports.batches.batches[0].withdrawn == 2


async def test_an_outlet_manager_reads_its_outlets_quality_and_downloads_it(
    live_server, device, closed
):
    workbench = await device("G1")
    quality, imports = workbench.quality, workbench.imports
    await imports.load_batches()
    (batch,) = imports.batches.batches
    assert (batch.quality.worked, batch.quality.invalid) == (5, 2)  # outlet A's only
    await quality.toggle(batch.id)
    assert [o.code for o in quality.state.reports[batch.id].outlets] == ["T-001"]
    assert not quality.may_withdraw
    found = await quality.download(batch.id)
    assert found is not None
    name, content = found
    assert name.startswith("白名单质量报告") and name.endswith(".xlsx")
    assert content[:2] == b"PK"
    await quality.toggle(batch.id)  # closed again
    assert imports.batches.expanded is None

    workbench.client.point_to("http://127.0.0.1:9")
    await quality.load(batch.id)
    assert (quality.state.busy, quality.state.error_code) == ("", "admin.needs_online")

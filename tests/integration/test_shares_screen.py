"""管理 → 贷款回流 → 分润调整 through its controller against a real central store (SQLite and
PostgreSQL): the admin finds a disbursed loan, sees its split, and re-splits it; every
refusal — made on the device before sending, or by the store — is said in words, keeps
what the admin typed, and leaves the store's split as it was.

The world (tests/world.py): outlet A 测试汇川网点 (T-001) with marketers M1 张伟, M2 李娜 and
manager G1; outlet B (T-002) with M3; admin A1. A loan of 10,000 元 disbursed to an M1
prospect, originated by M2, booked at A: 4,000 / 3,000 / 3,000 元 by the default ratio.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import delete, select, update

from app.config import Settings
from app.i18n import t
from app.models import Prospect, User
from app.models.loan import ProfitShare, ShareAdjustment
from app.models.sync import PROTOCOL_HEADER, PROTOCOL_VERSION
from app.server.api_keys import create_api_key
from app.server.db import write_session
from app.services.clock import beijing_today
from app.services.validation import make_credit_code
from app.workbench import Workbench
from tests.world import PASSWORD, World, build_world

LOAN = "HT/2026/009"  # a contract number: slashes and all


@pytest.fixture
def device(live_server, tmp_path):  # type: ignore[no-untyped-def]
    made: list[Workbench] = []

    async def sign_in(employee_no: str) -> Workbench:
        settings = Settings(server_url=live_server.url, data_dir=tmp_path / employee_no)
        workbench = Workbench(settings)
        made.append(workbench)
        assert await workbench.login.submit(employee_no, PASSWORD)
        return workbench

    yield sign_in
    for workbench in made:
        workbench.close()


def disburse(live_server, world: World) -> dict:  # type: ignore[no-untyped-def]
    """The loan, fed through the loan system's real API; the prospect it went to."""
    prospect = world.prospects_of("M1")[0]
    code = make_credit_code("520303", "MA6D0001")
    with write_session(live_server.engine) as session:
        session.execute(
            update(Prospect)
            .where(Prospect.id == prospect["id"])  # type: ignore[arg-type]
            .values(credit_code=code, company_name="汇川鲜果批发行")
        )
    key = create_api_key(live_server.engine, name="信贷系统")
    event = {
        "loan_id": LOAN,
        "credit_code": code,
        "status": "disbursed",
        "amount": 10_000,
        "occurred_on": (beijing_today() - timedelta(days=2)).isoformat(),
        "booking_outlet_code": "T-001",
        "originator_employee_no": "M2",
    }
    answer = httpx.post(
        f"{live_server.url}/loans/events",
        json={"events": [event]},
        headers={"X-API-Key": key, PROTOCOL_HEADER: str(PROTOCOL_VERSION)},
    )
    assert answer.json()["results"][0]["outcome"] == "applied", answer.text
    return prospect


def stored(live_server) -> tuple[set[tuple], int]:  # type: ignore[no-untyped-def]
    """The loan's shares as the store holds them (party, user, fen), and its adjustments."""
    with write_session(live_server.engine) as session:
        shares = {
            (s.party, s.user_id, s.amount_fen)
            for s in session.execute(select(ProfitShare).where(ProfitShare.loan_id == LOAN))
            .scalars()
            .all()
        }
        adjustments = len(session.execute(select(ShareAdjustment)).scalars().all())
    return shares, adjustments


async def test_an_admin_finds_a_loan_and_moves_yuan_between_its_parties(live_server, device):
    world = build_world(live_server.engine)
    disburse(live_server, world)
    workbench = await device("A1")
    c, s = workbench.shares, workbench.shares.state
    m1, m2 = world.user_id("M1"), world.user_id("M2")

    for text in ("ht/2026", "汇川鲜果", make_credit_code("520303", "MA6D0001").lower()):
        c.set_query(text)
        await c.search()
        assert (s.total, [i.loan_id for i in s.results]) == (1, [LOAN]), text
    (item,) = s.results
    assert (item.company_name, item.amount, item.adjusted) == ("汇川鲜果批发行", 10_000, False)
    assert item.credit_code_masked.count("*") == 10  # masked, as everywhere
    c.set_query("没有这家")
    await c.search()
    assert (s.searched, s.total, s.results) == (True, 0, [])
    c.set_query("")
    await c.search()  # nothing typed: every disbursed loan, newest first
    assert [i.loan_id for i in s.results] == [LOAN]

    await c.open(LOAN)
    loan = s.loan
    assert loan is not None and s.error_code == ""
    assert (loan.company_name, loan.amount_fen, loan.booking_outlet_name) == (
        "汇川鲜果批发行",
        1_000_000,
        "测试汇川网点",
    )
    assert [(x.party, x.user_name, x.employee_no, x.outlet_name) for x in loan.shares] == [
        ("booking_outlet", "", "", "测试汇川网点"),
        ("marketer", "张伟", "M1", "测试汇川网点"),
        ("originator", "李娜", "M2", "测试汇川网点"),
    ]
    assert s.drafts == ["3000", "4000", "3000"] and loan.adjustments == []
    before = stored(live_server)

    # moved 500 元 from the originator to the marketer: the running total follows
    c.type_amount(1, "4,500.5")
    assert (c.typed_total(), c.difference()) == (1_050_050, 50_050)
    c.type_amount(2, "2499.5")
    assert c.difference() == 0

    # an amount that does not read: said beside it, and nothing sent
    c.type_amount(0, "三千")
    assert s.problems == {0: "share.problem.not_a_number"} and c.typed_total() is None
    c.set_reason("李娜只做了贷前调查")
    assert not await c.save()
    assert (s.error_code, t(s.error_code)) == (
        "shares.problems",
        "有金额填写有误，请按提示修改后再保存",
    )
    c.type_amount(0, "3000.001")
    assert s.problems == {0: "share.problem.precision"}
    c.type_amount(0, "3000")
    assert s.problems == {}

    # a total that is not the loan's: refused in words before sending
    c.type_amount(2, "2500")
    assert c.difference() == 50
    assert not await c.save()
    assert t(s.error_code, "zh", **s.error_params) == (
        "各方合计 10,000.50 元，与贷款金额 10,000.00 元不符，请调整后再保存"
    )
    assert s.drafts == ["3000", "4,500.5", "2500"] and s.reason == "李娜只做了贷前调查"
    c.type_amount(2, "2499.5")
    assert s.error_code == ""  # answered by the change

    # no reason: refused
    c.set_reason("  ")
    assert not await c.save()
    assert t(s.error_code) == "请写明调整原因"
    c.set_reason("李娜只做了贷前调查")
    assert stored(live_server) == before  # nothing reached the store

    # the store refuses (the originator's record is gone): its words, what was typed kept
    with write_session(live_server.engine) as session:
        session.execute(delete(User).where(User.id == m2))  # type: ignore[arg-type]
    assert not await c.save()
    assert (s.error_code, s.error_message) == ("user.not_found", "目标员工不存在")
    assert s.drafts == ["3000", "4,500.5", "2499.5"] and s.reason == "李娜只做了贷前调查"
    assert stored(live_server) == before
    with write_session(live_server.engine) as session:
        session.add(User(**{**world.users["M2"]}))

    # unreachable: said plainly, nothing lost
    address = workbench.client.base_url
    workbench.client.point_to("http://127.0.0.1:9")
    assert not await c.save()
    assert t(s.error_code) == t("admin.needs_online")
    assert s.drafts == ["3000", "4,500.5", "2499.5"]
    workbench.client.point_to(address)

    # saved: the new split, the adjustment line, the list's flag
    assert await c.save()
    assert (s.error_code, s.notice) == ("", "shares.saved")
    assert stored(live_server) == (
        {
            ("booking_outlet", None, 300_000),
            ("marketer", m1, 450_050),
            ("originator", m2, 249_950),
        },
        1,
    )
    loan = s.loan
    assert loan is not None and loan.adjusted
    assert s.drafts == ["3000", "4500.50", "2499.50"] and s.reason == ""
    (line,) = loan.adjustments
    assert (line.admin_employee_no, line.reason) == ("A1", "李娜只做了贷前调查")
    assert [i.adjusted for i in s.results] == [True]

    # the same split again: nothing to save
    c.set_reason("再存一次")
    assert not await c.save()
    assert s.error_code == "shares.unchanged"
    assert stored(live_server)[1] == 1


async def test_an_admin_demoted_meanwhile_is_refused_in_the_stores_words(live_server, device):
    world = build_world(live_server.engine)
    disburse(live_server, world)
    workbench = await device("A1")
    c, s = workbench.shares, workbench.shares.state
    await c.open(LOAN)
    before = stored(live_server)
    c.type_amount(0, "2000")
    c.type_amount(1, "5000")
    c.set_reason("支行认定")
    with write_session(live_server.engine) as session:
        session.execute(
            update(User).where(User.id == world.user_id("A1")).values(role="outlet_manager")  # type: ignore[arg-type]
        )
    assert not await c.save()
    assert (s.error_code, s.error_message) == ("auth.forbidden", "没有权限执行此操作")
    assert s.drafts == ["2000", "5000", "3000"] and s.reason == "支行认定"
    assert stored(live_server) == before

    # another's screen: a marketer is refused the list outright
    marketer = await device("M1")
    await marketer.shares.search()
    assert marketer.shares.state.error_code == "auth.forbidden"
    assert marketer.shares.state.results == []

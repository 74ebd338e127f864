"""A small hand-made world for tests: two outlets, their people and prospects.

Each test builds its own; nothing is shared between tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Engine, update

from app.models import Prospect
from app.models.ids import new_id, utcnow
from app.server.changes import bulk_insert
from app.server.db import write_session
from app.server.security import hash_password
from app.services.validation import make_credit_code

PASSWORD = "Secret#2026"
_HASH = hash_password(PASSWORD)


@dataclass
class World:
    outlet_a: str
    outlet_b: str
    outlet_c: str = ""  # with ``subbranch=True``: A's sister outlet under 汇川支行
    users: dict[str, dict] = field(default_factory=dict)  # employee_no -> row
    prospects: list[dict] = field(default_factory=list)
    batch_id: str = ""

    def user_id(self, employee_no: str) -> str:
        return self.users[employee_no]["id"]

    def prospects_of(self, employee_no: str) -> list[dict]:
        uid = self.user_id(employee_no)
        return [p for p in self.prospects if p["assignee_id"] == uid]

    def pool(self, outlet_id: str) -> list[dict]:
        return [p for p in self.prospects if p["outlet_id"] == outlet_id and not p["assignee_id"]]


def build_world(
    engine: Engine,
    *,
    per_marketer: int = 5,
    pool: int = 3,
    prefix: str = "",
    subbranch: bool = False,
) -> World:
    """Outlet A: marketers M1, M2 and manager G1; outlet B: marketer M3; admin A1.

    ``subbranch``: also outlet C, A's sister under 汇川支行 (B is 红花岗支行's), with
    marketer M4, its prospects and pool, and the sub-branch manager Z1 sitting at A.

    ``prefix`` goes before every employee number and outlet code, so several worlds can
    live in one store (``users`` stays keyed by the plain number, e.g. "M1")."""
    now = utcnow()
    a, b, c = new_id(), new_id(), new_id()
    outlets = [
        dict(
            id=a,
            code=f"{prefix}T-001",
            name="测试汇川网点",
            tier="flagship",
            branch_name="汇川支行",
            address="遵义市汇川区上海路1号",
            lat=27.7066,
            lon=106.9348,
        ),
        dict(
            id=b,
            code=f"{prefix}T-002",
            name="测试红花岗网点",
            tier="general",
            branch_name="红花岗支行",
            address="遵义市红花岗区中华路2号",
            lat=27.6881,
            lon=106.9105,
        ),
    ]
    staff = [
        ("M1", "张伟", "marketer", a),
        ("M2", "李娜", "marketer", a),
        ("G1", "王强", "outlet_manager", a),
        ("M3", "刘洋", "marketer", b),
        ("A1", "陈静", "admin", None),
    ]
    marketers = [("M1", a), ("M2", a), ("M3", b)]
    if subbranch:
        outlets.append(
            dict(
                id=c,
                code=f"{prefix}T-003",
                name="测试汇川香港路网点",
                tier="general",
                branch_name="汇川支行",
                address="遵义市汇川区香港路3号",
                lat=27.7321,
                lon=106.9368,
            )
        )
        staff += [("M4", "杨帆", "marketer", c), ("Z1", "黄敏", "subbranch_manager", a)]
        marketers.append(("M4", c))
    world = World(outlet_a=a, outlet_b=b, outlet_c=c if subbranch else "")
    for no, name, role, outlet in staff:
        world.users[no] = dict(
            id=new_id(),
            employee_no=f"{prefix}{no}",
            name=name,
            role=role,
            outlet_id=outlet,
            active=True,
            password_hash=_HASH,
        )
    batch = dict(
        id=new_id(),
        name="2026年第四季度经营快贷白名单",
        product="经营快贷",
        source="head_office",
        valid_from=date.today() - timedelta(days=30),
        valid_until=date.today() + timedelta(days=60),
        created_at=now,
    )
    world.batch_id = batch["id"]
    n = 0

    def prospect(outlet: str, assignee: str | None) -> dict:
        nonlocal n
        n += 1
        return dict(
            id=new_id(),
            batch_id=batch["id"],
            company_name=f"遵义测试商贸有限公司{n:03d}",
            credit_code=f"91520300MA6D{n:05d}X"[:18],
            legal_rep="赵六",
            phone=f"138{n:08d}",
            industry="批发零售",
            address=f"遵义市汇川区测试路{n}号",
            lat=27.70 + n * 0.001,
            lon=106.93,
            pre_approved_line=100_000 * (n % 7 + 1),
            score=60 + n % 40,
            tags="[]",
            outlet_id=outlet,
            assignee_id=assignee,
            status="assigned" if assignee else "unassigned",
            disbursed_amount=None,
            last_contact_at=None,
            next_follow_up=None,
            updated_at=now,
        )

    for no, outlet in marketers:
        for _ in range(per_marketer):
            world.prospects.append(prospect(outlet, world.user_id(no)))
    for outlet in (a, b, c) if subbranch else (a, b):
        for _ in range(pool):
            world.prospects.append(prospect(outlet, None))
    with write_session(engine) as session:
        bulk_insert(session, "outlet", outlets)
        bulk_insert(session, "user", list(world.users.values()))
        bulk_insert(session, "whitelist_batch", [batch])
        bulk_insert(session, "prospect", world.prospects)
    return world


def with_credit_codes(engine: Engine, world: World) -> World:
    """Every prospect of ``world`` given a valid credit code (a loan event names one), in the
    store and in ``world.prospects``: 520303 MA6D0000, MA6D0001, ... in order."""
    with write_session(engine) as session:
        for i, p in enumerate(world.prospects):
            p["credit_code"] = make_credit_code("520303", f"MA6D{i:04d}")
            session.execute(
                update(Prospect).where(Prospect.id == p["id"]).values(credit_code=p["credit_code"])
            )
    return world

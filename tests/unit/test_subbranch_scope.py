"""A sub-branch manager's reach: the outlets under its sub-branch (支行), read from the
outlets' branch names, on the device and in the store alike."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, MetaData, String, Table, create_engine, insert, select
from sqlmodel import Session, SQLModel

from app.models import Outlet, User
from app.server.scope import outlet_clause, scope_of
from app.services.performance import holds_outlet, ranks_from_store
from app.services.scope import Scope, ViewScope, default_view, scope_for, subbranch_outlets

OUTLETS = [
    ("a", "汇川支行"),
    ("b", "红花岗支行"),
    ("c", "汇川支行"),
    ("d", "新蒲支行"),
]


def test_the_sub_branch_is_every_outlet_of_its_outlets_branch():
    assert subbranch_outlets("a", OUTLETS) == {"a", "c"}
    assert subbranch_outlets("c", OUTLETS) == {"a", "c"}
    assert subbranch_outlets("b", OUTLETS) == {"b"}  # a sub-branch of one outlet
    assert subbranch_outlets("x", OUTLETS) == frozenset()  # an outlet the device lacks
    assert subbranch_outlets(None, OUTLETS) == frozenset()
    assert subbranch_outlets("a", iter(OUTLETS)) == {"a", "c"}  # read once


def test_scope_for_reads_the_outlets_only_for_a_sub_branch_manager():
    z = scope_for("z1", "subbranch_manager", "a", OUTLETS)
    assert z.outlet_ids == z.outlets == {"a", "c"}
    assert z.reaches_outlet("c") and not z.reaches_outlet("b") and not z.reaches_outlet(None)
    assert z.contains("c", None) and z.contains("c", "m4") and not z.contains("b", "z1")
    g = scope_for("g1", "outlet_manager", "a", OUTLETS)
    assert g == Scope("g1", "outlet_manager", "a") and g.outlets == {"a"}
    m = scope_for("m1", "marketer", "a", OUTLETS)
    assert m.outlet_ids == frozenset() and m.outlets == frozenset()
    admin = scope_for("a1", "admin", None, OUTLETS)
    assert admin.outlets == frozenset() and admin.reaches_outlet("d")
    # before the device holds its outlets, a sub-branch manager reaches nothing
    assert scope_for("z1", "subbranch_manager", "a").outlets == frozenset()


def test_the_fingerprint_changes_when_the_sub_branch_gains_or_loses_an_outlet():
    """The store refuses a cursor issued for another scope: a device whose sub-branch
    changed takes its scope again (and the outlets' order does not matter)."""
    base = scope_for("z1", "subbranch_manager", "a", OUTLETS)
    gained = scope_for("z1", "subbranch_manager", "a", [*OUTLETS, ("e", "汇川支行")])
    lost = scope_for("z1", "subbranch_manager", "a", [("a", "汇川支行"), ("c", "新蒲支行")])
    same = scope_for("z1", "subbranch_manager", "a", list(reversed(OUTLETS)))
    assert len({base.fingerprint, gained.fingerprint, lost.fingerprint}) == 3
    assert same.fingerprint == base.fingerprint
    # the other roles' fingerprints do not depend on the outlets
    assert (
        scope_for("g1", "outlet_manager", "a", OUTLETS).fingerprint
        == scope_for("g1", "outlet_manager", "a", [*OUTLETS, ("e", "汇川支行")]).fingerprint
    )


def test_a_sub_branch_managers_device_opens_on_everything_it_holds_and_holds_its_outlets():
    assert default_view("subbranch_manager") == ViewScope.ALL
    assert holds_outlet("subbranch_manager")  # its outlets' figures come from the device
    assert ranks_from_store("subbranch_manager")  # its ranks, from the store


@pytest.mark.parametrize(
    ("scope", "rows"),
    [
        (scope_for("z1", "subbranch_manager", "a", OUTLETS), {"a", "c"}),
        (scope_for("g1", "outlet_manager", "a"), {"a"}),
        (scope_for("m1", "marketer", "a"), set()),
        (scope_for("a1", "admin", None), {"a", "b", "c", "d"}),
    ],
    ids=lambda v: getattr(v, "role", ""),
)
def test_the_sql_outlet_clause_agrees_with_reaches_outlet(scope, rows):
    table = Table(
        "lead", MetaData(), Column("id", String, primary_key=True), Column("outlet_id", String)
    )
    engine = create_engine("sqlite://")
    table.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(table),
            [{"id": o, "outlet_id": o} for o, _ in OUTLETS] + [{"id": "none", "outlet_id": None}],
        )
        found = {
            r[0]
            for r in conn.execute(select(table.c.id).where(outlet_clause(scope, table.c.outlet_id)))
        }
    engine.dispose()
    assert found == rows == {o for o, _ in OUTLETS if scope.reaches_outlet(o)}


def test_the_store_reads_a_sub_branch_managers_outlets_from_its_table():
    engine = create_engine("sqlite://")
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session:
        for oid, branch in OUTLETS:
            session.add(
                Outlet(
                    id=oid,
                    code=oid,
                    name=f"{branch}{oid}",
                    tier="general",
                    branch_name=branch,
                    address="",
                    lat=27.7,
                    lon=106.9,
                )
            )
        z = User(
            id="z1",
            employee_no="Z1",
            name="黄敏",
            role="subbranch_manager",
            outlet_id="c",
            password_hash="x",
        )
        g = User(
            id="g1",
            employee_no="G1",
            name="王强",
            role="outlet_manager",
            outlet_id="c",
            password_hash="x",
        )
        session.add_all([z, g])
        session.commit()
        assert scope_of(session, z) == Scope("z1", "subbranch_manager", "c", frozenset({"a", "c"}))
        assert scope_of(session, g) == Scope("g1", "outlet_manager", "c")
    engine.dispose()

"""Whitelist batches in the central store, on SQLite and PostgreSQL: committing an import
all-or-nothing (or the valid rows only), routing rows to outlets, scope, versions that
add, update, withdraw and reinstate, expiry, the batch list, and devices dropping what
was withdrawn."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, String, func, select

from app.config import Settings
from app.models import ChangeLog, MarketingLog, Prospect, User, WhitelistBatch
from app.models.batch import BatchSource, WhitelistBatchVersion
from app.server import batches
from app.server.batches import BatchMeta, commit, expire_batches, import_context
from app.server.db import make_engine, migrate, read_session, write_session
from app.server.errors import StoreError
from app.server.scope import scope_of
from app.services.validation import make_credit_code
from app.services.whitelist_import import ImportPreview, ImportRow, RowProblem
from tests.integration.conftest import bearer
from tests.world import World, build_world

_p = Prospect.__table__
_log = ChangeLog.__table__
TODAY = date(2026, 12, 1)
META = BatchMeta(
    name="2027年一季度经营快贷白名单",
    product="经营快贷",
    source=BatchSource.HEAD_OFFICE,
    valid_from=TODAY,
    valid_until=TODAY + timedelta(days=90),
)
# near outlet A (汇川, 27.7066 106.9348) and near outlet B (红花岗, 27.6881 106.9105)
NEAR_A = (27.7100, 106.9400)
NEAR_B = (27.6850, 106.9050)


@pytest.fixture
def engine(store_settings: Settings) -> Iterator[Engine]:
    engine = make_engine(store_settings.server_database_url())
    migrate(engine)
    yield engine
    engine.dispose()


def code(n: int) -> str:
    body = f"MA6{n:05d}"
    return make_credit_code("520303", body)


def row(
    n: int, *, outlet: str | None = None, near: tuple[float, float] = NEAR_A, **kw
) -> ImportRow:
    base: dict[str, Any] = dict(
        line=n + 1,
        company_name=f"遵义导入商贸有限公司{n:03d}",
        credit_code=code(n),
        legal_rep="钱七",
        phone=f"139{n:08d}",
        industry="批发零售",
        address=f"遵义市汇川区导入路{n}号",
        lat=near[0],
        lon=near[1],
        pre_approved_line=300_000,
        outlet_code=outlet,
        score=70,
        tags=("首贷",),
    )
    base.update(kw)
    return ImportRow(**base)


def logged_seqs(engine: Engine, entity_id: str) -> set[int]:
    with read_session(engine) as session:
        return set(
            session.execute(select(_log.c.seq).where(_log.c.entity_id == entity_id)).scalars()
        )


def preview(rows: list[ImportRow], problems: list[RowProblem] = (), total: int | None = None):
    return ImportPreview(
        file_name="名单.csv",
        encoding="utf-8",
        headers=["企业名称"],
        mapping={},
        unknown_headers=[],
        total=total if total is not None else len(rows) + len({p.line for p in problems}),
        rows=list(rows),
        problems=list(problems),
    )


def user(engine: Engine, world: World, employee_no: str) -> User:
    with read_session(engine) as session:
        u = session.get(User, world.user_id(employee_no))
        session.expunge(u)
    return u


def do_commit(
    engine: Engine, world: World, who: str, pv: ImportPreview, **kw
) -> batches.CommitResult:
    with write_session(engine) as session:
        return commit(session, user(engine, world, who), pv, **kw)


def entries(engine: Engine, batch_id: str) -> dict[str, dict]:
    with read_session(engine) as session:
        rows = session.execute(select(_p).where(_p.c.batch_id == batch_id)).mappings()
        return {r["credit_code"]: dict(r) for r in rows}


def count(engine: Engine, table: Any, *where: Any) -> int:
    with read_session(engine) as session:
        stmt = select(func.count()).select_from(table)
        for w in where:
            stmt = stmt.where(w)
        return int(session.execute(stmt).scalar_one())


# -- committing ------------------------------------------------------------------------


def test_new_batch_goes_to_outlets_by_code_and_else_to_the_nearest(engine):
    world = build_world(engine)
    rows = [
        row(1, outlet="T-002", near=NEAR_A),  # the code wins over the position
        row(2, near=NEAR_B),
        row(3, near=NEAR_A),
    ]
    before = count(engine, _log)
    result = do_commit(engine, world, "A1", preview(rows), meta=META)
    assert (result.version, result.added, result.withdrawn) == (1, 3, 0)
    got = entries(engine, result.batch_id)
    assert got[code(1)]["outlet_id"] == world.outlet_b
    assert got[code(2)]["outlet_id"] == world.outlet_b
    assert got[code(3)]["outlet_id"] == world.outlet_a
    for e in got.values():
        assert e["status"] == "unassigned" and e["assignee_id"] is None
        assert e["batch_version"] == 1 and e["withdrawn_at"] is None
        assert e["tags"] == '["首贷"]'
        assert e["rev"] in logged_seqs(engine, e["id"])  # its rev: its change's seq
    assert count(engine, _log) == before + 4  # the batch and its three entries
    with read_session(engine) as session:
        batch = session.get(WhitelistBatch, result.batch_id)
        assert (batch.version, batch.created_by, batch.name) == (1, world.user_id("A1"), META.name)
        [v] = session.execute(select(WhitelistBatchVersion)).scalars().all()
        assert (v.version, v.added, v.rows_total, v.mode) == (1, 3, 3, "all")


def test_bulk_rows_are_stored_as_an_orm_insert_stores_them(engine):
    """The bulk paths (SQLite's driver executemany, PostgreSQL's COPY) bypass SQLAlchemy's
    value processing: times, dates, NULLs and quotes must read back the same."""
    from datetime import datetime

    world = build_world(engine)
    at = datetime(2026, 12, 1, 8, 0, 0)  # no microseconds: the case a plain adapter shortens
    odd = row(1, company_name='遵义"引号",逗号\n换行商贸', legal_rep="", tags=())
    result = do_commit(engine, world, "A1", preview([odd]), meta=META, now=at)
    got = entries(engine, result.batch_id)[code(1)]
    assert got["updated_at"] == at and got["company_name"] == '遵义"引号",逗号\n换行商贸'
    assert got["legal_rep"] == "" and got["assignee_id"] is None and got["tags"] == "[]"
    with read_session(engine) as session:
        batch = session.get(WhitelistBatch, result.batch_id)
        assert batch.created_at == at and batch.valid_until == META.valid_until
        if engine.dialect.name == "sqlite":
            raw = session.execute(
                select(func.cast(_p.c.updated_at, String)).where(_p.c.id == got["id"])
            ).scalar_one()
            assert raw == "2026-12-01 08:00:00.000000"  # as SQLAlchemy writes it


def test_mode_all_refuses_a_file_with_any_problem_and_stores_nothing(engine):
    world = build_world(engine)
    bad = [RowProblem(line=9, column="联系电话", code="import.phone_invalid", value="12")]
    before = (count(engine, _p), count(engine, _log), count(engine, WhitelistBatch.__table__))
    with pytest.raises(StoreError) as refused:
        do_commit(engine, world, "A1", preview([row(1), row(2)], bad), meta=META)
    assert refused.value.code == "import.has_errors" and refused.value.status_code == 422
    assert (
        count(engine, _p),
        count(engine, _log),
        count(engine, WhitelistBatch.__table__),
    ) == before


def test_valid_only_takes_the_valid_rows_and_counts_the_bad(engine):
    world = build_world(engine)
    bad = [
        RowProblem(line=9, column="联系电话", code="import.phone_invalid", value="12"),
        RowProblem(line=9, column="经度", code="import.lon_invalid", value="x"),
        RowProblem(line=10, column="", code="import.duplicate_in_file"),
    ]
    result = do_commit(
        engine, world, "A1", preview([row(1), row(2)], bad), meta=META, mode="valid_only"
    )
    assert (result.added, result.rows_bad) == (2, 2)
    with read_session(engine) as session:
        [v] = session.execute(select(WhitelistBatchVersion)).scalars().all()
        assert (v.rows_total, v.rows_bad, v.mode) == (4, 2, "valid_only")


def test_an_outlet_manager_imports_into_its_own_outlet_only(engine):
    world = build_world(engine)
    with read_session(engine) as session:
        ctx = import_context(session, scope_of(session, user(engine, world, "G1")))
    assert ctx.outlet_codes == frozenset({"T-001"})
    # a row naming another outlet is refused; one without a code stays at home, however near B
    with pytest.raises(StoreError) as refused:
        do_commit(engine, world, "G1", preview([row(1, outlet="T-002")]), meta=META)
    assert refused.value.code == "import.outlet_out_of_scope"
    result = do_commit(engine, world, "G1", preview([row(2, near=NEAR_B)]), meta=META)
    assert entries(engine, result.batch_id)[code(2)]["outlet_id"] == world.outlet_a


def test_a_subbranch_manager_imports_into_its_subbranchs_outlets(engine):
    from app.models.ids import new_id
    from app.server.changes import bulk_insert

    world = build_world(engine)
    third = dict(
        id=new_id(),
        code="T-003",
        name="测试汇川第二网点",
        tier="general",
        branch_name="汇川支行",  # outlet A's sub-branch
        address="",
        lat=27.6850,  # right by NEAR_B, but under 汇川
        lon=106.9049,
    )
    boss = dict(
        id=new_id(),
        employee_no="S1",
        name="支行长",
        role="subbranch_manager",
        outlet_id=world.outlet_a,
        active=True,
        password_hash="",
    )
    with write_session(engine) as session:
        bulk_insert(session, "outlet", [third])
        bulk_insert(session, "user", [boss])
    world.users["S1"] = boss
    with read_session(engine) as session:
        ctx = import_context(session, scope_of(session, user(engine, world, "S1")))
    assert ctx.outlet_codes == frozenset({"T-001", "T-003"})
    with pytest.raises(StoreError):
        do_commit(engine, world, "S1", preview([row(1, outlet="T-002")]), meta=META)
    result = do_commit(engine, world, "S1", preview([row(2, near=NEAR_B), row(3)]), meta=META)
    got = entries(engine, result.batch_id)
    assert got[code(2)]["outlet_id"] == third["id"]  # the nearest of its own outlets
    assert got[code(3)]["outlet_id"] == world.outlet_a


def test_a_marketer_may_not_import(engine):
    world = build_world(engine)
    with pytest.raises(StoreError) as refused:
        do_commit(engine, world, "M1", preview([row(1)]), meta=META)
    assert (refused.value.code, refused.value.status_code) == ("auth.forbidden", 403)


def test_context_lists_active_credit_codes_of_other_live_batches(engine):
    world = build_world(engine)
    first = do_commit(engine, world, "A1", preview([row(1), row(2)]), meta=META)
    old = do_commit(
        engine,
        world,
        "A1",
        preview([row(3)]),
        meta=replace(META, name="旧名单", valid_until=TODAY - timedelta(days=1)),
    )
    with read_session(engine) as session:
        scope = scope_of(session, user(engine, world, "A1"))
        ctx = import_context(session, scope, today=TODAY)
        again = import_context(session, scope, first.batch_id, today=TODAY)
    assert ctx.active_credit_codes[code(1)] == META.name
    assert code(3) not in ctx.active_credit_codes  # its batch expired
    assert code(1) not in again.active_credit_codes  # the batch re-imported lists its own
    assert world.prospects[0]["credit_code"] in again.active_credit_codes
    assert old.batch_id != first.batch_id


# -- versions --------------------------------------------------------------------------


def test_a_new_version_adds_updates_withdraws_and_reinstates(engine):
    world = build_world(engine)
    v1 = do_commit(engine, world, "A1", preview([row(n) for n in range(1, 6)]), meta=META)
    batch_id = v1.batch_id
    # an assigned entry keeps its outlet when its row moves; a pool entry follows its row
    with write_session(engine) as session:
        session.execute(
            _p.update()
            .where(_p.c.credit_code == code(1))
            .values(assignee_id=world.user_id("M1"), status="contacted")
        )
    seq_before = count(engine, _log)
    v2_rows = [
        row(1, outlet="T-002", phone="13900000099"),  # changed, assigned: stays at A
        row(2, outlet="T-002"),  # moved, in the pool: goes to B
        row(3),  # unchanged
        # 4 and 5 gone
        row(6),  # new
    ]
    v2 = do_commit(engine, world, "A1", preview(v2_rows), batch_id=batch_id)
    assert (v2.version, v2.added, v2.updated, v2.unchanged, v2.withdrawn) == (2, 1, 2, 1, 2)
    got = entries(engine, batch_id)
    assert got[code(1)]["phone"] == "13900000099" and got[code(1)]["outlet_id"] == world.outlet_a
    assert got[code(1)]["status"] == "contacted"
    assert got[code(1)]["assignee_id"] == world.user_id("M1")
    assert got[code(2)]["outlet_id"] == world.outlet_b
    for gone in (4, 5):
        assert got[code(gone)]["withdrawn_reason"] == "removed"
        assert got[code(gone)]["withdrawn_at"] is not None
    assert {c: e["batch_version"] for c, e in got.items() if e["withdrawn_at"] is None} == {
        code(n): 2 for n in (1, 2, 3, 6)
    }
    # one change per changed entry, plus the batch's: 2 updated + 2 withdrawn + 1 added + 1,
    # and entry 2, moved from 汇川支行 to 红花岗支行, leaves a row in the branch it left
    assert count(engine, _log) == seq_before + 7
    with read_session(engine) as session:
        withdrawn = session.execute(
            select(_log).where(_log.c.entity_id == got[code(4)]["id"]).order_by(_log.c.seq.desc())
        ).first()
    assert (withdrawn.outlet_old, withdrawn.outlet_new) == (world.outlet_a, None)
    assert withdrawn.seq == got[code(4)]["rev"]

    v3 = do_commit(
        engine, world, "A1", preview([row(n) for n in (1, 2, 3, 4, 6)]), batch_id=batch_id
    )
    assert (v3.version, v3.added, v3.reinstated, v3.withdrawn) == (3, 1, 1, 0)
    back = entries(engine, batch_id)[code(4)]
    assert (
        back["withdrawn_at"] is None
        and back["withdrawn_reason"] == ""
        and back["batch_version"] == 3
    )
    with read_session(engine) as session:
        assert session.get(WhitelistBatch, batch_id).version == 3
        versions = session.execute(
            select(WhitelistBatchVersion).order_by(WhitelistBatchVersion.version)
        ).scalars()
        assert [(v.version, v.added, v.withdrawn) for v in versions] == [
            (1, 5, 0),
            (2, 1, 2),
            (3, 1, 0),
        ]


def test_a_managers_new_version_leaves_other_outlets_entries_alone(engine):
    world = build_world(engine)
    v1 = do_commit(
        engine, world, "A1", preview([row(1, outlet="T-001"), row(2, outlet="T-002")]), meta=META
    )
    v2 = do_commit(engine, world, "G1", preview([row(3, outlet="T-001")]), batch_id=v1.batch_id)
    assert (v2.added, v2.withdrawn) == (1, 1)
    got = entries(engine, v1.batch_id)
    assert got[code(1)]["withdrawn_reason"] == "removed"
    assert got[code(2)]["withdrawn_at"] is None  # outlet B is not G1's to speak for


def test_an_unknown_batch_is_refused(engine):
    world = build_world(engine)
    with pytest.raises(StoreError) as refused:
        do_commit(engine, world, "A1", preview([row(1)]), batch_id="nope")
    assert (refused.value.code, refused.value.status_code) == ("import.batch_unknown", 404)


# -- expiry --------------------------------------------------------------------------------


def test_expired_batches_entries_are_withdrawn(engine):
    world = build_world(engine)
    short = replace(META, valid_until=TODAY + timedelta(days=3))
    result = do_commit(engine, world, "A1", preview([row(1), row(2)]), meta=short)
    with write_session(engine) as session:
        assert expire_batches(session, TODAY + timedelta(days=3)) == 0  # its last valid day
    with write_session(engine) as session:
        assert expire_batches(session, TODAY + timedelta(days=4)) == 2
    with write_session(engine) as session:
        assert expire_batches(session, TODAY + timedelta(days=4)) == 0  # once
    got = entries(engine, result.batch_id)
    assert {e["withdrawn_reason"] for e in got.values()} == {"expired"}
    assert count(engine, _p, _p.c.batch_id == world.batch_id, _p.c.withdrawn_at.is_(None)) == len(
        world.prospects
    )


# -- the batch list ------------------------------------------------------------------------


def test_batch_list_counts_by_outlet_and_status_within_reach(engine):
    world = build_world(engine)
    result = do_commit(
        engine,
        world,
        "A1",
        preview([row(1, outlet="T-001"), row(2, outlet="T-001"), row(3, outlet="T-002")]),
        meta=META,
    )
    with read_session(engine) as session:
        listed = batches.list_batches(session, scope_of(session, user(engine, world, "A1")), TODAY)
        mine = batches.list_batches(session, scope_of(session, user(engine, world, "G1")), TODAY)
    by_id = {b["id"]: b for b in listed}
    new = by_id[result.batch_id]
    assert new["total"] == 3 and new["by_status"] == {"unassigned": 3} and not new["expired"]
    assert [(o["code"], o["count"]) for o in new["by_outlet"]] == [("T-001", 2), ("T-002", 1)]
    demo = by_id[world.batch_id]
    assert demo["total"] == len(world.prospects)
    assert demo["by_status"] == {"assigned": 15, "unassigned": 6}
    g1 = {b["id"]: b for b in mine}[result.batch_id]
    assert g1["total"] == 2 and [o["code"] for o in g1["by_outlet"]] == ["T-001"]


# -- a crash leaves nothing ----------------------------------------------------------------


def test_a_crash_halfway_through_leaves_nothing(engine, monkeypatch):
    world = build_world(engine)
    v1 = do_commit(engine, world, "A1", preview([row(n) for n in range(1, 4)]), meta=META)
    real = batches.bulk_insert
    calls = {"n": 0}

    def crashing(session, entity, rows):
        calls["n"] += 1
        if entity == "prospect":
            real(session, entity, rows[: len(rows) // 2])  # half the rows written …
            raise RuntimeError("the power went out")  # … then the crash
        real(session, entity, rows)

    monkeypatch.setattr(batches, "bulk_insert", crashing)
    tables = (_p, _log, WhitelistBatch.__table__, WhitelistBatchVersion.__table__)
    before = [count(engine, t) for t in tables]
    before_entries = entries(engine, v1.batch_id)
    with pytest.raises(RuntimeError):
        do_commit(engine, world, "A1", preview([row(n) for n in range(10, 30)]), meta=META)
    with pytest.raises(RuntimeError):  # a new version: withdrawals and updates done, then boom
        do_commit(
            engine,
            world,
            "A1",
            preview([row(1, phone="13700000000"), *(row(n) for n in range(10, 30))]),
            batch_id=v1.batch_id,
        )
    assert calls["n"] >= 2
    assert [count(engine, t) for t in tables] == before
    assert entries(engine, v1.batch_id) == before_entries
    monkeypatch.setattr(batches, "bulk_insert", real)
    # and the store still takes the next import, its change-log seqs in order
    again = do_commit(engine, world, "A1", preview([row(40)]), meta=META)
    assert again.added == 1
    with read_session(engine) as session:
        seqs = session.execute(select(_log.c.branch, _log.c.seq)).all()
    assert len(seqs) == len(set(seqs))  # each branch's seqs unique


def test_marketing_logs_of_a_withdrawn_entry_stay(engine):
    world = build_world(engine)
    pid = world.prospects_of("M1")[0]["id"]
    with write_session(engine) as session:
        n = batches.withdraw(
            session,
            [(pid, (world.outlet_a, world.user_id("M1")))],
            batches.WithdrawReason.REMOVED,
            batches.utcnow(),
        )
    assert n == 1
    assert count(engine, MarketingLog.__table__) == 0  # the world has none; nothing removed
    assert (
        entries(engine, world.batch_id)[world.prospects_of("M1")[0]["credit_code"]][
            "withdrawn_reason"
        ]
        == "removed"
    )


# -- the HTTP doors ------------------------------------------------------------------------

HEADER = "企业名称,统一社会信用代码,法定代表人,联系电话,行业,地址,经度,纬度,预授信额度(万元),网点代码,评分,标签"


def csv_line(
    n: int, *, outlet: str = "", near: tuple[float, float] = NEAR_A, phone: str = ""
) -> str:
    phone = phone or f"139{n:08d}"
    return (
        f"遵义导入商贸有限公司{n:03d},{code(n)},钱七,{phone},批发零售,遵义市汇川区导入路{n}号,"
        f"{near[1]},{near[0]},30,{outlet},70,首贷"
    )


def csv_file(*lines: str) -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode("utf-8")


NEW_BATCH = {
    "name": "2027年一季度经营快贷白名单",
    "product": "经营快贷",
    "source": "head_office",
    "valid_from": "2026-12-01",
    "valid_until": "2027-03-01",
}


@pytest.fixture
def api(live_server) -> Iterator[tuple[Any, World]]:
    import httpx

    from app.models.sync import PROTOCOL_HEADER, PROTOCOL_VERSION

    world = build_world(live_server.engine)
    headers = {PROTOCOL_HEADER: str(PROTOCOL_VERSION)}
    with httpx.Client(base_url=live_server.url, headers=headers, timeout=120) as client:
        yield client, world


def upload(client, path: str, who: str, data: bytes, file_name: str = "名单.csv", **form):
    return client.post(
        path, headers=bearer(client, who), files={"file": (file_name, data, "text/csv")}, data=form
    )


def test_http_preview_report_and_commit(api, live_server):
    client, world = api
    data = csv_file(
        csv_line(1, outlet="T-001"),
        csv_line(2, near=NEAR_B),
        csv_line(3, phone="12345"),  # a bad phone
    )
    shown = upload(client, "/admin/imports/preview", "A1", data)
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert (body["total"], body["valid"], body["bad"]) == (3, 2, 1)
    assert body["outlets"] == {"T-001": 1, "T-002": 1}
    [problem] = body["problems"]
    assert problem["line"] == 4 and problem["code"] == "import.phone_invalid"
    assert "联系电话" in problem["message"] and problem["value"] == "12345"
    assert body["mapping"]["统一社会信用代码"] == "credit_code"

    report = upload(client, "/admin/imports/report", "A1", data)
    assert report.status_code == 200
    assert report.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "attachment" in report.headers["content-disposition"]
    import io

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(report.content))
    assert any("12345" in str(c.value) for r in book.worksheets[0].iter_rows() for c in r)

    before = count(live_server.engine, _p)
    refused = upload(client, "/admin/imports", "A1", data, **NEW_BATCH)
    assert refused.status_code == 422 and refused.json()["code"] == "import.has_errors"
    assert count(live_server.engine, _p) == before

    done = upload(client, "/admin/imports", "A1", data, mode="valid_only", **NEW_BATCH)
    assert done.status_code == 201, done.text
    result = done.json()
    assert (result["version"], result["added"], result["rows_bad"]) == (1, 2, 1)
    batch_id = result["batch_id"]

    # a new version: row 3 corrected, row 1 gone
    v2 = upload(
        client,
        "/admin/imports",
        "A1",
        csv_file(csv_line(2, near=NEAR_B), csv_line(3)),
        batch_id=batch_id,
    )
    assert v2.status_code == 201, v2.text
    assert {k: v2.json()[k] for k in ("version", "added", "unchanged", "withdrawn")} == {
        "version": 2,
        "added": 1,
        "unchanged": 1,
        "withdrawn": 1,
    }

    listed = client.get("/admin/batches", headers=bearer(client, "A1"))
    assert listed.status_code == 200
    mine = {b["id"]: b for b in listed.json()["batches"]}[batch_id]
    assert mine["version"] == 2 and mine["total"] == 2 and mine["withdrawn"] == 1
    assert mine["by_status"] == {"unassigned": 2} and mine["expired"] is False
    assert {o["code"]: o["count"] for o in mine["by_outlet"]} == {"T-001": 1, "T-002": 1}

    versions = client.get(f"/admin/batches/{batch_id}/versions", headers=bearer(client, "A1"))
    assert [(v["version"], v["mode"], v["added"]) for v in versions.json()["versions"]] == [
        (2, "all", 1),
        (1, "valid_only", 2),
    ]
    assert versions.json()["versions"][0]["imported_by_name"] == "陈静"
    unknown = client.get("/admin/batches/nope/versions", headers=bearer(client, "A1"))
    assert unknown.status_code == 404 and unknown.json()["code"] == "import.batch_unknown"


def test_http_refusals(api, live_server):
    client, world = api
    data = csv_file(csv_line(1))
    marketer = upload(client, "/admin/imports/preview", "M1", data)
    assert marketer.status_code == 403 and marketer.json()["code"] == "auth.forbidden"
    assert client.get("/admin/batches", headers=bearer(client, "M1")).status_code == 403
    assert client.get("/admin/batches").status_code == 401
    cases = [
        ({"datum": "mars"}, "import.datum_invalid"),
        ({"mapping": "{not json"}, "import.mapping_malformed"),
        ({"mapping": '["公司"]'}, "import.mapping_malformed"),
        ({"mapping": '{"企业名称": "shoe_size"}', **NEW_BATCH}, "import.mapping_invalid"),
        ({"mode": "some", **NEW_BATCH}, "import.mode_invalid"),
        ({**NEW_BATCH, "valid_until": "2027-02-30"}, "import.date_invalid"),
        ({**NEW_BATCH, "valid_until": "2026-01-01"}, "import.dates_order"),
        ({**NEW_BATCH, "source": "moon"}, "import.source_invalid"),
        ({"name": "只有名字"}, "import.meta_missing"),
    ]
    for form, expected in cases:
        answer = upload(client, "/admin/imports", "A1", data, **form)
        assert answer.status_code == 422, (form, answer.text)
        assert answer.json()["code"] == expected, form
    empty = upload(client, "/admin/imports/preview", "A1", b"")
    assert empty.status_code == 422 and empty.json()["code"] == "import.empty_file"
    odd = "公司,信用,电话,纬度,经度\n甲,1,2,3,4\n".encode()
    missing = upload(client, "/admin/imports/preview", "A1", odd)
    assert missing.status_code == 422 and missing.json()["code"] == "import.missing_columns"
    assert "公司" in missing.json()["unknown_headers"]
    mapped = upload(
        client,
        "/admin/imports/preview",
        "A1",
        odd,
        mapping='{"公司": "company_name", "信用": "credit_code", "电话": "phone"}',
    )
    assert mapped.status_code == 200, mapped.text
    assert mapped.json()["mapping"]["公司"] == "company_name"
    other = upload(
        client, "/admin/imports", "G1", csv_file(csv_line(1, outlet="T-002")), **NEW_BATCH
    )
    assert other.status_code == 422 and other.json()["code"] == "import.has_errors"
    assert count(live_server.engine, WhitelistBatch.__table__) == 1  # the world's own


def test_http_a_file_over_the_limit_is_refused_without_being_read(api, monkeypatch):
    import socket

    from app.services import whitelist_import

    client, world = api
    url = client.base_url
    token = bearer(client, "A1")["Authorization"]
    # announced as 200 MB: answered before the body is sent
    with socket.create_connection((url.host, url.port), timeout=30) as sock:
        sock.sendall(
            (
                "POST /admin/imports/preview HTTP/1.1\r\n"
                f"Host: {url.host}\r\nAuthorization: {token}\r\n"
                "Content-Type: multipart/form-data; boundary=xyz\r\n"
                f"Content-Length: {200 * 1024 * 1024}\r\n\r\n"
            ).encode()
            + b"--xyz\r\n"
        )
        answer = sock.recv(65536).decode("utf-8", "replace")
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    assert "import.too_large" in answer
    # a file part over the limit inside an allowed body
    monkeypatch.setattr(whitelist_import, "MAX_FILE_BYTES", 1000)
    big = upload(
        client, "/admin/imports/preview", "A1", csv_file(*(csv_line(n) for n in range(40)))
    )
    assert big.status_code == 413 and big.json()["code"] == "import.too_large"
    assert "MB" in big.json()["message"]

    # streamed without a length, the body is cut off once past the limit
    def chunks() -> Iterator[bytes]:
        yield b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
        for _ in range(4):  # 4 MB, past 1000 bytes plus the form's allowance
            yield b"x" * (1024 * 1024)
        yield b"\r\n--xyz--\r\n"

    streamed = client.post(
        "/admin/imports/preview",
        headers={**bearer(client, "A1"), "Content-Type": "multipart/form-data; boundary=xyz"},
        content=chunks(),
    )
    assert streamed.status_code == 413 and streamed.json()["code"] == "import.too_large"


# -- devices drop withdrawn entries; logs made before stay --------------------------------


def test_a_withdrawn_entry_leaves_the_device_and_its_offline_log_is_kept(
    api, live_server, make_device
):
    from app.services.marketing import new_log
    from app.services.scope import Scope
    from app.sync import local
    from tests.world import PASSWORD

    client, world = api
    done = upload(
        client,
        "/admin/imports",
        "A1",
        csv_file(csv_line(1, outlet="T-001"), csv_line(2, outlet="T-001")),
        **NEW_BATCH,
    )
    assert done.status_code == 201, done.text
    batch_id = done.json()["batch_id"]
    ids = {c: e["id"] for c, e in entries(live_server.engine, batch_id).items()}
    device = make_device(live_server, "M1")
    me = device.login("M1", PASSWORD)["user"]
    device.sync()
    assert {ids[code(1)], ids[code(2)]} <= device.ids()  # the outlet's pool reached M1
    log_id = local.record_log(
        device.store,
        Scope(me["id"], me["role"], me["outlet_id"]),
        new_log(prospect_id=ids[code(1)], channel="visit", outcome="interested", note="离线写的"),
    )
    gone = upload(
        client, "/admin/imports", "A1", csv_file(csv_line(2, outlet="T-001")), batch_id=batch_id
    )
    assert gone.json()["withdrawn"] == 1

    progress = device.sync()

    assert progress.rejected == 0 and progress.pending == 0
    assert ids[code(1)] not in device.ids() and ids[code(2)] in device.ids()
    assert (
        count(live_server.engine, MarketingLog.__table__, MarketingLog.__table__.c.id == log_id)
        == 1
    )
    # expiry reaches devices the same way
    with write_session(live_server.engine) as session:
        assert expire_batches(session, date(2027, 3, 2)) >= 1  # the world's batch expired too
    device.sync()
    assert ids[code(2)] not in device.ids()


def test_http_valid_only_version_keeps_the_entries_of_refused_rows(api, live_server):
    client, world = api
    first = upload(
        client, "/admin/imports", "A1", csv_file(csv_line(1), csv_line(2), csv_line(3)), **NEW_BATCH
    )
    batch_id = first.json()["batch_id"]
    # row 1 refused (its phone), row 3 gone: only row 3's entry is withdrawn
    v2 = upload(
        client,
        "/admin/imports",
        "A1",
        csv_file(csv_line(1, phone="12"), csv_line(2)),
        batch_id=batch_id,
        mode="valid_only",
    )
    assert v2.status_code == 201, v2.text
    assert (v2.json()["withdrawn"], v2.json()["rows_bad"], v2.json()["unchanged"]) == (1, 1, 1)
    got = entries(live_server.engine, batch_id)
    assert (
        got[code(1)]["withdrawn_at"] is None and got[code(1)]["phone"] == csv_line(1).split(",")[3]
    )
    assert got[code(3)]["withdrawn_reason"] == "removed"

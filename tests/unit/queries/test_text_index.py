"""The search box's in-memory text index: what it finds, and that it keeps up with the store.

Every test of tests/unit/queries/test_whitelist.py also runs its queries with and without the
index and asserts the same page; these tests cover what those cannot see: the index
following local writes and syncs, and declining while a first sync is still landing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from app.queries.text_index import TextIndex, view_test
from app.queries.whitelist import WhitelistQuery, query_whitelist
from app.services.scope import ViewScope, in_view
from app.sync.store import DeviceStore, create_screen_indexes, drop_screen_indexes
from tests.unit.queries.test_whitelist import TODAY, add, make_store, prospect, run


def found(store: DeviceStore, *terms: str, **scope: Any) -> tuple[set[str], dict[str, int]]:
    """The ids and per-status counts the store's index gives for ``terms``."""
    with store.read() as conn:
        assert store.text_index.refresh(conn)
        m = store.text_index.match(terms, **scope)
        assert m is not None
        by_rowid = dict(conn.exec_driver_sql("SELECT rowid, id FROM prospect").all())
    return {by_rowid[r] for r in m.rowids}, m.status_counts


def write(store: DeviceStore, sql: str, **params: Any) -> None:
    with store.transaction() as conn:
        conn.execute(text(sql), params)


def test_finds_names_reps_and_codes_as_the_search_box_promises(tmp_path: Path) -> None:
    store = make_store(tmp_path / "d.sqlite3")
    add(
        store,
        prospect("p1", company_name="遵义市汇川区老王KTV娱乐有限公司", legal_rep="王小二"),
        prospect(
            "p2",
            company_name="遵义市红花岗区茶叶店",
            legal_rep="李茶",
            credit_code="91520302ABCDEF1234",
        ),
        prospect(
            "p3",
            company_name="遵义市播州区123号便利店",
            legal_rep="赵六",
            credit_code="91520321MA6E123456",
            status="contacted",
        ),
    )
    assert found(store, "ktv")[0] == {"p1"}  # ASCII letters ignore case
    assert found(store, "王")[0] == {"p1"}  # name and legal rep: one hit per prospect
    assert found(store, "李茶")[0] == {"p2"}  # the legal representative
    assert found(store, "abcdef")[0] == {"p2"}  # inside a credit code
    assert found(store, "123")[0] == {"p3"}  # digits: the company name only (p2's code has 123)
    assert found(store, "遵义", "茶")[0] == {"p2"}  # every term must match
    assert found(store, "遵义") == ({"p1", "p2", "p3"}, {"unassigned": 2, "contacted": 1})
    assert found(store, "不存在")[0] == set()
    store.close()


def test_scopes_match_the_whitelist_scopes(tmp_path: Path) -> None:
    store = make_store(tmp_path / "d.sqlite3")
    add(
        store,
        prospect("mine", assignee_id="m1", status="assigned"),
        prospect("colleague", assignee_id="m2", status="assigned"),
        prospect("pool"),
        prospect("other_pool", outlet_id="o2"),
    )
    assert found(store, "遵义", scope="mine", user_id="m1")[0] == {"mine"}
    assert found(store, "遵义", scope="pool", outlet_id="o1")[0] == {"pool"}
    assert found(store, "遵义", scope="outlet", outlet_id="o1")[0] == {"mine", "colleague", "pool"}
    assert found(store, "遵义", scope="mine_and_pool", user_id="m1", outlet_id="o1")[0] == {
        "mine",
        "pool",
    }
    store.close()


def test_follows_local_writes_and_syncs_without_a_rebuild(tmp_path: Path) -> None:
    store = make_store(tmp_path / "d.sqlite3")
    add(store, prospect("p1", company_name="遵义市老街酒业有限公司"), prospect("p2"))
    assert found(store, "酒业")[0] == {"p1"}
    built = store.text_index._blobs  # noqa: SLF001 - the rebuild is what this test watches

    write(store, "UPDATE prospect SET status = 'contacted', assignee_id = 'm1' WHERE id = 'p1'")
    assert found(store, "酒业", scope="mine", user_id="m1") == ({"p1"}, {"contacted": 1})
    assert store.text_index._blobs is built  # a status change keeps the text as it was

    write(store, "UPDATE prospect SET company_name = '遵义市新街酒业有限公司' WHERE id = 'p2'")
    assert found(store, "新街")[0] == {"p2"}
    assert found(store, "酒业")[0] == {"p1", "p2"}
    write(store, "DELETE FROM prospect WHERE id = 'p1'")  # transferred away
    assert found(store, "酒业")[0] == {"p2"}
    add(store, prospect("p3", company_name="遵义市桐梓县酒业合作社"))  # pulled in
    assert found(store, "酒业") == ({"p2", "p3"}, {"unassigned": 2})
    store.close()


def test_declines_while_a_first_sync_lands_and_starts_again_after(tmp_path: Path) -> None:
    store = make_store(tmp_path / "d.sqlite3")
    add(store, prospect("p1", company_name="遵义市茶园茶业有限公司"))
    assert found(store, "茶业")[0] == {"p1"}
    with store.transaction() as conn:
        drop_screen_indexes(conn)  # a resync's snapshot begins
    add(store, prospect("p2", company_name="遵义市湄潭县茶业合作社"))
    with store.read() as conn:
        assert not store.text_index.refresh(conn)  # no triggers: the search scans in SQL
        q = WhitelistQuery(scope="all", text="茶业", today=TODAY)
        page = query_whitelist(conn, q, text_index=store.text_index)
    assert {r.id for r in page.rows} == {"p1", "p2"}
    with store.transaction() as conn:
        create_screen_indexes(conn)  # the snapshot landed
    assert found(store, "茶业")[0] == {"p1", "p2"}
    store.close()


def test_a_common_term_is_left_to_sql(tmp_path: Path) -> None:
    store = make_store(tmp_path / "d.sqlite3")
    add(store, *(prospect(f"p{i}") for i in range(30)))
    with store.read() as conn:
        index = TextIndex()
        assert index.refresh(conn)
        assert index.match(["遵义"], limit=10) is None
        assert index.match(["p7"], limit=10) is not None
    store.close()


def test_a_line_break_inside_a_name_does_not_shift_the_rows(tmp_path: Path) -> None:
    store = make_store(tmp_path / "d.sqlite3")
    add(
        store,
        prospect("p1", company_name="遵义市\n换行商贸"),
        prospect("p2", company_name="遵义市南门酒业"),
    )
    assert found(store, "酒业")[0] == {"p2"}
    assert found(store, "换行")[0] == {"p1"}
    store.close()


def test_a_new_device_store_gets_the_triggers_with_the_screens_indexes(tmp_path: Path) -> None:
    store = DeviceStore(tmp_path / "fresh.sqlite3")
    with store.read() as conn:
        assert not store.text_index.refresh(conn)  # no snapshot yet
    store.close()
    store = make_store(tmp_path / "d.sqlite3")  # indexes created, as after a first sync
    with store.read() as conn:
        assert store.text_index.refresh(conn)
    store.close()


def test_pages_sorted_in_memory_match_sqlites_order_with_ties_and_gaps(tmp_path: Path) -> None:
    """Ties in place, line and score, every sort and page: the page the index sorts in
    memory is the page SQL sorts (``run`` asserts both are equal)."""
    store = make_store(tmp_path / "d.sqlite3")
    rows = []
    for i in range(60):
        rows.append(
            prospect(
                f"p{i:02d}",
                company_name=f"遵义市同名酒业{i % 3}号",
                pre_approved_line=(i % 4) * 50_000,
                score=50 + i % 5,
                lat=27.70 + (i % 7) * 0.001,
                lon=106.92 + (i % 7) * 0.001,
                status="contacted" if i % 2 else "unassigned",
            )
        )
    add(store, *rows)
    for sort in ("distance", "line", "score", "last_contact"):
        for offset in (0, 20, 55):
            page = run(store, text="酒业", sort=sort, offset=offset, limit=20, outlet_id="o1")
            assert page.total == 60
            status_only = run(
                store,
                text="同名",
                sort=sort,
                offset=offset,
                limit=20,
                statuses=frozenset({"contacted"}),
                origin=(27.701, 106.925),
            )
            assert status_only.total == 30
    store.close()


@pytest.mark.parametrize("view", list(ViewScope))
@pytest.mark.parametrize(("user_id", "outlet_id"), [("m1", "o1"), ("m1", None), (None, "o1")])
def test_the_index_view_test_agrees_with_the_rule(
    view: ViewScope, user_id: str | None, outlet_id: str | None
) -> None:
    """The index's fast per-row view test draws the line ``in_view`` does."""
    assignee = ["m1", "m1", "m2", None, None, "m3", None]
    outlet = ["o1", "o2", "o1", "o1", "o2", "o2", None]
    keep = view_test(view, user_id, outlet_id, assignee, outlet)
    for i, (a, o) in enumerate(zip(assignee, outlet, strict=True)):
        rule = in_view(
            view, user_id=user_id, outlet_id=outlet_id, assignee_id=a, prospect_outlet_id=o
        )
        assert (keep is None or keep(i)) == rule, (view, a, o)

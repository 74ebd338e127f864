"""The whitelist screen's query: scopes, search, filters, sorts, paging and counts.

Each test builds a small device store by hand with rows whose answer is known; the
last ones check a generated 100,000-row store against a plain-Python reference.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, text

from app.geo.distance import EARTH_RADIUS_KM, haversine_km
from app.queries.indexes import LOCAL_WHITELIST_DDL
from app.queries.whitelist import (
    BatchBadge,
    WhitelistPage,
    WhitelistQuery,
    batch_badges,
    industries,
    query_whitelist,
)
from app.queries.whitelist_plan import PROBE_LIMIT
from app.services.whitelist import KM_PER_DEGREE, distance_margin_km, search_terms
from app.sync.store import SCREEN_INDEXES, DeviceStore, create_screen_indexes

TODAY = date(2026, 3, 10)
O1 = (27.7238, 106.9291)  # 汇川 outlet
O2 = (27.6962, 106.9236)  # 红花岗 outlet, 3 km south
Row = dict[str, Any]


# -- building a device store -------------------------------------------------------------


def destination(origin: tuple[float, float], km: float, bearing: float) -> tuple[float, float]:
    """The point ``km`` from ``origin`` on ``bearing`` (degrees), on haversine's sphere."""
    lat1, lon1 = map(math.radians, origin)
    d, b = km / EARTH_RADIUS_KM, math.radians(bearing)
    lat2 = math.asin(math.sin(lat1) * math.cos(d) + math.cos(lat1) * math.sin(d) * math.cos(b))
    lon2 = lon1 + math.atan2(
        math.sin(b) * math.sin(d) * math.cos(lat1), math.cos(d) - math.sin(lat1) * math.sin(lat2)
    )
    return math.degrees(lat2), math.degrees(lon2)


def insert(conn: Connection, table: str, rows: list[Row]) -> None:
    cols = list(rows[0])
    sql = f'INSERT INTO "{table}" ({", ".join(cols)}) VALUES ({", ".join(":" + c for c in cols)})'
    conn.execute(text(sql), rows)


def make_store(path: Path, *, indexes: bool = True) -> DeviceStore:
    store = DeviceStore(path)
    if indexes:
        create_indexes(store)
    with store.transaction() as conn:
        insert(
            conn,
            "outlet",
            [
                dict(
                    id=oid,
                    code=oid,
                    name=name,
                    tier="general",
                    branch_name="汇川",
                    address="",
                    lat=pos[0],
                    lon=pos[1],
                    rev=1,
                )
                for oid, name, pos in (("o1", "汇川营业室", O1), ("o2", "红花岗营业室", O2))
            ],
        )
        insert(
            conn,
            "user",
            [
                dict(
                    id=uid,
                    employee_no=uid.upper(),
                    name=uid,
                    role="marketer",
                    outlet_id=oid,
                    active=True,
                    password_hash="",
                    rev=1,
                )
                for uid, oid in (("m1", "o1"), ("m2", "o1"), ("m3", "o2"))
            ],
        )
        insert(
            conn,
            "whitelist_batch",
            [
                dict(
                    id=bid,
                    name=f"2026年{product}白名单",
                    product=product,
                    source="head_office",
                    valid_from="2025-11-01",
                    valid_until=(TODAY + timedelta(days=days)).isoformat(),
                    created_at="2025-10-31 01:30:00",
                    rev=1,
                )
                for bid, product, days in (
                    ("b1", "经营快贷", 16),
                    ("b2", "商户贷", 75),
                    ("b3", "税务贷", -1),
                    ("b4", "科创贷", 200),
                )
            ],
        )
    return store


def create_indexes(store: DeviceStore) -> None:
    """The screens' indexes, this module's among them, as when a first sync lands."""
    assert set(LOCAL_WHITELIST_DDL) <= set(SCREEN_INDEXES)
    with store.transaction() as conn:
        create_screen_indexes(conn)


def prospect(pid: str, **fields: Any) -> Row:
    row: Row = dict(
        id=pid,
        batch_id="b1",
        company_name=f"遵义市汇川区{pid}有限公司",
        legal_rep="张三",
        credit_code="91520303MA6D000000",
        phone="13800000000",
        industry="餐饮",
        address="",
        lat=O1[0],
        lon=O1[1],
        pre_approved_line=100_000,
        score=60,
        tags="[]",
        outlet_id="o1",
        assignee_id=None,
        status="unassigned",
        disbursed_amount=None,
        last_contact_at=None,
        next_follow_up=None,
        updated_at="2026-01-01 00:00:00",
        rev=1,
    )
    row.update(fields)
    return row


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DeviceStore]:
    s = make_store(tmp_path / "device.sqlite3")
    yield s
    s.close()


def add(store: DeviceStore, *rows: Row) -> None:
    with store.transaction() as conn:
        insert(conn, "prospect", list(rows))


def run(store: DeviceStore, **kwargs: Any) -> WhitelistPage:
    """The query's page, the same whether the text search scans SQL or uses the store's
    in-memory text index (app/queries/text_index.py)."""
    kwargs.setdefault("scope", "all")
    kwargs.setdefault("today", TODAY)
    q = WhitelistQuery(**kwargs)
    with store.read() as conn:
        scanned = query_whitelist(conn, q)
        indexed = query_whitelist(conn, q, text_index=store.text_index)
    assert indexed == scanned, q
    return scanned


def ids(page: WhitelistPage) -> list[str]:
    return [r.id for r in page.rows]


# -- scope ---------------------------------------------------------------------------------


def scoped_world(store: DeviceStore) -> None:
    add(
        store,
        prospect("mine", assignee_id="m1", status="assigned"),
        prospect("colleague", assignee_id="m2", status="contacted"),
        prospect("pool", assignee_id=None),
        prospect("other_pool", outlet_id="o2"),
        prospect("other_marketer", outlet_id="o2", assignee_id="m3", status="assigned"),
    )


def test_a_marketer_sees_their_own_prospects_and_their_outlets_pool_only(
    store: DeviceStore,
) -> None:
    scoped_world(store)
    page = run(store, scope="mine_and_pool", user_id="m1", outlet_id="o1")
    assert set(ids(page)) == {"mine", "pool"}
    assert page.total == 2
    assert page.status_counts == {"assigned": 1, "unassigned": 1}


@pytest.mark.parametrize(
    ("scope", "user", "outlet", "expected"),
    [
        ("mine", "m1", "o1", {"mine"}),
        ("pool", "m1", "o1", {"pool"}),
        ("outlet", "m1", "o1", {"mine", "colleague", "pool"}),
        ("outlet", None, "o2", {"other_pool", "other_marketer"}),
        ("all", None, None, {"mine", "colleague", "pool", "other_pool", "other_marketer"}),
        ("mine_and_pool", "m3", "o2", {"other_pool", "other_marketer"}),
    ],
)
def test_each_scope_holds_what_its_role_may_see(
    store: DeviceStore, scope: str, user: str | None, outlet: str | None, expected: set[str]
) -> None:
    scoped_world(store)
    assert set(ids(run(store, scope=scope, user_id=user, outlet_id=outlet))) == expected


@pytest.mark.parametrize(
    ("scope", "user", "outlet", "expected"),
    [
        ("mine", None, "o1", set()),
        ("pool", "m1", None, set()),
        ("outlet", "m1", None, set()),
        ("mine_and_pool", None, None, set()),
        ("mine_and_pool", "m1", None, {"mine"}),  # no outlet: no pool, still my own
    ],
)
def test_a_scope_missing_its_user_or_outlet_never_widens(
    store: DeviceStore, scope: str, user: str | None, outlet: str | None, expected: set[str]
) -> None:
    scoped_world(store)
    page = run(store, scope=scope, user_id=user, outlet_id=outlet)
    assert set(ids(page)) == expected
    assert page.total == len(expected)


# -- search --------------------------------------------------------------------------------


def search_world(store: DeviceStore) -> None:
    add(
        store,
        prospect(
            "a",
            company_name="遵义市汇川区鑫宏运输有限公司",
            legal_rep="王伟",
            credit_code="91520303MA6DR5YD3A",
            phone="13710662792",
        ),
        prospect(
            "b",
            company_name="遵义市红花岗区金益食品有限公司",
            legal_rep="田学雪",
            credit_code="92520302MA6L1DNC2T",
            phone="13245520979",
        ),
        prospect(
            "c",
            company_name="仁怀市鑫宏酒业有限公司",
            legal_rep="李鑫宏",
            credit_code="93520382MA6H2A028G",
            phone="18772369128",
        ),
        prospect(
            "d",
            company_name="遵义市播州区100%纯粮酒坊",
            legal_rep="王芳",
            credit_code="92520304073456789P",
            phone="15985011234",
        ),
    )


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("鑫宏", {"a", "c"}),  # two characters, in a name and in a legal rep
        ("王伟", {"a"}),
        ("王", {"a", "d"}),
        ("田学雪", {"b"}),
        ("酒", {"c", "d"}),
        ("ma6dr5", {"a"}),  # inside a credit code, in any case
        ("L1dNC", {"b"}),
        ("9252030407", {"d"}),  # digits past the district's 8: a credit code's start
        ("92520304", set()),  # 8 digits: a phone's tail, not every code of a district
        ("2792", {"a"}),  # a phone's last four
        ("662792", {"a"}),
        ("13710662792", {"a"}),
        ("1066", set()),  # the middle of a phone is not its tail
        ("5203", set()),  # nor the middle of a credit code
        ("10", {"d"}),  # short digits: in a company name
        ("没有", set()),
    ],
)
def test_search_matches_name_legal_rep_credit_code_or_phone_tail(
    store: DeviceStore, term: str, expected: set[str]
) -> None:
    search_world(store)
    page = run(store, text=term)
    assert set(ids(page)) == expected
    assert page.total == len(expected)


def test_every_search_term_must_match(store: DeviceStore) -> None:
    search_world(store)
    assert set(ids(run(store, text="鑫宏 仁怀"))) == {"c"}
    assert set(ids(run(store, text="  王  2792 "))) == {"a"}


def test_full_width_input_is_read_as_ascii(store: DeviceStore) -> None:
    search_world(store)
    assert search_terms("ＭＡ６Ｄ　２７９２") == ["MA6D", "2792"]
    assert set(ids(run(store, text="２７９２"))) == {"a"}


def test_wildcards_in_a_search_are_plain_characters(store: DeviceStore) -> None:
    search_world(store)
    assert set(ids(run(store, text="100%"))) == {"d"}
    assert ids(run(store, text="%")) == ["d"]
    assert ids(run(store, text="_")) == []


def test_a_search_within_a_scope_stays_in_the_scope(store: DeviceStore) -> None:
    search_world(store)
    add(store, prospect("e", company_name="鑫宏商贸", outlet_id="o2", assignee_id="m3"))
    page = run(store, scope="mine_and_pool", user_id="m1", outlet_id="o1", text="鑫宏")
    assert set(ids(page)) == {"a", "c"}
    assert set(ids(run(store, text="鑫宏"))) == {"a", "c", "e"}


# -- filters -------------------------------------------------------------------------------


def test_filters_by_batch_product_and_industry(store: DeviceStore) -> None:
    add(
        store,
        prospect("a", batch_id="b1", industry="餐饮"),
        prospect("b", batch_id="b2", industry="餐饮"),
        prospect("c", batch_id="b2", industry="建材"),
        prospect("d", batch_id="b3", industry="建材"),
    )
    assert set(ids(run(store, batch_id="b2"))) == {"b", "c"}
    assert set(ids(run(store, product="税务贷"))) == {"d"}
    assert set(ids(run(store, industry="建材"))) == {"c", "d"}
    assert set(ids(run(store, product="商户贷", industry="建材"))) == {"c"}
    assert ids(run(store, product="没有这个产品")) == []


def test_status_chips_count_every_filter_but_the_status_filter(store: DeviceStore) -> None:
    add(
        store,
        prospect("a", status="assigned", assignee_id="m1", industry="餐饮"),
        prospect("b", status="assigned", assignee_id="m1", industry="建材"),
        prospect("c", status="contacted", assignee_id="m1", industry="餐饮"),
        prospect("d", status="interested", assignee_id="m1", industry="餐饮"),
        prospect("e", status="unassigned", industry="餐饮"),
    )
    page = run(store, industry="餐饮", statuses={"contacted", "interested"})
    assert set(ids(page)) == {"c", "d"}
    assert page.total == 2
    assert page.status_counts == {"assigned": 1, "contacted": 1, "interested": 1, "unassigned": 1}


def test_follow_ups_due_and_overdue_leave_out_closed_prospects(store: DeviceStore) -> None:
    day = TODAY.isoformat()
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    add(
        store,
        prospect("today", status="contacted", assignee_id="m1", next_follow_up=day),
        prospect("late", status="interested", assignee_id="m1", next_follow_up=yesterday),
        prospect("later", status="contacted", assignee_id="m1", next_follow_up=tomorrow),
        prospect("none", status="assigned", assignee_id="m1"),
        prospect("declined", status="declined", assignee_id="m1", next_follow_up=yesterday),
        prospect("disbursed", status="disbursed", assignee_id="m1", next_follow_up=day),
    )
    due = run(store, follow_up="due")
    assert set(ids(due)) == {"today", "late"}
    assert due.status_counts == {"contacted": 1, "interested": 1}
    assert set(ids(run(store, follow_up="overdue"))) == {"late"}


def test_distance_filter_agrees_with_haversine_to_the_centimetre(store: DeviceStore) -> None:
    rand = random.Random(7)
    rows = []
    for i in range(400):  # scattered over 6 km
        lat, lon = destination(O1, rand.uniform(0, 6), rand.uniform(0, 360))
        rows.append(prospect(f"r{i}", lat=lat, lon=lon))
    for i, bearing in enumerate(range(0, 360, 15)):  # right on the 3 km circle
        for j, delta in enumerate((-0.001, -0.0001, -0.00001, 0.00001, 0.0001, 0.001)):
            lat, lon = destination(O1, 3.0 + delta, bearing)
            rows.append(prospect(f"edge{i}.{j}", lat=lat, lon=lon))
    add(store, *rows)
    expected = {r["id"] for r in rows if haversine_km(*O1, r["lat"], r["lon"]) <= 3.0}
    page = run(store, outlet_id="o1", max_distance_km=3.0, limit=len(rows))
    assert set(ids(page)) == expected
    assert page.total == len(expected)
    assert all(r.distance_km is not None and r.distance_km <= 3.0 for r in page.rows)


def test_distance_is_measured_from_the_given_origin_else_the_outlet(store: DeviceStore) -> None:
    add(store, prospect("near_o1", lat=O1[0], lon=O1[1]), prospect("near_o2", lat=O2[0], lon=O2[1]))
    assert ids(run(store, outlet_id="o1", max_distance_km=1)) == ["near_o1"]
    assert ids(run(store, outlet_id="o1", origin=O2, max_distance_km=1)) == ["near_o2"]
    assert ids(run(store, max_distance_km=1)) == []  # no outlet, no origin: nowhere to measure


# -- sorting and paging --------------------------------------------------------------------


def sort_world(store: DeviceStore) -> None:
    add(
        store,
        prospect(
            "far",
            lat=destination(O1, 5.0, 10)[0],
            lon=destination(O1, 5.0, 10)[1],
            pre_approved_line=900_000,
            score=41,
            last_contact_at="2026-03-01 02:00:00",
        ),
        prospect(
            "near",
            lat=destination(O1, 0.4, 200)[0],
            lon=destination(O1, 0.4, 200)[1],
            pre_approved_line=50_000,
            score=99,
        ),
        prospect(
            "mid",
            lat=destination(O1, 1.5, 90)[0],
            lon=destination(O1, 1.5, 90)[1],
            pre_approved_line=300_000,
            score=75,
            last_contact_at="2026-03-09 08:30:00",
        ),
        prospect(
            "midfar",
            lat=destination(O1, 2.5, 300)[0],
            lon=destination(O1, 2.5, 300)[1],
            pre_approved_line=300_000,
            score=60,
        ),
    )


def test_nearest_first_with_exact_distances(store: DeviceStore) -> None:
    sort_world(store)
    page = run(store, outlet_id="o1", sort="distance")
    assert ids(page) == ["near", "mid", "midfar", "far"]
    assert [round(r.distance_km or 0, 6) for r in page.rows] == [0.4, 1.5, 2.5, 5.0]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("line", ["far", "midfar", "mid", "near"]),  # equal lines: the later row first
        ("score", ["near", "mid", "midfar", "far"]),
        ("last_contact", ["mid", "far", "midfar", "near"]),  # never contacted last
    ],
)
def test_each_sort_puts_the_most_first(store: DeviceStore, sort: str, expected: list[str]) -> None:
    sort_world(store)
    assert ids(run(store, outlet_id="o1", sort=sort)) == expected


def test_distance_sort_without_an_origin_sorts_by_score(store: DeviceStore) -> None:
    sort_world(store)
    page = run(store, sort="distance")  # an admin: no outlet
    assert ids(page) == ["near", "mid", "midfar", "far"]
    assert all(r.distance_km is None for r in page.rows)


@pytest.mark.parametrize("sort", ["distance", "line", "score", "last_contact"])
def test_pages_cover_every_match_once_in_order(store: DeviceStore, sort: str) -> None:
    rand = random.Random(sort)
    rows = []
    for i in range(137):
        lat, lon = destination(O1, rand.uniform(0, 4), rand.uniform(0, 360))
        contact = f"2026-03-0{rand.randint(1, 9)} 0{rand.randint(0, 9)}:00:00"
        rows.append(
            prospect(
                f"p{i:03}",
                lat=lat,
                lon=lon,
                pre_approved_line=rand.choice([1, 2, 3]) * 100_000,
                score=rand.randint(40, 45),
                last_contact_at=contact if rand.random() < 0.6 else None,
            )
        )
    add(store, *rows)
    whole = run(store, outlet_id="o1", sort=sort, limit=1000)
    paged: list[str] = []
    for offset in range(0, 140, 20):
        page = run(store, outlet_id="o1", sort=sort, offset=offset, limit=20)
        assert page.total == 137 and page.offset == offset
        paged += ids(page)
    assert paged == ids(whole)
    assert sorted(paged) == sorted(r["id"] for r in rows)


def test_a_page_past_the_end_is_empty_but_keeps_the_counts(store: DeviceStore) -> None:
    sort_world(store)
    past = run(store, offset=10)
    assert past.rows == [] and past.total == 4 and past.status_counts == {"unassigned": 4}
    none = run(store, limit=0)
    assert none.rows == [] and none.total == 4


def test_rows_carry_the_batch_and_a_masked_phone(store: DeviceStore) -> None:
    add(
        store,
        prospect(
            "a",
            batch_id="b2",
            phone="13812345678",
            next_follow_up="2026-03-12",
            last_contact_at="2026-03-09 08:30:00.250000",
            assignee_id="m1",
        ),
    )
    (row,) = run(store, outlet_id="o1").rows
    assert (row.batch_id, row.batch_product) == ("b2", "商户贷")
    assert row.batch_valid_until == TODAY + timedelta(days=75)
    assert row.phone_masked == "138****5678"
    assert row.next_follow_up == date(2026, 3, 12)
    assert row.last_contact_at == datetime(2026, 3, 9, 8, 30, 0, 250000)
    assert row.assignee_id == "m1" and row.distance_km == 0.0


# -- batches, industries, compatibility ----------------------------------------------------


def test_batch_badges_show_days_left_and_expiry_with_counts_in_scope(store: DeviceStore) -> None:
    add(
        store,
        prospect("a", batch_id="b1", assignee_id="m1"),
        prospect("b", batch_id="b1"),
        prospect("c", batch_id="b2", outlet_id="o2"),
        prospect("d", batch_id="b3", assignee_id="m1"),
    )
    with store.read() as conn:
        everything = batch_badges(conn, TODAY)
        mine = batch_badges(conn, TODAY, scope="mine", user_id="m1")
    assert everything == [
        BatchBadge("b1", "2026年经营快贷白名单", "经营快贷", date(2026, 3, 26), 16, False, 2),
        BatchBadge("b2", "2026年商户贷白名单", "商户贷", date(2026, 5, 24), 75, False, 1),
        BatchBadge("b3", "2026年税务贷白名单", "税务贷", date(2026, 3, 9), -1, True, 1),
    ]  # b4 has no prospects here
    assert [(b.id, b.count) for b in mine] == [("b1", 1), ("b3", 1)]
    with store.read() as conn:
        assert batch_badges(conn, date(2026, 3, 26))[0].days_left == 0  # its last valid day
        assert batch_badges(conn, date(2026, 3, 26))[0].expired is False


def test_industries_list_the_most_common_first(store: DeviceStore) -> None:
    add(
        store,
        prospect("a", industry="建材"),
        prospect("b", industry="餐饮"),
        prospect("c", industry="餐饮"),
        prospect("d", industry="茶叶", outlet_id="o2"),
    )
    with store.read() as conn:
        assert [(i.industry, i.count) for i in industries(conn)] == [
            ("餐饮", 2),
            ("建材", 1),
            ("茶叶", 1),
        ]
        assert [i.industry for i in industries(conn, scope="outlet", outlet_id="o2")] == ["茶叶"]


@pytest.mark.parametrize(
    "bad", [{"scope": "everyone"}, {"sort": "name"}, {"follow_up": "soon"}, {"offset": -1}]
)
def test_a_query_the_screen_cannot_mean_is_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        WhitelistQuery(**bad)


# -- the distance approximation --------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    lat0=st.floats(-70, 70),
    lon0=st.floats(-170, 170),
    radius=st.floats(0.01, 200),
    share=st.floats(0, 1.5),
    bearing=st.floats(0, 360),
)
def test_the_band_around_a_radius_covers_the_equirectangular_error(
    lat0: float, lon0: float, radius: float, share: float, bearing: float
) -> None:
    lat, lon = destination((lat0, lon0), radius * share, bearing)
    k = math.cos(math.radians(lat0))
    eq = math.sqrt((lat - lat0) ** 2 + ((lon - lon0) * k) ** 2) * KM_PER_DEGREE
    assert abs(eq - haversine_km(lat0, lon0, lat, lon)) <= distance_margin_km(radius, lat0)


# -- 100,000 generated prospects against a plain-Python reference ---------------------------

BIG = 100_000
CENTRES = {"o1": O1, "o2": O2, "o3": (27.7928, 106.4018), "o4": (28.5901, 105.6978)}
MARKETERS = {"o1": ["m1", "m2"], "o2": ["m3"], "o3": ["m4"], "o4": ["m5"]}
DISTRICTS = ("遵义市汇川区", "遵义市红花岗区", "仁怀市", "赤水市", "遵义市播州区")
BRANDS = "黔鑫兴盛恒昌荣福泰祥瑞丰源达旺顺和宏佳利华正德金永嘉新"
WORDS = ("商贸", "餐饮", "酒业", "物流", "建材", "茶业", "汽修", "医药")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红梅飞鹏"
CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
PRODUCTS = {"b1": "经营快贷", "b2": "商户贷", "b3": "税务贷"}
STATUSES = (
    "assigned",
    "contacted",
    "interested",
    "applied",
    "approved",
    "disbursed",
    "declined",
    "invalid",
)


def generated_rows(n: int, seed: int = 12) -> list[Row]:
    rand = random.Random(seed)
    rows = []
    for i in range(n):
        outlet = rand.choice(("o1", "o1", "o2", "o3", "o4"))
        centre = CENTRES[outlet]
        lat, lon = destination(centre, abs(rand.gauss(0, 2.5)), rand.uniform(0, 360))
        brand = rand.choice(BRANDS) + rand.choice(BRANDS)
        home = DISTRICTS[list(CENTRES).index(outlet)]  # mostly registered where they are
        name = (
            f"{home if rand.random() < 0.8 else rand.choice(DISTRICTS)}{brand}{rand.choice(WORDS)}"
        )
        if outlet == "o4" and rand.random() < 0.3:
            name += "竹编"  # a trade of one county only
        name += rand.choice(("有限公司", "经营部", "商行", ""))
        rep = rand.choice(SURNAMES) + "".join(rand.choices(GIVEN, k=rand.choice((1, 2))))
        assignee = rand.choice(MARKETERS[outlet]) if rand.random() < 0.35 else None
        status = rand.choice(STATUSES) if assignee else "unassigned"
        contact = follow = None
        if status not in ("unassigned", "assigned"):
            contact = (
                f"2026-0{rand.randint(1, 3)}-{rand.randint(10, 28)} 0{rand.randint(0, 9)}:15:00"
            )
            if rand.random() < 0.5:
                follow = (TODAY + timedelta(days=rand.randint(-5, 5))).isoformat()
        rows.append(
            prospect(
                f"g{i:06}",
                batch_id=rand.choice(("b1", "b2", "b3")),
                company_name=name,
                legal_rep=rep,
                phone="1" + "".join(rand.choices("0123456789", k=10)),
                credit_code="9152" + "".join(rand.choices(CODE_CHARS, k=14)),
                industry=rand.choice(WORDS),
                lat=lat,
                lon=lon,
                pre_approved_line=rand.randint(3, 300) * 10_000,
                score=rand.randint(40, 99),
                outlet_id=outlet,
                assignee_id=assignee,
                status=status,
                last_contact_at=contact,
                next_follow_up=follow,
            )
        )
    return rows


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DeviceStore, list[Row]]]:
    store = make_store(tmp_path_factory.mktemp("big") / "device.sqlite3", indexes=False)
    rows = generated_rows(BIG)
    add(store, *rows)
    create_indexes(store)  # after the rows, as after a first sync: quicker
    for rowid, row in enumerate(rows, start=1):  # a fresh table numbers rows as inserted
        row["rowid"] = rowid
    yield store, rows
    store.close()


def reference(rows: list[Row], q: WhitelistQuery) -> tuple[dict[str, int], list[Row]]:
    """The query's counts and ordered matches, computed row by row in Python."""
    origin = q.origin or (CENTRES[q.outlet_id] if q.outlet_id else None)
    terms = search_terms(q.text)

    def in_scope(r: Row) -> bool:
        mine = q.user_id is not None and r["assignee_id"] == q.user_id
        pool = q.outlet_id is not None and r["outlet_id"] == q.outlet_id
        if q.scope == "mine":
            return mine
        if q.scope == "pool":
            return pool and r["assignee_id"] is None
        if q.scope == "outlet":
            return pool
        if q.scope == "mine_and_pool":
            return mine or (pool and r["assignee_id"] is None)
        return True

    def has(term: str, r: Row) -> bool:
        if term.isascii() and term.isdigit() and len(term) >= 4:
            code_start = len(term) > 8 and r["credit_code"].startswith(term)
            return r["phone"].endswith(term) or code_start
        fields = [r["company_name"]]
        if not term.isdigit():
            fields.append(r["legal_rep"])
            if term.isascii() and term.isalnum():
                fields.append(r["credit_code"])
        return any(term.lower() in f.lower() for f in fields)

    def keep(r: Row) -> bool:
        if not in_scope(r) or not all(has(t, r) for t in terms):
            return False
        if q.industry and r["industry"] != q.industry:
            return False
        if q.batch_id and r["batch_id"] != q.batch_id:
            return False
        if q.product and PRODUCTS[r["batch_id"]] != q.product:
            return False
        if q.follow_up:
            due = r["next_follow_up"]
            closed = r["status"] in ("disbursed", "declined", "invalid")
            if closed or due is None:
                return False
            if due > TODAY.isoformat() or (q.follow_up == "overdue" and due == TODAY.isoformat()):
                return False
        if q.max_distance_km is not None:
            assert origin is not None
            return haversine_km(*origin, r["lat"], r["lon"]) <= q.max_distance_km
        return True

    found = [r for r in rows if keep(r)]
    counts = dict(Counter(r["status"] for r in found))
    chosen = [r for r in found if not q.statuses or r["status"] in q.statuses]
    if q.sort == "distance" and origin is not None:
        lat0, lon0 = origin
        k = math.cos(math.radians(lat0))

        def eq2(r: Row) -> float:
            return (r["lat"] - lat0) * (r["lat"] - lat0) + ((r["lon"] - lon0) * k) * (
                (r["lon"] - lon0) * k
            )

        chosen.sort(key=lambda r: (eq2(r), r["rowid"]))
    elif q.sort == "line":
        chosen.sort(key=lambda r: (r["pre_approved_line"], r["rowid"]), reverse=True)
    elif q.sort == "last_contact":
        chosen.sort(
            key=lambda r: (
                r["last_contact_at"] is not None,
                r["last_contact_at"] or "",
                r["rowid"],
            ),
            reverse=True,
        )
    else:
        chosen.sort(key=lambda r: (r["score"], r["rowid"]), reverse=True)
    return counts, chosen


def some(rows: list[Row], key: str, n: int) -> list[str]:
    return [r[key] for r in random.Random(key).sample(rows, n)]


def big_queries(rows: list[Row]) -> list[WhitelistQuery]:
    base = WhitelistQuery(scope="all", outlet_id="o1", today=TODAY)
    mp = replace(base, scope="mine_and_pool", user_id="m1")
    name = some(rows, "company_name", 3)
    rep = some(rows, "legal_rep", 2)
    phone = some(rows, "phone", 2)
    code = some(rows, "credit_code", 1)[0]
    digit_code = next(r["credit_code"] for r in rows if r["credit_code"][:10].isdigit())
    qs = [
        base,
        replace(base, offset=950),
        replace(base, sort="line"),
        replace(base, sort="line", offset=2_000, limit=30),
        replace(base, sort="score", offset=77),
        replace(base, sort="last_contact"),
        replace(base, sort="last_contact", offset=60_000),
        replace(base, text=name[0][-6:-4]),  # a brand: rare
        replace(base, text=name[1][-4:-2]),
        replace(base, text="商贸"),  # common: more than PROBE_LIMIT
        replace(base, text="商贸", sort="line", offset=10),
        replace(base, text="汇川", sort="score"),
        replace(base, text="竹编"),  # common, and all of it 150 km away: boxes give up
        replace(base, origin=(30.5, 110.5)),  # nobody near: boxes give up
        replace(base, text="赤水", statuses=frozenset({"assigned"}), offset=50),
        replace(base, text=rep[0]),
        replace(base, text=rep[1][0]),  # one character
        replace(base, text=phone[0][-4:]),
        replace(base, text=phone[1][-7:], sort="line"),
        replace(base, text=code[4:10].lower()),
        replace(base, text=digit_code[:10]),
        replace(mp, text=phone[0][-5:]),
        replace(base, text=f"{name[2][-6:-4]} {rep[0][0]}"),
        replace(base, statuses=frozenset({"assigned"})),
        replace(base, statuses=frozenset({"applied", "approved"}), sort="line"),
        replace(base, follow_up="due"),
        replace(base, follow_up="overdue", sort="last_contact"),
        replace(base, max_distance_km=3.0),
        replace(base, max_distance_km=3.0, sort="line", offset=100),
        replace(base, max_distance_km=0.5, statuses=frozenset({"unassigned"})),
        replace(base, origin=CENTRES["o3"], max_distance_km=1.0, sort="score"),
        replace(base, industry="酒业", product="商户贷"),
        replace(base, industry="茶业", sort="line", offset=20),
        replace(base, batch_id="b3", text="汇川", max_distance_km=2.0),
        replace(base, scope="outlet"),
        replace(base, scope="outlet", sort="line"),
        replace(base, scope="pool", sort="score", offset=500),
        mp,
        replace(mp, sort="last_contact"),
        replace(mp, text=name[0][-6:-4]),
        replace(mp, max_distance_km=2.0, statuses=frozenset({"unassigned", "contacted"})),
        replace(mp, scope="mine", follow_up="due"),
    ]
    assert any(len(reference(rows, q)[1]) > PROBE_LIMIT for q in qs if q.text), (
        "a common search term"
    )
    return qs


def test_100k_generated_prospects_answer_as_the_reference(
    big: tuple[DeviceStore, list[Row]],
) -> None:
    store, rows = big
    for q in big_queries(rows):
        counts, matches = reference(rows, q)
        with store.read() as conn:
            page = query_whitelist(conn, q)
            indexed = query_whitelist(conn, q, text_index=store.text_index)
        assert indexed == page, q
        expected = matches[q.offset : q.offset + q.limit]
        assert page.status_counts == counts, q
        assert page.total == len(matches), q
        assert ids(page) == [r["id"] for r in expected], q
        origin = q.origin or CENTRES["o1"]
        for got, want in zip(page.rows, expected, strict=True):
            assert got.distance_km == haversine_km(*origin, want["lat"], want["lon"])
            assert got.status == want["status"] and got.score == want["score"]

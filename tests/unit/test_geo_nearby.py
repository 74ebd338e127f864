"""The map's circle: nearest first, cut at the radius, the same answer as geodesic over every row."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime
from math import asin, atan2, cos, degrees, radians, sin
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Connection, create_engine, insert, text

from app.geo.distance import EARTH_RADIUS_KM, geodesic_km
from app.geo.nearby import bounding_box, within
from app.models.prospect import Prospect
from app.queries.indexes import LOCAL_GEO_DDL
from app.sync.store import DeviceStore

ZUNYI = (27.72, 106.93)


def destination(lat: float, lon: float, bearing_deg: float, km: float) -> tuple[float, float]:
    """The point ``km`` along a great circle from (lat, lon), on the sphere haversine uses."""
    d, b = km / EARTH_RADIUS_KM, radians(bearing_deg)
    p1, l1 = radians(lat), radians(lon)
    p2 = asin(sin(p1) * cos(d) + cos(p1) * sin(d) * cos(b))
    l2 = l1 + atan2(sin(b) * sin(d) * cos(p1), cos(d) - sin(p1) * sin(p2))
    return degrees(p2), degrees(l2)


@pytest.fixture
def conn() -> Iterator[Connection]:
    """A hand-made prospect table with the columns a scope uses, and the geo index."""
    engine = create_engine("sqlite://")
    with engine.begin() as c:
        c.exec_driver_sql(
            "CREATE TABLE prospect (id TEXT PRIMARY KEY, lat REAL NOT NULL, lon REAL NOT NULL,"
            " assignee_id TEXT, outlet_id TEXT, status TEXT NOT NULL DEFAULT 'assigned')"
        )
        for ddl in LOCAL_GEO_DDL:
            c.exec_driver_sql(ddl)
        yield c
    engine.dispose()


def add(conn: Connection, rows: list[dict[str, object]]) -> None:
    conn.execute(
        text(
            "INSERT INTO prospect (id, lat, lon, assignee_id, status)"
            " VALUES (:id, :lat, :lon, :assignee_id, :status)"
        ),
        [{"assignee_id": None, "status": "assigned", **r} for r in rows],
    )


def ring(conn: Connection, distances: dict[str, tuple[float, float]]) -> None:
    """Prospects at known (km, bearing) from Zunyi."""
    rows = []
    for pid, (km, bearing) in distances.items():
        lat, lon = destination(*ZUNYI, bearing, km)
        rows.append({"id": pid, "lat": lat, "lon": lon})
    add(conn, rows)


def scatter(conn: Connection, n: int, half_side_km: float, seed: int) -> None:
    """n prospects spread over a square around Zunyi, a few assigned to "u1"."""
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        lat, lon = destination(*ZUNYI, rnd.uniform(0, 360), half_side_km * rnd.random() ** 0.5)
        rows.append(
            {"id": f"p{i:05d}", "lat": lat, "lon": lon, "assignee_id": "u1" if i % 7 == 0 else "u2"}
        )
    add(conn, rows)


HAVERSINE_REL_ERROR = 5e-3  # haversine against geodesic, one distance (app/geo/distance.py)
# Two distances may err in opposite directions (north-south short, east-west long).
PAIR_TOLERANCE = (1 + HAVERSINE_REL_ERROR) / (1 - HAVERSINE_REL_ERROR)


def assert_geodesic_ranking(
    conn: Connection, hits: list[tuple[str, float]], radius_km: float, limit: int, scope: str = ""
) -> None:
    """``hits`` are what geopy's geodesic over every row ranks first, then cut at radius and limit.

    Exactly, except for near-ties: two prospects whose geodesic distances differ by less
    than haversine's error may come in either order, and one within that error of the
    cut (the radius, or the last place) may be in or out.
    """
    sql = "SELECT id, lat, lon FROM prospect" + (f" WHERE {scope}" if scope else "")
    true_km = {pid: geodesic_km(*ZUNYI, lat, lon) for pid, lat, lon in conn.exec_driver_sql(sql)}
    ranked = sorted((km, pid) for pid, km in true_km.items() if km <= radius_km)[:limit]
    expected = [pid for _, pid in ranked]
    got = [pid for pid, _ in hits]
    assert len(set(got)) == len(got) <= limit
    tol = PAIR_TOLERANCE
    for a, b in zip(got, got[1:], strict=False):  # nearest first
        assert true_km[a] <= true_km[b] * tol, (a, b)
    cuts = [radius_km] + ([ranked[-1][0]] if len(ranked) == limit else [])
    for pid in set(got) ^ set(expected):
        assert any(cut / tol <= true_km[pid] <= cut * tol for cut in cuts), pid
    for pid, km in hits:
        assert km == pytest.approx(true_km[pid], rel=HAVERSINE_REL_ERROR)


def test_nearest_first_and_cut_at_the_radius(conn: Connection) -> None:
    ring(
        conn,
        {
            "a": (0.05, 10),
            "b": (0.4, 200),
            "c": (1.0, 95),
            "d": (1.7, 300),
            "e": (2.5, 45),
            "f": (2.95, 180),
            "g": (3.05, 270),
            "h": (8.0, 0),
        },
    )
    hits = within(conn, *ZUNYI, 3.0)
    assert [pid for pid, _ in hits] == ["a", "b", "c", "d", "e", "f"]
    for (_, km), expected in zip(hits, [0.05, 0.4, 1.0, 1.7, 2.5, 2.95], strict=True):
        assert km == pytest.approx(expected, abs=1e-6)


def test_the_nearest_stop_at_the_limit(conn: Connection) -> None:
    ring(conn, {f"p{i}": (0.1 * (i + 1), 37 * i) for i in range(25)})
    hits = within(conn, *ZUNYI, 3.0, limit=5)
    assert [pid for pid, _ in hits] == ["p0", "p1", "p2", "p3", "p4"]


def test_nobody_around_is_an_empty_circle(conn: Connection) -> None:
    ring(conn, {"out": (3.5, 0)})
    assert within(conn, *ZUNYI, 3.0) == []
    assert within(conn, *ZUNYI, 5.0, limit=0) == []
    assert within(conn, *ZUNYI, -1.0) == []


@pytest.mark.parametrize(
    ("n", "half_side_km", "seed"),
    [(1500, 1.5, 1), (1500, 6.0, 2), (300, 10.0, 3)],
    ids=["dense", "city", "sparse"],
)
def test_the_nearest_match_geodesic_over_every_row(
    conn: Connection, n: int, half_side_km: float, seed: int
) -> None:
    scatter(conn, n, half_side_km, seed)
    hits = within(conn, *ZUNYI, 3.0, limit=20)
    assert_geodesic_ranking(conn, hits, 3.0, 20)


def test_the_circle_within_a_scope(conn: Connection) -> None:
    scatter(conn, 3000, 3.0, 4)
    hits = within(
        conn, *ZUNYI, 3.0, limit=20, scope_sql="p.assignee_id = :uid", params={"uid": "u1"}
    )
    assert_geodesic_ranking(conn, hits, 3.0, 20, "assignee_id = 'u1'")
    assert all(int(pid[1:]) % 7 == 0 for pid, _ in hits)


def test_within_returns_everyone_in_the_circle_nearest_first(conn: Connection) -> None:
    scatter(conn, 1200, 4.0, 5)
    hits = within(conn, *ZUNYI, 3.0)
    assert_geodesic_ranking(conn, hits, 3.0, 10_000)
    assert len(hits) > 600
    capped = within(conn, *ZUNYI, 3.0, limit=100)
    assert capped == hits[:100]


def test_the_geo_index_answers_the_box_on_its_own(tmp_path: Path) -> None:
    # On the real device schema, an unscoped search reads the index only.
    store = DeviceStore(tmp_path / "device.sqlite3")
    with store.transaction() as c:
        for ddl in LOCAL_GEO_DDL:
            c.exec_driver_sql(ddl)
    with store.read() as c:
        plan = " ".join(
            str(row[-1])
            for row in c.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT p.id, p.lat, p.lon FROM prospect p"
                " WHERE p.lat BETWEEN 27.7 AND 27.8 AND p.lon BETWEEN 106.9 AND 107.0"
            )
        )
        assert "COVERING INDEX ix_prospect_lat_lon_id" in plan
        assert within(c, *ZUNYI, 3.0) == []
    store.close()


def test_the_circle_on_the_device_store(tmp_path: Path) -> None:
    store = DeviceStore(tmp_path / "device.sqlite3")
    rows = []
    for i, km in enumerate([0.3, 1.1, 2.2, 4.0]):
        lat, lon = destination(*ZUNYI, 90 * i, km)
        rows.append(
            dict(
                id=f"x{i}",
                batch_id="b",
                company_name=f"商户{i}",
                credit_code="c",
                legal_rep="r",
                phone="p",
                industry="i",
                address="a",
                lat=lat,
                lon=lon,
                outlet_id="o1",
                status="unassigned",
                updated_at=datetime(2026, 1, 12),
                rev=0,
                pre_approved_line=0,
                score=0,
                tags="[]",
            )
        )
    with store.transaction() as c:
        for ddl in LOCAL_GEO_DDL:
            c.exec_driver_sql(ddl)
        c.execute(insert(Prospect.__table__), rows)  # type: ignore[attr-defined]
    with store.read() as c:
        hits = within(c, *ZUNYI, 3.0, scope_sql="p.outlet_id = :oid", params={"oid": "o1"})
    store.close()
    assert [pid for pid, _ in hits] == ["x0", "x1", "x2"]


@given(
    lat=st.floats(min_value=-80, max_value=80),
    lon=st.floats(min_value=-179, max_value=179),
    radius_km=st.floats(min_value=0.01, max_value=50),
    bearing=st.floats(min_value=0, max_value=360),
    share=st.floats(min_value=0, max_value=1),
)
def test_the_bounding_box_holds_the_whole_circle(
    lat: float, lon: float, radius_km: float, bearing: float, share: float
) -> None:
    min_lat, max_lat, min_lon, max_lon = bounding_box(lat, lon, radius_km)
    p_lat, p_lon = destination(lat, lon, bearing, radius_km * share)
    assert min_lat <= p_lat <= max_lat
    assert min_lon <= p_lon <= max_lon

"""What the map screen reads from the device store."""

from __future__ import annotations

from pathlib import Path

from app.geo.nearby import within
from app.queries import mapdata
from tests.unit.queries.test_whitelist import add, make_store, prospect


def test_show_on_map_centres_on_the_prospect_and_lists_it_first(tmp_path: Path) -> None:
    store = make_store(tmp_path / "d.sqlite3")
    add(
        store,
        prospect(
            "here",
            company_name="遵义市汇川区南门酒业",
            lat=27.70,
            lon=106.93,
            assignee_id="m1",
            status="assigned",
        ),
        prospect("near", company_name="遵义市汇川区北门茶庄", lat=27.701, lon=106.93),
        prospect("far", company_name="遵义市播州区远方商贸", lat=27.60, lon=106.83),
        prospect(
            "other", company_name="遵义市红花岗区他人店", lat=27.7001, lon=106.93, outlet_id="o2"
        ),
    )
    with store.read() as conn:
        assert mapdata.prospect_place(conn, "nobody") is None
        lat, lon, name = mapdata.prospect_place(conn, "here")  # type: ignore[misc]
        assert (lat, lon, name) == (27.70, 106.93, "遵义市汇川区南门酒业")
        where, params = mapdata.scope_sql("mine_and_pool", "m1", "o1")
        hits = within(conn, lat, lon, 3.0, scope_sql=where, params=params, limit=100)
        markers = mapdata.map_markers(conn, hits)
    names = [m["name"] for m in markers]
    assert names == ["遵义市汇川区南门酒业", "遵义市汇川区北门茶庄"]  # itself first; not o2's
    assert markers[0]["distance_km"] == 0
    store.close()


def test_a_view_missing_its_outlet_shows_nothing_on_the_map(tmp_path: Path) -> None:
    store = make_store(tmp_path / "d.sqlite3")
    add(store, prospect("pool", lat=27.70, lon=106.93))
    with store.read() as conn:
        where, params = mapdata.scope_sql("pool", "m1", None)
        assert within(conn, 27.70, 106.93, 3.0, scope_sql=where, params=params) == []
        where, params = mapdata.scope_sql("all", "m1", None)
        assert [pid for pid, _ in within(conn, 27.70, 106.93, 3.0, scope_sql=where)] == ["pool"]
    store.close()

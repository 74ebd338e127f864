"""The prospect map page: local assets only, the markers and their popups, tiles when configured."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import folium
import pytest

from app.geo.coords import wgs84_to_gcj02
from app.geo.maps import MapMarker, build_map_html, write_map
from app.i18n import format_distance, format_money, t
from app.services.palette import STATUS_COLORS

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "assets" / "leaflet"
ZUNYI = (27.72, 106.93)
TILES = "https://tiles.bank.internal/osm/{z}/{x}/{y}.png"
URL = re.compile(r"""(?:https?:)?//[^\s"'`<>)\\]+""")


def markers(n: int, seed: int = 7) -> list[MapMarker]:
    rnd = random.Random(seed)
    statuses = list(STATUS_COLORS)
    return [
        MapMarker(
            id=f"p{i}",
            name=f"遵义市汇川区{i}号商贸有限公司",
            lat=ZUNYI[0] + rnd.uniform(-0.025, 0.025),
            lon=ZUNYI[1] + rnd.uniform(-0.025, 0.025),
            status=statuses[i % len(statuses)],
            line=rnd.choice([0, 50_000, 300_000, 1_000_000]),
            distance_km=rnd.uniform(0.0, 3.0),
        )
        for i in range(n)
    ]


def rows_of(page: str) -> list[list[object]]:
    """The marker rows the page hands to the browser."""
    found = re.search(r"var prospect_layer_\w+_data = (\[.*?\]);\n", page)
    assert found, "no marker data in the page"
    return json.loads(found.group(1))


def test_the_page_shows_every_marker_with_its_popup_facts() -> None:
    few = [
        MapMarker("a", "遵义红花岗区老街米粉店", 27.7201, 106.9301, "interested", 300_000, 0.42),
        MapMarker("b", "汇川区建材经营部", 27.7305, 106.9402, "disbursed", 1_000_000, 1.63),
    ]
    page = build_map_html(center=ZUNYI, radius_km=3.0, markers=few, lang="zh")
    for mk in few:
        assert mk.name in page
        assert format_money(mk.line, "zh") in page
        assert format_distance(mk.distance_km, "zh") in page
        assert t(f"funnel.{mk.status}", "zh") in page
        assert STATUS_COLORS[mk.status] in page
    assert [row[3] for row in rows_of(page)] == [mk.name for mk in few]
    assert t("card.line", "zh") in page  # the popup's labels


def test_english_popups_use_english_labels_and_money() -> None:
    page = build_map_html(
        center=ZUNYI,
        radius_km=3.0,
        markers=[MapMarker("a", "Noodle shop", 27.7201, 106.9301, "applied", 50_000, 1.5)],
        lang="en",
    )
    assert format_money(50_000, "en") in page
    assert format_distance(1.5, "en") in page
    assert t("funnel.applied", "en") in page


def test_no_external_url_without_tiles_and_every_asset_is_local() -> None:
    page = build_map_html(center=ZUNYI, radius_km=3.0, markers=markers(50))
    assert URL.findall(page) == []
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sorted(assets) == sorted(
        [
            "/leaflet/leaflet.js",
            "/leaflet/leaflet.css",
            "/leaflet/jquery.min.js",
            "/leaflet/leaflet.markercluster.js",
            "/leaflet/MarkerCluster.css",
        ]
    )
    for asset in assets:  # each is a file of assets/leaflet/, as Flet serves it
        assert (ASSETS / asset.removeprefix("/leaflet/")).is_file(), asset
    assert "L.tileLayer" not in page  # a plain grid instead
    assert "L.GridLayer" in page


def test_the_asset_base_is_configurable() -> None:
    page = build_map_html(
        center=ZUNYI, radius_km=1.0, markers=markers(3), asset_base="http://127.0.0.1:8550/leaflet/"
    )
    assert '<script src="http://127.0.0.1:8550/leaflet/leaflet.js">' in page
    assert "/leaflet//" not in page


def test_the_configured_tile_source_is_the_only_external_url() -> None:
    page = build_map_html(
        center=ZUNYI, radius_km=3.0, markers=markers(50), tile_url=TILES, attribution="行内地图"
    )
    assert "L.tileLayer" in page
    assert set(URL.findall(page)) == {TILES}
    assert json.dumps("行内地图") in page  # the attribution, as folium writes it
    assert "L.GridLayer" not in page


def test_folium_defaults_are_left_alone() -> None:
    before = (list(folium.Map.default_js), list(folium.Map.default_css))
    build_map_html(center=ZUNYI, radius_km=3.0, markers=markers(5))
    assert (folium.Map.default_js, folium.Map.default_css) == before


def test_clustered_or_not() -> None:
    clustered = build_map_html(center=ZUNYI, radius_km=3.0, markers=markers(20))
    assert "L.markerClusterGroup" in clustered
    assert "leaflet.markercluster.js" in clustered
    plain = build_map_html(center=ZUNYI, radius_km=3.0, markers=markers(20), cluster=False)
    assert "L.markerClusterGroup" not in plain
    assert "markercluster" not in plain.lower()
    assert len(rows_of(plain)) == 20


def test_radius_and_centre_are_drawn() -> None:
    page = build_map_html(
        center=ZUNYI,
        radius_km=2.5,
        markers=[],
        center_kind="outlet",
        center_label="工行遵义汇川支行",
    )
    assert "L.circle(" in page and '"radius": 2500.0' in page
    assert "工行遵义汇川支行" in page
    me = build_map_html(center=ZUNYI, radius_km=2.5, markers=[], lang="zh")
    assert t("map.marker.me", "zh") in me


def test_names_cannot_break_out_of_the_page() -> None:
    evil = "</script><script>alert(1)</script>{{ 7*7 }}{% raw %}"
    page = build_map_html(
        center=ZUNYI,
        radius_km=3.0,
        markers=[MapMarker("x", evil, 27.72, 106.93, "assigned", 0, 0.1)],
        center_label=evil,
    )
    assert "<script>alert(1)" not in page
    assert page.count("</script>") == page.count("<script")  # only the page's own tags
    assert rows_of(page)[0][3] == evil  # shown as text, as typed


def test_markers_without_a_position_are_left_out() -> None:
    page = build_map_html(
        center=ZUNYI,
        radius_km=3.0,
        markers=[
            MapMarker("a", "有位置", 27.72, 106.93, "assigned", 0, 0.0),
            MapMarker("b", "无位置", float("nan"), 106.93, "assigned", 0, None),
        ],
    )
    assert [row[3] for row in rows_of(page)] == ["有位置"]


def test_gcj02_tiles_get_shifted_positions() -> None:
    mk = MapMarker("a", "店", 27.7201, 106.9301, "assigned", 0, 0.1)
    page = build_map_html(
        center=ZUNYI,
        radius_km=1.0,
        markers=[mk],
        tile_url=TILES,
        attribution="x",
        tile_datum="gcj02",
    )
    lat, lon = rows_of(page)[0][:2]
    assert (lat, lon) == pytest.approx(wgs84_to_gcj02(mk.lat, mk.lon), abs=1e-6)
    with pytest.raises(ValueError):
        build_map_html(center=ZUNYI, radius_km=1.0, markers=[mk], tile_datum="bd09")


def test_fifty_thousand_markers_clustered() -> None:
    many = markers(50_000)
    page = build_map_html(center=ZUNYI, radius_km=3.0, markers=many)
    rows = rows_of(page)
    assert len(rows) == 50_000
    assert rows[-1][3] == many[-1].name
    assert "L.markerClusterGroup" in page and '"chunkedLoading": true' in page


def test_write_map(tmp_path: Path) -> None:
    page = build_map_html(center=ZUNYI, radius_km=3.0, markers=markers(3))
    path = write_map(tmp_path / "maps" / "nearby.html", page)
    assert path.read_text(encoding="utf-8") == page
    assert [p.name for p in path.parent.iterdir()] == ["nearby.html"]  # no temp file left


def statuses_of(page: str) -> list[list[object]]:
    """The per-status styles the page hands to the browser: [colour, label, ink, rank]."""
    found = re.search(r"var prospect_layer_\w+_statuses = (\[.*?\]);\n", page)
    assert found, "no statuses in the page"
    return json.loads(found.group(1))


def legend_of(page: str) -> list[list[str]]:
    found = re.search(r"var legend_\w+ = .*?(\[\[.*?\]\])\.forEach", page, re.S)
    assert found, "no legend in the page"
    return json.loads(found.group(1))


def test_the_scale_is_metric_only() -> None:
    page = build_map_html(center=ZUNYI, radius_km=3.0, markers=markers(5))
    assert "imperial: false" in page and "metric: true" in page
    assert "L.control.scale()" not in page  # Leaflet's default draws miles and feet too
    assert '"metres":"{n} 米","km":"{n} 公里"' in page  # and "km" in a Chinese page


@pytest.mark.parametrize(
    ("lang", "zoom_in", "zoom_out", "close"),
    [("zh", "放大", "缩小", "关闭"), ("en", "Zoom in", "Zoom out", "Close")],
)
def test_zoom_buttons_speak_the_ui_language(lang: str, zoom_in: str, zoom_out: str, close: str):
    page = build_map_html(center=ZUNYI, radius_km=3.0, markers=markers(5), lang=lang)
    labels = re.search(r"L\.control\.zoom\(\{ zoomInTitle: labels\.zoomIn", page)
    assert labels, "the zoom control is not built with our titles"
    assert f'"zoomIn":"{zoom_in}"' in page and f'"zoomOut":"{zoom_out}"' in page
    assert f'"close":"{close}"' in page  # the popup's close button, relabelled
    assert '"zoomControl": false' in page  # no second, English zoom control


def test_zoom_and_close_buttons_are_finger_sized() -> None:
    page = build_map_html(center=ZUNYI, radius_km=3.0, markers=markers(5))
    bar = re.search(
        r"\.leaflet-bar a, html body \.leaflet-touch \.leaflet-bar a \{\s*([^}]*)\}", page
    )
    assert bar and "width: 48px" in bar.group(1) and "height: 48px" in bar.group(1)
    close = re.search(r"a\.leaflet-popup-close-button \{\s*([^}]*)\}", page)
    assert close and "width: 48px" in close.group(1) and "height: 48px" in close.group(1)


def test_clusters_markers_and_legend_take_the_apps_status_colours() -> None:
    from app.views.theme import STATUS_COLORS as APP_COLOURS

    page = build_map_html(center=ZUNYI, radius_km=3.0, markers=markers(90))
    styles = statuses_of(page)
    legend = legend_of(page)
    # every status the page draws (markers and clusters alike) is coloured as the
    # app's chips and the legend show it
    assert {s[0] for s in styles} == {APP_COLOURS[s] for s in STATUS_COLORS}
    assert {(s[0], s[1]) for s in styles} == {tuple(e) for e in legend}
    # the cluster icon is coloured from that same table, by the status most of its
    # prospects are in (ties: the furthest along the funnel)
    assert "iconCreateFunction = clusterIcon" in page
    assert "inner.style.background = statuses[best][0]" in page
    assert "counts[k] > counts[best]" in page
    assert "MarkerCluster.Default.css" not in page  # its green/yellow/orange by count


def test_status_style_ranks_the_main_line_and_reads_on_its_colour() -> None:
    from app.geo.maps import status_style

    colour, label, ink, rank = status_style("disbursed", "zh")
    assert (colour, label, ink) == (STATUS_COLORS["disbursed"], "已放款", "#FFFFFF")
    assert rank > status_style("applied", "zh")[3] > status_style("assigned", "zh")[3]
    assert status_style("declined", "zh")[3] == -1
    assert status_style("interested", "zh")[2] == "#212121"  # amber: dark digits


def test_a_popup_opens_the_card_only_where_an_app_listens() -> None:
    mk = MapMarker("p-42", "遵义老街米粉店", 27.7201, 106.9301, "interested", 300_000, 0.42)
    page = build_map_html(center=ZUNYI, radius_km=3.0, markers=[mk], card_url="open")
    assert rows_of(page)[0][6] == "p-42"
    assert re.search(r'var prospect_layer_\w+_card_url = "open";', page)
    assert '"open":"查看客户"' in page
    english = build_map_html(center=ZUNYI, radius_km=3.0, markers=[mk], card_url="open", lang="en")
    assert '"open":"Open card"' in english
    from_disk = build_map_html(center=ZUNYI, radius_km=3.0, markers=[mk])
    assert re.search(r'var prospect_layer_\w+_card_url = "";', from_disk)  # no button

"""WGS-84 ⇄ GCJ-02 ⇄ BD-09: known points, round trips, no offset outside China."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.geo.coords import (
    Datum,
    bd09_to_gcj02,
    bd09_to_wgs84,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    out_of_china,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from app.geo.distance import geodesic_km

TIANANMEN_WGS = (39.908692, 116.397477)
TIANANMEN_GCJ = (39.910093, 116.403719)  # as Amap shows it
ZUNYI = (27.72, 106.93)

# Mainland China, well inside the GCJ rectangle.
china_lat = st.floats(min_value=18.0, max_value=53.0)
china_lon = st.floats(min_value=74.0, max_value=134.0)


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    return geodesic_km(*a, *b) * 1000


def test_tiananmen_wgs84_to_gcj02_matches_the_map_within_5_m() -> None:
    assert metres(wgs84_to_gcj02(*TIANANMEN_WGS), TIANANMEN_GCJ) < 5


def test_tiananmen_gcj02_to_wgs84_finds_the_gps_position_within_5_m() -> None:
    assert metres(gcj02_to_wgs84(*TIANANMEN_GCJ), TIANANMEN_WGS) < 5


def test_the_gcj02_offset_in_zunyi_is_hundreds_of_metres() -> None:
    # Drawing WGS-84 markers on a GCJ-02 map unconverted would put them a street away.
    assert 200 < metres(wgs84_to_gcj02(*ZUNYI), ZUNYI) < 1000


def test_bd09_adds_baidus_offset_to_gcj02() -> None:
    gcj = wgs84_to_gcj02(*ZUNYI)
    bd = gcj02_to_bd09(*gcj)
    assert bd == wgs84_to_bd09(*ZUNYI)
    assert 0.005 < bd[0] - gcj[0] < 0.008  # roughly +0.006 lat, +0.0065 lon
    assert 0.005 < bd[1] - gcj[1] < 0.009


@given(china_lat, china_lon)
def test_wgs84_gcj02_round_trip_within_1e_6_degrees(lat: float, lon: float) -> None:
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lat, lon))
    assert back == pytest.approx((lat, lon), abs=1e-6)


@given(china_lat, china_lon)
def test_gcj02_bd09_round_trip_within_1e_6_degrees(lat: float, lon: float) -> None:
    assert bd09_to_gcj02(*gcj02_to_bd09(lat, lon)) == pytest.approx((lat, lon), abs=1e-6)


@given(china_lat, china_lon)
def test_wgs84_bd09_round_trip_within_1e_6_degrees(lat: float, lon: float) -> None:
    assert bd09_to_wgs84(*wgs84_to_bd09(lat, lon)) == pytest.approx((lat, lon), abs=1e-6)


@pytest.mark.parametrize(
    "point",
    [(51.5074, -0.1278), (40.7128, -74.006), (-33.8688, 151.2093), (35.6762, 139.6503)],
    ids=["London", "New York", "Sydney", "Tokyo"],
)
def test_outside_china_gcj02_is_wgs84(point: tuple[float, float]) -> None:
    assert out_of_china(*point)
    assert wgs84_to_gcj02(*point) == point
    assert gcj02_to_wgs84(*point) == point


@pytest.mark.parametrize(
    ("point", "outside"),
    [
        (ZUNYI, False),
        (TIANANMEN_WGS, False),
        ((45.75, 126.65), False),  # Harbin
        ((43.8, 87.6), False),  # Ürümqi
        ((56.0, 110.0), True),  # north of the rectangle
        ((30.0, 71.0), True),  # west of it
        ((30.0, 138.0), True),  # east of it
        ((0.5, 110.0), True),  # south of it
    ],
)
def test_out_of_china_follows_the_usual_rectangle(
    point: tuple[float, float], outside: bool
) -> None:
    assert out_of_china(*point) is outside


def test_boundary_helpers_dispatch_by_datum() -> None:
    gcj = wgs84_to_gcj02(*ZUNYI)
    bd = wgs84_to_bd09(*ZUNYI)
    assert from_wgs84(*ZUNYI, Datum.WGS84) == ZUNYI
    assert from_wgs84(*ZUNYI, "gcj02") == gcj
    assert from_wgs84(*ZUNYI, Datum.BD09) == bd
    assert to_wgs84(*gcj, "gcj02") == pytest.approx(ZUNYI, abs=1e-6)
    assert to_wgs84(*bd, Datum.BD09) == pytest.approx(ZUNYI, abs=1e-6)
    with pytest.raises(ValueError):
        to_wgs84(*ZUNYI, "mars")

"""Nearby prospects on the device, against geopy over every row (DESIGN.md §7).

Times what the app runs. The device store holds the central store's demo prospects
(Zunyi, 遵义) with the screens' indexes (``app.queries.indexes.SCREEN_INDEXES``),
the store of bench.search (``device_db``, built untimed, shared with bench.map_build).

- A, the whitelist's "within 3 km" chip, nearest first: ``query_whitelist`` with
  ``max_distance_km=3``, ``sort="distance"``, a first page of 20 (page, total and
  per-status counts), in the admin's ``all`` view (every prospect in scope), from
  QUERIES points around Zunyi: the city centre (27.72 N, 106.93 E) and points within
  1.5 km of the city's outlets, where prospects are densest; p95 after a warm-up.
- B, the raw limit: geopy's ``geodesic`` over every row (read, measure, sort, cut)
  from the city centre, once; its answer is checked against A's.
- The map's circle: ``within(conn, lat, lon, 3)`` with the view's condition, every
  prospect the map of the centre would draw.

A, B and the map run in a child (``python -m bench.nearby child DEVICE_DB SEED``).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path
from typing import Any

from bench.common import DEMO_TODAY, Context, Result, emit, run_child, seconds
from bench.search import device_db

TARGET_P95 = 0.020
TARGET_SPEEDUP = 20.0  # B / A
QUERIES = 300
WARM_UP = 20
RADIUS_KM = 3.0
LIMIT = 20
MAP_LIMIT = 20_000  # the most markers the map screen asks for (app/views)
ZUNYI = (27.72, 106.93)
CITY_KM = 10.0  # outlets this close to the centre count as the city's


def run(ctx: Context) -> list[Result]:
    out = run_child("bench.nearby", "child", str(device_db(ctx)), str(ctx.seed))
    times = sorted(out["within_list"])
    p95 = times[int(0.95 * (len(times) - 1))]
    median = statistics.median(times)
    geopy = float(out["geopy_seconds"])
    speedup = geopy / p95
    within_median = statistics.median(out["within"])
    return [
        Result(
            work=f"20 nearest within 3 km among {out['prospects']:,} (A, p95 of {len(times)})",
            figure=f"{seconds(p95)} ({speedup:,.0f}x faster than B)",
            target=f"≤ {seconds(TARGET_P95)} p95, ≥ {TARGET_SPEEDUP:g}x faster than B",
            ratio=None,  # A/B would print as 0.00x: the speed-up is in the figure
            passed=p95 <= TARGET_P95 and speedup >= TARGET_SPEEDUP,
            notes=(
                "A: the whitelist's within-3-km chip, nearest first (query_whitelist, first page "
                f"of {LIMIT} with total and counts); median {seconds(median)}, max "
                f"{seconds(times[-1])}; from the centre and {len(times) - 1} points within "
                f"1.5 km of {out['outlets']} city outlets",
                f"A and B from the centre: {out['agree']} of {LIMIT} the same prospects "
                f"(haversine vs geodesic near-ties may differ)",
            ),
        ),
        Result(
            work="  raw: geopy geodesic over every row, sorted (B)",
            figure=seconds(geopy),
            ratio=1.0,
        ),
        Result(
            work="  the map: every prospect within 3 km of the centre",
            figure=seconds(within_median),
            notes=(
                f"the map's within(): {out['within_count']:,} prospects, median of "
                f"{len(out['within'])}",
            ),
        ),
    ]


# -- the child -------------------------------------------------------------------------


def _points(conn: Any, seed: int) -> tuple[list[tuple[float, float]], int]:
    """The centre, then points within 1.5 km of the city's outlets (seeded)."""
    from app.geo.distance import haversine_km

    outlets = [
        (float(lat), float(lon))
        for lat, lon in conn.exec_driver_sql("SELECT lat, lon FROM outlet ORDER BY id")
        if haversine_km(*ZUNYI, lat, lon) <= CITY_KM
    ] or [ZUNYI]
    rnd = random.Random(seed)
    points = [ZUNYI]
    while len(points) < QUERIES:
        lat, lon = outlets[len(points) % len(outlets)]
        points.append((lat + rnd.uniform(-0.0135, 0.0135), lon + rnd.uniform(-0.015, 0.015)))
    return points, len(outlets)


def _child(path: Path, seed: int) -> dict[str, Any]:
    from geopy.distance import geodesic

    from app.geo.nearby import within
    from app.queries import mapdata
    from app.queries.whitelist import WhitelistQuery, query_whitelist
    from app.sync.store import DeviceStore

    def within_list(conn: Any, lat: float, lon: float) -> list[str]:
        query = WhitelistQuery(
            scope="all",
            origin=(lat, lon),
            max_distance_km=RADIUS_KM,
            sort="distance",
            limit=LIMIT,
            today=DEMO_TODAY,
        )
        return [row.id for row in query_whitelist(conn, query).rows]

    store = DeviceStore(path)
    with store.read() as conn:
        prospects = int(conn.exec_driver_sql("SELECT count(*) FROM prospect").scalar_one())
        points, outlets = _points(conn, seed)
        for lat, lon in points[:WARM_UP]:
            within_list(conn, lat, lon)
        took = []
        for lat, lon in points:
            t0 = time.perf_counter()
            within_list(conn, lat, lon)
            took.append(time.perf_counter() - t0)
        mine = within_list(conn, *ZUNYI)

        where, params = mapdata.scope_sql("all", None, None)
        within_took, within_count = [], 0
        for _ in range(5):
            t0 = time.perf_counter()
            hits = within(conn, *ZUNYI, RADIUS_KM, scope_sql=where, params=params, limit=MAP_LIMIT)
            within_took.append(time.perf_counter() - t0)
            within_count = len(hits)

        t0 = time.perf_counter()
        ranked = sorted(
            (geodesic(ZUNYI, (lat, lon)).km, pid)
            for pid, lat, lon in conn.exec_driver_sql("SELECT id, lat, lon FROM prospect")
        )
        raw = [pid for km, pid in ranked if km <= RADIUS_KM][:LIMIT]
        geopy_seconds = time.perf_counter() - t0
    store.close()
    return {
        "prospects": prospects,
        "outlets": outlets,
        "within_list": took,
        "within": within_took,
        "within_count": within_count,
        "geopy_seconds": geopy_seconds,
        "agree": len(set(mine) & set(raw)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.nearby")
    parser.add_argument("part", choices=("child",))
    parser.add_argument("device_db", type=Path)
    parser.add_argument("seed", type=int)
    args = parser.parse_args()
    emit(_child(args.device_db, args.seed))


if __name__ == "__main__":
    main()

"""Nearby prospects on the device, against geopy and numpy over every row (DESIGN.md §7).

Times what the app runs. The device store holds the central store's demo prospects
(Zunyi, 遵义) with the screens' indexes (``app.queries.indexes.SCREEN_INDEXES``),
the store of bench.search (``device_db``, built untimed, shared with bench.map_build).

- A, the whitelist's "within 3 km" chip, nearest first: ``query_whitelist`` with
  ``max_distance_km=3``, ``sort="distance"``, a first page of 20 (page, total and
  per-status counts), in the admin's ``all`` view (every prospect in scope), from
  QUERIES points around Zunyi: the city centre (27.72 N, 106.93 E) and points within
  1.5 km of the city's outlets, where prospects are densest; a round's figure is the
  p95 of its QUERIES, after a warm-up.
- B, geopy (the DESIGN's baseline): ``geodesic`` over every row (read, measure, sort,
  cut) from the city centre, once per round; its answer is checked against A's.
- C, numpy over arrays (the fastest plain way a program could answer it): every
  prospect's lat, lon, status and id held in arrays (loaded once, untimed), then per
  query a vectorised haversine over all rows, the 3 km mask, the total and per-status
  counts (``bincount``), ``argpartition`` for the 20 nearest and a sort of those 20;
  the same QUERIES points, p95 per round. Its answer is checked against A's.
- The map's circle: ``within(conn, lat, lon, 3)`` with the view's condition, every
  prospect the map of the centre would draw; median of 5 per round.

Rounds interleave A, C, B and the map in one child
(``python -m bench.nearby child DEVICE_DB SEED ROUNDS``). A against B: how many times
faster than geopy (target ≥ 20x, from the medians); A against C: what the SQLite path
costs over arrays held in memory (no target: the arrays are not what a device keeps).
"""

from __future__ import annotations

import argparse
import math
import random
import time
from pathlib import Path
from typing import Any

from bench.common import (
    DEMO_TODAY,
    Context,
    Result,
    Rounds,
    emit,
    measured,
    quantile,
    run_child,
    seconds,
)
from bench.search import device_db

TARGET_P95 = 0.020
TARGET_SPEEDUP = 20.0  # B / A
QUERIES = 300
WARM_UP = 20
RADIUS_KM = 3.0
LIMIT = 20
MAP_LIMIT = 20_000  # the most markers the map screen asks for (app/workbench/map.py)
MAP_ROUNDS = 5
ZUNYI = (27.72, 106.93)
CITY_KM = 10.0  # outlets this close to the centre count as the city's
EARTH_RADIUS_KM = 6371.0088  # app.geo.distance's mean radius


def run(ctx: Context) -> list[Result]:
    out = run_child("bench.nearby", "child", str(device_db(ctx)), str(ctx.seed), str(ctx.rounds))
    a = Rounds.of(quantile(r, 0.95) for r in out["within_list"])
    a50 = Rounds.of(quantile(r, 0.5) for r in out["within_list"])
    geopy = Rounds.of(out["geopy_seconds"])
    numpy_p95 = Rounds.of(quantile(r, 0.95) for r in out["numpy"])
    speedup = geopy.median / a.median
    vs_numpy = a.median / numpy_p95.median
    within = Rounds.of(out["within"])
    return [
        measured(
            f"20 nearest within 3 km among {out['prospects']:,} (A, p95 of {QUERIES})",
            a,
            seconds,
            target=f"≤ {seconds(TARGET_P95)} p95, ≥ {TARGET_SPEEDUP:g}x faster than geopy",
            passed=a.median <= TARGET_P95 and speedup >= TARGET_SPEEDUP,
            ratio=vs_numpy,
            ratio_text=f"{speedup:,.0f}x faster than B; {vs_numpy:.1f}x C",
            notes=(
                "A: the whitelist's within-3-km chip, nearest first (query_whitelist, first page "
                f"of {LIMIT} with total and counts); p50 median {seconds(a50.median)}; from the "
                f"centre and {QUERIES - 1} points within 1.5 km of {out['outlets']} city outlets",
                f"A and B from the centre: {out['agree']} of {LIMIT} the same prospects; A and C "
                f"over every point: {out['numpy_agree']:.1%} of the pages the same prospects "
                "(haversine vs geodesic near-ties may differ)",
            ),
        ),
        measured(
            "  raw: geopy geodesic over every row, sorted (B)",
            geopy,
            seconds,
            ratio_text=f"A {speedup:,.0f}x faster",
            notes=(f"B per round: {geopy.listed(seconds)}",),
        ),
        measured(
            "  raw: numpy haversine over arrays + argpartition (C, p95)",
            numpy_p95,
            seconds,
            ratio_text=f"A {vs_numpy:.1f}x C",
            notes=(
                f"C: {out['prospects']:,} rows in arrays (loaded in {seconds(out['numpy_load'])}, "
                "not counted), per query haversine + mask + total and per-status counts + "
                f"argpartition and sort of {LIMIT}; p50 median "
                f"{seconds(Rounds.of(quantile(r, 0.5) for r in out['numpy']).median)}",
            ),
        ),
        measured(
            "  the map: every prospect within 3 km of the centre",
            within,
            seconds,
            notes=(
                f"the map's within(): {out['within_count']:,} prospects, a round's figure the "
                f"median of {MAP_ROUNDS}",
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


def _arrays(conn: Any) -> dict[str, Any]:
    """Every prospect's position, status code and id as numpy arrays (C's data)."""
    import numpy as np

    rows = conn.exec_driver_sql("SELECT id, lat, lon, status FROM prospect").all()
    statuses = sorted({r[3] for r in rows})
    code = {s: i for i, s in enumerate(statuses)}
    return {
        "ids": np.array([r[0] for r in rows], dtype=object),
        "lat": np.radians(np.array([r[1] for r in rows], dtype=np.float64)),
        "lon": np.radians(np.array([r[2] for r in rows], dtype=np.float64)),
        "status": np.array([code[r[3]] for r in rows], dtype=np.int64),
        "statuses": statuses,
    }


def _numpy_nearest(arrays: dict[str, Any], lat: float, lon: float) -> tuple[list[str], int]:
    """C: the LIMIT nearest within RADIUS_KM, the total and per-status counts."""
    import numpy as np

    p_lat, p_lon = math.radians(lat), math.radians(lon)
    d_lat = arrays["lat"] - p_lat
    d_lon = arrays["lon"] - p_lon
    h = np.sin(d_lat / 2) ** 2 + math.cos(p_lat) * np.cos(arrays["lat"]) * np.sin(d_lon / 2) ** 2
    km = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(h))
    inside = np.flatnonzero(km <= RADIUS_KM)
    np.bincount(arrays["status"][inside], minlength=len(arrays["statuses"]))  # the chips' counts
    near = km[inside]
    if len(inside) > LIMIT:
        pick = np.argpartition(near, LIMIT - 1)[:LIMIT]
    else:
        pick = np.arange(len(inside))
    order = pick[np.argsort(near[pick], kind="stable")]
    return list(arrays["ids"][inside[order]]), len(inside)


def _child(path: Path, seed: int, rounds: int) -> dict[str, Any]:
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
    out: dict[str, Any] = {"within_list": [], "numpy": [], "geopy_seconds": [], "within": []}
    with store.read() as conn:
        out["prospects"] = int(conn.exec_driver_sql("SELECT count(*) FROM prospect").scalar_one())
        points, out["outlets"] = _points(conn, seed)
        t0 = time.perf_counter()
        arrays = _arrays(conn)
        out["numpy_load"] = time.perf_counter() - t0
        for lat, lon in points[:WARM_UP]:
            within_list(conn, lat, lon)
            _numpy_nearest(arrays, lat, lon)
        same = pages = 0
        where, params = mapdata.scope_sql("all", None, None)
        for _ in range(rounds):
            took, fast = [], []
            for lat, lon in points:
                t0 = time.perf_counter()
                mine = within_list(conn, lat, lon)
                took.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                theirs, _total = _numpy_nearest(arrays, lat, lon)
                fast.append(time.perf_counter() - t0)
                pages += 1
                same += set(mine) == set(theirs)
            out["within_list"].append(took)
            out["numpy"].append(fast)

            circle = []
            for _ in range(MAP_ROUNDS):
                t0 = time.perf_counter()
                hits = within(
                    conn, *ZUNYI, RADIUS_KM, scope_sql=where, params=params, limit=MAP_LIMIT
                )
                circle.append(time.perf_counter() - t0)
                out["within_count"] = len(hits)
            out["within"].append(sorted(circle)[len(circle) // 2])

            t0 = time.perf_counter()
            ranked = sorted(
                (geodesic(ZUNYI, (lat, lon)).km, pid)
                for pid, lat, lon in conn.exec_driver_sql("SELECT id, lat, lon FROM prospect")
            )
            raw = [pid for km, pid in ranked if km <= RADIUS_KM][:LIMIT]
            out["geopy_seconds"].append(time.perf_counter() - t0)
        mine = within_list(conn, *ZUNYI)
    store.close()
    out["agree"] = len(set(mine) & set(raw))
    out["numpy_agree"] = same / pages if pages else 0.0
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.nearby")
    parser.add_argument("part", choices=("child",))
    parser.add_argument("device_db", type=Path)
    parser.add_argument("seed", type=int)
    parser.add_argument("rounds", type=int)
    args = parser.parse_args()
    emit(_child(args.device_db, args.seed, args.rounds))


if __name__ == "__main__":
    main()

"""Building the folium map of 50,000 prospects, clustered (DESIGN.md §7).

The 50,000 prospects nearest to Zunyi's centre in the device store of bench.nearby,
read as ``MapMarker`` rows (untimed), then ``build_map_html`` timed: median of
ROUNDS after one warm-up (imports, folium's templates), in a child process
(``python -m bench.map_build child DEVICE_DB``).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from bench.common import Context, Result, emit, megabytes, run_child, seconds
from bench.nearby import ZUNYI, device_db

TARGET = 1.0
MARKERS = 50_000
ROUNDS = 5


def run(ctx: Context) -> list[Result]:
    out = run_child("bench.map_build", "child", str(device_db(ctx)))
    took = sorted(out["seconds"])
    median = statistics.median(took)
    return [
        Result(
            work=f"folium map of {out['markers']:,} prospects, clustered (median of {len(took)})",
            figure=seconds(median),
            target=f"≤ {seconds(TARGET)}",
            passed=median <= TARGET,
            notes=(
                f"map build: min {seconds(took[0])}, max {seconds(took[-1])}, "
                f"HTML {megabytes(out['bytes'])}, within {out['radius_km']:.1f} km of the centre; "
                f"reading the markers {seconds(out['read_seconds'])} (not counted)",
            ),
        )
    ]


def _child(path: Path) -> dict[str, Any]:
    from sqlalchemy import text

    from app.geo.maps import MapMarker, build_map_html
    from app.geo.nearby import within
    from app.sync.store import DeviceStore

    store = DeviceStore(path)
    t0 = time.perf_counter()
    with store.read() as conn:
        hits = within(conn, *ZUNYI, 200.0, limit=MARKERS)
        km = dict(hits)
        rows = conn.execute(
            text("SELECT id, company_name, lat, lon, status, pre_approved_line FROM prospect")
        )
        markers = [
            MapMarker(pid, name, lat, lon, status, int(line or 0), km[pid])
            for pid, name, lat, lon, status, line in rows
            if pid in km
        ]
    store.close()
    markers.sort(key=lambda m: m.distance_km or 0.0)
    read_seconds = time.perf_counter() - t0

    html = build_map_html(center=ZUNYI, radius_km=3.0, markers=markers[:50])  # warm-up
    took = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        html = build_map_html(center=ZUNYI, radius_km=3.0, markers=markers, cluster=True)
        took.append(time.perf_counter() - t0)
    return {
        "markers": len(markers),
        "seconds": took,
        "bytes": len(html.encode()),
        "radius_km": max((m.distance_km or 0.0) for m in markers) if markers else 0.0,
        "read_seconds": read_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.map_build")
    parser.add_argument("part", choices=("child",))
    parser.add_argument("device_db", type=Path)
    args = parser.parse_args()
    emit(_child(args.device_db))


if __name__ == "__main__":
    main()

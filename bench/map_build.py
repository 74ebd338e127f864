"""The folium map of 50,000 prospects, clustered, as the app makes it (DESIGN.md §7).

The whole path the map screen runs (``MapController.build``: its ``find`` then its
``draw``), in the device store of bench.nearby, admin's ``all`` view:

- read: ``within`` (the circle's prospects, nearest first, at most the limit), then
  ``mapdata.map_markers`` (their fields) made into ``MapMarker``s;
- build: ``build_map_html`` with the screen's arguments (local Leaflet, clustered).

The DESIGN's row: the 50,000 prospects nearest Zunyi's centre (the radius that holds
them, found untimed; the screen itself asks for at most ``MAP_LIMIT``). Beside it, the
largest map the screen draws: ``MAP_LIMIT`` markers within 10 km (its widest radius) of
the city's busiest outlet. Each round is one whole read + build, after one warm-up
(imports, folium's templates), in a child process
(``python -m bench.map_build child DEVICE_DB ROUNDS``).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

from bench.common import Context, Result, Rounds, emit, measured, megabytes, run_child, seconds
from bench.nearby import ZUNYI, device_db

TARGET = 1.0
MARKERS = 50_000


def run(ctx: Context) -> list[Result]:
    out = run_child("bench.map_build", "child", str(device_db(ctx)), str(ctx.rounds))
    results = []
    for key, work in (
        (
            "design",
            f"folium map of {out['design']['markers']:,} prospects, clustered: read + build",
        ),
        ("screen", f"  the screen's largest map: {out['screen']['markers']:,} markers, 10 km"),
    ):
        part = out[key]
        total = Rounds.of(part["total"])
        read = Rounds.of(part["read"])
        build = Rounds.of(part["build"])
        results.append(
            measured(
                work,
                total,
                seconds,
                target=f"≤ {seconds(TARGET)}" if key == "design" else "",
                limit=TARGET if key == "design" else None,
                notes=(
                    f"{key}: read (within + map_markers) median {seconds(read.median)}, build "
                    f"(build_map_html) median {seconds(build.median)}; HTML "
                    f"{megabytes(part['bytes'])}, within {part['radius_km']:.1f} km of "
                    f"{part['centre']}",
                ),
            )
        )
    return results


def _find(conn: Any, centre: tuple[float, float], radius: float, limit: int) -> list[Any]:
    """The screen's ``find``: the circle's prospects in the admin's view, as markers."""
    from app.geo.maps import MapMarker
    from app.geo.nearby import within
    from app.queries import mapdata

    where, params = mapdata.scope_sql("all", None, None)
    hits = within(conn, centre[0], centre[1], radius, scope_sql=where, params=params, limit=limit)
    return [MapMarker(**m) for m in mapdata.map_markers(conn, hits)]


def _draw(centre: tuple[float, float], radius: float, markers: list[Any]) -> str:
    """The screen's ``draw`` (its arguments, no tile server: offline)."""
    from app.geo.maps import build_map_html
    from app.workbench.map import CARD_PATH

    return build_map_html(
        center=centre,
        radius_km=radius,
        markers=markers,
        asset_base="/leaflet",
        lang="zh",
        center_kind="outlet",
        card_url=CARD_PATH,
    )


def _child(path: Path, rounds: int) -> dict[str, Any]:
    from app.geo.nearby import within
    from app.sync.store import DeviceStore
    from app.workbench.map import MAP_LIMIT, RADII

    store = DeviceStore(path)
    with store.read() as conn:  # untimed: the radius that holds MARKERS, the busiest outlet
        far = within(conn, *ZUNYI, 500.0, limit=MARKERS)
        radius = math.ceil(far[-1][1] * 10) / 10 if far else 1.0
        outlets = conn.exec_driver_sql("SELECT name, lat, lon FROM outlet").all()
        busiest = max(outlets, key=lambda o: len(within(conn, o[1], o[2], max(RADII))))
    cases = {
        "design": (ZUNYI, radius, MARKERS, "Zunyi's centre"),
        "screen": ((busiest[1], busiest[2]), max(RADII), MAP_LIMIT, busiest[0]),
    }
    out: dict[str, Any] = {}
    for key, (centre, km, limit, label) in cases.items():
        with store.read() as conn:  # warm-up
            _draw(centre, km, _find(conn, centre, km, 50))
        part: dict[str, Any] = {"total": [], "read": [], "build": []}
        for _ in range(rounds):
            t0 = time.perf_counter()
            with store.read() as conn:
                markers = _find(conn, centre, km, limit)
            t1 = time.perf_counter()
            html = _draw(centre, km, markers)
            t2 = time.perf_counter()
            part["total"].append(t2 - t0)
            part["read"].append(t1 - t0)
            part["build"].append(t2 - t1)
        part.update(markers=len(markers), bytes=len(html.encode()), radius_km=km, centre=label)
        out[key] = part
    store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.map_build")
    parser.add_argument("part", choices=("child",))
    parser.add_argument("device_db", type=Path)
    parser.add_argument("rounds", type=int)
    args = parser.parse_args()
    emit(_child(args.device_db, args.rounds))


if __name__ == "__main__":
    main()

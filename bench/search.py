"""Search and filter over the whitelist of 100,000 local prospects (DESIGN.md §7).

The device store holds the central store's demo prospects (Zunyi, 遵义), batches,
outlets and users, with the screens' indexes (``app.queries.indexes.SCREEN_INDEXES``);
it is built here, untimed. An admin's device holds them all, so every query runs in
the ``all`` scope: the whole 100,000 in scope, the hardest case for the home screen.

QUERIES queries, first page of 50 (a tenth of them the next page, as "load more"),
drawn once from the data with a fixed seed, a fifth of each kind:

- search, two Chinese characters: a brand or a trade from a company name, a legal
  representative's name, a district;
- search, a phone's last four digits;
- a status chip (nearest first, or largest line first);
- nearest first from a point of the city (an outlet, or a marketer standing near one);
- within 3 km of such a point, nearest or largest line first.

Each is timed from taking a read connection to the rows built (``query_whitelist``),
after WARM_UP untimed queries, in a child process (``python -m bench.search child DB``).
A round is QUERIES queries drawn afresh (seed + round); its figure their p95; the row's
figure is the median of the rounds' p95s. ``python -m bench.search`` alone runs the whole
benchmark and prints its rows.

The child runs three times, the same queries each time:

- with the device store as it is after a first sync (the figure);
- without the device's local indexes (``SCREEN_INDEXES`` dropped from a copy of the file,
  as a device holds them before its first sync completes): what the indexes buy, which
  a first sync pays for when it builds them (bench.first_sync's A);
- with a 64 MB page cache (for information: the store's default is 16 MB,
  ``PAGE_CACHE_KB``).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from app.sync.store import PAGE_CACHE_KB
from bench.common import (
    DEMO_TODAY,
    Context,
    Result,
    Rounds,
    device_from_central,
    emit,
    measured,
    quantile,
    render_table,
    run_child,
    seconds,
)

TARGET_P95 = 0.030
QUERIES = 200
WARM_UP = 20
PAGE = 50
CACHE_MB = 64
KINDS = ("search 2 chars", "phone tail", "status", "nearest", "within 3 km")


def device_db(ctx: Context) -> Path:
    """A device store with the central store's whitelist and the whitelist indexes."""
    from app.queries.indexes import SCREEN_INDEXES

    return device_from_central(
        ctx,
        "search-device.sqlite3",
        ("outlet", "user", "whitelist_batch", "prospect"),
        SCREEN_INDEXES,
    )


def _p95(values: list[float]) -> float:
    return quantile(values, 0.95)


def run(ctx: Context) -> list[Result]:
    db = device_db(ctx)
    bare = ctx.path("search-device-no-indexes.sqlite3")
    shutil.copyfile(db, bare)
    os.sync()  # the stores were just written: their writeback must not run during the timing
    time.sleep(2)
    rounds = str(ctx.rounds)
    plain = run_child("bench.search", "child", str(db), str(ctx.seed), "--rounds", rounds)
    no_index = run_child(
        "bench.search", "child", str(bare), str(ctx.seed), "--rounds", rounds, "--drop-indexes"
    )
    cached = run_child(
        "bench.search", "child", str(db), str(ctx.seed), "--rounds", rounds,
        "--cache-mb", str(CACHE_MB),
    )  # fmt: skip
    p95 = Rounds.of(_p95(r) for r in plain["wall"])
    p50 = Rounds.of(statistics.median(r) for r in plain["wall"])
    cpu = Rounds.of(_p95(r) for r in plain["cpu"])
    bare_p95 = Rounds.of(_p95(r) for r in no_index["wall"])
    per_kind = defaultdict(list)
    for kinds, wall in zip(plain["kinds"], plain["wall"], strict=True):
        for kind, took in zip(kinds, wall, strict=True):
            per_kind[kind].append(took)
    kinds = ", ".join(f"{k} {seconds(_p95(per_kind[k]))}" for k in KINDS)
    bare_kind = defaultdict(list)
    for ks, wall in zip(no_index["kinds"], no_index["wall"], strict=True):
        for kind, took in zip(ks, wall, strict=True):
            bare_kind[kind].append(took)
    bare_kinds = ", ".join(f"{k} {seconds(_p95(bare_kind[k]))}" for k in KINDS)
    return [
        measured(
            f"search / filter over {plain['prospects']:,} local prospects (p95 of {QUERIES})",
            p95,
            seconds,
            target=f"≤ {seconds(TARGET_P95)} p95",
            limit=TARGET_P95,
            notes=(
                f"search: p50 median {seconds(p50.median)}; p95 by kind over every round: "
                f"{kinds}; first page of {PAGE}, every query with its total and per-status "
                "counts, admin scope (all prospects)",
                f"search CPU time of the querying thread: p95 median {seconds(cpu.median)}; load "
                f"average {plain['load'][0]:.1f} before, {plain['load'][1]:.1f} after",
            ),
        ),
        measured(
            "  same, without the device's local indexes (dropped)",
            bare_p95,
            seconds,
            ratio=bare_p95.median / p95.median,
            ratio_text=f"{bare_p95.median / p95.median:.1f}x the indexed",
            notes=(
                "without local indexes: the same queries with SCREEN_INDEXES dropped (a device "
                f"before its first sync completes); p95 by kind: {bare_kinds}",
            ),
        ),
        measured(
            f"  same, {CACHE_MB} MB SQLite page cache (store default {PAGE_CACHE_KB // 1024} MB)",
            Rounds.of(_p95(r) for r in cached["wall"]),
            seconds,
        ),
    ]


# -- the child ---------------------------------------------------------------------------


def _queries(conn: sqlite3.Connection, seed: int) -> list[tuple[str, dict[str, Any]]]:
    """QUERIES (kind, WhitelistQuery fields) drawn from the data, a fifth of each kind."""
    rand = random.Random(seed)
    names = [r[0] for r in conn.execute("SELECT company_name FROM prospect")]
    reps = [r[0] for r in conn.execute("SELECT legal_rep FROM prospect")]
    phones = [r[0] for r in conn.execute("SELECT phone FROM prospect")]
    outlets = [(r[0], r[1], r[2]) for r in conn.execute("SELECT id, lat, lon FROM outlet")]
    trades = ("商贸", "餐饮", "酒业", "物流", "建材", "茶业", "汽车", "食品", "服饰", "农业")
    districts = ("汇川", "红花", "播州", "仁怀", "湄潭", "桐梓")
    statuses = [r[0] for r in conn.execute("SELECT DISTINCT status FROM prospect")]
    per_kind = QUERIES // len(KINDS)

    def spot() -> dict[str, Any]:
        outlet_id, lat, lon = rand.choice(outlets)
        if rand.random() < 0.5:
            return {"outlet_id": outlet_id}  # from the outlet
        jitter = 0.01  # ≈ 1 km: a marketer out in the field, from their own position
        return {
            "origin": (lat + rand.uniform(-jitter, jitter), lon + rand.uniform(-jitter, jitter))
        }

    def two_chars() -> str:
        u = rand.random()
        if u < 0.45:  # a brand or trade inside a name, between the place and the legal form
            core = _core(rand.choice(names))
            start = rand.randint(0, max(len(core) - 2, 0))
            return core[start : start + 2]
        if u < 0.75:
            return rand.choice(reps)[:2]
        return rand.choice(trades + districts)

    out: list[tuple[str, dict[str, Any]]] = []
    for _ in range(per_kind):
        out.append(("search 2 chars", {"text": two_chars(), **spot()}))
        out.append(("phone tail", {"text": rand.choice(phones)[-4:], **spot()}))
        out.append(
            (
                "status",
                {
                    "statuses": frozenset({rand.choice(statuses)}),
                    "sort": rand.choice(("distance", "line")),
                    **spot(),
                },
            )
        )
        out.append(("nearest", {"sort": "distance", **spot()}))
        out.append(
            (
                "within 3 km",
                {"max_distance_km": 3.0, "sort": rand.choice(("distance", "line")), **spot()},
            )
        )
    for _, fields in rand.sample(out, len(out) // 10):
        fields["offset"] = PAGE  # load more
    rand.shuffle(out)
    return out


_PLACE_ENDS = "市区县"
_LEGAL_FORMS = ("农民专业合作社", "个体工商户", "有限责任公司", "有限公司")


def _core(name: str) -> str:
    """A company name without its place (遵义市汇川区) and legal form (有限公司)."""
    cut = max(name.rfind(c, 0, 8) for c in _PLACE_ENDS)
    core = name[cut + 1 :]
    for form in _LEGAL_FORMS:
        core = core.removesuffix(form)
    return core if len(core) >= 2 else name


def _child(db: Path, seed: int, rounds: int, cache_mb: int, drop_indexes: bool) -> dict[str, Any]:
    from sqlalchemy import event

    from app.queries.whitelist import WhitelistQuery, query_whitelist
    from app.sync.store import DeviceStore, create_screen_indexes, drop_screen_indexes

    with sqlite3.connect(db) as raw:
        drawn = [_queries(raw, seed + n) for n in range(rounds)]
        prospects = int(raw.execute("SELECT count(*) FROM prospect").fetchone()[0])
    store = DeviceStore(db)
    with store.transaction() as conn:  # as a landed first sync leaves it (idempotent)
        if drop_indexes:
            drop_screen_indexes(conn)
        else:
            create_screen_indexes(conn)
    if cache_mb:

        def bigger_cache(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            dbapi_conn.execute(f"PRAGMA cache_size = -{cache_mb * 1024}")

        event.listen(store.engine, "connect", bigger_cache)
        store.engine.dispose()  # reconnect with it

    def made(queries: list[tuple[str, dict[str, Any]]]) -> list[Any]:
        return [
            WhitelistQuery(scope="all", limit=PAGE, today=DEMO_TODAY, **fields)
            for _, fields in queries
        ]

    for q in made(drawn[0])[:WARM_UP]:
        with store.read() as conn:
            query_whitelist(conn, q, text_index=store.text_index)
    load_before = os.getloadavg()[0]
    walls, cpus = [], []
    for queries in drawn:
        wall, cpu = [], []
        for q in made(queries):
            t0, c0 = time.perf_counter(), time.thread_time()
            with store.read() as conn:
                query_whitelist(conn, q, text_index=store.text_index)
            wall.append(time.perf_counter() - t0)
            cpu.append(time.thread_time() - c0)
        walls.append(wall)
        cpus.append(cpu)
    load_after = os.getloadavg()[0]
    store.close()
    return {
        "prospects": prospects,
        "kinds": [[kind for kind, _ in queries] for queries in drawn],
        "wall": walls,
        "cpu": cpus,
        "load": [load_before, load_after],
    }


def main() -> None:
    if len(sys.argv) == 1:  # on its own: this benchmark's rows
        with Context() as ctx:
            print(render_table(run(ctx)))
        return
    parser = argparse.ArgumentParser(prog="python -m bench.search")
    parser.add_argument("part", choices=("child",))
    parser.add_argument("db", type=Path)
    parser.add_argument("seed", type=int)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--cache-mb", type=int, default=0)
    parser.add_argument("--drop-indexes", action="store_true")
    args = parser.parse_args()
    emit(_child(args.db, args.seed, args.rounds, args.cache_mb, args.drop_indexes))


if __name__ == "__main__":
    main()

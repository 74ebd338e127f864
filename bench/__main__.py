"""``make bench``: run every benchmark and print one table (DESIGN.md §7).

``python -m bench`` runs every benchmark, ``python -m bench first_sync`` only those
named. Environment: ``BENCH_PROSPECTS`` (default 100000; 5000 for a quick run),
``BENCH_SEED``, ``BENCH_ROUNDS`` (A/B rounds of first_sync, default 2), ``BENCH_STRICT=1``
(exit 1 when a figure misses its target), ``BENCH_DASHBOARD_PROSPECTS`` (the dashboards'
PostgreSQL store, default 10000000: long; 1000 for a quick run).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import time

from bench.common import Context, Result, load_average, machine, render_table

# Modules of bench/, each with ``run(ctx) -> list[Result]``, in table order.
BENCHMARKS = (
    "first_sync", "search", "nearby", "map_build", "import_parse", "import_batch", "auto_assign",
    "dashboards",
)  # fmt: skip


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    log = logging.getLogger("bench")
    log.setLevel(logging.INFO)
    chosen = argv or list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
        return 2
    results: list[Result] = []
    started = time.perf_counter()
    load_at_start = load_average()
    with Context() as ctx:
        for name in chosen:
            log.info("running %s (BENCH_PROSPECTS=%d)", name, ctx.prospects)
            module = importlib.import_module(f"bench.{name}")
            results.extend(module.run(ctx))
    print()
    for key, value in machine():
        if key == "load":
            value = f"{load_at_start} at start, {value} at end (1/5/15 min)"
        print(f"{key:7} {value}")
    print()
    print(render_table(results))
    print(f"\n(bench run took {time.perf_counter() - started:.0f} s)")
    # Benchmarks report, they do not gate (DESIGN.md §7); BENCH_STRICT=1 makes a FAIL an error.
    failed = any(r.passed is False for r in results)
    return 1 if failed and os.environ.get("BENCH_STRICT") == "1" else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""``make bench``: run the benchmarks and print one table (DESIGN.md §7, issue 11).

``python -m bench`` runs every benchmark; ``python -m bench herd first_sync`` only those
named; ``--rounds N`` measures each figure N times (default 5, or ``BENCH_ROUNDS``):
every figure is the median of its rounds, printed with their spread (min–max).
``--list`` names the benchmarks.

Environment: ``BENCH_PROSPECTS`` (default 100000; 5000 for a quick run), ``BENCH_SEED``,
``BENCH_STRICT=1`` (exit 1 when a figure misses its target), ``BENCH_PG_URL`` (the
PostgreSQL server; each run makes databases of its own there),
``BENCH_DASHBOARD_PROSPECTS`` (the dashboards' store, default 10000000: long; 1000 for a
quick run), ``BENCH_HERD_DEVICES`` (default 1000) and the other settings each module's
docstring names.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import time

from bench.common import MIN_ROUNDS, Context, Result, load_average, machine, render_table

# Modules of bench/, each with ``run(ctx) -> list[Result]``, in table order.
BENCHMARKS = (
    "first_sync", "search", "nearby", "map_build", "first_screen", "herd", "import_parse",
    "import_batch", "auto_assign", "dashboards",
)  # fmt: skip


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("rows", nargs="*", metavar="ROW", help="benchmarks to run (default: all)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per figure (default 5)")
    parser.add_argument("--list", action="store_true", help="name the benchmarks and stop")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse(argv)
    if args.list:
        print("\n".join(BENCHMARKS))
        return 0
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    log = logging.getLogger("bench")
    log.setLevel(logging.INFO)
    chosen = args.rows or list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
        return 2
    if args.rounds is not None and args.rounds < 1:
        print("--rounds must be at least 1")
        return 2
    results: list[Result] = []
    timings: list[str] = []
    broken: list[str] = []
    started = time.perf_counter()
    load_at_start = load_average()
    with Context(rounds=args.rounds) as ctx:
        for name in chosen:
            log.info("running %s (%d rounds, BENCH_PROSPECTS=%d)", name, ctx.rounds, ctx.prospects)
            load_before, t0 = load_average(), time.perf_counter()
            try:
                module = importlib.import_module(f"bench.{name}")
                results.extend(module.run(ctx))
            except Exception as exc:  # noqa: BLE001 - one broken benchmark, the others still run
                log.exception("%s failed", name)
                broken.append(name)
                results.append(Result(f"{name}: did not run", "error", notes=(f"{name}: {exc}",)))
            timings.append(
                f"{name} {time.perf_counter() - t0:.0f} s (load {load_before} → {load_average()})"
            )
        rounds = ctx.rounds
    print()
    for key, value in machine():
        if key == "load":
            value = f"{load_at_start} at start, {value} at end (1/5/15 min)"
        print(f"{key:7} {value}")
    print(
        f"rounds  {rounds} per figure: the figure is their median, the spread their range"
        " (min–max); ratios are of medians measured in this run"
    )
    if rounds < MIN_ROUNDS:
        print(f"        (fewer than {MIN_ROUNDS} rounds: a quick look, not the benchmark)")
    print()
    print(render_table(results))
    print(f"\ntime per benchmark: {'; '.join(timings)}")
    print(f"(bench run took {time.perf_counter() - started:.0f} s)")
    if broken:
        print(f"benchmarks that did not run: {', '.join(broken)} (the traceback is above)")
        return 1
    # Benchmarks report, they do not gate (DESIGN.md §7); BENCH_STRICT=1 makes a FAIL an error.
    failed = any(r.passed is False for r in results)
    return 1 if failed and os.environ.get("BENCH_STRICT") == "1" else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

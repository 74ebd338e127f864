"""``make soak RUNS=1000``: many seeded fault-harness runs; prints the incident counts.

    python -m tests.fault.soak --runs 1000 [--db sqlite|postgresql] [--first-seed 1]

Every count must be 0. The runs share one central-store process (restarted at random
by the runs themselves), each in a world of its own; a failing seed is printed with
what went wrong, and ``--first-seed N --runs 1`` replays it.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

from tests.fault.harness import Outcome, run_once, running_store


def database_url(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'store.sqlite'}"
    from tests.conftest import fresh_postgres

    return fresh_postgres(driver=False)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fault.soak")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--restart-rate", type=float, default=0.04, help="chance per tick of a store restart"
    )
    args = parser.parse_args(argv)
    logging.getLogger("app").setLevel(logging.CRITICAL)  # injected faults are expected
    totals = Outcome(seed=-1)
    failed: list[Outcome] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="puhui-soak-") as tmp:
        workdir = Path(tmp)
        with running_store(database_url(args.db, workdir), workdir) as store:
            for seed in range(args.first_seed, args.first_seed + args.runs):
                out = run_once(store, seed, workdir, restart_rate=args.restart_rate)
                for name in ("lost", "duplicated", "stuck", "diverged", "broken", "kills", "logs"):
                    setattr(totals, name, getattr(totals, name) + getattr(out, name))
                if not out.clean:
                    failed.append(out)
                    print(f"seed {seed}: " + "; ".join(out.details[:5]), flush=True)
                done = seed - args.first_seed + 1
                if done % 25 == 0:
                    print(f"… {done} runs: {_counts(totals)}", flush=True)
                totals.restarts = store.restarts
    seconds = time.monotonic() - started
    print(f"{args.runs} runs on {args.db} in {seconds:.0f} s: {_counts(totals)}")
    return 1 if failed else 0


def _counts(totals: Outcome) -> str:
    return (
        f"lost {totals.lost}, duplicated {totals.duplicated}, stuck {totals.stuck},"
        f" diverged {totals.diverged}, broken chains {totals.broken} ({totals.logs} logs,"
        f" {totals.kills} device kills, {totals.restarts} store restarts)"
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

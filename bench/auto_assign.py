"""Auto-assign 100,000 unassigned prospects over the 38 demo outlets (issue 9: ≤ 10 s).

Untimed: a fresh central store with the demo's outlets, staff and a small history (2,000
prospects: some marketers hold prospects, so loads and territories differ), then
``BENCH_PROSPECTS`` unassigned prospects spread evenly over the outlets, each within a
few km of its outlet, written as the import writes a batch (an outlet's rows together:
``batches.by_outlet``). Timed, in a child process (``python -m bench.auto_assign child URL
RULE``): every outlet's pool handed out as ``POST /distribution/auto-assign`` does it (the
admin, one write transaction per outlet: plan, transfers, funnel events, prospects and
their change-log rows), by the ``even`` rule, then on a second copy by ``nearest``.

On SQLite always; on PostgreSQL too when one answers at ``BENCH_PG_URL`` (default: the
tests' server). The store is prepared once per database (untimed) and every round
hands out a fresh copy of it (a file copy on SQLite, ``PgDatabases.copy`` on
PostgreSQL): the same work each round. On SQLite each round also measures the raw
limit beside it. Also timed: ``plan_nearest`` alone, 100,000 prospects over 12
marketers with a cap (the planner's share of the work), once per round.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import time
from typing import Any

from bench.common import (
    DEMO_TODAY,
    PG_URL,
    Context,
    Result,
    Rounds,
    emit,
    measured,
    run_child,
    seconds,
)

TARGET = 10.0
HISTORY = 2_000
RULES = ("even", "nearest")


def run(ctx: Context) -> list[Result]:
    results: list[Result] = []
    source = ctx.path("auto-assign-source.sqlite3")
    prepared = _prepare(f"sqlite:///{source}", ctx.prospects, ctx.seed)
    for rule in RULES:
        outs = []
        for i in range(ctx.rounds):
            copy = ctx.path(f"auto-assign-{rule}-{i}.sqlite3")
            shutil.copyfile(source, copy)
            outs.append(run_child("bench.auto_assign", "child", f"sqlite:///{copy}", rule))
            for leftover in ctx.workdir.glob(f"{copy.name}*"):
                leftover.unlink()
        results.append(_result("SQLite", rule, outs, prepared))
    pg = ctx.postgres()
    if pg is None:
        results[-1] = _with_note(results[-1], f"PostgreSQL: none answered at {PG_URL}")
    else:
        template = pg.create("assign_tpl")
        pg_prepared = _prepare(template, ctx.prospects, ctx.seed)
        for rule in RULES:
            outs = []
            for _ in range(ctx.rounds):
                url = pg.copy(template, "assign")
                try:
                    outs.append(run_child("bench.auto_assign", "child", url, rule))
                finally:
                    pg.drop(url)
            results.append(_result("PostgreSQL", rule, outs, pg_prepared))
        pg.drop(template)
    out = run_child("bench.auto_assign", "planner", str(ctx.prospects), str(ctx.rounds))
    results.append(
        measured(
            f"plan_nearest alone: {out['prospects']:,} prospects over 12 marketers, cap",
            Rounds.of(out["seconds"]),
            seconds,
            notes=(f"planner: {out['placed']:,} placed under a cap of {out['cap']:,} each",),
        )
    )
    return results


def _result(db: str, rule: str, outs: list[dict[str, Any]], prepared: dict[str, int]) -> Result:
    took = Rounds.of(o["seconds"] for o in outs)
    raws = [o["raw_seconds"] for o in outs if o.get("raw_seconds")]
    raw = Rounds.of(raws) if raws else None
    out = outs[0]
    notes = [
        f"auto-assign {rule} on {db}: {out['assigned']:,} assigned to {out['marketers']} "
        f"marketers, {out['left']:,} left; slowest outlet, median over rounds "
        f"{seconds(Rounds.of(o['slowest'] for o in outs).median)}"
    ]
    if raw:
        notes.append(
            f"raw limit for {rule}: sqlite3.executemany of {5 * out['assigned']:,} change-log-"
            f"shaped rows (five per handover), one transaction: median {seconds(raw.median)}"
        )
    return measured(
        f"auto-assign {prepared['pool']:,} prospects, {out['outlets']} outlets, {rule} ({db})",
        took,
        seconds,
        target=f"≤ {seconds(TARGET)}",
        limit=TARGET,
        ratio=took.median / raw.median if raw else None,
        notes=notes,
    )


def _with_note(result: Result, note: str) -> Result:
    from dataclasses import replace

    return replace(result, notes=(*result.notes, note))


# -- the store (untimed) ----------------------------------------------------------------


def _prepare(url: str, prospects: int, seed: int) -> dict[str, int]:
    """A fresh store at ``url``: the demo's outlets, staff and a small history, then
    ``prospects`` unassigned ones over every outlet."""
    from app.demo import generate
    from app.models.ids import new_ids, utcnow
    from app.server.admin import load_demo
    from app.server.batches import by_outlet
    from app.server.changes import bulk_insert
    from app.server.db import make_engine, migrate, write_session

    engine = make_engine(url)
    migrate(engine)
    data = generate(prospects=HISTORY, seed=seed, today=DEMO_TODAY)
    load_demo(engine, data)
    rng = random.Random(seed)
    batch = data.whitelist_batch[0]["id"]
    now = utcnow()
    outlets = data.outlet
    ids = new_ids(prospects)
    rows = []
    for n, pid in enumerate(ids):
        outlet = outlets[n % len(outlets)]
        rows.append(
            {
                "id": pid,
                "batch_id": batch,
                "company_name": f"遵义基准商户{n:06d}",
                "credit_code": f"91520300BENCH{n:05d}"[:18],
                "legal_rep": "赵六",
                "phone": f"139{n:08d}",
                "industry": "批发零售",
                "address": f"遵义市测试路{n}号",
                "lat": outlet["lat"] + (rng.random() - 0.5) * 0.06,
                "lon": outlet["lon"] + (rng.random() - 0.5) * 0.06,
                "pre_approved_line": 100_000 * rng.randint(1, 30),
                "score": rng.randint(40, 99),
                "tags": "[]",
                "outlet_id": outlet["id"],
                "assignee_id": None,
                "status": "unassigned",
                "disbursed_amount": None,
                "last_contact_at": None,
                "next_follow_up": None,
                "updated_at": now,
            }
        )
    with write_session(engine) as session:  # written as an import writes them
        bulk_insert(session, "prospect", by_outlet(rows))
    engine.dispose()
    pool = prospects + sum(1 for p in data.prospect if p["assignee_id"] is None)
    return {"pool": pool}


# -- the children (timed) ---------------------------------------------------------------


def _child(url: str, rule: str) -> dict[str, Any]:
    from sqlalchemy import select

    from app.demo import DEMO_ADMIN
    from app.models import Outlet, User
    from app.models.distribution import AutoAssignRequest
    from app.models.ids import utcnow
    from app.server.db import make_engine, write_session
    from app.server.distribution import auto_assign

    engine = make_engine(url)
    with write_session(engine) as session:
        admin = session.execute(select(User).where(User.employee_no == DEMO_ADMIN)).scalar_one()
        outlets = list(session.execute(select(Outlet.id).order_by(Outlet.code)).scalars())
        session.expunge(admin)
    assigned = left = 0
    marketers: set[str] = set()
    slowest = 0.0
    started = time.perf_counter()
    for outlet_id in outlets:
        t0 = time.perf_counter()
        with write_session(engine) as session:
            request = AutoAssignRequest(outlet_id=outlet_id, rule=rule)
            result = auto_assign(session, user=admin, request=request, now=utcnow())
        slowest = max(slowest, time.perf_counter() - t0)
        assigned += sum(result.assigned.values())
        left += result.left
        marketers |= set(result.assigned)
    took = time.perf_counter() - started
    engine.dispose()
    raw = _raw_rows(url, 5 * assigned) if url.startswith("sqlite") else None
    return {
        "seconds": took,
        "raw_seconds": raw,
        "outlets": len(outlets),
        "assigned": assigned,
        "left": left,
        "marketers": len(marketers),
        "slowest": slowest,
    }


def _raw_rows(url: str, n: int) -> float:
    """The raw limit on this machine now: ``n`` change-log-shaped rows (five per handover:
    event, transfer and three log rows) by ``sqlite3.executemany`` into an indexed table,
    one transaction, beside the store's file."""
    import sqlite3

    from app.models.ids import new_ids

    path = url.removeprefix("sqlite:///") + ".raw"
    ids = new_ids(n)
    rows = [(i, "prospect", pid, pid, None, None, "o", "a") for i, pid in enumerate(ids, 1)]
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE t (seq INTEGER PRIMARY KEY, entity TEXT, entity_id TEXT, prospect_id TEXT,"
        " a TEXT, b TEXT, c TEXT, d TEXT)"
    )
    conn.execute("CREATE INDEX ix_t ON t (prospect_id)")
    started = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.execute("COMMIT")
    took = time.perf_counter() - started
    conn.close()
    return took


def _planner(prospects: int, rounds: int) -> dict[str, Any]:
    from app.services.distribution import plan_nearest

    rng = random.Random(1)
    marketers = [
        (f"m{j}", 27.6 + rng.random() * 0.2, 106.8 + rng.random() * 0.2) for j in range(12)
    ]
    points = [
        (f"p{i}", 27.6 + rng.random() * 0.2, 106.8 + rng.random() * 0.2) for i in range(prospects)
    ]
    cap = max(1, prospects * 2 // 3 // 12)
    took = []
    for _ in range(rounds):
        started = time.perf_counter()
        plan = plan_nearest(points, marketers, cap)
        took.append(time.perf_counter() - started)
    return {"seconds": took, "prospects": prospects, "placed": len(plan), "cap": cap}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench.auto_assign")
    sub = parser.add_subparsers(dest="command", required=True)
    child = sub.add_parser("child")
    child.add_argument("url")
    child.add_argument("rule")
    planner = sub.add_parser("planner")
    planner.add_argument("prospects", type=int)
    planner.add_argument("rounds", type=int)
    args = parser.parse_args(argv)
    if args.command == "child":
        emit(_child(args.url, args.rule))
    else:
        emit(_planner(args.prospects, args.rounds))


if __name__ == "__main__":
    main(sys.argv[1:])

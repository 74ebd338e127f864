"""Head-office dashboards over 10,000,000 prospects on PostgreSQL (DESIGN §7: each answer
≤ 300 ms p95).

Untimed: a database of its own on the bench's PostgreSQL (``BENCH_PG_URL``), migrated, with
the demo's 38 outlets, their 89 staff and three batches plus nine more, then
``BENCH_DASHBOARD_PROSPECTS`` prospects (default 10,000,000) made by ``generate_series``
inside PostgreSQL (no row passes through Python; the secondary indexes are dropped for the
load and built afterwards): spread over the outlets and batches, ≈65 % assigned to their
outlet's marketers, statuses along the funnel (3 % disbursed, 1 in 200 withdrawn), one to
four marketing logs on each prospect worked past ``assigned`` over the last year (≈1.0 per
prospect), a disbursed loan with its three profit shares for four in five disbursed
prospects (one in ten booked at another outlet), a disbursement typed on a device (a
funnel event) for the fifth.

Timed once (one round: at ten million prospects it takes minutes, and it has no
target): the first rollup refresh (``app.server.rollups.refresh``: the full build). In
each round: an incremental refresh after 10,000 new logs and 1,000 status changes with
their change-log rows; and per dashboard ``BENCH_DASHBOARD_CALLS`` (default 40) answers
over HTTP from a store process (uvicorn) on that database, after a warm-up, with a mix
of users (the admin, a sub-branch manager, an outlet manager) and parameters (periods,
dates a year back, groupings, levels, metrics, pages, one outlet): the round's p95
against ≤ 300 ms. The database is dropped afterwards.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any

import httpx

from bench.common import (
    PG_URL,
    ROOT,
    Context,
    Result,
    Rounds,
    measured,
    quantile,
    seconds,
)

TARGET = 0.300
DEFAULT_PROSPECTS = 10_000_000
BATCHES_ADDED = 9
NEW_LOGS = 10_000
NEW_MOVES = 1_000
DASHBOARDS = ("overview", "participation", "league", "batches")


def run(ctx: Context) -> list[Result]:
    n = int(os.environ.get("BENCH_DASHBOARD_PROSPECTS", DEFAULT_PROSPECTS))
    calls = int(os.environ.get("BENCH_DASHBOARD_CALLS", 40))
    pg = ctx.postgres()
    if pg is None:
        return [
            Result(
                work=f"dashboards over {n:,} prospects (PostgreSQL)",
                figure="-",
                target=f"≤ {seconds(TARGET)} p95",
                notes=(f"PostgreSQL: none answered at {PG_URL}",),
            )
        ]
    url = pg.create("dash")
    try:
        return _run(url, n, calls, ctx.seed, ctx.rounds)
    finally:
        pg.drop(url)


def _run(url: str, n: int, calls: int, seed: int, rounds: int) -> list[Result]:
    from app.models.ids import utcnow
    from app.server.db import make_engine
    from app.server.rollups import refresh

    made = _generate(url, n, seed)
    engine = make_engine(url)
    started = time.perf_counter()
    refresh(engine, utcnow())
    build = time.perf_counter() - started
    incremental, rolled = [], []
    logs = moves = 0
    for _ in range(rounds):
        logs, moves = _changes(engine)
        started = time.perf_counter()
        rolled.append(refresh(engine, utcnow()))
        incremental.append(time.perf_counter() - started)
    sizes = _sizes(engine)
    engine.dispose()

    timings = _serve_and_time(url, calls, seed, rounds)
    results = [
        measured(
            f"dashboards: first rollup build, {n:,} prospects (PostgreSQL)",
            Rounds.of([build]),
            seconds,
            notes=(
                f"generated in SQL ({seconds(made['seconds'])}, untimed): {made['prospects']:,}"
                f" prospects, {made['logs']:,} logs, {made['loans']:,} loans,"
                f" {made['shares']:,} shares, {made['typed']:,} typed disbursements;"
                f" rollups {sizes}; the full build is timed once (no target; minutes at ten"
                " million)",
            ),
        ),
        measured(
            f"dashboards: incremental refresh, {logs:,} logs + {moves:,} moves",
            Rounds.of(incremental),
            seconds,
            notes=(
                f"each incremental refresh rolled up {Rounds.of(rolled).median:,.0f} change-log "
                "entries (median)",
            ),
        ),
    ]
    for name in DASHBOARDS:
        per_round = timings[name]
        every = [t for r in per_round for t in r]
        results.append(
            measured(
                f"dashboard {name} p95, {n:,} prospects (PostgreSQL)",
                Rounds.of(quantile(r, 0.95) for r in per_round),
                seconds,
                target=f"≤ {seconds(TARGET)}",
                limit=TARGET,
                notes=(
                    f"{name}: {calls} answers over HTTP per round, p50 over every round "
                    f"{seconds(quantile(every, 0.5))}, max {seconds(max(every))}",
                ),
            )
        )
    return results


# -- the data (untimed) ------------------------------------------------------------------


# Statuses by a prospect's hash h (0-99), cumulative: 35 % in the pools (unassigned), the
# rest along the funnel; 3 % disbursed.
_STATUS_CASE = """CASE
    WHEN h < 35 THEN 'unassigned' WHEN h < 60 THEN 'assigned' WHEN h < 75 THEN 'contacted'
    WHEN h < 84 THEN 'interested' WHEN h < 89 THEN 'applied' WHEN h < 92 THEN 'approved'
    WHEN h < 95 THEN 'disbursed' WHEN h < 98 THEN 'declined' ELSE 'invalid' END"""

_PROSPECTS = f"""
INSERT INTO prospect (id, batch_id, company_name, credit_code, legal_rep, phone, industry,
    address, lat, lon, pre_approved_line, score, tags, outlet_id, assignee_id, status,
    disbursed_amount, last_contact_at, next_follow_up, updated_at, rev, batch_version,
    withdrawn_at, withdrawn_reason, assigned_at)
SELECT 'bp' || lpad(g::text, 9, '0'), b.id, '遵义基准商户' || g,
    '91520300' || lpad(g::text, 10, '0'), '赵六', '139' || lpad((g % 100000000)::text, 8, '0'),
    '批发零售', '遵义市测试路' || g || '号',
    o.lat + ((g * 7919) % 1000 - 500) / 20000.0, o.lon + ((g * 104729) % 1000 - 500) / 20000.0,
    100000 * (1 + g % 30), 40 + g % 60, '[]', o.id,
    CASE WHEN h < 35 THEN NULL
        ELSE o.marketers[(1 + (g / 38) % cardinality(o.marketers))::int] END,
    {_STATUS_CASE},
    CASE WHEN h >= 92 AND h < 95 THEN 50000 * (1 + g % 20) END,
    NULL, NULL, :now, 0, 1,
    CASE WHEN g % 200 = 0 THEN CAST(:now AS timestamp) END,
    CASE WHEN g % 200 = 0 THEN 'removed' ELSE '' END, NULL
FROM (SELECT g, ((g * 61 + g / 100) % 100)::int AS h
      FROM generate_series(1, CAST(:n AS bigint)) g) s
JOIN b_outlet o ON o.i = s.g % 38
JOIN b_batch b ON b.i = (s.g / 38) % :batches
"""

# One to four logs per prospect worked past ``assigned``, by its assignee, over the last year.
_LOGS = """
INSERT INTO marketing_log (id, prospect_id, channel, occurred_at, outcome, note,
    next_follow_up, lat, lon, attachments, author_id, device_id, recorded_at, rev)
SELECT 'bl' || substr(p.id, 3) || '-' || k, p.id,
    (ARRAY['visit', 'phone', 'wechat', 'at_outlet'])[((g + k) % 4 + 1)::int],
    CAST(:today AS timestamp) - INTERVAL '1 day' * (1 + (g * 31 + k * 17) % 360)
        + INTERVAL '1 minute' * (30 + (g * 7 + k) % 600),
    (ARRAY['no_answer', 'considering', 'interested', 'agreed_to_apply'])[((g + k) % 4 + 1)::int],
    '', NULL, NULL, NULL, '[]', p.assignee_id, 'bench', :now, 0
FROM (SELECT id, assignee_id, CAST(substr(id, 3) AS bigint) AS g FROM prospect
      WHERE id LIKE 'bp%' AND assignee_id IS NOT NULL
        AND status NOT IN ('unassigned', 'assigned')) p,
    generate_series(1, 1 + (p.g % 4)) k
"""

# Four in five disbursed prospects: a loan reported by the loan system, booked at the
# prospect's outlet (one in ten at the next outlet), originated and booked by staff.
_LOANS = """
INSERT INTO loan_event (id, loan_id, status, amount, occurred_on, credit_code, product,
    booking_outlet_id, originator_id, booker_id, prospect_id, state, funnel_event_id, source,
    api_key_id, received_at, resolved_by, resolved_at, resolution_note)
SELECT 'be' || substr(p.id, 3), 'BL' || substr(p.id, 3), 'disbursed', p.disbursed_amount,
    CAST(:today AS date) - (1 + (p.g * 13) % 330)::int, p.credit_code, '经营快贷',
    bo.id, ho.staff[(1 + (p.g / 5) % cardinality(ho.staff))::int],
    bo.staff[(1 + (p.g / 3) % cardinality(bo.staff))::int], p.id, 'applied', NULL, 'api', NULL,
    :now, NULL, NULL, ''
FROM (SELECT id, credit_code, disbursed_amount, outlet_id,
             CAST(substr(id, 3) AS bigint) AS g FROM prospect
      WHERE id LIKE 'bp%' AND status = 'disbursed') p
JOIN b_outlet ho ON ho.id = p.outlet_id
JOIN b_outlet bo ON bo.i = CASE WHEN p.g % 10 = 3 THEN (ho.i + 1) % 38 ELSE ho.i END
WHERE p.g % 5 <> 0
"""
_SHARES = """
INSERT INTO profit_share (id, loan_id, loan_event_id, prospect_id, party, user_id, outlet_id,
    ratio_bp, amount_fen, occurred_on, product, adjusted)
SELECT e.id || '-' || s.party, e.loan_id, e.id, e.prospect_id, s.party, s.user_id,
    s.outlet_id, s.bp, (CAST(e.amount AS bigint) * s.bp / 100)::int, e.occurred_on, e.product,
    false
FROM loan_event e JOIN prospect p ON p.id = e.prospect_id
LEFT JOIN "user" o ON o.id = e.originator_id
CROSS JOIN LATERAL (VALUES
    ('marketer', p.assignee_id, p.outlet_id, 4000),
    ('originator', e.originator_id, coalesce(o.outlet_id, e.booking_outlet_id), 3000),
    ('booking_outlet', NULL, e.booking_outlet_id, 3000)) AS s(party, user_id, outlet_id, bp)
WHERE e.id LIKE 'be%'
"""
# The fifth: a disbursement typed on a device (an applied funnel event).
_TYPED = """
INSERT INTO funnel_event (id, prospect_id, actor_id, from_status, to_status, applied,
    reason_code, close_reason, close_note, amount, occurred_at, recorded_at, rev)
SELECT 'bf' || substr(id, 3), id, assignee_id, 'approved', 'disbursed', true, '', '', '',
    disbursed_amount,
    CAST(:today AS timestamp) - INTERVAL '1 day' * (1 + (CAST(substr(id, 3) AS bigint) * 13) % 330),
    :now, 0
FROM prospect WHERE id LIKE 'bp%' AND status = 'disbursed'
    AND CAST(substr(id, 3) AS bigint) % 5 = 0
"""
_HELPERS = """
CREATE TEMP TABLE b_outlet AS
SELECT (row_number() OVER (ORDER BY o.code) - 1)::int AS i, o.id, o.lat, o.lon,
    (SELECT array_agg(u.id ORDER BY u.employee_no) FROM "user" u
     WHERE u.outlet_id = o.id AND u.role = 'marketer') AS marketers,
    (SELECT array_agg(u.id ORDER BY u.employee_no) FROM "user" u
     WHERE u.outlet_id = o.id AND u.role IN ('marketer', 'outlet_manager')) AS staff
FROM outlet o;
CREATE TEMP TABLE b_batch AS
SELECT (row_number() OVER (ORDER BY valid_from, id) - 1)::int AS i, id FROM whitelist_batch;
"""
_BULK_TABLES = ("prospect", "marketing_log", "loan_event", "profit_share", "funnel_event")


def _generate(url: str, n: int, seed: int) -> dict[str, Any]:
    """The demo's branch and ``n`` generated prospects with their history, at ``url``."""
    from sqlalchemy import text

    from app.demo import generate
    from app.models.ids import new_id, utcnow
    from app.server.admin import load_demo
    from app.server.changes import bulk_insert
    from app.server.db import make_engine, migrate, write_session
    from app.services.clock import beijing_today

    started = time.perf_counter()
    engine = make_engine(url)
    migrate(engine)
    today = beijing_today()
    data = generate(prospects=0, seed=seed, today=today)
    load_demo(engine, data)
    rng = random.Random(seed)
    now = utcnow()
    batches = []
    for i in range(BATCHES_ADDED):
        start = today - timedelta(days=40 * (i + 1) + rng.randint(0, 20))
        batches.append(
            {
                "id": new_id(),
                "name": f"基准白名单第{i + 1}批",
                "product": ("经营快贷", "商户贷", "税务贷")[i % 3],
                "source": "head_office",
                "valid_from": start,
                "valid_until": start + timedelta(days=365),
                "version": 1,
                "created_at": now,
            }
        )
    with write_session(engine) as session:
        bulk_insert(session, "whitelist_batch", batches)
    params = {"n": n, "now": now, "today": today, "batches": len(data.whitelist_batch) + 9}
    with engine.connect() as conn:
        conn.exec_driver_sql("SET synchronous_commit = off")
        conn.exec_driver_sql("SET maintenance_work_mem = '512MB'")
        indexes = conn.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
                " AND tablename IN :tables AND indexdef NOT LIKE 'CREATE UNIQUE%'"
            ).bindparams(_expanding("tables")),
            {"tables": list(_BULK_TABLES)},
        ).all()
        for name, _ddl in indexes:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
        for statement in _HELPERS.split(";"):
            if statement.strip():
                conn.exec_driver_sql(statement)
        counts = {}
        for key, statement in (
            ("prospects", _PROSPECTS),
            ("logs", _LOGS),
            ("loans", _LOANS),
            ("shares", _SHARES),
            ("typed", _TYPED),
        ):
            counts[key] = conn.execute(text(statement), params).rowcount
            conn.commit()
        for _name, ddl in indexes:
            conn.exec_driver_sql(ddl)
            conn.commit()
        for table in _BULK_TABLES:
            conn.exec_driver_sql(f'ANALYZE "{table}"')
        conn.commit()
    engine.dispose()
    return {**counts, "seconds": time.perf_counter() - started}


def _expanding(name: str) -> Any:
    from sqlalchemy import bindparam

    return bindparam(name, expanding=True)


def _changes(engine: Any) -> tuple[int, int]:
    """What an hour of a busy branch brings: new logs and funnel moves, with their
    change-log rows, as the store writes them (one writer)."""
    from sqlalchemy import text

    from app.models.ids import utcnow
    from app.server.changes import bulk_record
    from app.server.db import write_session

    now = utcnow()
    with write_session(engine) as session:
        added = session.execute(
            text(
                "WITH chosen AS (SELECT id, outlet_id, assignee_id FROM prospect"
                " WHERE assignee_id IS NOT NULL AND id LIKE 'bp%'"
                " ORDER BY id DESC LIMIT :n)"
                " INSERT INTO marketing_log (id, prospect_id, channel, occurred_at,"
                " outcome, note, next_follow_up, lat, lon, attachments, author_id, device_id,"
                " recorded_at, rev)"
                " SELECT 'bn' || substr(id, 3) || :tag, id, 'phone', :now, 'considering', '', NULL, NULL,"
                " NULL, '[]', assignee_id, 'bench', :now, 0 FROM chosen"
                " RETURNING id, prospect_id,"
                " (SELECT outlet_id FROM prospect p WHERE p.id = prospect_id),"
                " author_id"
            ),
            {"n": NEW_LOGS, "now": now, "tag": f"-{secrets.token_hex(4)}"},
        ).all()
        bulk_record(
            session,
            "marketing_log",
            [(r[0], (r[2], r[3]), (r[2], r[3])) for r in added],
            prospect_ids=[r[1] for r in added],
        )
        moved = session.execute(
            text(
                "UPDATE prospect SET status = 'contacted', updated_at = :now"
                " WHERE id IN (SELECT id FROM prospect WHERE status = 'assigned'"
                " AND id LIKE 'bp%' ORDER BY id LIMIT :n)"
                " RETURNING id, outlet_id, assignee_id"
            ),
            {"n": NEW_MOVES, "now": now},
        ).all()
        bulk_record(session, "prospect", [(r[0], (r[1], r[2]), (r[1], r[2])) for r in moved])
    logs, moves = len(added), len(moved)
    return logs, moves


def _sizes(engine: Any) -> str:
    from sqlalchemy import text

    tables = ("dash_status", "dash_first_contact", "dash_contacts", "dash_loan_daily")
    with engine.connect() as conn:
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}
    return ", ".join(f"{t} {n:,} rows" for t, n in counts.items())


# -- the answers (timed) ------------------------------------------------------------------


def _serve_and_time(url: str, calls: int, seed: int, rounds: int) -> dict[str, list[list[float]]]:
    """Each dashboard's answer times over HTTP from a store process on ``url``."""
    from bench.common import _free_port

    port = _free_port()
    env = {
        **os.environ,
        "PUHUI_DATABASE_URL": url,
        "PUHUI_SECRET_KEY": secrets.token_urlsafe(32),
        "PUHUI_HOUSEKEEPING_INTERVAL_SECONDS": "0",  # nothing else runs while it is timed
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.central:create", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
         "--no-access-log"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(process, base)
        return _time_calls(base, calls, seed, rounds)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait(process: subprocess.Popen[bytes], base: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise RuntimeError(f"the store did not start:\n{err[-4000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("the store did not answer /health within 120 s")


def _time_calls(base: str, calls: int, seed: int, rounds: int) -> dict[str, list[list[float]]]:
    from app.demo import DEMO_ADMIN, DEMO_MANAGER, DEMO_PASSWORD, DEMO_SUBBRANCH_MANAGER
    from app.models.sync import PROTOCOL_HEADER, PROTOCOL_VERSION
    from app.services.clock import beijing_today

    rng = random.Random(seed)
    clients = {}
    for no in (DEMO_ADMIN, DEMO_SUBBRANCH_MANAGER, DEMO_MANAGER):
        http = httpx.Client(
            base_url=base, timeout=60, headers={PROTOCOL_HEADER: str(PROTOCOL_VERSION)}
        )
        answer = http.post("/auth/login", json={"employee_no": no, "password": DEMO_PASSWORD})
        answer.raise_for_status()
        http.headers["Authorization"] = f"Bearer {answer.json()['token']}"
        clients[no] = http
    admin = clients[DEMO_ADMIN]
    outlets = [r["key"] for r in _get(admin, "participation", {"page_size": 200})["rows"]]
    today = beijing_today()

    def mix(name: str) -> tuple[httpx.Client, dict[str, Any]]:
        who = rng.choice([DEMO_ADMIN, DEMO_ADMIN, DEMO_SUBBRANCH_MANAGER, DEMO_MANAGER])
        on = today - timedelta(days=rng.choice([0, 0, 31, 95, 200, 360]))
        period = {"period": rng.choice(["month", "month", "quarter", "week"]), "on": str(on)}
        if name == "overview":
            params = dict(period)
            if who == DEMO_ADMIN and rng.random() < 0.3:
                params["outlet_id"] = rng.choice(outlets)
        elif name == "participation":
            params = {**period, "by": rng.choice(["outlet", "subbranch", "tier", "branch"])}
        elif name == "league":
            params = {
                **period,
                "level": rng.choice(["outlet", "marketer"]),
                "metric": rng.choice(
                    ["contacts", "disbursed_count", "disbursed_amount", "participation", "shares"]
                ),
                "page": rng.choice([1, 1, 2]),
                "page_size": 20,
            }
        else:
            params = {"page": rng.choice([1, 1, 2]), "page_size": 10}
            if who == DEMO_ADMIN and rng.random() < 0.3:
                params["outlet_id"] = rng.choice(outlets)
        return clients[who], params

    timings: dict[str, list[list[float]]] = {name: [] for name in DASHBOARDS}
    try:
        for name in DASHBOARDS:  # warm-up: connections, caches, the planner
            for _ in range(5):
                http, params = mix(name)
                _get(http, name, params)
        for _ in range(rounds):
            for name in DASHBOARDS:
                timings[name].append([])
            for _ in range(calls):
                for name in DASHBOARDS:
                    http, params = mix(name)
                    started = time.perf_counter()
                    _get(http, name, params)
                    timings[name][-1].append(time.perf_counter() - started)
    finally:
        for http in clients.values():
            http.close()
    return timings


def _get(http: httpx.Client, name: str, params: dict[str, Any] | None = None) -> Any:
    answer = http.get(f"/dashboards/{name}", params=params or {})
    if answer.status_code != 200:
        raise RuntimeError(f"/dashboards/{name} {params}: {answer.status_code} {answer.text}")
    body = answer.json()
    if body.get("as_of") is None:
        raise RuntimeError(f"/dashboards/{name}: answered before the rollups were built")
    return body


if __name__ == "__main__":  # python -m bench.dashboards: this benchmark alone
    from bench.common import render_table

    with Context() as ctx:
        print(render_table(run(ctx)))

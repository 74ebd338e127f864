"""A slice of the soak in the suite: seeded fault-harness runs on SQLite and PostgreSQL.

Each run: four device processes (one user on two devices) do random work through the
real sync engine against ``main.py serve`` over a network that drops, duplicates and
breaks; devices are SIGKILLed and the store restarted at random. Afterwards nothing may
be lost, duplicated, stuck or diverged, and every funnel chain must be valid.
``make soak RUNS=1000`` runs the long version.
"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from tests.conftest import fresh_postgres, need, postgres_available
from tests.fault.harness import run_once, running_store

SEEDS = range(1, 13)  # 12 runs per database here; make soak runs as many as asked


@pytest.mark.timeout(600)
@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_nothing_is_lost_duplicated_stuck_or_diverged_under_faults(db, tmp_path, caplog):
    caplog.set_level(logging.CRITICAL, logger="app")  # injected faults are expected
    if db == "postgresql":
        need(postgres_available(), "PostgreSQL")
        url = fresh_postgres(driver=False)
    else:
        url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    problems = []
    logs = kills = 0
    with running_store(url, tmp_path) as store:
        for seed in SEEDS:
            out = run_once(store, seed, tmp_path)
            logs, kills = logs + out.logs, kills + out.kills
            if not out.clean:
                problems.append(f"seed {seed}: {out.details[:5]}")
        restarts = store.restarts
    assert problems == []
    assert logs > 100 and kills > 0 and restarts > 0  # the faults really happened


def test_the_harness_notices_a_lost_log_and_a_broken_chain(tmp_path, caplog):
    """No test that cannot fail: the store quietly loses a log and a prospect jumps
    back a stage after the devices synced; the counts must say so."""
    caplog.set_level(logging.CRITICAL, logger="app")

    def lose_a_log_and_break_a_chain(engine, world):  # type: ignore[no-untyped-def]
        with engine.begin() as conn:
            conn.execute(
                text("DELETE FROM marketing_log WHERE id = (SELECT min(id) FROM marketing_log)")
            )
            conn.execute(
                text("UPDATE prospect SET status = 'unassigned' WHERE id = :p"),
                {"p": world.prospects[0]["id"]},
            )

    with running_store(f"sqlite:///{tmp_path / 'store.sqlite'}", tmp_path) as store:
        out = run_once(store, 7, tmp_path, tamper=lose_a_log_and_break_a_chain)
    assert out.lost == 1 and out.broken >= 1 and out.diverged >= 1

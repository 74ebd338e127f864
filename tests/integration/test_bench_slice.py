"""A small slice of ``make bench`` in the suite: every benchmark runs end to end at a
thousand rows and prints its row of the table, so a benchmark that no longer runs is
found by the suite, not the next time somebody measures. Figures are not judged here
(they are measured by ``make bench`` on a quiet machine), only that each is there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import PG_URL, need, postgres_available

ROOT = Path(__file__).resolve().parents[2]
# the first words of each benchmark's rows in the table, in table order
ROWS = (
    "first sync, 1,000 prospects",
    "sync with nothing new",
    "search / filter over 1,000",
    "20 nearest within 3 km among 1,000",
    "folium map of 1,000 prospects",
    "import preview: 1,000-row CSV (GBK), WGS84",
    "import preview: 1,000-row .xlsx",
    "import 1,000 whitelist rows (CSV 0 MB) on SQLite",
    "import 1,000 whitelist rows (CSV 0 MB) on PostgreSQL",
    "auto-assign 1,682 prospects, 38 outlets, even (SQLite)",
    "auto-assign 1,682 prospects, 38 outlets, nearest (PostgreSQL)",
    "plan_nearest alone: 1,000 prospects",
    "dashboards: first rollup build, 1,000 prospects (PostgreSQL)",
    "dashboards: incremental refresh",
    "dashboard overview p95, 1,000 prospects (PostgreSQL)",
    "dashboard participation p95, 1,000 prospects (PostgreSQL)",
    "dashboard league p95, 1,000 prospects (PostgreSQL)",
    "dashboard batches p95, 1,000 prospects (PostgreSQL)",
)


def test_every_benchmark_runs_and_prints_its_figures(tmp_path):
    need(postgres_available(), f"PostgreSQL at {PG_URL}")
    env = {
        **os.environ,
        "BENCH_PROSPECTS": "1000",
        "BENCH_IMPORT_ROWS": "1000",
        "BENCH_ROUNDS": "1",
        "BENCH_DASHBOARD_PROSPECTS": "1000",  # not the ten million of ``make bench``
        "BENCH_DASHBOARD_CALLS": "20",
        "BENCH_PG_URL": PG_URL,
        "TMPDIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-m", "bench"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    table = done.stdout
    lines = {line.split("|")[0].strip(): line for line in table.splitlines() if "|" in line}
    for start in ROWS:
        found = [line for name, line in lines.items() if name.startswith(start)]
        assert found, f"no row {start!r} in:\n{table}"
        figure = found[0].split("|")[1].strip()
        assert figure and figure != "-", found[0]  # a measured figure, not a blank
    assert "Traceback" not in done.stderr

"""The demo store as `make run` and `main.py demo-data` make it, on SQLite and PostgreSQL:
the generated rows loaded, then the demo's loan feed taken through the store's own feed
(``report_demo_loans``) and the dashboards rolled up. An admin then finds real 分润,
non-zero participation and a queue of unmatched loans; the first housekeeping returns
no one to a pool; and the same seed gives the same loans and shares, to the fen."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path

import httpx
from sqlalchemy import Engine, text

from app.config import Settings
from app.demo import DEMO_ADMIN, DEMO_PASSWORD, DemoData, generate
from app.models.ids import utcnow
from app.models.sync import PROTOCOL_HEADER, PROTOCOL_VERSION
from app.server.admin import load_demo, report_demo_loans
from app.server.db import make_engine, migrate
from app.server.housekeeping import dashboards_job, pool_return_job
from app.server.loans import default_ratio
from tests.conftest import TEST_SECRET, LiveServer

PROSPECTS = 1500
SEED = 20240112


def _load(engine: Engine, settings: Settings) -> tuple[DemoData, dict[str, int]]:
    """What the embedded store does on its first run."""
    data = generate(prospects=PROSPECTS, seed=SEED)
    load_demo(engine, data)
    outcomes = report_demo_loans(engine, data, default_ratio(settings))
    dashboards_job(engine, settings, utcnow())
    return data, outcomes


def _rows(engine: Engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def _admin(http: httpx.Client) -> dict[str, str]:
    answer = http.post("/auth/login", json={"employee_no": DEMO_ADMIN, "password": DEMO_PASSWORD})
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def test_the_demo_store_has_loans_shares_participation_and_a_queue(server: LiveServer) -> None:
    data, outcomes = _load(server.engine, server.app.state.settings)
    codes = {p["credit_code"] for p in data.prospect}
    matched = [e for e in data.loan_feed if e["credit_code"] in codes]
    strangers = [e for e in data.loan_feed if e["credit_code"] not in codes]
    assert outcomes.get("rejected", 0) == 0 and outcomes.get("duplicate", 0) == 0
    assert outcomes["queued"] == len(strangers) >= 3
    assert outcomes["applied"] + outcomes["recorded"] == len(matched)

    # every disbursed loan of a whitelisted business moved its prospect and was shared out
    loans = _rows(
        server.engine,
        "SELECT e.loan_id, e.amount, p.status, p.disbursed_amount FROM loan_event e"
        " JOIN prospect p ON p.id = e.prospect_id"
        " WHERE e.status = 'disbursed' AND e.state IN ('applied', 'recorded')",
    )
    disbursed = {e["loan_id"]: e["amount"] for e in matched if e["status"] == "disbursed"}
    assert len(disbursed) >= 20
    assert {loan: amount for loan, amount, _, _ in loans} == disbursed
    assert all(status == "disbursed" and held == amount for _, amount, status, held in loans)
    shares: dict[str, int] = defaultdict(int)
    parties: dict[str, set[str]] = defaultdict(set)
    for loan, party, fen in _rows(
        server.engine, "SELECT loan_id, party, amount_fen FROM profit_share"
    ):
        shares[loan] += fen
        parties[loan].add(party)
    assert shares == {loan: amount * 100 for loan, amount in disbursed.items()}
    assert all(p == {"marketer", "originator", "booking_outlet"} for p in parties.values())

    headers = {PROTOCOL_HEADER: str(PROTOCOL_VERSION)}
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as http:
        admin = _admin(http)
        queue = http.get("/loans/unmatched", headers=admin, params={"limit": 100})
        assert queue.status_code == 200, queue.text
        assert queue.json()["total"] == len(strangers)
        assert {i["credit_code"] for i in queue.json()["items"]} == {
            e["credit_code"] for e in strangers
        }

        # the month of the latest disbursement: the outlets that booked its loans took part
        last: date = max(e["occurred_on"] for e in matched if e["status"] == "disbursed")
        month = {
            e["booking_outlet_code"]
            for e in matched
            if e["status"] == "disbursed" and e["occurred_on"].replace(day=1) == last.replace(day=1)
        }
        answer = http.get(
            "/dashboards/participation",
            headers=admin,
            params={"period": "month", "on": last.isoformat(), "by": "branch"},
        )
        assert answer.status_code == 200, answer.text
        total = answer.json()["total"]
        assert total["booked_outlets"] == len(month) >= 1
        assert total["booked_outlet_rate"] > 0
        assert total["marketed_staff"] >= 1 and total["originated_staff"] >= 1
        assert total["any_staff_rate"] > 0

    # the first housekeeping round takes no untouched prospect back to its pool
    assert pool_return_job(server.engine, server.app.state.settings, utcnow()) == 0


def test_the_same_seed_gives_the_same_loans_and_shares(tmp_path: Path) -> None:
    found = []
    for name in ("first", "again"):
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / name}.sqlite3",
            data_dir=tmp_path,
            secret_key=TEST_SECRET,
        )
        engine = make_engine(settings.server_database_url())
        migrate(engine)
        _load(engine, settings)
        found.append(
            (
                _rows(
                    engine,
                    "SELECT loan_id, status, state, amount, prospect_id FROM loan_event"
                    " ORDER BY loan_id, status",
                ),
                _rows(
                    engine,
                    "SELECT loan_id, party, user_id, outlet_id, amount_fen FROM profit_share"
                    " ORDER BY loan_id, party",
                ),
                _rows(engine, "SELECT id, status, disbursed_amount FROM prospect ORDER BY id"),
            )
        )
        engine.dispose()
    assert found[0] == found[1]
    assert found[0][1]  # shares were made

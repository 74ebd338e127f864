"""The demo data set: deterministic, realistic and consistent with the funnel rules."""

from __future__ import annotations

import json
import math
import re
import time
import uuid
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Any

import pytest

import app.demo as demo
from app.config import Settings
from app.demo import (
    DEMO_ADMIN,
    DEMO_MANAGER,
    DEMO_MARKETER,
    DEMO_PASSWORD,
    DEMO_SUBBRANCH_MANAGER,
    DemoData,
    generate,
)
from app.models import (
    FunnelEvent,
    MarketingLog,
    Outlet,
    Prospect,
    Transfer,
    User,
    WhitelistBatch,
)
from app.models.loan import LoanEventIn
from app.services.distribution import pool_return_due
from app.services.funnel import FunnelError, FunnelStatus, check_transition
from app.services.validation import is_valid_credit_code, is_valid_mobile

TODAY = date(2026, 3, 10)
MIDNIGHT = datetime(2026, 3, 10)  # today 00:00 UTC = 08:00 in Beijing
OPEN = {"assigned", "contacted", "interested", "applied", "approved"}
WORKED = {"contacted", "interested", "applied", "approved", "disbursed"}
Row = dict[str, Any]


@pytest.fixture(scope="module")
def data() -> DemoData:
    return generate(today=TODAY)


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


def _by(rows: list[Row], key: str) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        out[row[key]].append(row)
    return out


def _check_funnel(d: DemoData) -> None:
    """Every event is allowed, chains from the status before it, and ends at the status."""
    events = _by(d.funnel_event, "prospect_id")
    for p in d.prospect:
        chain = sorted(events.get(p["id"], []), key=lambda e: e["recorded_at"])
        status = "unassigned"
        for event in chain:
            assert event["applied"] is True
            assert event["from_status"] == status
            check_transition(status, event["to_status"])
            status = event["to_status"]
        assert status == p["status"]
        assert (p["assignee_id"] is None) == (p["status"] == "unassigned")
        if chain:
            assert chain[0]["to_status"] == "assigned"


# -- determinism and shape -------------------------------------------------------


def test_the_same_seed_gives_the_same_data() -> None:
    first = generate(prospects=600, seed=7, today=TODAY)
    again = generate(prospects=600, seed=7, today=TODAY)
    assert first == again
    assert first.loan_feed and first.loan_feed == again.loan_feed
    other = generate(prospects=600, seed=8, today=TODAY)
    assert other.prospect[0]["id"] != first.prospect[0]["id"]


def test_rows_carry_exactly_the_table_columns(data: DemoData) -> None:
    models = {
        "outlet": Outlet,
        "user": User,
        "whitelist_batch": WhitelistBatch,
        "prospect": Prospect,
        "marketing_log": MarketingLog,
        "funnel_event": FunnelEvent,
        "transfer": Transfer,
    }
    for name, rows in data.tables().items():
        columns = {c.name for c in models[name].__table__.columns} - {"rev", "password_hash"}
        assert rows, name
        for row in rows:
            assert set(row) == columns, name
    assert data.counts()["prospect"] == 6000


def test_ids_are_unique_version_4_uuids(data: DemoData) -> None:
    ids = [row["id"] for rows in data.tables().values() for row in rows]
    assert len(ids) == len(set(ids))
    for value in ids[:500]:
        assert uuid.UUID(value).version == 4
        assert str(uuid.UUID(value)) == value


def test_timestamps_are_naive_and_in_the_past(data: DemoData) -> None:
    for name, rows in data.tables().items():
        for row in rows:
            for key, value in row.items():
                if isinstance(value, datetime):
                    assert value.tzinfo is None, (name, key)
                    assert value < MIDNIGHT + timedelta(hours=2), (name, key)


# -- outlets, users, batches -----------------------------------------------------


def test_outlets_cover_the_zunyi_districts_and_counties(data: DemoData) -> None:
    outlets = data.outlet
    assert len(outlets) == 38
    assert len({o["branch_name"] for o in outlets}) == 29
    assert [o["code"] for o in outlets] == [f"GZ-ZY-{i:03d}" for i in range(1, 39)]
    tiers = Counter(o["tier"] for o in outlets)
    assert set(tiers) == {"flagship", "benchmark", "general"}
    assert 1 <= tiers["flagship"] <= 5
    places = (
        "红花岗区",
        "汇川区",
        "播州区",
        "新蒲新区",
        "仁怀市",
        "赤水市",
        "桐梓县",
        "绥阳县",
        "正安县",
        "道真县",
        "务川县",
        "凤冈县",
        "湄潭县",
        "余庆县",
        "习水县",
    )
    for place in places:
        assert any(place in o["address"] for o in outlets), place
    for o in outlets:
        assert o["name"].startswith("工行遵义") and o["name"].startswith(o["branch_name"])
        assert 27.1 < o["lat"] < 29.0 and 105.5 < o["lon"] < 108.2  # Zunyi, WGS-84
    centre = next(o for o in outlets if o["name"] == "工行遵义汇川支行营业室")
    assert _km(centre["lat"], centre["lon"], 27.7256, 106.9272) < 2


def test_users_cover_four_roles_with_the_demo_password(data: DemoData) -> None:
    users = data.user
    assert 84 <= len(users) <= 94
    roles = Counter(u["role"] for u in users)
    assert 1 <= roles["admin"] <= 2 and roles["outlet_manager"] >= 5 and roles["marketer"] >= 38
    assert roles["subbranch_manager"] == 29
    prefix = {"admin": "A", "outlet_manager": "G", "marketer": "M", "subbranch_manager": "Z"}
    for u in users:
        assert re.fullmatch(prefix[u["role"]] + r"\d{4}", u["employee_no"])
        assert u["outlet_id"] and u["active"] is True
    assert len({u["name"] for u in users}) == len(users)
    assert data.passwords == {u["employee_no"]: DEMO_PASSWORD for u in users}
    marketed = {u["outlet_id"] for u in users if u["role"] == "marketer"}
    assert marketed == {o["id"] for o in data.outlet}


def test_the_demo_users_work_at_one_busy_city_outlet(data: DemoData) -> None:
    users = {u["employee_no"]: u for u in data.user}
    marketer, manager = users[DEMO_MARKETER], users[DEMO_MANAGER]
    assert marketer["role"] == "marketer" and manager["role"] == "outlet_manager"
    assert users[DEMO_ADMIN]["role"] == "admin"
    assert marketer["outlet_id"] == manager["outlet_id"]
    outlet = next(o for o in data.outlet if o["id"] == marketer["outlet_id"])
    assert "汇川区" in outlet["address"] or "红花岗区" in outlet["address"]
    mine = [p for p in data.prospect if p["assignee_id"] == marketer["id"]]
    pool = [p for p in data.prospect if p["outlet_id"] == outlet["id"] and not p["assignee_id"]]
    assert len(mine) >= 40 and len(pool) >= 40
    due = [p["next_follow_up"] for p in mine if p["next_follow_up"]]
    assert sum(d == TODAY for d in due) >= 3
    assert sum(d < TODAY for d in due) >= 3


def test_every_sub_branch_has_one_manager_at_its_first_outlet(data: DemoData) -> None:
    first: dict[str, str] = {}
    for o in data.outlet:  # in code order
        first.setdefault(o["branch_name"], o["id"])
    managers = [u for u in data.user if u["role"] == "subbranch_manager"]
    assert [u["employee_no"] for u in managers] == [f"Z{i:04d}" for i in range(1, 30)]
    assert sorted(u["outlet_id"] for u in managers) == sorted(first.values())
    z = next(u for u in managers if u["employee_no"] == DEMO_SUBBRANCH_MANAGER)
    demo_outlet = next(u["outlet_id"] for u in data.user if u["employee_no"] == DEMO_MARKETER)
    assert z["outlet_id"] == demo_outlet
    branch = next(o["branch_name"] for o in data.outlet if o["id"] == demo_outlet)
    assert sum(o["branch_name"] == branch for o in data.outlet) == 2  # a sub-branch of two


def test_the_sub_branch_managers_left_every_other_row_as_it_was() -> None:
    """They come from their own generator: the other users, the outlets and the prospects
    are the ones the same seed gave before them (tests and the README name M0001 etc.)."""
    d = generate(prospects=300, seed=11, today=TODAY)
    others = [u for u in d.user if u["role"] != "subbranch_manager"]
    assert others == d.user[: len(others)]  # they come last
    assert [u["employee_no"] for u in others][:3] == ["A0001", "A0002", "G0001"]
    saved = demo._Generator.subbranch_managers
    try:
        demo._Generator.subbranch_managers = lambda self, ctxs: None  # type: ignore[method-assign]
        without = generate(prospects=300, seed=11, today=TODAY)
    finally:
        demo._Generator.subbranch_managers = saved  # type: ignore[method-assign]
    assert without.user == others
    assert without.prospect == d.prospect and without.outlet == d.outlet


def test_three_batches_one_expiring_soon(data: DemoData) -> None:
    batches = data.whitelist_batch
    assert {b["product"] for b in batches} == {"经营快贷", "商户贷", "税务贷"}
    assert {b["source"] for b in batches} <= {"head_office", "branch"}
    for b in batches:
        assert b["valid_from"] <= TODAY <= b["valid_until"]
        assert b["created_at"].date() < b["valid_from"]
    assert any(b["valid_until"] - TODAY <= timedelta(days=21) for b in batches)
    counts = Counter(p["batch_id"] for p in data.prospect)
    assert all(counts[b["id"]] > 300 for b in batches)


# -- prospects --------------------------------------------------------------------


def test_credit_codes_are_valid_and_unique(data: DemoData) -> None:
    codes = [p["credit_code"] for p in data.prospect]
    assert len(set(codes)) == len(codes)
    assert all(is_valid_credit_code(c) for c in codes)
    assert {c[:2] for c in codes} == {"91", "92", "93"}  # companies, individuals, co-ops
    assert all(c[2:6] == "5203" for c in codes)  # Zunyi division codes


def test_phones_are_valid_mobiles(data: DemoData) -> None:
    phones = [p["phone"] for p in data.prospect]
    assert all(is_valid_mobile(p) and len(p) == 11 for p in phones)
    assert len(set(phones)) == len(phones)


def test_prospects_lie_near_their_outlet(data: DemoData) -> None:
    outlets = {o["id"]: o for o in data.outlet}
    for p in data.prospect:
        o = outlets[p["outlet_id"]]
        assert _km(p["lat"], p["lon"], o["lat"], o["lon"]) <= 10
    urban = Counter(p["outlet_id"] for p in data.prospect)
    city = outlets[max(urban, key=urban.__getitem__)]
    assert "汇川区" in city["address"] or "红花岗区" in city["address"]


def test_prospect_fields_are_plausible(data: DemoData) -> None:
    kinds = Counter()
    for p in data.prospect:
        assert 30_000 <= p["pre_approved_line"] <= 3_000_000
        assert p["pre_approved_line"] % 1000 == 0
        assert 40 <= p["score"] <= 99
        tags = json.loads(p["tags"])
        assert isinstance(tags, list) and all(isinstance(t, str) for t in tags)
        assert len(tags) == len(set(tags))
        assert p["company_name"] and p["legal_rep"] and p["industry"] and p["address"]
        name = p["company_name"]
        kinds[next((k for k in ("有限公司", "合作社") if name.endswith(k)), "个体")] += 1
        assert name.startswith(("遵义市", "仁怀市", "赤水市")) or name[2] == "县"
    assert kinds["有限公司"] > 1000 and kinds["个体"] > 1000 and kinds["合作社"] > 50
    assert len({p["industry"] for p in data.prospect}) >= 10


def test_about_two_thirds_are_assigned_to_a_marketer_of_their_outlet(data: DemoData) -> None:
    users = {u["id"]: u for u in data.user}
    assigned = [p for p in data.prospect if p["assignee_id"]]
    assert 0.58 <= len(assigned) / len(data.prospect) <= 0.72
    for p in assigned:
        user = users[p["assignee_id"]]
        assert user["role"] == "marketer" and user["outlet_id"] == p["outlet_id"]


# -- history: funnel events, logs, transfers ---------------------------------------


def test_every_status_matches_its_events_and_every_event_is_allowed(data: DemoData) -> None:
    _check_funnel(data)


def test_the_funnel_has_a_realistic_shape(data: DemoData) -> None:
    statuses = Counter(p["status"] for p in data.prospect)
    assigned = sum(n for s, n in statuses.items() if s != "unassigned")
    reached = Counter(e["to_status"] for e in data.funnel_event)
    assert 0.5 <= reached["contacted"] / assigned <= 0.7
    assert 0.3 <= reached["interested"] / reached["contacted"] <= 0.6
    assert statuses["disbursed"] > 100
    assert statuses["declined"] > 100 and statuses["invalid"] > 30
    assert set(statuses) == {s.value for s in FunnelStatus}


def test_disbursements_carry_their_amount(data: DemoData) -> None:
    prospects = {p["id"]: p for p in data.prospect}
    for e in data.funnel_event:
        p = prospects[e["prospect_id"]]
        if e["to_status"] == "disbursed":
            assert e["amount"] == p["disbursed_amount"]
            assert 0 < e["amount"] <= p["pre_approved_line"]
        else:
            assert e["amount"] is None
    for p in data.prospect:
        assert (p["disbursed_amount"] is not None) == (p["status"] == "disbursed")


def test_worked_prospects_have_logs_by_their_marketer(data: DemoData) -> None:
    logs = _by(data.marketing_log, "prospect_id")
    prospects = {p["id"]: p for p in data.prospect}
    for p in data.prospect:
        mine = logs.get(p["id"], [])
        if p["status"] in WORKED or p["status"] == "invalid":
            assert mine, p["status"]
        if p["status"] == "unassigned":
            assert not mine
        if mine:
            last = max(mine, key=lambda log: log["occurred_at"])
            assert p["last_contact_at"] == last["occurred_at"]
            if p["status"] in OPEN:
                assert p["next_follow_up"] == last["next_follow_up"] is not None
        else:
            assert p["last_contact_at"] is None
        if p["status"] not in OPEN:
            assert p["next_follow_up"] is None
    for log in data.marketing_log:
        assert log["author_id"] == prospects[log["prospect_id"]]["assignee_id"]
        assert log["device_id"] == "demo" and log["attachments"] == "[]"
        assert log["recorded_at"] >= log["occurred_at"]
        assert log["occurred_at"] >= MIDNIGHT - timedelta(days=demo.HISTORY_DAYS)


def test_visits_check_in_near_the_business(data: DemoData) -> None:
    prospects = {p["id"]: p for p in data.prospect}
    channels = Counter(log["channel"] for log in data.marketing_log)
    assert set(channels) == {"visit", "phone", "wechat", "at_outlet"}
    for log in data.marketing_log:
        if log["channel"] == "visit":
            p = prospects[log["prospect_id"]]
            assert _km(log["lat"], log["lon"], p["lat"], p["lon"]) < 0.3
        else:
            assert log["lat"] is None and log["lon"] is None


def test_updated_at_follows_the_latest_change(data: DemoData) -> None:
    times: dict[str, list[datetime]] = defaultdict(list)
    for e in data.funnel_event:
        times[e["prospect_id"]].append(e["recorded_at"])
    for log in data.marketing_log:
        times[log["prospect_id"]].append(log["recorded_at"])
    for t in data.transfer:
        times[t["prospect_id"]].append(t["created_at"])
    for p in data.prospect:
        if p["id"] in times:
            assert p["updated_at"] == max(times[p["id"]])


def test_transfers_move_prospects_between_marketers_of_one_outlet(data: DemoData) -> None:
    users = {u["id"]: u for u in data.user}
    prospects = {p["id"]: p for p in data.prospect}
    first_assigned = {
        e["prospect_id"]: e["recorded_at"]
        for e in data.funnel_event
        if e["to_status"] == "assigned"
    }
    first_log: dict[str, datetime] = {}
    for log in data.marketing_log:
        pid = log["prospect_id"]
        first_log[pid] = min(first_log.get(pid, log["occurred_at"]), log["occurred_at"])
    assert 15 <= len(data.transfer) <= 80
    for t in data.transfer:
        p = prospects[t["prospect_id"]]
        assert t["to_user_id"] == p["assignee_id"] != t["from_user_id"]
        assert t["from_outlet_id"] == t["to_outlet_id"] == p["outlet_id"]
        assert users[t["from_user_id"]]["outlet_id"] == p["outlet_id"]
        manager = users[t["by_user_id"]]
        assert manager["role"] == "outlet_manager" and manager["outlet_id"] == p["outlet_id"]
        assert t["reason"]
        assert first_assigned[p["id"]] < t["created_at"]
        if p["id"] in first_log:
            assert t["created_at"] < first_log[p["id"]]


def test_no_untouched_prospect_is_due_back_to_its_pool(data: DemoData) -> None:
    """The store's first housekeeping finds none: a prospect handed over and never
    contacted since was handed over within the pool return's days."""
    days = Settings().pool_return_days
    end_of_today = MIDNIGHT + timedelta(hours=16)  # 24:00 in Beijing
    untouched = [
        p
        for p in data.prospect
        if p["status"] == "assigned"
        and (p["last_contact_at"] is None or p["last_contact_at"] < p["assigned_at"])
    ]
    assert len(untouched) > 500  # the demo still has plenty of fresh work
    for p in untouched:
        assert not pool_return_due(
            p["assigned_at"], p["last_contact_at"], p["status"], end_of_today, days
        )
        assert p["assigned_at"] >= MIDNIGHT - timedelta(days=demo.UNTOUCHED_DAYS)


# -- the loan system's feed -------------------------------------------------------


def _loans(d: DemoData) -> dict[str, list[Row]]:
    return _by(d.loan_feed, "loan_id")


def test_the_loan_feed_reports_loans_as_the_loan_system_would(data: DemoData) -> None:
    order = ["applied", "approved", "disbursed", "overdue", "repaid"]
    employees = {u["employee_no"]: u for u in data.user}
    outlets = {o["code"]: o for o in data.outlet}
    assert data.loan_feed == sorted(
        data.loan_feed, key=lambda e: (e["occurred_on"], e["loan_id"], order.index(e["status"]))
    )
    for event in data.loan_feed:
        LoanEventIn.model_validate(event)  # the wire model takes it as it is
        assert is_valid_credit_code(event["credit_code"])
        assert event["booking_outlet_code"] in outlets
        assert employees[event["originator_employee_no"]]["role"] in ("marketer", "outlet_manager")
        booker = employees[event["booker_employee_no"]]
        assert booker["outlet_id"] == outlets[event["booking_outlet_code"]]["id"]
        assert TODAY - timedelta(days=demo.LOAN_FEED_DAYS + 60) <= event["occurred_on"] < TODAY
    for loan_id, events in _loans(data).items():
        statuses = [e["status"] for e in events]
        assert statuses == sorted(statuses, key=order.index) and len(set(statuses)) == len(events)
        assert [e["occurred_on"] for e in events] == sorted(e["occurred_on"] for e in events)
        same = {(e["credit_code"], e["booking_outlet_code"], e["product"]) for e in events}
        assert len(same) == 1, loan_id
        amounts = {e["status"]: e["amount"] for e in events}
        chain = [amounts[s] for s in order[:3] if s in amounts]  # asked ≥ approved ≥ drawn
        assert chain == sorted(chain, reverse=True) and chain[-1] > 0
        for later in ("overdue", "repaid"):
            assert amounts.get(later, amounts.get("disbursed")) == amounts.get("disbursed")
    statuses = Counter(e["status"] for e in data.loan_feed)
    assert statuses["disbursed"] >= 100 and statuses["approved"] > statuses["disbursed"]
    assert statuses["repaid"] >= 5 and statuses["overdue"] >= 1


def test_the_feed_takes_the_banks_decisions_of_whitelisted_loans(data: DemoData) -> None:
    """A loan of a whitelisted business goes with its prospect: the marketer's log moved
    it to applied (its own history ends there); approval and disbursement are the feed's,
    for no more than the prospect's line, booked and originated mostly at home."""
    prospects = {p["credit_code"]: p for p in data.prospect}
    events = _by(data.funnel_event, "prospect_id")
    users = {u["id"]: u for u in data.user}
    outlet_code = {o["id"]: o["code"] for o in data.outlet}
    agreed = {
        log["prospect_id"]: (log["occurred_at"] + timedelta(hours=8)).date()  # Beijing day
        for log in data.marketing_log
        if log["outcome"] == "agreed_to_apply"
    }
    loans = [es for es in _loans(data).values() if es[0]["credit_code"] in prospects]
    assert len(loans) >= 150
    home = own = later = 0
    for es in loans:
        p = prospects[es[0]["credit_code"]]
        assert es[0]["status"] == "applied" and p["status"] == "applied"
        assert es[0]["occurred_on"] >= agreed[p["id"]]  # reported once the customer agreed
        later += es[0]["occurred_on"] > agreed[p["id"]]
        assert p["disbursed_amount"] is None
        assert not {"approved", "disbursed"} & {e["to_status"] for e in events[p["id"]]}
        assert max(e["amount"] for e in es) <= p["pre_approved_line"]
        assert es[0]["product"] == next(
            b["product"] for b in data.whitelist_batch if b["id"] == p["batch_id"]
        )
        home += es[0]["booking_outlet_code"] == outlet_code[p["outlet_id"]]
        own += es[0]["originator_employee_no"] == users[p["assignee_id"]]["employee_no"]
    assert later / len(loans) > 0.9  # the day after, as a rule: the timeline reads in order
    assert 0.75 <= home / len(loans) <= 0.95
    assert 0.6 <= own / len(loans) <= 0.85
    strangers = [e for e in data.loan_feed if e["credit_code"] not in prospects]
    assert 3 <= len({e["loan_id"] for e in strangers}) <= 10  # the admin's queue


def test_the_feed_left_every_other_row_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    """It draws from its own generator: without it (a feed never live), the outlets, users
    and every prospect it does not report on are the rows the same seed gave before."""
    d = generate(prospects=1_500, seed=11, today=TODAY)
    monkeypatch.setattr(demo, "LOAN_FEED_DAYS", -1)  # live from tomorrow: no loan reported
    without = generate(prospects=1_500, seed=11, today=TODAY)
    reported = {e["credit_code"] for e in d.loan_feed}
    assert without.user == d.user and without.outlet == d.outlet
    assert without.marketing_log == d.marketing_log and without.transfer == d.transfer
    codes = {p["credit_code"] for p in without.prospect}
    assert without.loan_feed and not {e["credit_code"] for e in without.loan_feed} & codes
    changed = [p for p, q in zip(d.prospect, without.prospect, strict=True) if p != q]
    assert changed and all(p["credit_code"] in reported for p in changed)
    assert [e["id"] for e in d.funnel_event] == [
        e["id"]
        for e in without.funnel_event
        if e["to_status"] not in ("approved", "disbursed")
        or next(p for p in d.prospect if p["id"] == e["prospect_id"])["credit_code"] not in reported
    ]


# -- scale ------------------------------------------------------------------------


def test_twenty_thousand_prospects_are_quick_and_consistent() -> None:
    started = time.perf_counter()
    big = generate(prospects=20_000, seed=3, today=TODAY)
    took = time.perf_counter() - started
    assert took < 10, f"{took:.1f}s"
    assert len(big.prospect) == 20_000
    assert len({p["credit_code"] for p in big.prospect}) == 20_000
    _check_funnel(big)


def test_huge_runs_bound_the_history_and_stay_consistent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(demo, "HISTORY_LIMIT", 50)
    d = generate(prospects=1_000, seed=5, today=TODAY)
    assert sum(p["status"] != "unassigned" for p in d.prospect) == 50
    _check_funnel(d)


def test_a_refused_move_would_be_caught_by_the_consistency_check() -> None:
    d = generate(prospects=200, seed=11, today=TODAY)
    event = next(e for e in d.funnel_event if e["to_status"] == "contacted")
    event["from_status"], event["to_status"] = "contacted", "assigned"
    with pytest.raises((AssertionError, FunnelError)):
        _check_funnel(d)

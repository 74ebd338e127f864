"""The loan system's feed over real HTTP, on SQLite and PostgreSQL: its key, its answers per
event (applied, recorded, queued, duplicate, rejected), what it changes (funnel, prospect,
profit shares) and what it never does (half-apply, move backwards, answer 5xx); the
admin's queue of the unmatched, the split by hand and the ratios per product.

The world (tests/world.py): outlet A (code T-001) with marketers M1, M2 and manager G1;
outlet B (T-002) with M3; admin A1. Every prospect is given a valid credit code here.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from app.i18n import t
from app.models import ChangeLog, FunnelEvent, Prospect
from app.models.ids import new_id, utcnow
from app.models.loan import ApiKey, LoanEvent, ProfitShare, ShareAdjustment
from app.server.api_keys import create_api_key, digest, revoke_api_key
from app.server.db import write_session
from app.services.clock import beijing_today, utc_midnight
from app.services.validation import make_credit_code
from tests.conftest import LiveServer
from tests.integration.conftest import bearer
from tests.world import PASSWORD, World, build_world, with_credit_codes

DAY = beijing_today() - timedelta(days=3)


@pytest.fixture
def world(server: LiveServer) -> World:
    return with_credit_codes(server.engine, build_world(server.engine))


@pytest.fixture
def key(server: LiveServer) -> str:
    return create_api_key(server.engine, name="信贷系统")


def event(
    prospect: dict | str,
    status: str,
    *,
    loan: str = "DK-1",
    amount: int = 500_000,
    on: date = DAY,
    **fields: object,
) -> dict:
    """One loan event for ``prospect`` (its row, or a credit code)."""
    code = prospect if isinstance(prospect, str) else prospect["credit_code"]
    body = {
        "loan_id": loan,
        "credit_code": code,
        "status": status,
        "amount": amount,
        "occurred_on": on.isoformat(),
        "booking_outlet_code": "T-001",
        "originator_employee_no": "M2",
        "booker_employee_no": "G1",
        "product": "经营快贷",
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


def post(http: httpx.Client, key: str, *events: object) -> dict:
    answer = http.post("/loans/events", json={"events": list(events)}, headers={"X-API-Key": key})
    assert answer.status_code == 200, answer.text
    return answer.json()


def outcomes(answer: dict) -> list[tuple[str, str]]:
    return [(r["outcome"], r["code"]) for r in answer["results"]]


def rows(server: LiveServer, model, *where) -> list:  # type: ignore[no-untyped-def]
    with write_session(server.engine) as session:
        found = list(session.execute(select(model).where(*where)).scalars())
        session.expunge_all()
    return found


def prospect(server: LiveServer, pid: str) -> Prospect:
    return rows(server, Prospect, Prospect.id == pid)[0]


def counts(server: LiveServer) -> dict[str, int]:
    """How many rows each table the feed writes holds, and the change log's newest seq."""
    with write_session(server.engine) as session:
        found = {
            m.__tablename__: session.execute(select(func.count()).select_from(m)).scalar_one()
            for m in (LoanEvent, FunnelEvent, ProfitShare, ChangeLog, ShareAdjustment)
        }
        found["seq"] = session.execute(select(func.max(ChangeLog.seq))).scalar_one()
    return found


def shares_of(server: LiveServer, loan: str) -> set[tuple]:
    return {
        (s.party, s.user_id, s.outlet_id, s.ratio_bp, s.amount_fen)
        for s in rows(server, ProfitShare, ProfitShare.loan_id == loan)
    }


# -- a matched loan ------------------------------------------------------------------------


def test_a_loan_moves_its_prospects_funnel_and_is_shared_out(server, world, key, http):
    p = world.prospects_of("M1")[0]
    answer = post(
        http,
        key,
        event(p, "applied"),
        event(p, "approved"),
        event(p, "disbursed", on=DAY + timedelta(days=1)),
    )
    assert outcomes(answer) == [("applied", "")] * 3
    assert answer["counts"] == {
        "applied": 3,
        "recorded": 0,
        "queued": 0,
        "duplicate": 0,
        "rejected": 0,
    }
    assert [r["index"] for r in answer["results"]] == [0, 1, 2]
    now = prospect(server, p["id"])
    assert (now.status, now.disbursed_amount, now.assignee_id) == (
        "disbursed",
        500_000,
        world.user_id("M1"),
    )
    last = rows(server, ChangeLog, ChangeLog.entity == "prospect", ChangeLog.entity_id == p["id"])
    assert now.rev == max(c.seq for c in last)  # devices' checksums agree
    moves = sorted(
        rows(server, FunnelEvent, FunnelEvent.prospect_id == p["id"]), key=lambda e: e.rev
    )
    assert [(e.from_status, e.to_status, e.applied, e.actor_id, e.amount) for e in moves] == [
        ("assigned", "applied", True, "loan_system", None),
        ("applied", "approved", True, "loan_system", None),
        ("approved", "disbursed", True, "loan_system", 500_000),
    ]
    assert moves[-1].occurred_at == utc_midnight(DAY + timedelta(days=1))
    stored = rows(server, LoanEvent, LoanEvent.loan_id == "DK-1")
    (key_row,) = rows(server, ApiKey)
    assert {(e.state, e.prospect_id, e.source, e.api_key_id) for e in stored} == {
        ("applied", p["id"], "api", key_row.id)
    }
    assert {e.funnel_event_id for e in stored} == {e.id for e in moves}
    a, m1, m2 = world.outlet_a, world.user_id("M1"), world.user_id("M2")
    assert shares_of(server, "DK-1") == {  # 4000 / 3000 / 3000 of 50,000,000 fen
        ("marketer", m1, a, 4000, 20_000_000),
        ("originator", m2, a, 3000, 15_000_000),
        ("booking_outlet", None, a, 3000, 15_000_000),
    }


def test_a_replay_is_a_duplicate_and_changes_nothing(server, world, key, http):
    p = world.prospects_of("M1")[1]
    sent = [event(p, "applied"), event(p, "disbursed"), event(p, "repaid")]
    assert outcomes(post(http, key, *sent)) == [("applied", ""), ("applied", ""), ("recorded", "")]
    before, held = counts(server), prospect(server, p["id"]).model_dump()
    again = post(http, key, *sent, sent[1])
    assert outcomes(again) == [("duplicate", "")] * 4
    assert again["counts"]["duplicate"] == 4
    assert counts(server) == before
    assert prospect(server, p["id"]).model_dump() == held
    # the same event twice in one request: taken once
    q = world.prospects_of("M2")[0]
    twice = post(http, key, event(q, "applied", loan="DK-2"), event(q, "applied", loan="DK-2"))
    assert outcomes(twice) == [("applied", ""), ("duplicate", "")]
    assert len(rows(server, LoanEvent, LoanEvent.loan_id == "DK-2")) == 1


def test_the_same_status_with_other_content_is_a_conflict(server, world, key, http):
    p = world.prospects_of("M1")[0]
    post(http, key, event(p, "disbursed"))
    before, shares = counts(server), shares_of(server, "DK-1")
    other = world.prospects_of("M2")[0]
    answer = post(
        http,
        key,
        event(p, "disbursed", amount=600_000),
        event(p, "disbursed", on=DAY - timedelta(days=1)),
        event(p, "disbursed", booking_outlet_code="T-002"),
        event(p, "disbursed", originator_employee_no="M1"),
        event(p, "disbursed", product="别的产品"),
        event(other, "disbursed"),
    )
    assert outcomes(answer) == [("rejected", "loan.conflict")] * 6
    assert answer["results"][0]["message"] == t("loan.conflict")
    assert counts(server) == before
    assert shares_of(server, "DK-1") == shares
    assert prospect(server, p["id"]).disbursed_amount == 500_000


# -- bad input ------------------------------------------------------------------------------


def test_every_bad_event_is_refused_with_its_code_and_nothing_stored(server, world, key, http):
    p = world.prospects_of("M1")[0]
    code = p["credit_code"]
    wrong_check = code[:17] + ("0" if code[17] != "0" else "1")
    today = beijing_today()
    bad = {
        "validation.credit_code.check": event(wrong_check, "applied"),
        "validation.credit_code.length": event(code[:17], "applied"),
        "validation.credit_code.charset": event(code[:16] + "I" + code[17], "applied"),
        "loan.outlet_unknown": event(p, "applied", booking_outlet_code="T-999"),
        "loan.originator_unknown": event(p, "applied", originator_employee_no="M9"),
        "loan.booker_unknown": event(p, "applied", booker_employee_no="NOBODY"),
        "loan.amount_invalid": event(p, "applied", amount=0),
        "loan.date_future": event(p, "applied", on=today + timedelta(days=2)),
        "loan.date_invalid": event(p, "applied", on=date(1999, 12, 31)),
        "loan.status_unknown": event(p, "cancelled"),
        "loan.field_missing": {k: v for k, v in event(p, "applied").items() if k != "loan_id"},
        "loan.field_unknown": event(p, "applied", branch="汇川"),
        "loan.loan_id_invalid": event(p, "applied", loan="DK 1"),
        "loan.employee_no_invalid": event(p, "applied", originator_employee_no="M 2"),
        "loan.product_invalid": event(p, "applied", product="产" * 41),
    }
    more = [  # (event, code) where one code has several faces
        (event(p, "applied", amount=-5), "loan.amount_invalid"),
        (event(p, "applied", amount=10_000_001), "loan.amount_invalid"),
        (event(p, "applied", amount=1.5), "loan.amount_invalid"),
        (event(p, "applied", amount="五十万"), "loan.amount_invalid"),
        ({**event(p, "applied"), "occurred_on": "下周一"}, "loan.date_invalid"),
        (42, "loan.invalid"),
        (None, "loan.invalid"),
        (["DK-1", "applied"], "loan.invalid"),
        (event(p, "applied", product="a\x00b"), "loan.invalid"),
    ]
    good = event(p, "applied", loan="DK-GOOD")
    sent = [*bad.values(), *(e for e, _ in more), good]
    before = counts(server)
    answer = post(http, key, *sent)
    expected = [(("rejected", c)) for c in bad] + [("rejected", c) for _, c in more]
    assert outcomes(answer) == [*expected, ("applied", "")]  # one bad never blocks the rest
    for result in answer["results"][:-1]:
        assert result["message"] and result["message"] != result["code"]
        assert t(result["code"], "en") != result["code"]  # both languages say it
    assert answer["results"][0]["loan_id"] == "DK-1"  # named as far as the item names it
    after = counts(server)
    assert after["loan_event"] == before["loan_event"] + 1  # the good one only
    assert {e.loan_id for e in rows(server, LoanEvent)} == {"DK-GOOD"}
    assert after["funnel_event"] == before["funnel_event"] + 1


def test_a_lone_surrogate_or_a_huge_value_is_one_rejected_event(server, world, key, http):
    p = world.prospects_of("M1")[0]
    good = json.dumps(event(p, "applied"))
    surrogate = json.dumps(event(p, "applied", product="\ud800"))  # valid JSON, unstorable
    huge = json.dumps(event(p, "applied", loan="x" * 1_000_000))
    raw = f'{{"events": [{surrogate}, {huge}, {good}]}}'
    answer = http.post(
        "/loans/events",
        content=raw.encode(),
        headers={"X-API-Key": key, "Content-Type": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    assert outcomes(answer.json()) == [
        ("rejected", "loan.invalid"),
        ("rejected", "loan.loan_id_invalid"),
        ("applied", ""),
    ]


def test_a_status_may_not_go_backwards(server, world, key, http):
    p = world.prospects_of("M1")[0]
    assert outcomes(post(http, key, event(p, "disbursed"))) == [("applied", "")]
    before = counts(server)
    back = post(http, key, event(p, "applied"), event(p, "approved"))
    assert outcomes(back) == [("rejected", "loan.status_backwards")] * 2
    assert "已放款" in back["results"][0]["message"] and "已申请" in back["results"][0]["message"]
    assert counts(server) == before
    # overdue, then repaid: forwards; kept with the loan, no funnel move
    later = post(http, key, event(p, "overdue"), event(p, "repaid"))
    assert outcomes(later) == [("recorded", ""), ("recorded", "")]
    assert counts(server)["funnel_event"] == before["funnel_event"]
    # a repaid loan does not fall overdue
    q = world.prospects_of("M2")[0]
    post(http, key, event(q, "repaid", loan="DK-2"))
    assert outcomes(post(http, key, event(q, "overdue", loan="DK-2"))) == [
        ("rejected", "loan.status_backwards")
    ]


GARBAGE = [
    b"not json at all",
    b"\xff\xfe\x00garbage",
    b"",
    b"[]",
    b"null",
    b'"events"',
    b"{}",
    b'{"events": []}',
    b'{"events": "DK-1"}',
    b'{"events": {"loan_id": "DK-1"}}',
    b'{"events": [1], "more": true}',
    b'{"events": [' + b",".join([b"{}"] * 501) + b"]}",
    b'{"events": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    b'{"events": [{"loan_id": "DK-1"' + b", " * 10 + b"}]}",
]


def test_garbage_bodies_answer_4xx_and_store_nothing(server, world, key, http):
    before = counts(server)
    for body in GARBAGE:
        answer = http.post(
            "/loans/events",
            content=body,
            headers={"X-API-Key": key, "Content-Type": "application/json"},
        )
        assert answer.status_code in (400, 422), (body[:40], answer.status_code, answer.text)
        assert answer.json()["code"] == "request.invalid"
    assert counts(server) == before


# -- the key --------------------------------------------------------------------------------


def test_the_key_opens_the_feed_and_nothing_else(server, world, key, http):
    p = world.prospects_of("M1")[0]
    body = {"events": [event(p, "applied")]}
    (row,) = rows(server, ApiKey)
    assert row.last_used_at is None and row.key_hash == digest(key) and key not in row.key_hash
    assert key.startswith(f"phk_{row.prefix}_")

    def refused(headers: dict[str, str]) -> tuple[int, str]:
        answer = http.post("/loans/events", json=body, headers=headers)
        return answer.status_code, answer.json()["code"]

    forged = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert refused({}) == (401, "apikey.missing")
    assert refused(bearer(http, "A1")) == (401, "apikey.user_token")
    assert refused({"X-API-Key": forged}) == (401, "apikey.invalid")
    assert refused({"X-API-Key": "phk_000000000000_" + "x" * 43}) == (401, "apikey.invalid")
    assert refused({"X-API-Key": "letmein"}) == (401, "apikey.invalid")
    assert refused({"Authorization": f"Bearer {key}"}) == (401, "apikey.user_token")
    # a key for another endpoint
    other = "phk_abcdefabcdef_" + "y" * 43
    with write_session(server.engine) as session:
        session.add(
            ApiKey(
                id=new_id(),
                name="别的系统",
                prefix="abcdefabcdef",
                key_hash=digest(other),
                endpoint="reports",
                created_at=utcnow(),
            )
        )
    assert refused({"X-API-Key": other}) == (403, "apikey.wrong_endpoint")
    # the key is no user's token anywhere else
    for method, path in [("GET", "/sync/pull"), ("GET", "/loans/unmatched")]:
        answer = http.request(method, path, headers={"X-API-Key": key})
        assert (answer.status_code, answer.json()["code"]) == (401, "auth.token_missing")
        answer = http.request(method, path, headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code == 401 and answer.json()["code"].startswith("auth.token")
    assert rows(server, LoanEvent) == []
    assert outcomes(post(http, key, *body["events"])) == [("applied", "")]
    assert rows(server, ApiKey, ApiKey.name == "信贷系统")[0].last_used_at is not None
    revoke_api_key(server.engine, name="信贷系统")
    assert refused({"X-API-Key": key}) == (401, "apikey.revoked")
    assert len(rows(server, LoanEvent)) == 1


# -- matching and the admin's queue ---------------------------------------------------------


def test_an_unmatched_event_waits_for_an_admin_who_matches_it(server, world, key, http):
    stranger = make_credit_code("520303", "MA7X0001")
    gone = world.prospects_of("M3")[0]
    with write_session(server.engine) as session:
        session.execute(
            update(Prospect).where(Prospect.id == gone["id"]).values(withdrawn_at=utcnow())
        )
    answer = post(
        http,
        key,
        event(stranger, "disbursed", loan="DK-Q1", amount=300_000),
        event(gone, "applied", loan="DK-Q2"),  # its only prospect was withdrawn
    )
    assert outcomes(answer) == [("queued", ""), ("queued", "")]
    assert {e.state for e in rows(server, LoanEvent)} == {"unmatched"}
    assert rows(server, ProfitShare) == []

    for who in ("M1", "G1"):
        denied = http.get("/loans/unmatched", headers=bearer(http, who))
        assert (denied.status_code, denied.json()["code"]) == (403, "auth.forbidden")
    admin = bearer(http, "A1")
    page = http.get("/loans/unmatched", headers=admin).json()
    assert page["total"] == 2 and [i["loan_id"] for i in page["items"]] == ["DK-Q1", "DK-Q2"]
    assert page["items"][0]["booking_outlet_code"] == "T-001"
    assert page["items"][0]["credit_code"] == stranger
    second = http.get("/loans/unmatched", params={"offset": 1, "limit": 1}, headers=admin).json()
    assert (second["total"], [i["loan_id"] for i in second["items"]]) == (2, ["DK-Q2"])
    assert http.get("/loans/unmatched", params={"limit": 0}, headers=admin).status_code == 422

    q1, q2 = (i["id"] for i in page["items"])
    p = world.prospects_of("M1")[0]
    assert _match(http, admin, new_id(), p["id"]) == (404, "loan.event_not_found")
    assert _match(http, admin, q1, new_id()) == (404, "prospect.not_found")
    assert _match(http, admin, q1, gone["id"]) == (422, "loan.prospect_withdrawn")
    assert _match(http, bearer(http, "G1"), q1, p["id"]) == (403, "auth.forbidden")
    matched = http.post(
        f"/loans/unmatched/{q1}/match", json={"prospect_id": p["id"]}, headers=admin
    )
    assert matched.status_code == 200, matched.text
    assert (matched.json()["outcome"], matched.json()["code"]) == ("applied", "")
    now = prospect(server, p["id"])
    assert (now.status, now.disbursed_amount) == ("disbursed", 300_000)
    (stored,) = rows(server, LoanEvent, LoanEvent.id == q1)
    assert (stored.state, stored.prospect_id, stored.resolved_by) == (
        "applied",
        p["id"],
        world.user_id("A1"),
    )
    assert {s[0]: s[1] for s in shares_of(server, "DK-Q1")}["marketer"] == world.user_id("M1")
    assert _match(http, admin, q1, p["id"])[0] == 409
    # the loan's next event follows the admin's match, though no prospect has its code
    later = post(http, key, event(stranger, "repaid", loan="DK-Q1", amount=300_000))
    assert outcomes(later) == [("recorded", "")]
    assert rows(server, LoanEvent, LoanEvent.status == "repaid")[0].prospect_id == p["id"]

    for reason in ("", "  ", "理" * 201):
        refused = http.post(
            f"/loans/unmatched/{q2}/dismiss", json={"reason": reason}, headers=admin
        )
        assert refused.status_code == 422
    dismissed = http.post(
        f"/loans/unmatched/{q2}/dismiss", json={"reason": "客户已迁出本行辖区"}, headers=admin
    )
    assert dismissed.status_code == 200, dismissed.text
    assert (dismissed.json()["state"], dismissed.json()["resolution_note"]) == (
        "dismissed",
        "客户已迁出本行辖区",
    )
    assert http.get("/loans/unmatched", headers=admin).json()["total"] == 0
    again = http.post(f"/loans/unmatched/{q2}/dismiss", json={"reason": "再次"}, headers=admin)
    assert (again.status_code, again.json()["code"]) == (409, "loan.not_unmatched")
    assert outcomes(post(http, key, event(gone, "applied", loan="DK-Q2"))) == [("duplicate", "")]


def _match(http: httpx.Client, headers: dict, event_id: str, prospect_id: str) -> tuple[int, str]:
    answer = http.post(
        f"/loans/unmatched/{event_id}/match", json={"prospect_id": prospect_id}, headers=headers
    )
    return answer.status_code, answer.json().get("code", "")


def test_the_funnel_rule_judges_the_loan_system_as_a_device(server, world, key, http):
    pooled = world.pool(world.outlet_a)[0]
    assert outcomes(post(http, key, event(pooled, "applied", loan="DK-P"))) == [("applied", "")]
    now = prospect(server, pooled["id"])
    assert (now.status, now.assignee_id) == ("applied", None)  # no claim asked of a loan
    post(http, key, event(pooled, "disbursed", loan="DK-P", amount=1_000))
    a, m2 = world.outlet_a, world.user_id("M2")
    assert shares_of(server, "DK-P") == {  # no marketer: its 40 % to the booking outlet
        ("originator", m2, a, 3000, 30_000),
        ("booking_outlet", None, a, 7000, 70_000),
    }

    closed, ahead, done = world.prospects_of("M2")[:3]
    with write_session(server.engine) as session:
        for p, status in ((closed, "declined"), (ahead, "approved"), (done, "disbursed")):
            session.execute(update(Prospect).where(Prospect.id == p["id"]).values(status=status))
    answer = post(
        http,
        key,
        event(closed, "approved", loan="DK-C"),
        event(ahead, "applied", loan="DK-A"),
        event(done, "disbursed", loan="DK-D", amount=2),
    )
    assert outcomes(answer) == [
        ("recorded", "funnel.closed"),
        ("recorded", "funnel.backwards"),
        ("recorded", "funnel.same_status"),
    ]
    for p, status in ((closed, "declined"), (ahead, "approved"), (done, "disbursed")):
        assert prospect(server, p["id"]).status == status
        (kept,) = rows(server, FunnelEvent, FunnelEvent.prospect_id == p["id"])
        assert (kept.applied, kept.actor_id) == (False, "loan_system")
        assert (
            kept.reason_code
            == {
                "declined": "funnel.closed",
                "approved": "funnel.backwards",
                "disbursed": "funnel.same_status",
            }[status]
        )
    assert {e.state for e in rows(server, LoanEvent, LoanEvent.loan_id.in_(["DK-C", "DK-A"]))} == {
        "recorded"
    }
    # a disbursement the funnel already held is still shared out
    assert sum(s[4] for s in shares_of(server, "DK-D")) == 200


def test_a_marketers_device_sees_the_loan_systems_move(server, world, key, http, make_device):
    device = make_device(server, "m1")
    device.login("M1", PASSWORD)
    device.sync()
    p = world.prospects_of("M1")[2]
    assert device.row("prospect", p["id"])["status"] == "assigned"
    post(http, key, event(p, "approved"), event(p, "disbursed", amount=88_000))
    device.sync()
    row = device.row("prospect", p["id"])
    assert (row["status"], row["disbursed_amount"]) == ("disbursed", 88_000)
    with device.store.read() as conn:
        moves = conn.exec_driver_sql(
            "SELECT actor_id, to_status, applied FROM funnel_event WHERE prospect_id = ? "
            "ORDER BY rev",
            (p["id"],),
        ).all()
    assert [tuple(m) for m in moves] == [
        ("loan_system", "approved", 1),
        ("loan_system", "disbursed", 1),
    ]


# -- shares and ratios ----------------------------------------------------------------------


def test_shares_follow_the_products_ratio_and_sum_exactly(server, world, key, http):
    admin = bearer(http, "A1")
    ratio = {
        "product": "测试贷",
        "marketer_bp": 3333,
        "originator_bp": 3333,
        "booking_outlet_bp": 3334,
        "remainder_to": "booking_outlet",
    }
    denied = http.put("/admin/share-ratios", json={"ratios": [ratio]}, headers=bearer(http, "G1"))
    assert denied.status_code == 403
    bad = http.put(
        "/admin/share-ratios",
        json={"ratios": [{**ratio, "booking_outlet_bp": 3333}]},
        headers=admin,
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "share.ratio_sum")
    assert "测试贷" in bad.json()["message"]
    party = http.put(
        "/admin/share-ratios", json={"ratios": [{**ratio, "remainder_to": "branch"}]}, headers=admin
    )
    assert party.status_code == 422
    done = http.put("/admin/share-ratios", json={"ratios": [ratio]}, headers=admin)
    assert done.status_code == 200, done.text
    listed = http.get("/admin/share-ratios", headers=admin).json()
    assert listed["default"]["marketer_bp"] == 4000
    assert [(r["product"], r["booking_outlet_bp"]) for r in listed["ratios"]] == [("测试贷", 3334)]

    one, big = world.prospects_of("M1")[:2]
    post(
        http,
        key,
        event(one, "disbursed", loan="DK-1Y", amount=1, product="测试贷"),
        event(big, "disbursed", loan="DK-BIG", amount=9_999_999, product="测试贷"),
    )
    a, m1, m2 = world.outlet_a, world.user_id("M1"), world.user_id("M2")
    assert shares_of(server, "DK-1Y") == {
        ("marketer", m1, a, 3333, 33),
        ("originator", m2, a, 3333, 33),
        ("booking_outlet", None, a, 3334, 34),
    }
    # a loan system's id may hold slashes (a contract number): its shares are still found
    post(http, key, event(big, "repaid", loan="DK-BIG", amount=9_999_999, product="测试贷"))
    post(http, key, event(one, "disbursed", loan="HT/2026/001", amount=3, product="测试贷"))
    slashed = http.get("/loans/HT/2026/001/shares", headers=admin)
    assert slashed.status_code == 200, slashed.text
    assert [(s["party"], s["amount_fen"]) for s in slashed.json()["shares"]] == [
        ("booking_outlet", 102),  # 300 fen: floors 100 / 99 / 99, the 2 left to the outlet
        ("marketer", 99),
        ("originator", 99),
    ]
    big_shares = shares_of(server, "DK-BIG")
    assert sum(s[4] for s in big_shares) == 999_999_900
    assert {s[0]: s[4] for s in big_shares}["booking_outlet"] == 333_399_968  # + 2 fen


def test_an_admin_adjusts_a_split_with_a_reason(server, world, key, http):
    p = world.prospects_of("M1")[0]
    post(http, key, event(p, "disbursed", amount=10_000))
    admin = bearer(http, "A1")
    shown = http.get("/loans/DK-1/shares", headers=admin).json()
    assert (shown["amount_fen"], shown["adjusted"], len(shown["shares"])) == (1_000_000, False, 3)
    assert http.get("/loans/DK-1/shares", headers=bearer(http, "G1")).status_code == 403
    missing = http.get("/loans/DK-NONE/shares", headers=admin)
    assert (missing.status_code, missing.json()["code"]) == (404, "loan.no_shares")

    m1, m2, a = world.user_id("M1"), world.user_id("M2"), world.outlet_a
    split = [
        {"party": "marketer", "user_id": m1, "amount_fen": 500_000},
        {"party": "marketer", "user_id": m2, "amount_fen": 200_000},
        {"party": "booking_outlet", "outlet_id": a, "amount_fen": 300_000},
    ]
    reason = "两人共同营销，经支行认定"
    off = [{**split[0], "amount_fen": 500_001}, *split[1:]]
    wrong = [
        ({"shares": off, "reason": reason}, "share.sum_mismatch"),
        ({"shares": split}, "request.invalid"),
        ({"shares": split, "reason": " "}, "request.invalid"),
        ({"shares": split, "reason": "因" * 201}, "request.invalid"),
        (
            {"shares": [{**split[0], "party": "branch"}, *split[1:]], "reason": reason},
            "request.invalid",
        ),
        (
            {"shares": [{**split[0], "user_id": new_id()}, *split[1:]], "reason": reason},
            "user.not_found",
        ),
        (
            {"shares": [{**split[0], "user_id": None}, *split[1:]], "reason": reason},
            "share.user_required",
        ),
        (
            {"shares": [*split[:2], {**split[2], "user_id": m1}], "reason": reason},
            "share.outlet_no_user",
        ),
        (
            {"shares": [*split[:2], {**split[2], "outlet_id": new_id()}], "reason": reason},
            "share.outlet_unknown",
        ),
    ]
    before = counts(server)
    for body, code in wrong:
        answer = http.put("/loans/DK-1/shares", json=body, headers=admin)
        assert (answer.status_code, answer.json()["code"]) == (422, code), body
    assert counts(server) == before
    assert http.get("/loans/DK-1/shares", headers=admin).json() == shown
    denied = http.put(
        "/loans/DK-1/shares", json={"shares": split, "reason": reason}, headers=bearer(http, "G1")
    )
    assert denied.status_code == 403

    done = http.put("/loans/DK-1/shares", json={"shares": split, "reason": reason}, headers=admin)
    assert done.status_code == 200, done.text
    after = done.json()
    assert after["adjusted"] is True
    assert {
        (s["party"], s["user_id"], s["outlet_id"], s["amount_fen"], s["ratio_bp"])
        for s in after["shares"]
    } == {
        ("marketer", m1, a, 500_000, 5000),
        ("marketer", m2, a, 200_000, 2000),
        ("booking_outlet", None, a, 300_000, 3000),
    }
    (audit,) = after["adjustments"]
    assert (audit["admin_id"], audit["reason"]) == (world.user_id("A1"), reason)
    assert {(s["party"], s["amount_fen"]) for s in audit["before"]} == {
        ("marketer", 400_000),
        ("originator", 300_000),
        ("booking_outlet", 300_000),
    }
    assert sorted(s["amount_fen"] for s in audit["after"]) == [200_000, 300_000, 500_000]
    (stored,) = rows(server, ShareAdjustment)
    assert stored.reason == reason and json.loads(stored.after) == audit["after"]
    assert all(s.adjusted for s in rows(server, ProfitShare, ProfitShare.loan_id == "DK-1"))


def test_an_admin_finds_disbursed_loans_by_id_credit_code_or_company(server, world, key, http):
    one, two = world.prospects_of("M1")[:2]
    three = world.prospects_of("M3")[0]
    with write_session(server.engine) as session:
        session.execute(
            update(Prospect).where(Prospect.id == one["id"]).values(company_name="汇川100%鲜果行")
        )
    older = DAY - timedelta(days=2)
    post(
        http,
        key,
        event(one, "disbursed", loan="HT/2026/A1", amount=120_000),
        event(
            three, "disbursed", loan="DK-B7", amount=30_000, booking_outlet_code="T-002", on=older
        ),
        event(two, "approved", loan="DK-NOTYET"),  # not disbursed: no split to find
        event(make_credit_code("520303", "MA6D9999"), "disbursed", loan="DK-QUEUED"),  # unmatched
    )
    admin = bearer(http, "A1")

    def found(**params: object) -> tuple[int, list[str]]:
        answer = http.get("/loans", params=params, headers=admin)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        return body["total"], [item["loan_id"] for item in body["items"]]

    listed = http.get("/loans", headers=admin).json()
    assert (listed["total"], listed["page"], listed["page_size"]) == (2, 1, 20)
    first, second = listed["items"]  # newest first
    assert first == {
        "loan_id": "HT/2026/A1",
        "amount": 120_000,
        "occurred_on": DAY.isoformat(),
        "product": "经营快贷",
        "company_name": "汇川100%鲜果行",
        "credit_code_masked": one["credit_code"][:4] + "*" * 10 + one["credit_code"][-4:],
        "booking_outlet_name": "测试汇川网点",
        "adjusted": False,
    }
    assert (second["loan_id"], second["booking_outlet_name"]) == ("DK-B7", "测试红花岗网点")

    assert found(q="ht/2026") == (1, ["HT/2026/A1"])  # the loan id, any case
    spaced = " ".join(three["credit_code"][i : i + 6] for i in (0, 6, 12)).lower()
    assert found(q=spaced) == (1, ["DK-B7"])  # the credit code as people type it
    assert found(q="鲜果") == (1, ["HT/2026/A1"])  # the company's name
    assert found(q="100%") == (1, ["HT/2026/A1"])  # "%" is a character, not a wildcard
    assert found(q="%") == (1, ["HT/2026/A1"])
    assert found(q="_") == (0, [])
    assert found(q="DK-NOTYET") == (0, [])
    assert found(q="DK-QUEUED") == (0, [])
    assert found(page_size=1, page=2) == (2, ["DK-B7"])
    assert found(page=9) == (2, [])

    # the flag says which split an admin changed
    m1 = world.user_id("M1")
    split = [
        {"party": "marketer", "user_id": m1, "amount_fen": 6_000_000},
        {"party": "booking_outlet", "amount_fen": 6_000_000},
    ]
    done = http.put(
        "/loans/HT/2026/A1/shares", json={"shares": split, "reason": "发起人离职"}, headers=admin
    )
    assert done.status_code == 200, done.text
    assert [i["adjusted"] for i in http.get("/loans", headers=admin).json()["items"]] == [
        True,
        False,
    ]

    # admins only; every parameter checked
    for who in ("G1", "M1"):
        answer = http.get("/loans", headers=bearer(http, who))
        assert (answer.status_code, answer.json()["code"]) == (403, "auth.forbidden")
    assert http.get("/loans").status_code == 401
    for params in (
        {"page": 0},
        {"page": "x"},
        {"page_size": 0},
        {"page_size": 101},
        {"q": "因" * 65},
        {"q": "DK\x00"},
        {"sort": "amount"},
    ):
        answer = http.get("/loans", params=params, headers=admin)
        assert (answer.status_code, answer.json()["code"]) == (422, "request.invalid"), params


def test_a_split_names_its_people_outlets_and_the_admin_who_changed_it(server, world, key, http):
    p = world.prospects_of("M1")[0]
    post(http, key, event(p, "disbursed", loan="DK-N", amount=1_000))
    admin = bearer(http, "A1")
    shown = http.get("/loans/DK-N/shares", headers=admin).json()
    assert (shown["company_name"], shown["booking_outlet_name"]) == (
        p["company_name"],
        "测试汇川网点",
    )
    assert [
        (s["party"], s["user_name"], s["employee_no"], s["outlet_name"]) for s in shown["shares"]
    ] == [
        ("booking_outlet", "", "", "测试汇川网点"),
        ("marketer", "张伟", "M1", "测试汇川网点"),
        ("originator", "李娜", "M2", "测试汇川网点"),
    ]
    body = {
        "shares": [
            {**{k: s[k] for k in ("party", "user_id", "outlet_id")}, "amount_fen": s["amount_fen"]}
            for s in shown["shares"]
        ],
        "reason": "复核无误",
    }
    done = http.put("/loans/DK-N/shares", json=body, headers=admin).json()
    (line,) = done["adjustments"]
    assert (line["admin_employee_no"], line["reason"]) == ("A1", "复核无误")
    assert line["admin_name"] == world.users["A1"]["name"]

"""Field finds (外拓线索): their wire payloads, the form's checks, the policy's rows, and the
device's own duplicate check."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from app.demo import _INDUSTRIES
from app.models.ids import new_id, utcnow
from app.models.sync import LeadCreatePayload, LeadReviewPayload
from app.models.wire import rule_code
from app.services.leads import (
    INDUSTRIES,
    LeadRuleError,
    check_lead_input,
    checked_lead,
    credit_code_problem,
    normalise_phone,
)
from app.services.policy import NO_LEAD, Action, LeadFacts, decide, decide_lead
from app.services.scope import Scope, scope_for
from app.services.validation import ValidationError as FormatError
from app.services.validation import make_credit_code
from app.sync import local
from app.sync.store import DeviceStore

CODE = make_credit_code("520303", "MA6D1234")
WRONG_CHECK = CODE[:17] + ("0" if CODE[17] != "0" else "1")
NOW = str(utcnow())


def lead(**changes: Any) -> dict[str, Any]:
    return {
        "id": new_id(),
        "company_name": "遵义外拓商行",
        "credit_code": CODE,
        "occurred_at": NOW,
        **changes,
    }


def review(**changes: Any) -> dict[str, Any]:
    return {
        "lead_id": new_id(),
        "decision": "approve",
        "prospect_id": new_id(),
        "transfer_id": new_id(),
        "occurred_at": NOW,
        **changes,
    }


def refusal(model: type, values: dict[str, Any]) -> str | None:
    with pytest.raises(ValidationError) as exc:
        model.model_validate(values)
    return rule_code(exc.value)


# -- wire ---------------------------------------------------------------------------------


def test_a_credit_code_is_folded_to_its_stored_form():
    typed = " ".join(CODE.lower()[i : i + 6] for i in range(0, 18, 6))  # spaced, lower case
    wide = typed.translate({c: c + 0xFEE0 for c in range(ord("0"), ord("9") + 1)})  # full-width
    assert LeadCreatePayload.model_validate(lead(credit_code=wide)).credit_code == CODE


@pytest.mark.parametrize("code", ["", "123", CODE + "1", CODE[:17] + "I", CODE[:17] + "\x00"])
def test_a_code_of_the_wrong_shape_is_refused_with_its_rule(code):
    assert refusal(LeadCreatePayload, lead(credit_code=code)) == "lead.credit_code_invalid"


def test_the_check_characters_are_the_rules_and_both_sides_ask_them():
    """The wire model lives below the rules: it checks the shape, ``checked_lead`` the GB
    32100 check characters and the phone (the device before queueing, the store on arrival)."""
    shaped = LeadCreatePayload.model_validate(lead(credit_code=WRONG_CHECK))
    with pytest.raises(LeadRuleError) as wrong:
        checked_lead(shaped)
    assert wrong.value.code == "lead.credit_code_invalid"
    bad_phone = LeadCreatePayload.model_validate(lead(phone="12345"))
    with pytest.raises(LeadRuleError) as phone:
        checked_lead(bad_phone)
    assert phone.value.code == "lead.phone_invalid"
    good = checked_lead(LeadCreatePayload.model_validate(lead(phone="０８５１-2822 1234")))
    assert good.phone == "0851-28221234"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"company_name": "   "}, None),
        ({"company_name": "甲" * 101}, None),
        ({"company_name": "甲\x00"}, None),
        ({"note": "x" * 501}, None),
        ({"lat": 27.7}, "lead.position_partial"),
        ({"lat": 91.0, "lon": 106.9}, None),
        ({"lat": float("nan"), "lon": 106.9}, None),
        ({"occurred_at": "1999-12-31T00:00:00"}, None),
        ({"id": ""}, None),
    ],
)
def test_a_find_out_of_bounds_is_refused(changes, code):
    assert refusal(LeadCreatePayload, lead(**changes)) == code


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"decision": "reject"}, "lead.reason_required"),
        ({"decision": "reject", "reason": "other"}, "lead.note_required"),
        ({"decision": "reject", "reason": "other", "note": "   "}, "lead.note_required"),
        ({"reason": "ineligible"}, "lead.reason_not_rejecting"),
        ({"note": "好"}, "lead.reason_not_rejecting"),
        ({"decision": "maybe"}, None),
        ({"decision": "reject", "reason": "too_far"}, None),
        ({"prospect_id": ""}, None),
        ({"note": "x" * 201, "decision": "reject", "reason": "other"}, None),
    ],
)
def test_a_review_says_why_only_when_it_sends_back(changes, code):
    assert refusal(LeadReviewPayload, review(**changes)) == code


def test_a_rejection_with_its_reason_is_taken():
    taken = LeadReviewPayload.model_validate(
        review(decision="reject", reason="other", note=" 店已关 ")
    )
    assert (taken.reason, taken.note) == ("other", "店已关")
    assert LeadReviewPayload.model_validate(review(decision="reject", reason="inaccurate"))


# -- the form ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("13985001234", "13985001234"),
        ("+86 139 8500 1234", "13985001234"),
        ("0851-28221234", "0851-28221234"),
        ("(0851) 2822 1234", "0851-28221234"),
        ("085128221234", "0851-28221234"),
        ("010 6512 3456", "010-65123456"),
        ("02162345678", "021-62345678"),
        ("０８５１２８２２１２３４", "0851-28221234"),
        ("", ""),
    ],
)
def test_a_phone_is_a_mobile_or_a_landline(typed, stored):
    assert normalise_phone(typed) == stored


@pytest.mark.parametrize("typed", ["12345", "0851-123", "28221234", "1398500123", "abc"])
def test_anything_else_is_no_phone(typed):
    with pytest.raises(FormatError) as exc:
        normalise_phone(typed)
    assert exc.value.code == "validation.phone"


def test_the_form_says_what_is_wrong_in_each_field():
    clean, problems = check_lead_input(
        company_name=" ", credit_code=WRONG_CHECK, phone="123", industry="航天"
    )
    assert clean is None
    assert problems == {
        "company_name": "lead.error.company_required",
        "credit_code": "validation.credit_code.check",
        "phone": "validation.phone",
        "industry": "lead.error.industry",
    }
    clean, problems = check_lead_input(
        company_name=" 遵义外拓商行 ", credit_code=CODE.lower(), phone="0851 28221234"
    )
    assert problems == {} and clean is not None
    assert (clean.company_name, clean.credit_code, clean.phone) == (
        "遵义外拓商行",
        CODE,
        "0851-28221234",
    )
    assert credit_code_problem("") == "lead.error.credit_code_required"
    assert credit_code_problem(CODE[:10]) == "validation.credit_code.length"


def test_the_form_offers_the_industries_the_data_uses():
    assert set(INDUSTRIES) == set(_INDUSTRIES)


# -- policy -----------------------------------------------------------------------------

MARKETER = Scope("m1", "marketer", "outlet-a")
MANAGER = Scope("g1", "outlet_manager", "outlet-a")
SUB = scope_for("s1", "subbranch_manager", "outlet-a", [("outlet-a", "汇川"), ("outlet-c", "汇川")])
ADMIN = Scope("a1", "admin", None)
HERE = LeadFacts("outlet-a", "m1")
THERE = LeadFacts("outlet-b", "m3")
SIBLING = LeadFacts("outlet-c", "m5")


@pytest.mark.parametrize(
    ("actor", "action", "facts", "code"),
    [
        (MARKETER, Action.PROPOSE, HERE, ""),
        (MANAGER, Action.PROPOSE, LeadFacts("outlet-a", "g1"), ""),
        (SUB, Action.PROPOSE, LeadFacts("outlet-a", "s1"), ""),
        (ADMIN, Action.PROPOSE, LeadFacts(None, "a1"), "auth.forbidden"),
        (Scope("m9", "marketer", None), Action.PROPOSE, LeadFacts(None, "m9"), "lead.no_outlet"),
        (MARKETER, Action.PROPOSE, THERE, "lead.out_of_scope"),  # not its own outlet's
        (MARKETER, Action.REVIEW, HERE, "auth.forbidden"),  # not even its own find
        (MANAGER, Action.REVIEW, HERE, ""),
        (MANAGER, Action.REVIEW, THERE, "lead.out_of_scope"),
        (MANAGER, Action.REVIEW, NO_LEAD, "lead.out_of_scope"),  # as one out of reach
        (SUB, Action.REVIEW, SIBLING, ""),  # every outlet of its sub-branch
        (SUB, Action.REVIEW, THERE, "lead.out_of_scope"),
        (ADMIN, Action.REVIEW, THERE, ""),
        (ADMIN, Action.REVIEW, NO_LEAD, "lead.out_of_scope"),
        (MANAGER, Action.ASSIGN, HERE, "auth.forbidden"),  # a prospect's action, not a find's
    ],
)
def test_who_may_propose_and_review_a_find(actor, action, facts, code):
    decision = decide_lead(actor, action, facts)
    assert (bool(decision), decision.code) == (not code, code)


def test_a_find_action_is_no_prospect_action():
    from app.services.policy import ProspectFacts

    assert not decide(ADMIN, Action.REVIEW, ProspectFacts("outlet-a", None, "unassigned"))


# -- the device's own duplicate check -----------------------------------------------------


@pytest.fixture
def store(tmp_path):
    s = DeviceStore(tmp_path / "device.sqlite3")
    with s.transaction() as conn:
        conn.exec_driver_sql(
            "INSERT INTO prospect (id, batch_id, company_name, credit_code, legal_rep, phone,"
            " industry, address, lat, lon, pre_approved_line, score, tags, outlet_id,"
            " assignee_id, status, updated_at, rev) VALUES ('p1', 'b1', '遵义已有商贸公司', ?,"
            " '赵六', '13800000001', '批发零售', '', 27.7, 106.9, 0, 0, '[]', 'outlet-a', 'm1',"
            " 'assigned', '2026-01-01 00:00:00', 3)",
            (CODE,),
        )
    yield s
    s.close()


def test_the_device_refuses_a_code_it_holds_naming_the_company(store):
    with pytest.raises(local.LocalError) as held:
        local.record_lead(store, MARKETER, company_name="新店", credit_code=CODE.lower())
    assert held.value.code == "lead.duplicate_local"
    assert held.value.params == {"company": "遵义已有商贸公司"}

    other = make_credit_code("520303", "MA6D5678")
    lead_id = local.record_lead(
        store, MARKETER, company_name="遵义新发现餐馆", credit_code=other, position=(27.7, 106.9)
    )
    with pytest.raises(local.LocalError) as found:  # a find pending on the device holds it too
        local.record_lead(store, MARKETER, company_name="又一次", credit_code=other)
    assert found.value.params == {"company": "遵义新发现餐馆"}
    with store.read() as conn:
        row = conn.exec_driver_sql(
            "SELECT status, finder_id, outlet_id, lat, rev FROM field_lead WHERE id = ?",
            (lead_id,),
        ).one()
        queued = conn.exec_driver_sql("SELECT kind, entity_id FROM outbox").all()
    assert tuple(row) == ("pending", "m1", "outlet-a", 27.7, 0)
    assert [tuple(q) for q in queued] == [("lead.create", lead_id)]

    # sent back, the code is free again: the finder may add it anew
    with store.transaction() as conn:
        conn.exec_driver_sql("UPDATE field_lead SET status = 'rejected' WHERE id = ?", (lead_id,))
    assert local.record_lead(store, MARKETER, company_name="重新提交", credit_code=other)


def test_a_bad_find_is_refused_on_the_device_and_nothing_is_saved(store):
    with pytest.raises(local.LocalError) as bad:
        local.record_lead(store, MARKETER, company_name="店", credit_code=WRONG_CHECK)
    assert bad.value.code == "lead.credit_code_invalid"
    with pytest.raises(local.LocalError) as admin:
        local.record_lead(
            store, ADMIN, company_name="店", credit_code=make_credit_code("520303", "MA6D9999")
        )
    assert admin.value.code == "auth.forbidden"
    with store.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM field_lead").scalar_one() == 0
        assert conn.exec_driver_sql("SELECT count(*) FROM outbox").scalar_one() == 0


def test_a_review_is_marked_at_once_and_laid_again_over_a_pull(store):
    from app.sync.apply import apply_page

    lead_id = local.record_lead(
        store,
        MARKETER,
        company_name="遵义新发现餐馆",
        credit_code=make_credit_code("520303", "MA6D4321"),
    )
    local.record_review(store, MANAGER, lead_id=lead_id, decision="reject", reason="ineligible")
    with pytest.raises(local.LocalError) as again:
        local.record_review(store, MANAGER, lead_id=lead_id, decision="approve")
    assert again.value.code == "lead.not_pending"
    # a pull that still carries the find as pending (the review not yet answered)
    with store.read() as conn:
        row = (
            conn.exec_driver_sql("SELECT * FROM field_lead WHERE id = ?", (lead_id,))
            .mappings()
            .one()
        )
    columns = [c for c in row.keys()]
    values = [row[c] for c in columns]
    values[columns.index("status")] = "pending"
    values[columns.index("rev")] = 9
    with store.transaction() as conn:
        apply_page(
            conn,
            {
                "cursor": "c",
                "entities": {"field_lead": {"columns": columns, "rows": [values], "deletes": []}},
            },
        )
    with store.read() as conn:
        status, reason = conn.exec_driver_sql(
            "SELECT status, review_reason FROM field_lead WHERE id = ?", (lead_id,)
        ).one()
    assert (status, reason) == ("rejected", "ineligible")

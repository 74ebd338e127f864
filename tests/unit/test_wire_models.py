"""The wire models refuse every value out of bounds, on whichever side parses them."""

from __future__ import annotations

import json
import math
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from app.models.ids import new_id, utcnow
from app.models.marketing_log import MarketingLogCreate
from app.models.sync import (
    PAYLOADS,
    AssignPayload,
    ClaimPayload,
    FunnelMovePayload,
    Mutation,
    MutationKind,
    PushRequest,
    RevealPayload,
)
from app.models.wire import AMOUNT_LIMIT, rule_code

NOW = str(utcnow())
DIGEST = "ab" * 32


def good_log(**changes: Any) -> dict[str, Any]:
    return {
        "id": new_id(),
        "prospect_id": new_id(),
        "channel": "visit",
        "occurred_at": NOW,
        "outcome": "interested",
        "note": "老板在店，下周带材料来网点",
        "lat": 27.7,
        "lon": 106.9,
        "next_follow_up": str(date.today() + timedelta(days=3)),
        "attachments": [DIGEST],
    } | changes


def test_a_good_log_travels_as_json_and_comes_back_equal() -> None:
    log = MarketingLogCreate.model_validate(good_log())
    wire = json.loads(json.dumps(log.model_dump(mode="json")))
    assert MarketingLogCreate.model_validate(wire) == log
    assert log.row()["attachments"] == json.dumps([DIGEST])  # the column keeps JSON text
    assert log.row()["channel"] == "visit" and type(log.row()["channel"]) is str


@pytest.mark.parametrize(
    "changes",
    [
        {"channel": "carrier pigeon"},
        {"outcome": "maybe"},
        {"id": ""},
        {"id": "x" * 65},
        {"prospect_id": "a\x00b"},
        {"prospect_id": "a\nb"},
        {"note": "长" * 501},
        {"note": "before\x00after"},
        {"lat": 91.0},
        {"lat": -90.5},
        {"lon": 180.5},
        {"lat": math.nan},
        {"lon": math.inf},
        {"lat": None},  # a position is both or neither
        {"lon": None},
        {"occurred_at": "9999-01-01 00:00:00"},
        {"occurred_at": str(utcnow() + timedelta(days=2))},
        {"occurred_at": "1970-01-01 00:00:00"},  # a clock reset to its epoch
        {"occurred_at": "9999-12-31T23:00-14:00"},  # past year 9999 in UTC
        {"next_follow_up": "2099-01-01"},
        {"next_follow_up": "1999-12-31"},
        {"attachments": ["not-a-digest"]},
        {"attachments": [DIGEST.upper()]},
        {"attachments": [DIGEST] * 10},
        {"attachments": "not json"},
        {"attachments": json.dumps(["photo.jpg"])},
    ],
    ids=repr,
)
def test_a_log_out_of_bounds_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        MarketingLogCreate.model_validate(good_log(**changes))


def test_a_log_queued_before_the_wire_model_still_parses() -> None:
    """Outboxes written by the previous release carry the column's JSON text."""
    legacy = good_log(attachments="[]", occurred_at="2026-11-30 08:00:00.123456")
    assert MarketingLogCreate.model_validate(legacy).attachments == []
    assert MarketingLogCreate.model_validate(
        good_log(attachments=json.dumps([DIGEST]))
    ).attachments == [DIGEST]


def test_a_log_needs_no_position_nor_note() -> None:
    log = MarketingLogCreate.model_validate(
        good_log(lat=None, lon=None, note="", next_follow_up=None, attachments=[])
    )
    assert (log.lat, log.lon, log.next_follow_up) == (None, None, None)


def test_the_bounds_themselves_are_accepted() -> None:
    edge = good_log(
        lat=-90, lon=180, note="字" * 500, occurred_at=str(utcnow() + timedelta(hours=23))
    )
    assert MarketingLogCreate.model_validate(edge).lat == -90


GOOD: dict[type[BaseModel], dict[str, Any]] = {
    FunnelMovePayload: {
        "event_id": "e1",
        "prospect_id": "p1",
        "to_status": "disbursed",
        "amount": 300_000,
        "occurred_at": NOW,
    },
    ClaimPayload: {"transfer_id": "t1", "prospect_id": "p1", "occurred_at": NOW},
    AssignPayload: {
        "transfer_id": "t1",
        "prospect_id": "p1",
        "to_user_id": "u1",
        "reason": "张伟休假",
        "occurred_at": NOW,
    },
    RevealPayload: {"event_id": "e1", "prospect_id": "p1", "field": "phone", "occurred_at": NOW},
}
BAD: list[tuple[type[BaseModel], dict[str, Any]]] = [
    (FunnelMovePayload, {"to_status": "signed"}),
    (FunnelMovePayload, {"amount": 0}),
    (FunnelMovePayload, {"amount": -5}),
    (FunnelMovePayload, {"amount": AMOUNT_LIMIT + 1}),
    (FunnelMovePayload, {"amount": 10**19}),
    (FunnelMovePayload, {"event_id": "x" * 65}),
    (FunnelMovePayload, {"occurred_at": "9999-12-31 00:00:00"}),
    (ClaimPayload, {"prospect_id": None}),
    (ClaimPayload, {"transfer_id": "\x7f"}),
    (AssignPayload, {"reason": "长" * 201}),
    (AssignPayload, {"reason": "\x00"}),
    (AssignPayload, {"to_user_id": ""}),
    (RevealPayload, {"field": "email"}),
    (RevealPayload, {"occurred_at": "not a time"}),
]


@pytest.mark.parametrize("model", list(GOOD), ids=lambda m: m.__name__)
def test_each_payload_accepts_a_good_one(model: type[BaseModel]) -> None:
    parsed = model.model_validate(GOOD[model])
    assert model.model_validate(parsed.model_dump(mode="json")) == parsed


@pytest.mark.parametrize(("model", "changes"), BAD, ids=repr)
def test_each_payload_refuses_a_bad_value(model: type[BaseModel], changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        model.model_validate(GOOD[model] | changes)


def test_every_mutation_kind_names_its_payload_model() -> None:
    assert set(PAYLOADS) == set(MutationKind)
    assert PAYLOADS[MutationKind.LOG_CREATE] is MarketingLogCreate


@pytest.mark.parametrize(
    "changes",
    [
        {"seq": 0},
        {"seq": 2**63},  # past the store's BIGINT
        {"kind": "log.delete"},
        {"id": ""},
        {"id": "m\x00"},
    ],
    ids=repr,
)
def test_a_mutation_envelope_out_of_bounds_is_refused(changes: dict[str, Any]) -> None:
    good = {"seq": 1, "id": "m1", "kind": "log.create", "payload": {}, "created_at": NOW}
    assert Mutation.model_validate(good).kind == MutationKind.LOG_CREATE
    with pytest.raises(ValidationError):
        Mutation.model_validate(good | changes)


def test_a_sequence_fits_a_bigint() -> None:
    good = {"id": "m1", "kind": "log.create", "payload": {}, "created_at": NOW}
    assert Mutation.model_validate(good | {"seq": 2**63 - 1}).seq == 2**63 - 1


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("2026-03-10T12:00+08:00", datetime(2026, 3, 10, 4, 0)),
        ("2026-03-10T12:00:00Z", datetime(2026, 3, 10, 12, 0)),
        ("2026-03-10T01:00-05:00", datetime(2026, 3, 10, 6, 0)),
        ("2026-03-10 12:00:00", datetime(2026, 3, 10, 12, 0)),  # naive means UTC
    ],
)
def test_a_time_with_an_offset_is_kept_as_naive_utc(sent: str, kept: datetime) -> None:
    assert MarketingLogCreate.model_validate(good_log(occurred_at=sent)).occurred_at == kept


def test_a_device_id_is_an_id() -> None:
    with pytest.raises(ValidationError):
        PushRequest.model_validate({"device_id": "device\x00\x00", "mutations": []})
    assert PushRequest.model_validate({"device_id": new_id(), "mutations": []}).mutations == []


def _move(**changes: Any) -> dict[str, Any]:
    return {"event_id": "e1", "prospect_id": "p1", "occurred_at": NOW} | changes


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"to_status": "declined"}, "funnel.reason_required"),
        ({"to_status": "invalid", "close_note": "号码是空号"}, "funnel.reason_required"),
        ({"to_status": "declined", "close_reason": "other"}, "funnel.note_required"),
        (
            {"to_status": "declined", "close_reason": "other", "close_note": "  "},
            "funnel.note_required",
        ),
        ({"to_status": "contacted", "close_reason": "duplicate"}, "funnel.reason_not_closing"),
        ({"to_status": "contacted", "close_note": "顺便说一句"}, "funnel.reason_not_closing"),
    ],
)
def test_a_closing_move_says_why_and_no_other_move_does(changes: dict[str, Any], code: str) -> None:
    with pytest.raises(ValidationError) as refused:
        FunnelMovePayload.model_validate(_move(**changes))
    assert rule_code(refused.value) == code  # what both sides answer with


def test_a_closing_move_with_its_reason_travels_whole() -> None:
    move = FunnelMovePayload.model_validate(
        _move(to_status="invalid", close_reason="other", close_note=" 重复导入的名单 ")
    )
    wire = move.model_dump(mode="json")
    assert (wire["close_reason"], wire["close_note"]) == ("other", "重复导入的名单")
    assert FunnelMovePayload.model_validate(wire) == move
    with pytest.raises(ValidationError) as refused:
        FunnelMovePayload.model_validate(_move(to_status="declined", close_reason="rude"))
    assert rule_code(refused.value) is None  # a value outside the list: a plain bad field

"""The log form's use case: where a visit is checked in, and refusals in words."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest
from pydantic import ValidationError

from app.services.marketing import new_log
from app.services.prospects import ProspectCard
from app.workbench.log import DEFAULT_FOLLOW_UP_DAYS, LogController, _refusal, check_in

CARD = ProspectCard(
    id="p1",
    company_name="遵义市汇川区付强个体工商户",
    legal_rep="付强",
    credit_code="",
    credit_code_masked="",
    phone="",
    phone_masked="",
    industry="餐饮",
    address="",
    lat=27.70,
    lon=106.93,
    pre_approved_line=0,
    score=0,
    tags=[],
    status="assigned",
    assignee_id="m1",
    assignee_name=None,
    outlet_id="o1",
    outlet_name=None,
    outlet_lat=27.72,
    outlet_lon=106.93,
    distance_km=None,
    batch_name="",
    batch_product="",
    batch_valid_until=None,
    disbursed_amount=None,
    next_follow_up=None,
    last_contact_at=None,
    pending_changes=0,
)


def test_a_device_fix_is_the_check_in_and_its_distance_to_the_address_is_shown():
    spot = check_in(CARD, (27.70, 106.94))
    assert spot is not None and (spot.lat, spot.lon) == (27.70, 106.94)
    assert spot.distance_km == pytest.approx(0.99, abs=0.02)


def test_without_a_fix_there_is_no_check_in_not_even_with_the_outlet_known():
    """The outlet's position is not evidence of a visit: nothing stands in for a fix."""
    assert CARD.outlet_lat is not None
    assert check_in(CARD, None) is None
    assert check_in(replace(CARD, outlet_lat=None, outlet_lon=None), None) is None


def test_a_new_log_proposes_a_follow_up_three_days_ahead():
    today = date.fromisoformat(LogController.follow_up_choices()[0][1]) - timedelta(days=1)
    proposed = date.fromisoformat(LogController.default_follow_up())
    assert proposed - today == timedelta(days=DEFAULT_FOLLOW_UP_DAYS) == timedelta(days=3)
    # one of the one-tap choices, so the form shows it selected
    assert LogController.default_follow_up() in dict(LogController.follow_up_choices()).values()


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({"lat": 91.0, "lon": 106.9}, "log.error.position"),
        ({"occurred_at": datetime(1999, 12, 31)}, "log.error.clock"),
        ({"attachments": ["not-a-digest"]}, "log.error.invalid"),
    ],
)
def test_what_the_wire_model_refuses_past_the_form_reads_in_words(values, code):
    with pytest.raises(ValidationError) as refused:
        new_log(prospect_id="p1", channel="visit", outcome="interested", **values)
    assert _refusal(refused.value) == code

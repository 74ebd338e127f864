from datetime import date, datetime, timedelta

from app.models.marketing_log import MarketingLogCreate
from app.models.wire import DATE_HORIZON
from app.services.marketing import (
    ContactUpdate,
    check_log_input,
    follow_up_choices,
    log_effect,
    new_log,
)

TODAY = date(2026, 11, 22)


def test_a_complete_log_passes_clean():
    clean, errors = check_log_input(
        channel="visit",
        outcome="interested",
        note="  老板在店 ",
        next_follow_up="2026-11-25",
        today=TODAY,
    )
    assert errors == {}
    assert clean.note == "老板在店" and clean.next_follow_up == date(2026, 11, 25)


def test_each_bad_field_gets_its_own_error():
    clean, errors = check_log_input(
        channel=None, outcome="nonsense", note="字" * 501, next_follow_up="25/11/2026", today=TODAY
    )
    assert clean is None
    assert errors == {
        "channel": "log.error.channel",
        "outcome": "log.error.outcome",
        "note": "log.error.note",
        "next_follow_up": "log.error.date",
    }


def test_a_follow_up_in_the_past_is_refused_but_today_is_fine():
    _, errors = check_log_input(
        channel="phone", outcome="considering", note="", next_follow_up="2026-11-21", today=TODAY
    )
    assert errors == {"next_follow_up": "log.error.date_past"}
    clean, errors = check_log_input(
        channel="phone", outcome="considering", note="", next_follow_up="2026-11-22", today=TODAY
    )
    assert errors == {} and clean.next_follow_up == TODAY


def test_one_tap_follow_ups_are_valid_dates_past_the_month_end():
    choices = follow_up_choices(date(2026, 11, 28))
    assert choices == [(1, "2026-11-29"), (3, "2026-12-01"), (7, "2026-12-05")]
    for _, day in choices:
        clean, errors = check_log_input(
            channel="visit",
            outcome="interested",
            note="",
            next_follow_up=day,
            today=date(2026, 11, 28),
        )
        assert errors == {} and clean.next_follow_up.isoformat() == day


def test_a_follow_up_more_than_five_years_ahead_is_refused():
    _, errors = check_log_input(
        channel="phone", outcome="considering", note="", next_follow_up="2099-01-01", today=TODAY
    )
    assert errors == {"next_follow_up": "log.error.date_far"}


def test_whatever_the_form_passes_the_wire_model_accepts():
    far = TODAY + DATE_HORIZON - timedelta(days=1)  # the last date the form allows
    clean, errors = check_log_input(
        channel="visit",
        outcome="interested",
        note="字" * 500,
        next_follow_up=far.isoformat(),
        today=TODAY,
    )
    assert errors == {} and clean is not None
    log = new_log(
        prospect_id="p",
        channel=clean.channel,
        outcome=clean.outcome,
        note=clean.note,
        next_follow_up=clean.next_follow_up,
    )
    assert log.next_follow_up == far


# -- a log's effect on its prospect ----------------------------------------------------------

MAR_1, MAR_5 = datetime(2026, 3, 1, 2, 0), datetime(2026, 3, 5, 2, 0)


def _log(occurred_at: datetime, next_follow_up: date | None) -> MarketingLogCreate:
    return new_log(
        prospect_id="p",
        channel="phone",
        outcome="considering",
        occurred_at=occurred_at,
        next_follow_up=next_follow_up,
    )


def test_a_first_log_sets_last_contact_and_the_plan():
    effect = log_effect(None, _log(MAR_1, date(2026, 3, 8)))
    assert effect == ContactUpdate(last_contact_at=MAR_1, next_follow_up=date(2026, 3, 8))


def test_a_later_contact_moves_last_contact_forward():
    assert log_effect(MAR_1, _log(MAR_5, None)).last_contact_at == MAR_5


def test_a_log_of_an_earlier_contact_arriving_late_keeps_last_contact_but_sets_the_plan():
    """Last contact is data (the latest contact); the plan is the newest arrival's."""
    effect = log_effect(MAR_5, _log(MAR_1, date(2026, 3, 20)))
    assert effect == ContactUpdate(last_contact_at=MAR_5, next_follow_up=date(2026, 3, 20))


def test_a_log_without_a_plan_clears_the_plan():
    assert log_effect(MAR_1, _log(MAR_5, None)).next_follow_up is None


# -- a visit moves the funnel ------------------------------------------------------------


def test_a_reached_contact_moves_an_assigned_prospect_forward():
    from app.services.marketing import status_after_log

    assert status_after_log("assigned", "considering", holds=True) == "contacted"
    assert status_after_log("assigned", "not_interested", holds=True) == "contacted"
    assert status_after_log("assigned", "interested", holds=True) == "interested"
    assert status_after_log("contacted", "interested", holds=True) == "interested"
    assert status_after_log("assigned", "agreed_to_apply", holds=True) == "applied"
    assert status_after_log("interested", "agreed_to_apply", holds=True) == "applied"


def test_a_log_never_moves_backwards_out_of_a_closed_status_or_without_a_contact():
    from app.services.marketing import status_after_log

    # nobody reached: nothing is learnt about the funnel
    assert status_after_log("assigned", "no_answer", holds=True) is None
    assert status_after_log("assigned", "wrong_contact", holds=True) is None
    # already there or further along: a visit logged offline never undoes progress
    assert status_after_log("contacted", "considering", holds=True) is None
    assert status_after_log("applied", "interested", holds=True) is None
    assert status_after_log("approved", "agreed_to_apply", holds=True) is None
    # closed stays closed; disbursed is the end
    for closed in ("declined", "invalid", "disbursed"):
        assert status_after_log(closed, "agreed_to_apply", holds=True) is None
    # a pool prospect is claimed first; a log from someone it has left steers nothing
    assert status_after_log("unassigned", "interested", holds=True) is None
    assert status_after_log("assigned", "interested", holds=False) is None

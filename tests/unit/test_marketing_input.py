from datetime import date

from app.services.marketing import check_log_input, follow_up_choices

TODAY = date(2026, 11, 22)


def test_a_complete_log_passes_clean():
    clean, errors = check_log_input(channel="visit", outcome="interested", note="  老板在店 ",
                                    next_follow_up="2026-11-25", today=TODAY)  # fmt: skip
    assert errors == {}
    assert clean.note == "老板在店" and clean.next_follow_up == date(2026, 11, 25)


def test_each_bad_field_gets_its_own_error():
    clean, errors = check_log_input(channel=None, outcome="nonsense", note="字" * 501,
                                    next_follow_up="25/11/2026", today=TODAY)  # fmt: skip
    assert clean is None
    assert errors == {
        "channel": "log.error.channel",
        "outcome": "log.error.outcome",
        "note": "log.error.note",
        "next_follow_up": "log.error.date",
    }


def test_a_follow_up_in_the_past_is_refused_but_today_is_fine():
    _, errors = check_log_input(channel="phone", outcome="considering", note="",
                                next_follow_up="2026-11-21", today=TODAY)  # fmt: skip
    assert errors == {"next_follow_up": "log.error.date_past"}
    clean, errors = check_log_input(channel="phone", outcome="considering", note="",
                                    next_follow_up="2026-11-22", today=TODAY)  # fmt: skip
    assert errors == {} and clean.next_follow_up == TODAY


def test_one_tap_follow_ups_are_valid_dates_past_the_month_end():
    choices = follow_up_choices(date(2026, 11, 28))
    assert choices == [(1, "2026-11-29"), (3, "2026-12-01"), (7, "2026-12-05")]
    for _, day in choices:
        clean, errors = check_log_input(channel="visit", outcome="interested", note="",
                                        next_follow_up=day, today=date(2026, 11, 28))  # fmt: skip
        assert errors == {} and clean.next_follow_up.isoformat() == day

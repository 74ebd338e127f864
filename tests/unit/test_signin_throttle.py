"""The sign-in throttle's rules (app/services/signin.py): when a failure locks, how long."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.services.signin import ThrottlePolicy, judge, wait_minutes, wait_seconds

POLICY = ThrottlePolicy(account_limit=5, client_limit=20)


def test_the_fifth_failure_of_an_account_locks_it_and_a_sixth_was_one_too_many():
    assert judge(POLICY, 4, 4) == judge(POLICY, 4, 19)
    assert not judge(POLICY, 4, 4).lock_account
    fifth = judge(POLICY, 5, 5)
    assert fifth.lock_account and not fifth.lock_client and not fifth.over
    assert judge(POLICY, 6, 6).over


def test_the_twentieth_failure_from_one_address_locks_the_address():
    twentieth = judge(POLICY, 1, 20)
    assert twentieth.lock_client and not twentieth.lock_account and not twentieth.over
    assert judge(POLICY, 1, 21).over


def test_the_wait_is_told_in_whole_minutes_rounded_up():
    now = datetime(2026, 1, 1, 8, 0, 0)
    assert wait_seconds(now + timedelta(minutes=15), now) == 900
    assert wait_seconds(now + timedelta(milliseconds=200), now) == 1
    assert wait_seconds(now - timedelta(seconds=5), now) == 1
    assert [wait_minutes(s) for s in (1, 60, 61, 900)] == [1, 1, 2, 15]

"""The sign-in throttle's rules, over plain values (the store keeps the counts).

    failures of one account (employee number) since its last success, within the
    window: the ``account_limit``-th locks the account for ``lock``;
    failures from one client address within the window: the ``client_limit``-th
    locks the address for ``lock`` (a success does not reset it: one good account
    must not launder guesses at the others).

A locked account or address is turned away unchecked until the lock ends, with
the minutes left to wait. A lock, once it ends, starts the counts afresh.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["ThrottlePolicy", "Verdict", "judge", "wait_minutes", "wait_seconds"]


@dataclass(frozen=True)
class ThrottlePolicy:
    account_limit: int = 5
    client_limit: int = 20
    window: timedelta = timedelta(minutes=15)
    lock: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class Verdict:
    """After counting one more failure: which locks it takes, and whether it was one too
    many (a concurrent attempt that slipped past a lock being taken)."""

    lock_account: bool
    lock_client: bool
    over: bool


def judge(policy: ThrottlePolicy, account_failures: int, client_failures: int) -> Verdict:
    """The verdict on counts that include the attempt being judged."""
    return Verdict(
        lock_account=account_failures >= policy.account_limit,
        lock_client=client_failures >= policy.client_limit,
        over=account_failures > policy.account_limit or client_failures > policy.client_limit,
    )


def wait_seconds(until: datetime, now: datetime) -> int:
    """Whole seconds until ``until``, at least one (for ``Retry-After``)."""
    return max(1, math.ceil((until - now).total_seconds()))


def wait_minutes(seconds: int) -> int:
    """Whole minutes a person is told to wait, rounded up, at least one."""
    return max(1, math.ceil(seconds / 60))

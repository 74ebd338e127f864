"""Follow-ups due (跟进提醒): a marketer's open prospects whose next follow-up has come.

The rows come from the device store (app/queries/followups.py); the order and the
split into overdue and due today are here.

A prospect is due when it is assigned to the user, still open (not disbursed,
declined or invalid) and its ``next_follow_up`` (a Beijing date, set by the
newest log) is today or earlier. Most overdue first; among equals, the larger
pre-approved line first, since it is worth more to the bank.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class FollowUpRow:
    prospect_id: str
    company_name: str
    legal_rep: str
    status: str
    pre_approved_line: int  # 元
    next_follow_up: date
    last_contact_at: datetime | None  # naive UTC
    days_overdue: int  # 0 when due today


@dataclass(frozen=True)
class FollowUps:
    overdue: list[FollowUpRow] = field(default_factory=list)
    today: list[FollowUpRow] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.overdue) + len(self.today)


def split_due(rows: Iterable[FollowUpRow], today: date) -> FollowUps:
    """Sort (most overdue, then largest line) and split into overdue and due today."""
    ordered = sorted(
        (r for r in rows if r.next_follow_up <= today),
        key=lambda r: (r.next_follow_up, -r.pre_approved_line, r.company_name, r.prospect_id),
    )
    return FollowUps(
        overdue=[r for r in ordered if r.next_follow_up < today],
        today=[r for r in ordered if r.next_follow_up == today],
    )

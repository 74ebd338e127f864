"""Follow-ups (跟进提醒): a marketer's open prospects with a next follow-up date, by when.

The rows come from the device store (app/queries/followups.py); the order and the
split into sections are here.

A prospect is on the list when it is assigned to the user, still open (not
disbursed, declined or invalid) and has a ``next_follow_up`` (a Beijing date, set
by the newest log). It is overdue when that date has passed, due today, due
tomorrow, due in the next seven days (two to seven days ahead) or later, so a
marketer can plan tomorrow and the week as well as work today. Within a section:
the earliest date first; among equals, the larger pre-approved line first, since
it is worth more to the bank.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

DAYS_AHEAD = 7  # the "next 7 days" section: two to seven days ahead


@dataclass(frozen=True)
class FollowUpRow:
    prospect_id: str
    company_name: str
    legal_rep: str
    status: str
    pre_approved_line: int  # 元
    next_follow_up: date
    last_contact_at: datetime | None  # naive UTC
    days_overdue: int  # 0 when due today; negative: that many days ahead


@dataclass(frozen=True)
class FollowUps:
    overdue: list[FollowUpRow] = field(default_factory=list)
    today: list[FollowUpRow] = field(default_factory=list)
    tomorrow: list[FollowUpRow] = field(default_factory=list)
    week: list[FollowUpRow] = field(default_factory=list)  # 2 to DAYS_AHEAD days ahead
    later: list[FollowUpRow] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Due now: overdue and today."""
        return len(self.overdue) + len(self.today)

    @property
    def upcoming(self) -> int:
        """Planned for after today."""
        return len(self.tomorrow) + len(self.week) + len(self.later)


def split_followups(rows: Iterable[FollowUpRow], today: date) -> FollowUps:
    """Sort (earliest date, then largest line) and split by when each is due."""
    ordered = sorted(
        rows, key=lambda r: (r.next_follow_up, -r.pre_approved_line, r.company_name, r.prospect_id)
    )
    tomorrow = today + timedelta(days=1)
    horizon = today + timedelta(days=DAYS_AHEAD)
    return FollowUps(
        overdue=[r for r in ordered if r.next_follow_up < today],
        today=[r for r in ordered if r.next_follow_up == today],
        tomorrow=[r for r in ordered if r.next_follow_up == tomorrow],
        week=[r for r in ordered if tomorrow < r.next_follow_up <= horizon],
        later=[r for r in ordered if r.next_follow_up > horizon],
    )

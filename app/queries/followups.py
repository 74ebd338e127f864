"""Follow-ups from the device store; the sections are app/services/followups.py."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, text

from app.services.followups import FollowUpRow, FollowUps, split_followups
from app.services.funnel import TERMINAL
from app.services.stored import stored_date, stored_datetime


def planned_followups(conn: Connection, user_id: str, today: date) -> FollowUps:
    """The user's open prospects with a next follow-up, overdue to later (``today``: Beijing)."""
    closed = ", ".join(f"'{s.value}'" for s in sorted(TERMINAL))
    rows = conn.execute(
        text(
            "SELECT id, company_name, legal_rep, status, pre_approved_line, next_follow_up,"
            " last_contact_at FROM prospect"
            f" WHERE assignee_id = :uid AND status NOT IN ({closed})"
            " AND next_follow_up IS NOT NULL"
        ),
        {"uid": user_id},
    )
    return split_followups(
        (
            FollowUpRow(
                prospect_id=r.id,
                company_name=r.company_name,
                legal_rep=r.legal_rep,
                status=r.status,
                pre_approved_line=int(r.pre_approved_line or 0),
                next_follow_up=stored_date(r.next_follow_up),
                last_contact_at=stored_datetime(r.last_contact_at),
                days_overdue=(today - stored_date(r.next_follow_up)).days,
            )
            for r in rows
        ),
        today,
    )

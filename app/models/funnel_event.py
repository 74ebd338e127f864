"""Funnel events: every requested status change, applied or not, in server order."""

from __future__ import annotations

from pydantic import NaiveDatetime
from sqlmodel import Field, SQLModel


class FunnelEvent(SQLModel, table=True):
    __tablename__ = "funnel_event"
    id: str = Field(primary_key=True)
    prospect_id: str = Field(index=True)
    actor_id: str
    from_status: str  # the status the server held when it judged the event
    to_status: str
    applied: bool = True  # False: recorded, but it would have moved the funnel backwards
    reason_code: str = ""
    amount: int | None = None  # 元, for disbursed
    occurred_at: NaiveDatetime  # device time
    recorded_at: NaiveDatetime  # server time
    rev: int = 0

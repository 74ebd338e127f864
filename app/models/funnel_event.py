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
    reason_code: str = ""  # why it was not applied (an i18n key)
    # A closing move's ``FeedbackReason`` ("" for any other move) and the marketer's words
    # with it (required for ``other``); "" by default in the tables too, for rows written
    # without them (events before these columns, a replica not yet upgraded)
    close_reason: str = Field(default="", sa_column_kwargs={"server_default": ""})
    close_note: str = Field(default="", sa_column_kwargs={"server_default": ""})
    amount: int | None = None  # 元, for disbursed
    occurred_at: NaiveDatetime  # device time
    recorded_at: NaiveDatetime  # server time
    rev: int = 0

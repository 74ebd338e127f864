"""Marketing logs (营销日志): append-only; a correction is a new log."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import NaiveDatetime
from sqlmodel import Field, SQLModel


class Channel(StrEnum):
    VISIT = "visit"
    PHONE = "phone"
    WECHAT = "wechat"
    AT_OUTLET = "at_outlet"


class Outcome(StrEnum):
    NO_ANSWER = "no_answer"
    NOT_INTERESTED = "not_interested"
    CONSIDERING = "considering"
    INTERESTED = "interested"
    AGREED_TO_APPLY = "agreed_to_apply"
    WRONG_CONTACT = "wrong_contact"


class MarketingLogBase(SQLModel):
    prospect_id: str = Field(index=True)
    channel: str
    occurred_at: NaiveDatetime  # device time: data, never an order
    outcome: str
    note: str = ""
    next_follow_up: date | None = None
    lat: float | None = None  # check-in position, WGS-84
    lon: float | None = None
    attachments: str = "[]"  # JSON list of SHA-256 digests


class MarketingLogCreate(MarketingLogBase):
    id: str


class MarketingLog(MarketingLogBase, table=True):
    __tablename__ = "marketing_log"
    id: str = Field(primary_key=True)
    author_id: str = Field(index=True)
    device_id: str = ""
    recorded_at: NaiveDatetime | None = None  # when the central store accepted it
    rev: int = 0

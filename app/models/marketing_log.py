"""Marketing logs (营销日志): append-only; a correction is a new log.

``MarketingLogCreate`` is the one shape of a new log from the form onwards: the
device builds it, stores it and queues ``model_dump(mode="json")``; the central
store parses the same model.
"""

from __future__ import annotations

import json
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field as WireField
from pydantic import NaiveDatetime, field_validator, model_validator
from sqlmodel import Field, SQLModel

from app.models.wire import (
    EntityId,
    Latitude,
    Longitude,
    OccurredAt,
    PlannedDate,
    Sha256,
    WireModel,
    free_text,
)

NOTE_LIMIT = 500  # characters
ATTACHMENT_LIMIT = 9  # photos per log


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


class MarketingLog(MarketingLogBase, table=True):
    __tablename__ = "marketing_log"
    id: str = Field(primary_key=True)
    author_id: str = Field(index=True)
    device_id: str = ""
    recorded_at: NaiveDatetime | None = None  # when the central store accepted it
    rev: int = 0


class MarketingLogCreate(WireModel):
    """A new log as the device makes it and the store accepts it."""

    id: EntityId
    prospect_id: EntityId
    channel: Channel
    occurred_at: OccurredAt  # device time: data, never an order
    outcome: Outcome
    note: Annotated[str, free_text(NOTE_LIMIT)] = ""
    next_follow_up: PlannedDate | None = None
    lat: Latitude | None = None  # check-in position, WGS-84; both or neither
    lon: Longitude | None = None
    attachments: list[Sha256] = WireField(default_factory=list, max_length=ATTACHMENT_LIMIT)

    @field_validator("attachments", mode="before")
    @classmethod
    def _legacy_text(cls, value: object) -> object:
        # Logs queued before this model sent the column's JSON text ("[]"): still theirs.
        return json.loads(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _position_whole(self) -> MarketingLogCreate:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon go together")
        return self

    def row(self) -> dict[str, Any]:
        """The ``marketing_log`` columns it fills (attachments as the stored JSON text)."""
        return {**self.model_dump(), "attachments": json.dumps(self.attachments)}

"""Transfers (分发流转): who moved a prospect from whom to whom, when and why."""

from __future__ import annotations

from pydantic import NaiveDatetime
from sqlmodel import Field, SQLModel


class Transfer(SQLModel, table=True):
    id: str = Field(primary_key=True)
    prospect_id: str = Field(index=True)
    from_user_id: str | None = None
    to_user_id: str | None = None
    from_outlet_id: str
    to_outlet_id: str
    by_user_id: str
    reason: str = ""
    created_at: NaiveDatetime
    rev: int = 0

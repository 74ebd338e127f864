"""Audit events: every reveal of a masked phone number or credit code, and every entry an
admin withdrew from its batch for its quality (``withdraw_quality``)."""

from __future__ import annotations

from pydantic import NaiveDatetime
from sqlmodel import Field, SQLModel


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    id: str = Field(primary_key=True)
    user_id: str = Field(index=True)
    action: str  # reveal_phone | reveal_credit_code | withdraw_quality
    prospect_id: str = Field(index=True)
    device_id: str = ""
    occurred_at: NaiveDatetime
    recorded_at: NaiveDatetime

"""Audit events: every reveal of a masked phone number or credit code, and every entry an
admin withdrew from its batch for its quality (``withdraw_quality``)."""

from __future__ import annotations

from pydantic import NaiveDatetime
from sqlmodel import Field, SQLModel

WITHDRAW_AUDIT = "withdraw_quality"  # the audit event of an entry withdrawn as a bad row


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    id: str = Field(primary_key=True)
    user_id: str = Field(index=True)
    action: str  # reveal_phone | reveal_credit_code | withdraw_quality
    prospect_id: str = Field(index=True)
    device_id: str = ""
    occurred_at: NaiveDatetime
    recorded_at: NaiveDatetime
    note: str = ""  # the admin's words, where the action asks for them (withdraw_quality)

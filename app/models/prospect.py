"""Prospects (白名单客户): one small business on a whitelist, and its funnel status."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import NaiveDatetime
from sqlmodel import Field, SQLModel


class FunnelStatus(StrEnum):
    """A prospect's place in the funnel; the rules over it are ``app.services.funnel``."""

    UNASSIGNED = "unassigned"
    ASSIGNED = "assigned"
    CONTACTED = "contacted"
    INTERESTED = "interested"
    APPLIED = "applied"
    APPROVED = "approved"
    DISBURSED = "disbursed"
    DECLINED = "declined"
    INVALID = "invalid"


# The statuses that end the funnel with a reason (``feedback.FeedbackReason``).
CLOSED_STATUSES: frozenset[str] = frozenset({FunnelStatus.DECLINED, FunnelStatus.INVALID})


class ProspectBase(SQLModel):
    batch_id: str = Field(index=True)
    company_name: str
    credit_code: str = Field(index=True)
    legal_rep: str
    phone: str
    industry: str
    address: str
    lat: float  # WGS-84
    lon: float
    pre_approved_line: int = 0  # 元
    score: int = 0  # 0-100, from the head-office model
    tags: str = "[]"  # JSON list of strings
    outlet_id: str = Field(index=True)
    assignee_id: str | None = Field(default=None, index=True)
    status: str = Field(default="unassigned", index=True)
    disbursed_amount: int | None = None  # 元
    last_contact_at: NaiveDatetime | None = None
    next_follow_up: date | None = None


class WithdrawReason(StrEnum):
    REMOVED = "removed"  # a newer version of its batch no longer lists it
    EXPIRED = "expired"  # its batch's validity ended
    QUALITY = "quality"  # head office withdrew it as a bad row (list quality, 双向传导)


class Prospect(ProspectBase, table=True):
    id: str = Field(primary_key=True)
    updated_at: NaiveDatetime
    rev: int = Field(default=0)
    # Central-store bookkeeping, never sent to a device (not sync columns):
    # the batch version that last listed it; when and why it left every device (withdrawn
    # entries are out of everyone's scope, their logs stay); when it was last handed to
    # its assignee (the pool return counts from there).
    batch_version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    withdrawn_at: NaiveDatetime | None = Field(default=None, index=True)
    withdrawn_reason: str = Field(default="", sa_column_kwargs={"server_default": ""})
    assigned_at: NaiveDatetime | None = None

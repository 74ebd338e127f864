"""Field finds (外拓线索, 自下而上): a business a marketer found on the street.

Made on the device (offline), it waits for the outlet manager's review. Approved, it
becomes a prospect of the outlet's field batch (``BatchSource.FIELD``) assigned to its
finder (``prospect_id``); rejected, its finder sees why (``review_reason``,
``review_note``); a duplicate of an entry already on a whitelist is marked so at sync.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import NaiveDatetime
from sqlmodel import Field, SQLModel


class LeadStatus(StrEnum):
    PENDING = "pending"  # waiting for review
    APPROVED = "approved"  # now a prospect of the outlet's field batch
    REJECTED = "rejected"  # the reviewer said why
    DUPLICATE = "duplicate"  # the store already lists this credit code


class LeadDecision(StrEnum):
    """A reviewer's verdict on a pending find."""

    APPROVE = "approve"
    REJECT = "reject"


class LeadRejectReason(StrEnum):
    """Why a find was sent back (its finder reads it); ``OTHER`` needs a note. The store
    also marks a find ``DUPLICATE`` itself when the credit code is already listed."""

    DUPLICATE = "duplicate"  # 重复客户: already on a whitelist or found before
    INELIGIBLE = "ineligible"  # 不符合准入
    INACCURATE = "inaccurate"  # 信息不实
    OTHER = "other"  # 其他: said in the note


LEAD_NOTE_LIMIT = 500  # characters: the finder's note
LEAD_REVIEW_NOTE_LIMIT = 200  # characters: the reviewer's note


class FieldLeadBase(SQLModel):
    finder_id: str = Field(index=True)
    outlet_id: str = Field(index=True)
    company_name: str
    credit_code: str = Field(index=True)
    contact_name: str = ""
    phone: str = ""
    industry: str = ""
    address: str = ""
    lat: float | None = None  # WGS-84, the finder's position fix
    lon: float | None = None
    note: str = ""
    status: str = Field(default=LeadStatus.PENDING, index=True)
    review_reason: str = ""
    review_note: str = ""
    reviewed_by: str | None = None
    reviewed_at: NaiveDatetime | None = None
    prospect_id: str | None = None
    created_at: NaiveDatetime  # device time: data


class FieldLead(FieldLeadBase, table=True):
    __tablename__ = "field_lead"
    id: str = Field(primary_key=True)
    recorded_at: NaiveDatetime | None = None  # when the central store took it
    rev: int = 0

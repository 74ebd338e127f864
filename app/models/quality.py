"""List quality's wire models (``/admin/batches/{id}/quality…``, ``…/withdraw``): the
contract between the central store and head office's screens. The definitions of the
figures are ``app.services.quality``'s.

    GET  /admin/batches/{id}/quality                     → ``QualityReportOut``
    GET  /admin/batches/{id}/quality/entries?reason=&…   → ``QualityEntriesOut``
    POST /admin/batches/{id}/withdraw  ``WithdrawIn``     → ``WithdrawOut``
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, NaiveDatetime, StringConstraints
from pydantic import Field as PydanticField

from app.models.feedback import FeedbackReason

WITHDRAW_LIMIT = 5000  # entries one withdrawal may name
ENTRIES_PAGE_MAX = 500


class ReasonFilter(StrEnum):
    """A reason the flagged entries may be listed by: a ``FeedbackReason``, or none given."""

    WRONG_CONTACT = FeedbackReason.WRONG_CONTACT.value
    BUSINESS_CLOSED = FeedbackReason.BUSINESS_CLOSED.value
    NOT_ELIGIBLE = FeedbackReason.NOT_ELIGIBLE.value
    NOT_INTERESTED = FeedbackReason.NOT_INTERESTED.value
    DUPLICATE = FeedbackReason.DUPLICATE.value
    OTHER = FeedbackReason.OTHER.value
    UNSPECIFIED = "unspecified"  # closed before reasons were asked


class ClosedStatus(StrEnum):
    INVALID = "invalid"
    DECLINED = "declined"


class ReasonCountOut(BaseModel):
    reason: str  # a ``ReasonFilter`` value
    invalid: int
    declined: int
    total: int


class QualityFiguresOut(BaseModel):
    """The figures of ``app.services.quality`` (rates: None while nothing is worked)."""

    entries: int = 0
    withdrawn: int = 0
    worked: int = 0
    invalid: int = 0
    declined: int = 0
    wrong_contact: int = 0
    invalid_rate: float | None = None
    wrong_contact_rate: float | None = None


class QualityOutletOut(QualityFiguresOut):
    outlet_id: str
    code: str
    name: str
    reasons: list[ReasonCountOut]


class QualityNoteOut(BaseModel):
    """One marketer's words on closing an entry."""

    prospect_id: str
    company_name: str
    outlet_code: str
    status: str
    reason: str
    note: str
    at: NaiveDatetime  # when the marketer closed it (device time, UTC)


class QualityReportOut(QualityFiguresOut):
    batch_id: str
    name: str
    product: str
    version: int
    valid_from: date
    valid_until: date
    reasons: list[ReasonCountOut]
    outlets: list[QualityOutletOut]  # the outlets in reach holding entries, worst first
    notes: list[QualityNoteOut]  # the latest few, newest first


class QualityEntryOut(BaseModel):
    """A closed entry, as head office reviews it before withdrawing (phone and credit
    code are not shown: they stay masked outside a reveal)."""

    prospect_id: str
    company_name: str
    outlet_id: str
    outlet_code: str
    outlet_name: str
    assignee_id: str | None
    assignee_name: str
    status: str
    reason: str
    note: str
    closed_at: NaiveDatetime
    closed_by: str
    closed_by_name: str
    withdrawn: bool
    withdrawn_reason: str
    withdrawn_note: str = ""  # head office's words when it withdrew the entry as a bad row
    withdrawn_by_name: str = ""


class QualityEntriesOut(BaseModel):
    items: list[QualityEntryOut]
    total: int
    page: int
    page_size: int


ProspectRef = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")
]
WithdrawReasonText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00]*$"),
]


class WithdrawIn(BaseModel):
    """Entries of one batch an admin withdraws as bad rows, and why (in words)."""

    model_config = ConfigDict(extra="forbid")
    prospect_ids: list[ProspectRef] = PydanticField(min_length=1, max_length=WITHDRAW_LIMIT)
    reason: WithdrawReasonText


class WithdrawOut(BaseModel):
    withdrawn: int  # withdrawn now
    already: int  # named, but withdrawn before (nothing changed for them)

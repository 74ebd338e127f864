"""Loans as the bank's loan system reports them (贷款回流), their credit split (分润), and
the service accounts that may report them (central store only: none of it is synced).

- ``ApiKey``: a service account's key, made by ``main.py create-api-key --name …``, shown
  once and stored as a SHA-256 hash; it opens one endpoint (``endpoint``) and nothing else.
- ``LoanEvent``: one status of one loan (``loan_id`` is the loan system's), matched to a
  prospect by credit code. ``(loan_id, status)`` is unique: a replay changes nothing.
  ``state`` says what became of it: it moved the funnel (``applied``), was kept without
  moving it (``recorded``: the funnel was already there or beyond, or closed), waits for
  an admin because no prospect has its credit code (``unmatched``), or an admin set it
  aside (``dismissed``).
- ``ProfitShare``: one participant's part of a disbursed loan's credit, in fen; a loan's
  shares sum to its amount exactly. ``ShareRatio``: the split per product (the defaults
  are settings). ``ShareAdjustment``: an admin's change of a split, with the reason.
- ``LoanEventIn``: the wire model of one reported event, the same for the API and the
  CSV import (``main.py import-loans``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    JsonValue,
    NaiveDatetime,
    StringConstraints,
)
from pydantic import Field as PydanticField
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.ids import utcnow
from app.models.wire import EARLIEST

LOAN_ID_LIMIT = 64  # characters of the loan system's id
PRODUCT_LIMIT = 40
# 普惠 small-business credit is at most 10 million yuan per borrower: anything above is a
# unit error (fen sent as yuan) or garbage, refused rather than counted
LOAN_AMOUNT_MAX = 10_000_000
LOAN_EVENTS_PER_REQUEST = 500
LOAN_SYSTEM_ACTOR = "loan_system"  # the actor of the funnel events the loan system causes


class LoanStatus(StrEnum):
    """A loan's life in the loan system, in order; repaid and overdue follow disbursal."""

    APPLIED = "applied"
    APPROVED = "approved"
    DISBURSED = "disbursed"
    REPAID = "repaid"
    OVERDUE = "overdue"


class LoanEventState(StrEnum):
    APPLIED = "applied"  # moved the prospect's funnel
    RECORDED = "recorded"  # kept, the funnel left where it was (already there, or closed)
    UNMATCHED = "unmatched"  # no prospect has its credit code: waits for an admin
    DISMISSED = "dismissed"  # an admin set an unmatched one aside, with a reason


class ApiKeyEndpoint(StrEnum):
    LOAN_FEED = "loan_feed"  # POST /loans/events


class ShareParty(StrEnum):
    """Who shares a disbursed loan's credit (分润)."""

    MARKETER = "marketer"  # the prospect's assignee when the loan was disbursed
    ORIGINATOR = "originator"  # the employee the loan system names as originating it
    BOOKING_OUTLET = "booking_outlet"  # the outlet that booked it (簿记)


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"
    id: str = Field(primary_key=True)
    name: str = Field(unique=True)
    prefix: str = Field(unique=True)  # the key's first characters: how a key is found
    key_hash: str  # SHA-256 of the whole key, hex
    endpoint: str = ApiKeyEndpoint.LOAN_FEED
    created_at: NaiveDatetime
    created_by: str = ""
    revoked_at: NaiveDatetime | None = None
    last_used_at: NaiveDatetime | None = None


class LoanEvent(SQLModel, table=True):
    __tablename__ = "loan_event"
    __table_args__ = (UniqueConstraint("loan_id", "status", name="uq_loan_event_loan_status"),)
    id: str = Field(primary_key=True)
    loan_id: str  # found by the unique (loan_id, status)
    status: str
    amount: int  # 元
    occurred_on: date  # the loan system's business date (Beijing)
    credit_code: str = Field(index=True)
    product: str = ""
    booking_outlet_id: str = Field(index=True)
    originator_id: str | None = Field(default=None, index=True)
    booker_id: str | None = None
    prospect_id: str | None = Field(default=None, index=True)
    state: str = Field(index=True)
    funnel_event_id: str | None = None
    source: str = "api"  # api / csv / demo
    api_key_id: str | None = None
    received_at: NaiveDatetime
    resolved_by: str | None = None  # the admin who matched or dismissed it
    resolved_at: NaiveDatetime | None = None
    resolution_note: str = ""


class ShareRatio(SQLModel, table=True):
    """The split of one product's loans in basis points (summing to 10,000)."""

    __tablename__ = "share_ratio"
    product: str = Field(primary_key=True)
    marketer_bp: int
    originator_bp: int
    booking_outlet_bp: int
    remainder_to: str = ShareParty.MARKETER  # who takes the fen rounding leaves over
    updated_by: str = ""
    updated_at: NaiveDatetime


class ProfitShare(SQLModel, table=True):
    __tablename__ = "profit_share"
    id: str = Field(primary_key=True)
    loan_id: str = Field(index=True)
    loan_event_id: str
    prospect_id: str | None = Field(default=None, index=True)
    party: str
    user_id: str | None = Field(default=None, index=True)
    outlet_id: str = Field(index=True)  # the user's outlet, or the booking outlet
    ratio_bp: int
    amount_fen: int
    occurred_on: date = Field(index=True)  # the disbursement's business date
    product: str = ""
    adjusted: bool = False


class ShareAdjustment(SQLModel, table=True):
    """An admin's change of one loan's split (audited: who, when, why, before and after)."""

    __tablename__ = "share_adjustment"
    id: str = Field(primary_key=True)
    loan_id: str = Field(index=True)
    admin_id: str
    reason: str
    before: str  # JSON: the shares as they were
    after: str  # JSON: the shares as they are now
    at: NaiveDatetime


def _business_date(value: date) -> date:
    """A loan system's date: not before 2000, not after today in Beijing (UTC+8)."""
    if value < EARLIEST.date():
        raise ValueError(f"must not be before {EARLIEST:%Y-%m-%d}")
    if value > (utcnow() + timedelta(hours=8)).date():
        raise ValueError("must not lie in the future")
    return value


Code = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
CreditCode = Annotated[
    str,
    BeforeValidator(lambda v: "".join(v.split()).upper() if isinstance(v, str) else v),
    StringConstraints(pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$"),
]  # the check character is the service's to verify (GB 32100)
BusinessDate = Annotated[date, AfterValidator(_business_date)]


class LoanEventIn(BaseModel):
    """One event as the loan system reports it (API body item, CSV row)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    loan_id: str = PydanticField(min_length=1, max_length=LOAN_ID_LIMIT, pattern=r"^[\w.:/-]+$")
    credit_code: CreditCode
    status: LoanStatus
    amount: int = PydanticField(gt=0, le=LOAN_AMOUNT_MAX)  # 元
    occurred_on: BusinessDate
    booking_outlet_code: Code
    originator_employee_no: Code | None = None
    booker_employee_no: Code | None = None
    product: str = PydanticField(
        default="", max_length=PRODUCT_LIMIT, pattern=r"^[^\x00-\x1f\x7f]*$"
    )


class LoanEventsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    events: list[LoanEventIn] = PydanticField(min_length=1, max_length=LOAN_EVENTS_PER_REQUEST)


# -- the feed's answers and the admin's requests (wire models) ------------------------------

Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00]*$"),
]
EntityRef = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")
]


class LoanEventsPost(BaseModel):
    """``POST /loans/events`` as it arrives: up to 500 events, each then judged on its own as
    a ``LoanEventIn`` (one malformed event is rejected with its reason; the others go on)."""

    model_config = ConfigDict(extra="forbid")
    events: list[JsonValue] = PydanticField(min_length=1, max_length=LOAN_EVENTS_PER_REQUEST)


class LoanOutcome(StrEnum):
    """What became of one reported event."""

    APPLIED = "applied"  # matched, and it moved the prospect's funnel
    RECORDED = "recorded"  # matched and kept; the funnel stayed (already there, closed, …)
    QUEUED = "queued"  # no live prospect has its credit code: waits for an admin
    DUPLICATE = "duplicate"  # the same event again: nothing changed
    REJECTED = "rejected"  # refused (``code`` says why); nothing stored


class LoanEventResult(BaseModel):
    index: int  # the event's place in the request (a CSV row: its line)
    loan_id: str
    status: str
    outcome: LoanOutcome
    code: str = ""  # an i18n key: why rejected, or why the funnel stayed
    message: str = ""


class LoanEventsOut(BaseModel):
    results: list[LoanEventResult]
    counts: dict[str, int]  # outcome → how many


class LoanEventOut(BaseModel):
    """One stored loan event, as the admin's review queue shows it."""

    id: str
    loan_id: str
    status: str
    amount: int
    occurred_on: date
    credit_code: str
    product: str
    booking_outlet_id: str
    booking_outlet_code: str
    originator_id: str | None
    booker_id: str | None
    prospect_id: str | None
    state: str
    source: str
    received_at: datetime
    resolved_by: str | None
    resolved_at: datetime | None
    resolution_note: str


class LoanEventsPage(BaseModel):
    items: list[LoanEventOut]
    total: int
    offset: int
    limit: int


class MatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prospect_id: EntityRef


class DismissIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason


class ShareOut(BaseModel):
    party: ShareParty
    user_id: str | None
    outlet_id: str
    ratio_bp: int
    amount_fen: int
    adjusted: bool
    # who and where, as a person reads them ("" for a user or outlet no longer stored)
    user_name: str = ""
    employee_no: str = ""
    outlet_name: str = ""


class ShareAdjustmentOut(BaseModel):
    admin_id: str
    reason: str
    at: datetime
    before: list[dict[str, JsonValue]]
    after: list[dict[str, JsonValue]]
    admin_name: str = ""
    admin_employee_no: str = ""


class LoanSharesOut(BaseModel):
    loan_id: str
    amount: int  # 元
    amount_fen: int
    occurred_on: date
    product: str
    prospect_id: str | None
    adjusted: bool
    shares: list[ShareOut]
    adjustments: list[ShareAdjustmentOut]
    company_name: str = ""  # the matched prospect's
    booking_outlet_name: str = ""


LOANS_PAGE_SIZE_MAX = 100
LOANS_PAGE_MAX = 100_000
LOANS_QUERY_LIMIT = 64  # characters an admin types to find a loan


class LoansQuery(BaseModel):
    """``GET /loans``: disbursed loans whose id, credit code or company name holds ``q``
    (all of them when empty), a page at a time."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    q: str = PydanticField(default="", max_length=LOANS_QUERY_LIMIT, pattern=r"^[^\x00-\x1f\x7f]*$")
    page: int = PydanticField(default=1, ge=1, le=LOANS_PAGE_MAX)
    page_size: int = PydanticField(default=20, ge=1, le=LOANS_PAGE_SIZE_MAX)


class LoanListItem(BaseModel):
    """One disbursed loan as the admin's search lists it."""

    loan_id: str
    amount: int  # 元
    occurred_on: date
    product: str
    company_name: str  # the matched prospect's ("" if it is gone)
    credit_code_masked: str  # 统一社会信用代码, masked (DESIGN §4)
    booking_outlet_name: str
    adjusted: bool  # its split was changed by hand


class LoansPage(BaseModel):
    items: list[LoanListItem]
    total: int  # loans matching, over every page
    page: int
    page_size: int


class ShareIn(BaseModel):
    """One share of an admin's split: a person (marketer, originator; their outlet unless
    named) or the booking outlet (an outlet, no person)."""

    model_config = ConfigDict(extra="forbid")
    party: ShareParty
    user_id: EntityRef | None = None
    outlet_id: EntityRef | None = None
    amount_fen: int = PydanticField(ge=0, le=LOAN_AMOUNT_MAX * 100)


class SharesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    shares: list[ShareIn] = PydanticField(min_length=1, max_length=20)
    reason: Reason


Bp = Annotated[int, PydanticField(ge=0, le=10_000)]


class ShareRatioIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product: str = PydanticField(
        min_length=1, max_length=PRODUCT_LIMIT, pattern=r"^[^\x00-\x1f\x7f]+$"
    )
    marketer_bp: Bp
    originator_bp: Bp
    booking_outlet_bp: Bp
    remainder_to: ShareParty = ShareParty.MARKETER


class ShareRatiosIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ratios: list[ShareRatioIn] = PydanticField(min_length=1, max_length=100)


class ShareRatioOut(BaseModel):
    product: str  # "" for the store's defaults (settings)
    marketer_bp: int
    originator_bp: int
    booking_outlet_bp: int
    remainder_to: str
    updated_by: str = ""
    updated_at: datetime | None = None


class ShareRatiosOut(BaseModel):
    default: ShareRatioOut
    ratios: list[ShareRatioOut]

"""The dashboards above the outlet (DESIGN §8): the central store's rollups and the
wire models of ``/dashboards/*``.

Rollups (central store only, never synced) are kept by the store's housekeeping
(``app.server.rollups``) so that an answer reads a few thousand rows, not ten million:

- ``dash_state``: the one row saying how far the rollups go (change-log seq, the loan
  tables' signature) and when they were taken (``as_of``).
- ``dash_prospect``: each prospect as the rollups last counted it (outlet, batch, status,
  live, Beijing date of its first marketing log): what a change takes back out.
- ``dash_status``: live prospects per outlet × batch × status.
- ``dash_first_contact``: live, contacted prospects per outlet × batch × first-contact date.
- ``dash_contacts``: marketing logs per Beijing day × outlet × author.
- ``dash_disbursal``: each applied funnel event to ``disbursed`` (a disbursement typed on
  a device), with the outlet and assignee of its prospect when it was rolled up.
- ``dash_loan_daily``: disbursed loans per day × outlet × person × role (booked, marketed,
  originated; ``typed`` for disbursements without a loan): loans, 元, 分润 fen.
- ``dash_loan_customer``: per outlet × credit code × day of a disbursed loan it booked,
  whether one of the outlet's entries with that code had a log on or before that day.
- ``dash_loan_prospect``: the prospects a disbursed loan is matched to.
- ``dash_batch_loans``: live entries per outlet × batch with a disbursed loan though
  their status is not ``disbursed`` (batch conversion counts them too).

Wire models: each query is a constrained model (unknown parameters refused), each answer
carries ``as_of`` (the rollups' time; None before the first refresh).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, NaiveDatetime
from pydantic import Field as PydanticField
from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel

PAGE_SIZE_MAX = 200
PAGE_MAX = 100_000
EARLIEST_ON = date(2000, 1, 1)  # a period asked for lies in 2000..2099
LATEST_ON = date(2099, 12, 31)


class LoanRole(StrEnum):
    """How someone, or an outlet, took part in a disbursed loan (参与)."""

    BOOKED = "booked"  # 簿记: the booking outlet, the booker
    MARKETED = "marketed"  # 营销: the holder of the marketer share, and its outlet
    ORIGINATED = "originated"  # 发起: the originator, and their outlet


class GroupBy(StrEnum):
    OUTLET = "outlet"
    SUBBRANCH = "subbranch"  # outlets sharing ``branch_name`` (支行)
    TIER = "tier"  # 旗舰 / 标杆 / 普及
    BRANCH = "branch"  # every outlet in reach, one row


class LeagueLevel(StrEnum):
    OUTLET = "outlet"
    MARKETER = "marketer"


class LeagueMetric(StrEnum):
    CONTACTS = "contacts"
    DISBURSED_COUNT = "disbursed_count"
    DISBURSED_AMOUNT = "disbursed_amount"
    PARTICIPATION = "participation"
    SHARES = "shares"  # 分润, fen


# -- rollups (central store) -----------------------------------------------------------


class DashState(SQLModel, table=True):
    __tablename__ = "dash_state"
    id: int = Field(primary_key=True)  # always 1
    seq: int = Field(default=0, sa_type=BigInteger)  # the sum of ``positions`` (a summary)
    positions: str = "{}"  # JSON: per branch, the change-log seq rolled up to
    loans: str = ""  # the loan tables' signature when last rolled up
    refreshed_at: NaiveDatetime  # as_of: what was committed by then is counted
    rebuilt_at: NaiveDatetime  # the last full rebuild


class DashProspect(SQLModel, table=True):
    __tablename__ = "dash_prospect"
    prospect_id: str = Field(primary_key=True)
    batch_id: str
    outlet_id: str
    status: str
    live: int  # 1: not withdrawn
    first_day: date | None = None  # Beijing date of its first marketing log
    loan: int = 0  # 1: a disbursed loan is matched to it


class DashStatus(SQLModel, table=True):
    __tablename__ = "dash_status"
    outlet_id: str = Field(primary_key=True)
    batch_id: str = Field(primary_key=True)
    status: str = Field(primary_key=True)
    prospects: int


class DashFirstContact(SQLModel, table=True):
    __tablename__ = "dash_first_contact"
    outlet_id: str = Field(primary_key=True)
    batch_id: str = Field(primary_key=True)
    first_day: date = Field(primary_key=True)
    prospects: int


class DashContacts(SQLModel, table=True):
    __tablename__ = "dash_contacts"
    day: date = Field(primary_key=True)
    outlet_id: str = Field(primary_key=True)
    author_id: str = Field(primary_key=True)
    contacts: int


class DashDisbursal(SQLModel, table=True):
    __tablename__ = "dash_disbursal"
    funnel_event_id: str = Field(primary_key=True)
    prospect_id: str = Field(index=True)
    day: date
    outlet_id: str
    user_id: str  # the prospect's assignee ("" for none)
    amount: int  # 元


class DashLoanDaily(SQLModel, table=True):
    __tablename__ = "dash_loan_daily"
    day: date = Field(primary_key=True)
    outlet_id: str = Field(primary_key=True)  # "" when nobody knows it
    user_id: str = Field(primary_key=True)  # "" when the loan system named nobody
    role: str = Field(primary_key=True)  # LoanRole, or "typed"
    loans: int
    amount: int  # 元
    share_fen: int


class DashLoanCustomer(SQLModel, table=True):
    __tablename__ = "dash_loan_customer"
    outlet_id: str = Field(primary_key=True)
    credit_code: str = Field(primary_key=True, index=True)
    day: date = Field(primary_key=True, index=True)
    covered: int  # 1: on the outlet's whitelist and contacted on or before ``day``


class DashLoanProspect(SQLModel, table=True):
    """The prospects with a disbursed loan, as last rolled up (what a refresh compares)."""

    __tablename__ = "dash_loan_prospect"
    prospect_id: str = Field(primary_key=True)


class DashBatchLoans(SQLModel, table=True):
    __tablename__ = "dash_batch_loans"
    outlet_id: str = Field(primary_key=True)
    batch_id: str = Field(primary_key=True)
    prospects: int


ROLLUP_TABLES = [
    DashState.__table__,
    DashProspect.__table__,
    DashStatus.__table__,
    DashFirstContact.__table__,
    DashContacts.__table__,
    DashDisbursal.__table__,
    DashLoanDaily.__table__,
    DashLoanCustomer.__table__,
    DashLoanProspect.__table__,
    DashBatchLoans.__table__,
]


# -- queries ---------------------------------------------------------------------------


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PeriodQuery(_Query):
    # ``app.services.performance.Period``'s values (models do not import services)
    period: Literal["week", "month", "quarter"] = "month"
    on: date | None = PydanticField(default=None, ge=EARLIEST_ON, le=LATEST_ON)  # today


class PageQuery(_Query):
    page: int = PydanticField(default=1, ge=1, le=PAGE_MAX)
    page_size: int = PydanticField(default=50, ge=1, le=PAGE_SIZE_MAX)


OutletId = PydanticField(default=None, min_length=1, max_length=64)


class ParticipationQuery(PeriodQuery, PageQuery):
    by: GroupBy = GroupBy.OUTLET


class LeagueQuery(PeriodQuery, PageQuery):
    level: LeagueLevel = LeagueLevel.OUTLET
    metric: LeagueMetric = LeagueMetric.DISBURSED_AMOUNT


class BatchesQuery(PageQuery):
    outlet_id: str | None = OutletId  # one outlet in reach; all of them by default


class OverviewQuery(PeriodQuery):
    outlet_id: str | None = OutletId


# -- answers ---------------------------------------------------------------------------


class _Answer(BaseModel):
    as_of: NaiveDatetime | None  # the rollups' time (UTC); None: not rolled up yet


class _Period(_Answer):
    period: str
    start: date  # first Beijing date of the period
    end: date  # last, inclusive


class _Page(BaseModel):
    page: int
    page_size: int
    count: int  # rows in reach, over every page


class ParticipationRowOut(BaseModel):
    key: str  # outlet id, sub-branch name, tier, or "branch"
    label: str  # outlet name, sub-branch name, tier, or ""
    code: str = ""  # the outlet's code (by outlet)
    outlets: int
    booked_outlets: int
    marketed_outlets: int
    originated_outlets: int
    booked_outlet_rate: float | None
    marketed_outlet_rate: float | None
    originated_outlet_rate: float | None
    staff: int
    booked_staff: int
    marketed_staff: int
    originated_staff: int
    any_staff: int  # took part in at least one way
    booked_staff_rate: float | None
    marketed_staff_rate: float | None
    originated_staff_rate: float | None
    any_staff_rate: float | None
    customers: int  # 普惠 loan customers the outlets booked
    covered: int
    coverage: float | None


class ParticipationOut(_Period, _Page):
    by: GroupBy
    rows: list[ParticipationRowOut]
    total: ParticipationRowOut  # every outlet in reach


class LeagueRowOut(BaseModel):
    rank: int  # within the branch; ties share it (1, 2, 2, 4)
    shared: int  # how many hold this rank
    id: str  # outlet id or user id
    code: str  # outlet code or employee number
    name: str
    outlet_id: str | None
    contacts: int
    disbursed_count: int
    disbursed_amount: int  # 元
    shares_fen: int  # 分润
    participation: float | None  # an outlet: share of its staff; a marketer: roles held


class LeagueOut(_Period, _Page):
    level: LeagueLevel
    metric: LeagueMetric
    ranked: int  # how many the branch ranks
    rows: list[LeagueRowOut]


class WindowOut(BaseModel):
    days: int
    covered: int
    share: float | None


class BatchRowOut(BaseModel):
    batch_id: str
    name: str
    product: str
    valid_from: date
    valid_until: date
    entries: int  # live entries in reach
    windows: list[WindowOut]
    disbursed: int
    conversion: float | None


class BatchFiguresOut(_Answer, _Page):
    windows: list[int]
    rows: list[BatchRowOut]


class OverviewOut(_Period):
    outlets: int
    prospects: int  # live, in reach
    status_counts: dict[str, int]
    contacts: int
    disbursed_count: int
    disbursed_amount: int  # 元

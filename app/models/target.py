"""Marketing targets (营销任务): a figure an outlet or a marketer is to reach in a month or
a quarter, pushed down by an admin or a sub-branch manager (for outlets) and an outlet or
sub-branch manager (for marketers): ``app.services.policy.decide_target``. Central store
only; progress is computed there (``app.services.targets`` defines it) and reaches
devices with the ranks."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, NaiveDatetime
from pydantic import Field as PydanticField
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

TARGET_VALUE_MAX = 10_000_000_000  # 元 for an amount; far above any outlet's quarter
PERIOD_PATTERN = r"^\d{4}-(0[1-9]|1[0-2]|Q[1-4])$"  # 2026-12 (a month) or 2026-Q4


class TargetSubject(StrEnum):
    OUTLET = "outlet"
    MARKETER = "marketer"


class TargetMetric(StrEnum):
    CONTACTS = "contacts"  # marketing logs in the period
    DISBURSED_COUNT = "disbursed_count"  # loans disbursed in the period
    DISBURSED_AMOUNT = "disbursed_amount"  # 元 disbursed in the period


class Target(SQLModel, table=True):
    __tablename__ = "target"
    __table_args__ = (
        UniqueConstraint("period", "subject", "subject_id", "metric", name="uq_target"),
    )
    id: str = Field(primary_key=True)
    period: str = Field(index=True)
    subject: str
    subject_id: str = Field(index=True)
    metric: str
    value: int
    set_by: str
    set_at: NaiveDatetime


class TargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    period: str = PydanticField(pattern=PERIOD_PATTERN)
    subject: TargetSubject
    subject_id: str = PydanticField(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")
    metric: TargetMetric
    value: int = PydanticField(ge=0, le=TARGET_VALUE_MAX)


TARGETS_PER_REQUEST = 500


class TargetsIn(BaseModel):
    """``PUT /targets``: targets to set (each replaces the one of the same period, subject
    and metric); all of them or none."""

    model_config = ConfigDict(extra="forbid")
    targets: list[TargetIn] = PydanticField(min_length=1, max_length=TARGETS_PER_REQUEST)


class TargetOut(BaseModel):
    """A target and how far it has come (``app.services.targets`` defines the figures)."""

    id: str
    period: str
    subject: TargetSubject
    subject_id: str
    subject_name: str  # the outlet's name, or the marketer's
    subject_code: str  # the outlet's code, or the marketer's employee number
    outlet_id: str | None  # the outlet itself, or the marketer's
    metric: TargetMetric
    value: int  # contacts, loans, or 元
    actual: int
    progress: float | None  # actual ÷ value; None for a target of 0
    set_by: str
    set_at: NaiveDatetime


class TargetsOut(BaseModel):
    """``GET /targets?period=``: the targets in the caller's reach for one period."""

    period: str
    start: date  # first Beijing date of the period
    end: date  # last, inclusive
    targets: list[TargetOut]


class TargetsSetOut(BaseModel):
    """``PUT /targets``: the targets as now stored, each with its progress."""

    targets: list[TargetOut]

"""Whitelist batches (白名单批次): one pushed list with its product, source and validity."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import NaiveDatetime
from sqlmodel import Field, SQLModel


class BatchSource(StrEnum):
    HEAD_OFFICE = "head_office"
    BRANCH = "branch"
    FIELD = "field"


class WhitelistBatchBase(SQLModel):
    name: str
    product: str
    source: str = BatchSource.HEAD_OFFICE
    valid_from: date
    valid_until: date


class WhitelistBatch(WhitelistBatchBase, table=True):
    __tablename__ = "whitelist_batch"
    id: str = Field(primary_key=True)
    created_at: NaiveDatetime
    rev: int = 0

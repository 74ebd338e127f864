"""Whitelist batches (白名单批次): one pushed list with its product, source and validity.

A batch is versioned: importing it again makes version n+1 (``WhitelistBatchVersion``
records each import). Its entries are prospects; one that a new version no longer
lists, or whose batch has expired, is withdrawn (``Prospect.withdrawn_at``): it leaves
every device, and its logs stay on the central store.
"""

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
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


class WhitelistBatch(WhitelistBatchBase, table=True):
    __tablename__ = "whitelist_batch"
    id: str = Field(primary_key=True)
    created_at: NaiveDatetime
    # A field batch (source ``field``) belongs to one outlet: its approved field finds.
    outlet_id: str | None = Field(default=None, index=True)
    created_by: str | None = None
    rev: int = 0


class WhitelistBatchVersion(SQLModel, table=True):
    """One import of a batch (central store only): what it brought and what it changed."""

    __tablename__ = "whitelist_batch_version"
    id: str = Field(primary_key=True)
    batch_id: str = Field(index=True)
    version: int
    file_name: str = ""
    mode: str = "all"  # "all": every row or nothing; "valid_only": the bad rows left out
    imported_at: NaiveDatetime
    imported_by: str | None = None
    rows_total: int = 0
    rows_bad: int = 0  # left out ("valid_only")
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    withdrawn: int = 0

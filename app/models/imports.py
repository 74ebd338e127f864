"""The whitelist import's wire shapes (``/admin/imports``, ``/admin/batches``).

The store answers them, the device reads them: one set of models for both sides.

    POST /admin/imports/preview   multipart file + ``ImportForm``  → ``ImportPreviewOut``
    POST /admin/imports/report    the same                        → the error report (.xlsx)
    POST /admin/imports           the same + mode and batch meta   → ``ImportCommitOut`` (201)
    GET  /admin/batches                                            → ``BatchesOut``
    GET  /admin/batches/{id}/versions                              → ``BatchVersionsOut``
"""

from __future__ import annotations

import json
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from app.geo.coords import Datum
from app.models.batch import BatchSource

__all__ = [
    "BatchesOut",
    "BatchOutletCount",
    "BatchSource",
    "BatchOut",
    "BatchVersionOut",
    "BatchVersionsOut",
    "Datum",
    "ImportMode",
    "ImportPreviewOut",
    "ImportProblemOut",
    "ImportRequest",
    "ImportCommitOut",
]

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ImportMode(StrEnum):
    ALL = "all"  # every row or nothing: refused (import.has_errors) while a row is bad
    VALID_ONLY = "valid_only"  # chosen explicitly: the bad rows are left out


class ImportRequest(BaseModel):
    """The form fields sent with the file (every import call; mode and meta on commit)."""

    datum: Datum = Datum.WGS84
    mapping: dict[str, str] = Field(default_factory=dict)  # header → ImportField value
    batch_id: str | None = None  # a re-import: a new version of this batch
    mode: ImportMode = ImportMode.ALL
    name: str = ""
    product: str = ""
    source: BatchSource = BatchSource.HEAD_OFFICE
    valid_from: date | None = None
    valid_until: date | None = None

    def form(self, *, commit: bool = False) -> dict[str, str]:
        """The multipart form fields (only what is set; batch meta and mode on commit)."""
        fields = {"datum": self.datum.value}
        if self.mapping:
            fields["mapping"] = json.dumps(self.mapping, ensure_ascii=False)
        if self.batch_id:
            fields["batch_id"] = self.batch_id
        if commit:
            fields["mode"] = self.mode.value
            if not self.batch_id:
                fields.update(name=self.name, product=self.product, source=self.source.value)
                if self.valid_from:
                    fields["valid_from"] = self.valid_from.isoformat()
                if self.valid_until:
                    fields["valid_until"] = self.valid_until.isoformat()
        return fields


class ImportProblemOut(BaseModel):
    """One refused row (or cell): where, why (an i18n code and its Chinese words), what."""

    line: int
    column: str = ""
    code: str
    message: str = ""
    value: str = ""


class ImportPreviewOut(BaseModel):
    """What a file holds before anything is stored."""

    file_name: str
    encoding: str
    headers: list[str] = Field(default_factory=list)
    mapping: dict[str, str] = Field(default_factory=dict)  # header → ImportField value
    unknown_headers: list[str] = Field(default_factory=list)
    total: int = 0
    valid: int = 0
    bad: int = 0
    problems: list[ImportProblemOut] = Field(default_factory=list)  # the first ones
    problems_total: int = 0  # every problem (the report lists them all)
    outlets: dict[str, int] = Field(default_factory=dict)  # outlet code → valid rows


class ImportCommitOut(BaseModel):
    """What a commit changed."""

    batch_id: str
    version: int
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    reinstated: int = 0  # counted in ``added`` too
    rows_bad: int = 0


class BatchOutletCount(BaseModel):
    outlet_id: str
    code: str = ""
    name: str = ""
    count: int = 0


class BatchOut(BaseModel):
    """One batch in the list, with its entries counted by status and by outlet."""

    id: str
    name: str
    product: str = ""
    source: str = BatchSource.HEAD_OFFICE
    version: int = 1
    valid_from: date | None = None
    valid_until: date | None = None
    created_at: datetime | None = None
    expired: bool = False
    total: int = 0  # live entries in the caller's reach
    withdrawn: int = 0
    by_status: dict[str, int] = Field(default_factory=dict)
    by_outlet: list[BatchOutletCount] = Field(default_factory=list)


class BatchesOut(BaseModel):
    batches: list[BatchOut] = Field(default_factory=list)


class BatchVersionOut(BaseModel):
    """One import of a batch."""

    version: int
    file_name: str = ""
    mode: str = ImportMode.ALL
    imported_at: datetime | None = None
    imported_by: str | None = None
    imported_by_name: str = ""
    rows_total: int = 0
    rows_bad: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    withdrawn: int = 0


class BatchVersionsOut(BaseModel):
    versions: list[BatchVersionOut] = Field(default_factory=list)

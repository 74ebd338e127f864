"""The whitelist import API's answers (``/admin/imports``, ``/admin/batches``): their JSON
field names are the contract between the central store and the admin screens, which
read them with these same models (``app.sync.client``).

    POST /admin/imports/preview   multipart file + ``ImportRequest.form()`` → ``ImportPreviewOut``
    POST /admin/imports/report    the same                               → the error report (.xlsx)
    POST /admin/imports           the same + mode and the batch's fields  → ``ImportCommitOut`` (201)
    GET  /admin/batches                                                   → ``BatchesOut``
    GET  /admin/batches/{id}/versions                                     → ``BatchVersionsOut``
"""

from __future__ import annotations

import json
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field, NaiveDatetime

from app.geo.coords import Datum
from app.models.batch import BatchSource

MAX_PROBLEMS_SHOWN = 1000  # a preview lists this many problems; the .xlsx report has them all
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ImportMode(StrEnum):
    ALL = "all"  # every row or nothing: refused (import.has_errors) while a row is bad
    VALID_ONLY = "valid_only"  # chosen explicitly: the bad rows are left out


class ImportRequest(BaseModel):
    """The form fields a device sends with the file (every call; mode and the batch's
    fields on commit only)."""

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
        """The multipart form fields (only what is set; mode and batch fields on commit)."""
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
    line: int
    column: str
    code: str
    message: str  # the reason in Chinese
    value: str


class ImportPreviewOut(BaseModel):
    file_name: str
    encoding: str
    headers: list[str]
    mapping: dict[str, str]  # header → ImportField value
    unknown_headers: list[str]
    total: int
    valid: int
    bad: int
    problems: list[ImportProblemOut]  # the first MAX_PROBLEMS_SHOWN
    problems_total: int
    outlets: dict[str, int]  # outlet code → valid rows going there (nearest resolved)


class ImportCommitOut(BaseModel):
    batch_id: str
    version: int
    added: int  # reinstated entries included
    updated: int
    unchanged: int
    withdrawn: int
    reinstated: int
    rows_bad: int


class BatchOutletCount(BaseModel):
    outlet_id: str
    code: str
    name: str
    count: int


class BatchQualityOut(BaseModel):
    """A batch's list quality at a glance, within the caller's reach (the definitions are
    ``app.services.quality``'s; the whole report is ``GET /admin/batches/{id}/quality``)."""

    worked: int = 0
    invalid: int = 0
    wrong_contact: int = 0
    invalid_rate: float | None = None  # invalid ÷ worked; None while nothing is worked
    wrong_contact_rate: float | None = None  # closed for a wrong contact ÷ worked


class BatchOut(BaseModel):
    id: str
    name: str
    product: str
    source: str
    version: int
    valid_from: date
    valid_until: date
    created_at: NaiveDatetime
    expired: bool
    total: int  # live entries in the caller's reach
    withdrawn: int
    by_status: dict[str, int]
    by_outlet: list[BatchOutletCount]
    # an older store's answer has none: the figures then read as nothing worked yet
    quality: BatchQualityOut = Field(default_factory=BatchQualityOut)


class BatchesOut(BaseModel):
    batches: list[BatchOut]


class BatchVersionOut(BaseModel):
    version: int
    file_name: str
    mode: str
    imported_at: NaiveDatetime
    imported_by: str | None
    imported_by_name: str
    rows_total: int
    rows_bad: int
    added: int
    updated: int
    unchanged: int
    withdrawn: int


class BatchVersionsOut(BaseModel):
    versions: list[BatchVersionOut]

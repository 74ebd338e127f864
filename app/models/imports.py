"""The whitelist import API's answers (``/admin/imports``, ``/admin/batches``): their JSON
field names are the contract between the central store and the admin screens."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, NaiveDatetime

MAX_PROBLEMS_SHOWN = 1000  # a preview lists this many problems; the .xlsx report has them all


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

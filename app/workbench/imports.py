"""Whitelist import and batches (管理): for outlet and sub-branch managers and admins.

Both talk to the central store and need the network; nothing here is kept on the
device. The import is a short conversation:

    choose a file ──► preview (counts, problems, outlets) ──► [map unknown headers,
    change the datum: preview again] ──► commit: 全部导入 (only without bad rows) or
    仅导入有效行 (chosen explicitly) ──► the result; a sync brings the new prospects in

The error report (.xlsx) is fetched on request; the screen saves it (a download in the
browser). ``ImportState.busy`` names the call in flight so the screen can say what it
waits for; a failure lands in ``error_code``/``error_message`` in words.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

import flet as ft

from app.models.imports import (
    BatchOut,
    BatchSource,
    BatchVersionOut,
    Datum,
    ImportCommitOut,
    ImportMode,
    ImportPreviewOut,
    ImportRequest,
)
from app.services.clock import beijing_today
from app.services.scope import MANAGERS
from app.sync.errors import SyncError
from app.workbench.online import OFFLINE, OnlineCalls, failure_code

if TYPE_CHECKING:
    from app.workbench.workbench import Workbench


DATUMS = tuple(d.value for d in Datum)
SOURCES = tuple(s.value for s in BatchSource)
DEFAULT_VALIDITY = timedelta(days=180)
REPORT_SUFFIX = "-错误报告.xlsx"


def may_manage(role: str | None) -> bool:
    """Whether the 管理 screens are for this role (managers and admins, not marketers)."""
    return role in MANAGERS


@ft.observable
@dataclass
class ImportState:
    file_name: str = ""
    file_size: int = 0
    datum: str = Datum.WGS84.value
    mapping: dict[str, str] = field(default_factory=dict)  # unknown header → field chosen
    # a re-import: the batch it makes a new version of (its meta is the batch's own)
    batch_id: str | None = None
    batch_name: str = ""
    name: str = ""
    product: str = ""
    source: str = BatchSource.HEAD_OFFICE.value
    valid_from: str = ""  # ISO dates as typed
    valid_until: str = ""
    preview: ImportPreviewOut | None = None
    confirm: str = ""  # the mode waiting for the user's confirmation ("" none)
    busy: str = ""  # "preview" | "report" | "commit" | "" (idle)
    error_code: str = ""
    error_message: str = ""  # the store's words, when its code has none of ours
    result: ImportCommitOut | None = None
    report_path: str = ""  # where the error report was saved ("" on the web: a download)


@ft.observable
@dataclass
class BatchesState:
    batches: list[BatchOut] = field(default_factory=list)
    loaded: bool = False
    busy: bool = False
    error_code: str = ""
    error_message: str = ""
    expanded: str | None = None  # the batch whose outlets and versions show
    versions: dict[str, list[BatchVersionOut]] = field(default_factory=dict)


def _meta_problem(s: ImportState) -> str:
    """The first reason the batch's fields cannot be sent (an i18n code), or ""."""
    if s.batch_id:
        return ""
    if not s.name.strip():
        return "admin.name_required"
    try:
        start = date.fromisoformat(s.valid_from.strip())
        end = date.fromisoformat(s.valid_until.strip())
    except ValueError:
        return "admin.date_invalid"
    if end < start:
        return "admin.dates_reversed"
    return ""


class ImportController(OnlineCalls):
    """The import screen's use cases (one per signed-in session)."""

    def __init__(self, workbench: Workbench) -> None:
        self.workbench = workbench
        self.state = ImportState()
        self.batches = BatchesState()
        self._content: bytes = b""
        self._new_meta()

    # -- the form --------------------------------------------------------------------------

    def _new_meta(self) -> None:
        today = beijing_today()
        s = self.state
        s.valid_from = today.isoformat()
        s.valid_until = (today + DEFAULT_VALIDITY).isoformat()

    @property
    def has_file(self) -> bool:
        return bool(self._content)

    def request(self, mode: ImportMode = ImportMode.ALL) -> ImportRequest:
        s = self.state
        meta = not s.batch_id and not _meta_problem(s)
        return ImportRequest(
            datum=Datum(s.datum),
            mapping=dict(s.mapping),
            batch_id=s.batch_id,
            mode=mode,
            name=s.name.strip(),
            product=s.product.strip(),
            source=BatchSource(s.source),
            valid_from=date.fromisoformat(s.valid_from.strip()) if meta else None,
            valid_until=date.fromisoformat(s.valid_until.strip()) if meta else None,
        )

    async def choose_file(self, file_name: str, content: bytes) -> None:
        """A file picked: forget the last one's answers and preview this one."""
        self._content = content
        s = self.state
        s.file_name, s.file_size = file_name, len(content)
        s.mapping, s.preview, s.result, s.confirm, s.report_path = {}, None, None, "", ""
        self._clear_error()
        if not content:
            self._fail("admin.file_empty")
            return
        await self.preview()

    async def set_datum(self, datum: str) -> None:
        if datum in DATUMS and datum != self.state.datum:
            self.state.datum = datum
            if self.has_file:
                await self.preview()

    async def map_header(self, header: str, field_name: str) -> None:
        """Read an unknown column as ``field_name`` ("" to ignore it), and preview again."""
        mapping = dict(self.state.mapping)
        if field_name:
            mapping[header] = field_name
        else:
            mapping.pop(header, None)
        self.state.mapping = mapping
        if self.has_file:
            await self.preview()

    def set_meta(self, **values: str) -> None:
        """The batch's name, product, source, validity as the user types them."""
        s = self.state
        for key, value in values.items():
            if key in ("name", "product", "valid_from", "valid_until"):
                setattr(s, key, value)
            elif key == "source" and value in SOURCES:
                s.source = value
        if s.error_code.startswith("admin.") and s.error_code != OFFLINE:
            self._clear_error()

    async def new_version_of(self, batch: BatchOut) -> None:
        """Re-import ``batch``: the next file becomes its next version."""
        self.start_over()
        s = self.state
        s.batch_id, s.batch_name = batch.id, batch.name

    def start_over(self) -> None:
        """A blank form: no file, a new batch."""
        self._content = b""
        s = self.state
        s.file_name, s.file_size, s.mapping = "", 0, {}
        s.batch_id, s.batch_name, s.name, s.product = None, "", "", ""
        s.source, s.datum = BatchSource.HEAD_OFFICE.value, Datum.WGS84.value
        s.preview, s.result, s.confirm, s.report_path = None, None, "", ""
        self._new_meta()
        self._clear_error()

    def clear(self) -> None:
        """Signed out: forget the file and the batches."""
        self.start_over()
        b = self.batches  # kept: the screens hold it
        b.batches, b.loaded, b.expanded, b.versions = [], False, None, {}
        b.error_code, b.error_message = "", ""

    # -- preview, report, commit ------------------------------------------------------------

    @property
    def can_import_all(self) -> bool:
        """全部导入: a previewed file without a bad row."""
        p = self.state.preview
        return p is not None and p.bad == 0 and p.valid > 0 and not self.state.busy

    @property
    def can_import_valid(self) -> bool:
        """仅导入有效行: a previewed file with some valid rows (and some bad ones)."""
        p = self.state.preview
        return p is not None and p.valid > 0 and p.bad > 0 and not self.state.busy

    async def preview(self) -> bool:
        if not self.has_file:
            return False
        request = self.request()
        name, content = self.state.file_name, self._content
        found = await self._call(
            "preview", self.workbench.client.import_preview, content, name, request
        )
        if found is None:
            self.state.preview = None
            return False
        self.state.preview = found
        return True

    def report_name(self) -> str:
        stem = self.state.file_name.rsplit(".", 1)[0] or "whitelist"
        return f"{stem}{REPORT_SUFFIX}"

    async def report(self) -> bytes | None:
        """The error report's bytes (the screen saves them), or None with the reason shown."""
        if not self.has_file:
            return None
        request = self.request()
        name, content = self.state.file_name, self._content
        return await self._call(
            "report", self.workbench.client.import_report, content, name, request
        )

    def report_saved(self, path: str | None) -> None:
        self.state.report_path = path or ""
        self.workbench.notify("admin.report_saved", name=path or self.report_name())

    def ask(self, mode: str) -> None:
        """The user chose a way to import: confirm it first (the view shows the question)."""
        s = self.state
        problem = _meta_problem(s)
        if problem:
            self._fail(problem)
            return
        if mode == ImportMode.ALL and self.can_import_all:
            s.confirm = mode
        elif mode == ImportMode.VALID_ONLY and self.can_import_valid:
            s.confirm = mode

    def cancel(self) -> None:
        self.state.confirm = ""

    async def commit(self) -> ImportCommitOut | None:
        """Import as confirmed; then a sync brings the new prospects to this device."""
        s = self.state
        mode, s.confirm = s.confirm, ""
        if not mode or not self.has_file:
            return None
        request = self.request(ImportMode(mode))
        name, content = s.file_name, self._content
        result = await self._call(
            "commit", self.workbench.client.import_commit, content, name, request
        )
        if result is None:
            return None
        s.result, s.preview = result, None
        self._content, s.file_name, s.file_size = b"", "", 0
        s.mapping, s.batch_id, s.batch_name, s.name, s.product = {}, None, "", "", ""
        self.workbench.notify("admin.imported", added=result.added, version=result.version)
        self.workbench.spawn(self.workbench.sync_in_background)
        self.workbench.spawn(self.load_batches)
        return result

    # -- batches --------------------------------------------------------------------------

    async def load_batches(self) -> None:
        b = self.batches
        b.busy = True
        try:
            found = await asyncio.to_thread(self.workbench.client.batches)
        except SyncError as exc:
            b.error_code, b.error_message = failure_code(exc), exc.message
            return
        finally:
            b.busy = False
        b.batches, b.loaded, b.error_code, b.error_message = found.batches, True, "", ""

    async def toggle(self, batch_id: str) -> None:
        """Show (or hide) a batch's outlets and versions; the versions are fetched once."""
        b = self.batches
        if b.expanded == batch_id:
            b.expanded = None
            return
        b.expanded = batch_id
        try:
            found = await asyncio.to_thread(self.workbench.client.batch_versions, batch_id)
        except SyncError as exc:
            b.error_code, b.error_message = failure_code(exc), exc.message
            return
        b.versions = {**b.versions, batch_id: found.versions}

    # -- helpers ----------------------------------------------------------------------------

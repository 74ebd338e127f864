"""The whitelist import and the batch list, for admins and managers (``/admin/imports``,
``/admin/batches``): the admin screen's door to ``app.server.batches``.

Uploads are multipart (``file`` plus form fields). The body is limited while it
streams in (``UploadLimit``: a body announced or found over ``MAX_FILE_BYTES`` plus a
little for the form is answered 413 ``import.too_large`` without being read whole),
and the file part again as it is read.
"""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Path, UploadFile
from fastapi.responses import Response
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.models.imports import (
    MAX_PROBLEMS_SHOWN,
    BatchesOut,
    BatchVersionsOut,
    ImportCommitOut,
    ImportPreviewOut,
    ImportProblemOut,
)
from app.models.user import User
from app.server import batches
from app.server.batches import IMPORTERS, MODES
from app.server.db import read_session
from app.server.deps import CurrentUser, EngineDep
from app.server.errors import StoreError, error_response, error_responses
from app.server.scope import scope_of
from app.services import whitelist_import
from app.services.clock import beijing_today
from app.services.whitelist_import import (
    Datum,
    ImportField,
    ImportFileError,
    ImportPreview,
    RowProblem,
)

router = APIRouter(prefix="/admin", tags=["imports"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORM_ALLOWANCE = 1024 * 1024  # the multipart framing and the other fields around the file
_READ_CHUNK = 1024 * 1024
_ERRORS = error_responses(400, 401, 403, 404, 413, 422)
UPLOAD_PREFIX = "/admin/imports"


def _limit_mb() -> int:
    return whitelist_import.MAX_FILE_BYTES // (1024 * 1024)


class _BodyTooLarge(Exception):
    pass


class UploadLimit:
    """ASGI middleware: an import upload's body stops at ``MAX_FILE_BYTES`` plus
    ``FORM_ALLOWANCE``. A larger ``Content-Length`` is answered 413 before any of the body
    is read; a body that grows past it while streaming (chunked) stops there, and
    whatever the app was answering becomes the same 413 ``import.too_large``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(UPLOAD_PREFIX):
            await self.app(scope, receive, send)
            return
        limit = whitelist_import.MAX_FILE_BYTES + FORM_ALLOWANCE
        refusal = error_response("import.too_large", 413, limit=_limit_mb())
        refusal.headers["Connection"] = "close"
        announced = Headers(scope=scope).get("content-length", "")
        if announced.isdigit() and int(announced) > limit:
            await refusal(scope, receive, send)
            return
        state = {"size": 0, "tripped": False, "answered": False}

        async def limited() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["size"] += len(message.get("body", b""))
                if state["size"] > limit:
                    state["tripped"] = True
                    raise _BodyTooLarge
            return message

        async def guarded(message: Message) -> None:
            if not state["tripped"]:
                await send(message)
            elif message["type"] == "http.response.start" and not state["answered"]:
                state["answered"] = True
                await refusal(scope, receive, send)

        try:
            await self.app(scope, limited, guarded)
        except Exception:
            if not state["tripped"]:
                raise
            if not state["answered"]:
                state["answered"] = True
                await refusal(scope, receive, send)


def importer(user: CurrentUser) -> User:
    """The signed-in user, if they may import (admins and managers); 403 otherwise."""
    if user.role not in IMPORTERS:
        raise StoreError("auth.forbidden", 403)
    return user


Importer = Annotated[User, Depends(importer)]


class ImportForm:
    """The fields every import request carries besides its file, checked."""

    def __init__(
        self,
        datum: Annotated[
            str, Form(description="wgs84 | gcj02 | bd09: the file's coordinates")
        ] = "wgs84",
        mapping: Annotated[
            str | None,
            Form(description='JSON object: header → field, e.g. {"公司": "company_name"}'),
        ] = None,
        batch_id: Annotated[
            str | None, Form(description="a batch to import a new version of")
        ] = None,
    ) -> None:
        try:
            self.datum = Datum(datum.strip().lower())
        except ValueError as exc:
            raise StoreError("import.datum_invalid", 422) from exc
        self.mapping = _mapping(mapping)
        self.batch_id = (batch_id or "").strip() or None


FormDep = Annotated[ImportForm, Depends()]


def _mapping(text: str | None) -> dict[str, ImportField | str]:
    """The mapping form field: a JSON object of header → field value ("" ignores the
    column); the fields themselves are checked by the preview (``import.mapping_invalid``)."""
    if text is None or not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise StoreError("import.mapping_malformed", 422) from exc
    if not isinstance(data, dict) or len(data) > 200:
        raise StoreError("import.mapping_malformed", 422)
    if not all(isinstance(v, str) and k.strip() for k, v in data.items()):
        raise StoreError("import.mapping_malformed", 422)
    return {k: _field(v) for k, v in data.items()}


def _field(value: str) -> ImportField | str:
    try:
        return ImportField(value)
    except ValueError:
        return value  # "" (ignore the column), or a name the preview refuses in words


def read_upload(file: UploadFile) -> bytes:
    """The file's bytes, read in chunks; 413 ``import.too_large`` past the limit."""
    limit = whitelist_import.MAX_FILE_BYTES
    chunks: list[bytes] = []
    size = 0
    while chunk := file.file.read(_READ_CHUNK):
        size += len(chunk)
        if size > limit:
            raise StoreError("import.too_large", 413, limit=_limit_mb())
        chunks.append(chunk)
    return b"".join(chunks)


def _file_error(exc: ImportFileError) -> StoreError:
    """A refused file as the API answers it; a file missing required columns also lists
    its unrecognised headers (``unknown_headers``), for the mapping step."""
    status = 413 if exc.code == "import.too_large" else 422
    error = StoreError(exc.code, status, **exc.params)
    unknown = getattr(exc, "unknown_headers", None)
    if unknown:
        error.extra = {"unknown_headers": list(unknown)}
    return error


def _message(problem: RowProblem) -> str:
    return whitelist_import.describe(problem, "zh")


def preview_answer(found: ImportPreview, outlets: dict[str, int]) -> ImportPreviewOut:
    shown = found.problems[:MAX_PROBLEMS_SHOWN]
    return ImportPreviewOut(
        file_name=found.file_name,
        encoding=found.encoding,
        headers=found.headers,
        mapping={h: str(f) for h, f in found.mapping.items()},
        unknown_headers=found.unknown_headers,
        total=found.total,
        valid=len(found.rows),
        bad=found.bad_lines,
        problems=[
            ImportProblemOut(
                line=p.line, column=p.column, code=p.code, message=_message(p), value=p.value
            )
            for p in shown
        ],
        problems_total=len(found.problems),
        outlets=outlets,
    )


def _preview(engine, user: User, file: UploadFile, form: ImportForm):  # type: ignore[no-untyped-def]
    data = read_upload(file)
    try:
        checked = batches.check_file(
            engine,
            user,
            data,
            file.filename or "",
            datum=form.datum,
            mapping=form.mapping,
            batch_id=form.batch_id,
        )
    except ImportFileError as exc:
        raise _file_error(exc) from exc
    return checked.preview, checked.outlets


@router.post(
    "/imports/preview",
    response_model=ImportPreviewOut,
    responses=_ERRORS,
)
def preview_import(
    user: Importer,
    engine: EngineDep,
    file: Annotated[UploadFile, File(description=".xlsx or .csv (UTF-8, GBK, GB18030)")],
    form: FormDep,
) -> ImportPreviewOut:
    """Read and check a whitelist file; nothing is stored. Every valid row's outlet
    (``outlets``: by 网点代码, else the nearest one in reach) and every problem."""
    found, outlets = _preview(engine, user, file, form)
    return preview_answer(found, outlets)


@router.post(
    "/imports/report",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "the error report"}, **_ERRORS},
)
def import_report(
    user: Importer,
    engine: EngineDep,
    file: Annotated[UploadFile, File()],
    form: FormDep,
) -> Response:
    """The file's problems as an ``.xlsx`` to download."""
    found, _ = _preview(engine, user, file, form)
    body = whitelist_import.error_report(found, "zh")
    stem = (file.filename or "import").rsplit(".", 1)[0]
    name = f"{stem}-错误报告.xlsx"
    disposition = f"attachment; filename=\"report.xlsx\"; filename*=UTF-8''{quote(name)}"
    return Response(body, media_type=XLSX, headers={"Content-Disposition": disposition})


@router.post(
    "/imports",
    status_code=201,
    response_model=ImportCommitOut,
    responses=_ERRORS,
)
def commit_import(
    user: Importer,
    engine: EngineDep,
    file: Annotated[UploadFile, File()],
    form: FormDep,
    mode: Annotated[str, Form(description="all | valid_only")] = "all",
    name: Annotated[str | None, Form()] = None,
    product: Annotated[str | None, Form()] = None,
    source: Annotated[str | None, Form(description="head_office | branch | field")] = None,
    valid_from: Annotated[str | None, Form(description="YYYY-MM-DD")] = None,
    valid_until: Annotated[str | None, Form(description="YYYY-MM-DD")] = None,
) -> ImportCommitOut:
    """Import a whitelist file in one transaction: a new batch (name, product, source,
    validity), or a new version of ``batch_id``. ``mode`` "all" refuses a file with any
    problem (422 ``import.has_errors``); "valid_only" leaves the bad rows out."""
    if mode not in MODES:
        raise StoreError("import.mode_invalid", 422)
    meta = None
    if form.batch_id is None:
        meta = batches.parse_meta(name, product, source, valid_from, valid_until)
    data = read_upload(file)
    try:
        _, result = batches.import_file(
            engine,
            user,
            data,
            file.filename or "",
            mode=mode,
            meta=meta,
            batch_id=form.batch_id,
            datum=form.datum,
            mapping=form.mapping,
        )
    except ImportFileError as exc:
        raise _file_error(exc) from exc
    return ImportCommitOut(**vars(result))


@router.get("/batches", response_model=BatchesOut, responses=error_responses(401, 403))
def list_batches(user: Importer, engine: EngineDep) -> BatchesOut:
    """Every batch in reach with its live entries by status and by outlet (within reach)."""
    with read_session(engine) as session:
        listed = batches.list_batches(session, scope_of(session, user), beijing_today())
    return BatchesOut.model_validate({"batches": listed})


@router.get(
    "/batches/{batch_id}/versions",
    response_model=BatchVersionsOut,
    responses=error_responses(401, 403, 404, 422),
)
def batch_versions(
    user: Importer, engine: EngineDep, batch_id: Annotated[str, Path(max_length=64)]
) -> BatchVersionsOut:
    """The imports of one batch, newest first."""
    with read_session(engine) as session:
        versions = batches.batch_versions(session, scope_of(session, user), batch_id)
    return BatchVersionsOut.model_validate({"versions": versions})

"""Excel downloads (``GET /exports/{kind}.xlsx``): every kind of ``app.server.exports``'
registry, e.g. ``/exports/quality.xlsx?batch_id=…``, ``/exports/shares.xlsx?period=2026-Q4``,
``/exports/targets.xlsx?period=2026-12``, ``/exports/batches.xlsx``,
``/exports/bulletin.xlsx?period=2026-Q4&outlet=T-001``. Admins and managers, within their
reach; the file is named with its Chinese title (RFC 5987 ``filename*``; a plain ASCII
``filename`` for old clients)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import Response

from app.models.imports import XLSX_MEDIA_TYPE
from app.models.target import PERIOD_PATTERN
from app.server import exports
from app.server.db import read_session
from app.server.deps import CurrentUser, EngineDep, SettingsDep
from app.server.errors import error_responses

router = APIRouter(prefix="/exports", tags=["exports"])
OUTLET_CODE_PATTERN = r"^[A-Za-z0-9_-]+$"  # as the loan feed's outlet codes

# the registry's kinds, as the path's choices (documented in /openapi.json)
ExportKind = StrEnum("ExportKind", {k: k for k in exports.kinds()})  # type: ignore[misc]


class Lang(StrEnum):
    ZH = "zh"
    EN = "en"


def disposition(kind: str, name: str) -> str:
    """``attachment`` with an ASCII fallback and the real (Chinese) name, RFC 5987."""
    return f"attachment; filename=\"{kind}.xlsx\"; filename*=UTF-8''{quote(name, safe='')}"


@router.get(
    "/{kind}.xlsx",
    response_class=Response,
    responses={
        200: {"content": {XLSX_MEDIA_TYPE: {}}, "description": "the workbook"},
        **error_responses(401, 403, 404, 422),
    },
)
def download(
    kind: ExportKind,
    user: CurrentUser,
    engine: EngineDep,
    settings: SettingsDep,
    period: Annotated[
        str | None,
        Query(
            pattern=PERIOD_PATTERN,
            description="2026-12 or 2026-Q4 (shares, targets, league, participation,"
            " performance); a quarter (bulletin)",
        ),
    ] = None,
    batch_id: Annotated[
        str | None,
        Query(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$", description="quality"),
    ] = None,
    outlet: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=32,
            pattern=OUTLET_CODE_PATTERN,
            description="outlet code (bulletin)",
        ),
    ] = None,
    lang: Lang = Lang.ZH,
) -> Response:
    """A report as an ``.xlsx``: headers in Chinese (``lang=en``: English), amounts in 万元."""
    params = exports.ExportParams(
        period=period,
        batch_id=batch_id,
        outlet=outlet,
        lang=lang.value,
        windows=tuple(settings.coverage_windows),
    )
    with read_session(engine) as session:
        found = exports.export(session, user, kind.value, params)
    return Response(
        found.data,
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": disposition(kind.value, found.name)},
    )

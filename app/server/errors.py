"""The store's errors: each has a code (an i18n key) and answers as JSON.

{"code": "auth.invalid_credentials", "message": "员工号或密码错误"}

Every error the API answers has that one body (``ErrorBody``), validation errors
included; routes declare the statuses they may answer with ``error_responses``, so
``/openapi.json`` documents each status a client can meet.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.i18n import t
from app.models.sync import ErrorBody
from app.server.observe import REQUEST_ID_HEADER
from app.services.signin import wait_minutes

log = logging.getLogger(__name__)

# What each error status means on this API, for /openapi.json.
ERROR_STATUSES: dict[int, str] = {
    400: "The body is not readable JSON (e.g. not UTF-8): `request.invalid`",
    401: "No valid bearer token, or a wrong password: `auth.*`; on the loan feed, no valid API key: `apikey.*`",
    403: "The account is disabled, or the action is not the user's to take: `auth.*`; an API key made for another endpoint: `apikey.wrong_endpoint`",
    404: "No such thing, or not in the caller's reach (the same answer): `not_found`, `import.batch_unknown`, `distribution.outlet_not_found`, `loan.event_not_found`, `loan.no_shares`, `target.not_found`, `target.subject_not_found`, `export.kind_unknown`",
    409: "The sync cursor is unknown, damaged or of another scope: `sync.cursor_invalid`; a loan event no longer waiting: `loan.not_unmatched`",
    413: "Too many mutations in one push: `request.invalid`; an import file over the size limit: `import.too_large`",
    422: "A parameter or the body breaks the wire model: `request.invalid`",
    426: "The `X-Puhui-Protocol` header is missing or too old: `protocol.too_old`",
    429: "Too many failed sign-ins; `Retry-After` says how long: `auth.account_locked`, `auth.client_throttled`; too many open event streams: `sync.busy`; too many pulls at once, or no database connection free in time: `server.busy`",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route that may answer these error statuses."""
    return {
        status: {"model": ErrorBody, "description": ERROR_STATUSES[status]}
        for status in sorted(statuses)
    }


class StoreError(Exception):
    status_code = 400
    headers: Mapping[str, str] = {}  # extra response headers (``Retry-After``)
    extra: Mapping[str, object] = {}  # more of the body, beside code and message

    def __init__(self, code: str, status_code: int | None = None, /, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params
        if status_code is not None:
            self.status_code = status_code


class TooManyAttempts(StoreError):
    """429: sign-in refused for a while; says the minutes in words, the seconds in
    ``Retry-After``."""

    def __init__(self, code: str, seconds: int) -> None:
        super().__init__(code, 429, minutes=wait_minutes(seconds))
        self.headers = {"Retry-After": str(seconds)}


class Busy(StoreError):
    """429: the store serves as many as it can; ``Retry-After`` says when to come back
    (and the message, in seconds)."""

    def __init__(self, code: str, seconds: int) -> None:
        super().__init__(code, 429, seconds=seconds)
        self.headers = {"Retry-After": str(seconds)}


class Rejected(StoreError):
    """A mutation the store refuses for good; it is recorded, not retried."""


def error_response(
    code: str,
    status: int,
    *,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, object] | None = None,
    **params: object,
) -> JSONResponse:
    body = {"code": code, "message": t(code, **params), **(extra or {})}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StoreError)
    async def _store_error(_req: Request, exc: StoreError) -> JSONResponse:
        return error_response(
            exc.code, exc.status_code, headers=exc.headers, extra=exc.extra, **exc.params
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_req: Request, exc: RequestValidationError) -> JSONResponse:
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()
        )
        return error_response("request.invalid", 422, detail=detail[:500])

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = "not_found" if exc.status_code == 404 else "request.invalid"
        return error_response(code, exc.status_code, detail=str(exc.detail))

    @app.exception_handler(PoolTimeout)
    async def _no_connection(req: Request, exc: PoolTimeout) -> JSONResponse:
        # every connection of the process's budget stayed busy for the pool's timeout:
        # the store is saturated, not broken; the client comes back (nothing was written
        # by the transaction that could not start)
        log.warning("no database connection free in time: %s", exc)
        seconds = req.app.state.settings.busy_retry_seconds
        return error_response(
            "server.busy", 429, headers={"Retry-After": str(seconds)}, seconds=seconds
        )

    @app.exception_handler(Exception)
    async def _unexpected(req: Request, exc: Exception) -> JSONResponse:
        # Runs outside the request's middleware (Starlette's outermost layer): the
        # request id comes from the request's state, for the log and the answer.
        request_id = getattr(req.state, "request_id", None)
        log.error("unhandled error", exc_info=exc, extra={"request_id": request_id})
        answer = error_response("server.error", 500)
        if request_id:
            answer.headers[REQUEST_ID_HEADER] = request_id
        return answer

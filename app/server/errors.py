"""The store's errors: each has a code (an i18n key) and answers as JSON.

{"code": "auth.invalid_credentials", "message": "员工号或密码错误"}
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.i18n import t
from app.services.signin import wait_minutes

log = logging.getLogger(__name__)


class StoreError(Exception):
    status_code = 400
    headers: Mapping[str, str] = {}  # extra response headers (``Retry-After``)

    def __init__(self, code: str, status_code: int | None = None, **params: object) -> None:
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


class Rejected(StoreError):
    """A mutation the store refuses for good; it is recorded, not retried."""


def error_response(
    code: str, status: int, *, headers: Mapping[str, str] | None = None, **params: object
) -> JSONResponse:
    body = {"code": code, "message": t(code, **params)}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StoreError)
    async def _store_error(_req: Request, exc: StoreError) -> JSONResponse:
        return error_response(exc.code, exc.status_code, headers=exc.headers, **exc.params)

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

    @app.exception_handler(Exception)
    async def _unexpected(_req: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response("server.error", 500)

"""What the store tells its operators: request ids, structured logs and Prometheus metrics.

Every HTTP request gets an id: the client's ``X-Request-ID`` when well-formed (1 to
128 of ``A-Z a-z 0-9 . _ : -``, so a log line cannot be forged through it), else a
new one. The answer echoes it, errors included, and every log line written while
the request runs carries it.

Log lines are JSON objects (``JsonFormatter``), one per request on ``app.server.access``::

    {"time": "2026-04-07T08:00:00.123Z", "level": "INFO", "logger": "app.server.access",
     "event": "request", "request_id": "…", "method": "POST", "route": "/sync/push",
     "status": 200, "duration_ms": 12.5, "user_id": "…"}

and one per pushed mutation's answer (``"event": "push.result"``: device, seq, kind,
status, code). ``route`` is the route's template, never the raw path, so ids in a
path never reach a log line or a metric label; an unknown path is ``<unmatched>``.

Metrics live in a registry of the app's own (``Metrics``), so several apps in one
process (the tests) count apart:

- ``puhui_http_requests_total{method, route, status}``
- ``puhui_http_request_duration_seconds{method, route, status}`` (histogram)
- ``puhui_push_results_total{kind, status, code}``: each answer a push gave,
  replays of an already answered mutation included.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.models.sync import Mutation, PushResponse

REQUEST_ID_HEADER = "X-Request-ID"
UNMATCHED = "<unmatched>"  # the route label of a path no route serves
_WELL_FORMED = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
# Seconds; the store's answers run from ~1 ms (health) to seconds (a 20k-row first pull).
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

access_log = logging.getLogger("app.server.access")


@dataclass
class RequestInfo:
    """What the log line of the request running in this context knows so far."""

    request_id: str
    user_id: str | None = None


# Set per request by the middleware; FastAPI runs sync dependencies in a copy of the
# context, which shares this (mutable) object, so ``note_user`` there is seen here.
_current: ContextVar[RequestInfo | None] = ContextVar("puhui_request", default=None)


def note_user(user_id: str) -> None:
    """Name the signed-in user of the current request in its log line."""
    info = _current.get()
    if info is not None:
        info.user_id = user_id


def current_request_id() -> str | None:
    """The id of the request being served in this context, if any."""
    info = _current.get()
    return info.request_id if info is not None else None


def request_id_from(header: str | None) -> str:
    """The client's id when well-formed, else a new one."""
    if header is not None and _WELL_FORMED.match(header):
        return header
    return uuid.uuid4().hex


class Metrics:
    """The store's Prometheus metrics, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ("method", "route", "status")
        self.requests = Counter(
            "puhui_http_requests", "HTTP requests answered", labels, registry=self.registry
        )
        self.latency = Histogram(
            "puhui_http_request_duration_seconds",
            "Time to answer an HTTP request",
            labels,
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.push_results = Counter(
            "puhui_push_results",
            "Answers to pushed mutations (applied, or rejected with a code)",
            ("kind", "status", "code"),
            registry=self.registry,
        )

    def observe_push(
        self, *, device_id: str, mutations: list[Mutation], answer: PushResponse
    ) -> None:
        """Count and log each mutation's answer, once the push has committed."""
        kinds = {m.seq: str(m.kind) for m in mutations}
        for result in answer.results:
            kind = kinds.get(result.seq, "")
            self.push_results.labels(kind, str(result.status), result.code).inc()
            access_log.info(
                "push.result",
                extra={
                    "fields": {
                        "request_id": current_request_id(),
                        "device_id": device_id,
                        "seq": result.seq,
                        "kind": kind,
                        "status": str(result.status),
                        "code": result.code,
                    }
                },
            )


class RequestTelemetry:
    """ASGI middleware: the request id, the access log line and the request metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = _header(scope, b"x-request-id")
        info = RequestInfo(request_id_from(header))
        # Also in the request's state: the 500 handler runs outside this context.
        scope.setdefault("state", {})["request_id"] = info.request_id
        token = _current.set(info)
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = info.request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            method = scope["method"]
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route, str(status)).observe(elapsed)
            access_log.info(
                "request",
                extra={
                    "fields": {
                        "request_id": info.request_id,
                        "method": method,
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                        "user_id": info.user_id,
                    }
                },
            )
            _current.reset(token)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


class RequestIdFilter(logging.Filter):
    """Stamps each record with the current request's id (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, event, request id, the fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_json_logging(level: int = logging.INFO) -> None:
    """The serve command's logging: the store's loggers write JSON lines to stderr."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("app.server")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False  # not twice, once as JSON and once as the CLI's plain text

"""``GET /metrics``: the store's Prometheus metrics, for the operators' scraper only.

Who may read them: with ``PUHUI_METRICS_TOKEN`` set, a request bearing that token
(Prometheus' ``authorization: {credentials: …}``); without it, only a client on this
machine (loopback). Route names and counts tell an outsider how the store is used,
so they are not public. Not in ``/openapi.json``: it is not the API devices speak.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.server.deps import SettingsDep
from app.server.errors import StoreError

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})

router = APIRouter(tags=["operations"])


@router.get("/metrics", include_in_schema=False)
def metrics(
    request: Request,
    settings: SettingsDep,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """Requests and latency by route and status, push answers by status and code."""
    if settings.metrics_token:
        expected = f"Bearer {settings.metrics_token}".encode()
        if not hmac.compare_digest((authorization or "").encode(), expected):
            raise StoreError("auth.forbidden", 403)
    elif request.client is None or request.client.host not in LOOPBACK:
        raise StoreError("auth.forbidden", 403)
    body = generate_latest(request.app.state.metrics.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)

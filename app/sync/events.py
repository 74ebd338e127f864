"""The store's live-update stream (``GET /sync/events``), read as server-sent events.

    hello {"high": N}   the stream is open; N sums the branches' newest change-log seqs
    poke  {"high": N}   a committed change touched this user's scope: pull (N: the newest
                        seq of the branch written; both for the record only)
    bye   {"code": C}   the token no longer stands (signed out elsewhere, account
                        disabled): raised as ``AuthError`` with code C

A poke carries no data: the device pulls as it always does. Errors are translated
once, here, into the ``SyncError`` family (``app.sync.errors``); the stream ending
for any other reason is a ``TransportError`` (the caller reconnects with backoff).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from app.models.sync import PROTOCOL_HEADER
from app.sync.client import SyncClient, _error_for
from app.sync.errors import AuthError, SyncTimeout, TransportError

EVENTS_PATH = "/sync/events"


@dataclass(frozen=True)
class StoreEvent:
    kind: str  # "hello" or "poke"
    high: int | None = None


async def listen(
    client: SyncClient,
    *,
    read_timeout: float,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[StoreEvent]:
    """The events of one stream to the store ``client`` talks to, as its signed-in user.
    Never returns normally: a closed stream raises ``TransportError``."""
    headers = {PROTOCOL_HEADER: str(client.protocol), "Accept": "text/event-stream"}
    if client.token:
        headers["Authorization"] = f"Bearer {client.token}"
    timeout = httpx.Timeout(10, read=read_timeout)
    async with httpx.AsyncClient(
        base_url=client.base_url, timeout=timeout, transport=transport
    ) as http:
        try:
            async with http.stream("GET", EVENTS_PATH, headers=headers) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise _error_for(response)
                async for event, data in _events(response.aiter_lines()):
                    if event == "bye":
                        raise AuthError("signed out", code=str(data.get("code") or "") or None)
                    if event in ("hello", "poke"):
                        high = data.get("high")
                        yield StoreEvent(event, int(high) if isinstance(high, int) else None)
        except httpx.TimeoutException as exc:
            raise SyncTimeout(str(exc) or "the event stream went silent") from exc
        except httpx.TransportError as exc:
            raise TransportError(str(exc) or "the event stream broke") from exc
    raise TransportError("the event stream ended")


async def _events(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, dict[str, object]]]:
    """(event name, JSON data) per event; comments (keep-alives) and ``retry:`` skipped."""
    name, data = "message", list[str]()
    async for line in lines:
        if not line:
            if data:
                try:
                    parsed = json.loads("\n".join(data))
                except ValueError:
                    parsed = None
                yield name, parsed if isinstance(parsed, dict) else {}
            name, data = "message", []
            continue
        if line.startswith(":"):
            continue
        key, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if key == "event":
            name = value
        elif key == "data":
            data.append(value)

"""Sync errors, translated once from HTTP at the client boundary (``client._send``).

    SyncError
    ├── TransportError          the central store could not be reached
    │   └── SyncTimeout         it did not answer in time
    ├── ServerUnavailable       5xx: try again later
    ├── AuthError               401/403: log in again (the outbox is kept)
    │   └── InvalidCredentials  wrong employee number or password
    ├── TooManyAttempts         429: sign-in refused for ``params["minutes"]`` minutes
    ├── StoreBusy               429: the store is full (event streams, pulls, connections);
    │                           ``retry_after`` s: wait and ask again (app/sync/busy.py)
    ├── StoreStillBusy          still busy after every wait of a run: the next run retries
    ├── ProtocolTooOld          426: this client must be updated (the outbox is kept)
    ├── CursorInvalid           409: the store no longer accepts our cursor: resync
    ├── SeqGap                  the store waits for an outbox sequence this device lacks
    └── RequestRejected         other 4xx: a bug on our side, shown with the store's message
    SyncCancelled               the user cancelled; not an error of the store

Each carries ``code`` (an i18n key) and ``params`` (its placeholders) so the UI can
say what happened in words.
"""

from __future__ import annotations

from collections.abc import Mapping


class SyncError(Exception):
    code = "sync.failed"

    def __init__(
        self,
        message: str = "",
        *,
        code: str | None = None,
        status: int | None = None,
        params: Mapping[str, object] | None = None,
    ):
        super().__init__(message or self.code)
        if code:
            self.code = code
        self.status = status
        self.message = message
        self.params: Mapping[str, object] = dict(params or {})


class TransportError(SyncError):
    code = "sync.network"


class SyncTimeout(TransportError):
    code = "sync.timeout"


class ServerUnavailable(SyncError):
    code = "sync.server"


class AuthError(SyncError):
    code = "auth.token_invalid"


class InvalidCredentials(AuthError):
    code = "auth.invalid_credentials"


class TooManyAttempts(SyncError):
    """Too many failed sign-ins: the store names the wait (``params["minutes"]``)."""

    code = "auth.account_locked"


class StoreBusy(SyncError):
    """The store serves as many as it can (``sync.busy``: event streams; ``server.busy``:
    pulls, or its database connections): come back after ``retry_after`` seconds."""

    code = "sync.busy"

    def __init__(
        self,
        message: str = "",
        *,
        retry_after: float = 60,
        status: int = 429,
        code: str | None = None,
    ) -> None:
        super().__init__(message, code=code, status=status, params={"seconds": retry_after})
        self.retry_after = retry_after


class StoreStillBusy(SyncError):
    """The store stayed busy through every wait of one run; the next run tries again."""

    code = "sync.store_busy"


class ProtocolTooOld(SyncError):
    code = "protocol.too_old"


class CursorInvalid(SyncError):
    code = "sync.cursor_invalid"


class SeqGap(SyncError):
    """The store expects sequence ``expected`` next and the outbox no longer holds it;
    the outbox is kept and the user told in words."""

    code = "sync.seq_gap_stuck"

    def __init__(self, message: str = "", *, expected: int | None = None) -> None:
        super().__init__(message)
        self.expected = expected


class RequestRejected(SyncError):
    code = "request.invalid"


class SyncCancelled(Exception):
    code = "sync.cancelled"

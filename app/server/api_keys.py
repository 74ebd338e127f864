"""Service accounts' API keys: the loan system's way in (``X-API-Key``), never a user's.

A key reads ``phk_<prefix>_<secret>``: ``prefix`` (12 hex digits) finds its row, ``secret``
(43 URL-safe characters, 256 random bits) is what makes it unguessable. The store keeps
the prefix and the SHA-256 of the whole key, never the key: ``main.py create-api-key``
prints it once, and whoever loses it makes a new one. Checking compares digests in
constant time (``hmac.compare_digest``), and an unknown prefix costs the same digest as a
known one, so neither timing nor answers tell which prefixes exist.

A key opens only its endpoint (``ApiKey.endpoint``); it is no bearer token, so every
user endpoint answers it 401 ``auth.token_missing`` (or ``auth.token_invalid`` when sent
as ``Authorization: Bearer``). Its answers:

- no ``X-API-Key``: 401 ``apikey.missing``; a user's bearer token instead: 401
  ``apikey.user_token`` (a person's sign-in does not post loans),
- not a key of this store, or a wrong secret: 401 ``apikey.invalid``,
- revoked (``main.py revoke-api-key``): 401 ``apikey.revoked``,
- a key made for another endpoint: 403 ``apikey.wrong_endpoint``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select, update
from sqlmodel import Session

from app.models.ids import new_id, utcnow
from app.models.loan import ApiKey, ApiKeyEndpoint
from app.server.db import write_session
from app.server.errors import StoreError

KEY_HEADER = "X-API-Key"
_KEY = re.compile(r"^phk_([0-9a-f]{12})_([A-Za-z0-9_-]{20,100})$")
_NO_HASH = hashlib.sha256(b"phk_no-such-key").hexdigest()  # compared when no row matched
_api_key = ApiKey.__table__  # type: ignore[attr-defined]


class ApiKeyError(ValueError):
    """A key the CLI cannot make or revoke; ``code`` is an i18n key."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class ApiKeyInfo:
    """What ``main.py api-keys`` lists (never the key)."""

    name: str
    prefix: str
    endpoint: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_api_key(
    engine: Engine, *, name: str, endpoint: str = ApiKeyEndpoint.LOAN_FEED, created_by: str = ""
) -> str:
    """A new key for ``name`` (unique, revoked ones included): the key, to be shown once."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ApiKeyError("apikey.name_invalid")
    with write_session(engine) as session:
        taken = session.execute(select(_api_key.c.id).where(_api_key.c.name == name)).first()
        if taken is not None:
            raise ApiKeyError("apikey.name_taken", name=name)
        prefix = secrets.token_hex(6)
        key = f"phk_{prefix}_{secrets.token_urlsafe(32)}"
        session.add(
            ApiKey(
                id=new_id(),
                name=name,
                prefix=prefix,
                key_hash=digest(key),
                endpoint=ApiKeyEndpoint(endpoint),
                created_at=utcnow(),
                created_by=created_by,
            )
        )
    return key


def revoke_api_key(engine: Engine, *, name: str) -> datetime:
    """Revoke ``name``'s key from now on; when it was revoked (an earlier revocation stands)."""
    with write_session(engine) as session:
        row = session.execute(
            select(ApiKey).where(ApiKey.name == name.strip())
        ).scalar_one_or_none()
        if row is None:
            raise ApiKeyError("apikey.name_unknown", name=name)
        if row.revoked_at is None:
            row.revoked_at = utcnow()
        return row.revoked_at


def list_api_keys(engine: Engine) -> list[ApiKeyInfo]:
    with Session(engine) as session:
        rows = session.execute(select(ApiKey).order_by(ApiKey.created_at, ApiKey.name)).scalars()
        return [
            ApiKeyInfo(r.name, r.prefix, r.endpoint, r.created_at, r.last_used_at, r.revoked_at)
            for r in rows
        ]


def authenticate(session: Session, key: str | None, endpoint: ApiKeyEndpoint) -> ApiKey:
    """The key's account, allowed ``endpoint``; ``StoreError`` otherwise (module docstring).
    Notes its use (``last_used_at``) in ``session``'s transaction."""
    if not key:
        raise StoreError("apikey.missing", 401)
    found = _KEY.fullmatch(key.strip())
    row = None
    if found is not None:
        row = session.execute(
            select(ApiKey).where(ApiKey.prefix == found.group(1))
        ).scalar_one_or_none()
    stored = row.key_hash if row is not None else _NO_HASH
    if not hmac.compare_digest(digest(key.strip()), stored) or row is None:
        raise StoreError("apikey.invalid", 401)
    if row.revoked_at is not None:
        raise StoreError("apikey.revoked", 401)
    if row.endpoint != endpoint:
        raise StoreError("apikey.wrong_endpoint", 403)
    session.execute(update(_api_key).where(_api_key.c.id == row.id).values(last_used_at=utcnow()))
    return row

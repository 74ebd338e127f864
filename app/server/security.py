"""Password hashing (``app.services.passwords``), the store's secret key, and expiring,
HMAC-signed, revocable bearer tokens.

A token is ``base64(payload).base64(hmac)`` with the payload
``{"sub": user id, "exp": unix seconds, "jti": token id}``. Replicas behind a load
balancer share only the secret key and the database: the ``jti`` is what
``POST /auth/logout`` revokes (table ``revoked_token``).

The key signs every token, so a public or guessable one lets anyone mint an admin
token: ``check_secret_key`` refuses an empty, short or known-default key, and
``local_secret_key`` makes one for the embedded store (``main.py run``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.models.ids import new_id, utcnow
from app.services.passwords import hash_password, verify_password

__all__ = [
    "MIN_SECRET_KEY_LENGTH",
    "SecretKeyError",
    "TokenClaims",
    "TokenError",
    "check_secret_key",
    "hash_password",
    "issue_token",
    "local_secret_key",
    "read_token",
    "verify_password",
]

MIN_SECRET_KEY_LENGTH = 32
# Keys that were ever published (the old default in app/config.py): never accepted.
_PUBLIC_KEYS = frozenset({"change-me-in-production-puhui"})


class TokenError(Exception):
    """A token the store does not accept; ``code`` is the i18n key of the reason."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class SecretKeyError(ValueError):
    """The configured secret key would let others sign tokens; ``code`` is an i18n key."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class TokenClaims:
    """What a valid token says: whose it is, its id (to revoke it) and when it ends."""

    user_id: str
    token_id: str
    expires_at: datetime  # naive UTC


def check_secret_key(key: str) -> None:
    """Refuse an empty, short or published key (``SecretKeyError``)."""
    if not key:
        raise SecretKeyError("store.secret_key_missing")
    if key in _PUBLIC_KEYS or len(key) < MIN_SECRET_KEY_LENGTH:
        raise SecretKeyError("store.secret_key_weak")


def local_secret_key(path: Path) -> str:
    """The key kept in ``path`` (mode 0600), made on first use: the embedded store's."""
    if path.exists():
        key = path.read_text(encoding="utf-8").strip()
        if key:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # created 0600 from the start: never readable by others, not even for a moment
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(key + "\n")
    os.chmod(path, 0o600)  # an existing empty file may have had a wider mode
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(body: str, secret: str) -> str:
    return _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())


def issue_token(user_id: str, *, secret: str, ttl: timedelta) -> tuple[str, datetime]:
    """A new token for ``user_id`` and the naive-UTC time it expires."""
    expires = utcnow() + ttl
    payload = {"sub": user_id, "exp": int(expires.replace(tzinfo=UTC).timestamp()), "jti": new_id()}
    body = _b64(json.dumps(payload).encode())
    return f"{body}.{_sign(body, secret)}", expires


def read_token(token: str, *, secret: str) -> TokenClaims:
    """The claims of a valid token; ``TokenError`` otherwise (never another error)."""
    try:
        body, sig = token.split(".", 1)
        # bytes: a header may carry non-ASCII, which compare_digest refuses on str
        if not hmac.compare_digest(sig.encode(), _sign(body, secret).encode()):
            raise TokenError("auth.token_invalid")
        payload = json.loads(_unb64(body))
    except (ValueError, UnicodeError) as exc:  # JSONDecodeError and binascii.Error too
        raise TokenError("auth.token_invalid") from exc
    # Signed is not well formed: a key used elsewhere, or a bug, can sign anything.
    if not isinstance(payload, dict):
        raise TokenError("auth.token_invalid")
    sub, exp, jti = payload.get("sub"), payload.get("exp"), payload.get("jti")
    if not (isinstance(sub, str) and sub and isinstance(jti, str) and jti):
        raise TokenError("auth.token_invalid")
    if isinstance(exp, bool) or not isinstance(exp, int):
        raise TokenError("auth.token_invalid")
    if exp < int(datetime.now(UTC).timestamp()):
        raise TokenError("auth.token_expired")
    try:
        expires = datetime.fromtimestamp(exp, UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError) as exc:  # a year past 9999
        raise TokenError("auth.token_invalid") from exc
    return TokenClaims(user_id=sub, token_id=jti, expires_at=expires)

"""Password hashing (``app.services.passwords``) and expiring, HMAC-signed bearer tokens.

Tokens are stateless (``base64(payload).base64(hmac)``) so replicas behind a load
balancer need only share the secret key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta

from app.models.ids import utcnow
from app.services.passwords import hash_password, verify_password

__all__ = ["TokenError", "hash_password", "issue_token", "read_token", "verify_password"]


class TokenError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_token(user_id: str, *, secret: str, ttl: timedelta) -> tuple[str, datetime]:
    expires = utcnow() + ttl
    body = _b64(json.dumps({"sub": user_id, "exp": int(expires.timestamp())}).encode())
    sig = _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())
    return f"{body}.{sig}", expires


def read_token(token: str, *, secret: str) -> str:
    """The user id a valid token names; ``TokenError`` otherwise."""
    try:
        body, sig = token.split(".", 1)
        expected = _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())
        # bytes: a header may carry non-ASCII, which compare_digest refuses on str
        if not hmac.compare_digest(sig.encode(), expected.encode()):
            raise TokenError("auth.token_invalid")
        payload = json.loads(_unb64(body))
    except (ValueError, json.JSONDecodeError) as exc:
        raise TokenError("auth.token_invalid") from exc
    if int(payload.get("exp", 0)) < int(utcnow().timestamp()):
        raise TokenError("auth.token_expired")
    return str(payload["sub"])

"""FastAPI dependencies: settings, engine, the presented token, the current user, the
protocol check.

Every authenticated request reads the database for its user: a disabled account, or a
token signed out (``revoked_token``), stops working at the next request on every replica.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy import Engine, exists, select
from sqlmodel import Session

from app.config import Settings
from app.models import RevokedToken, User
from app.models.sync import MIN_PROTOCOL_VERSION, PROTOCOL_HEADER
from app.server.errors import StoreError
from app.server.observe import note_user
from app.server.security import TokenClaims, TokenError, read_token


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]


def check_protocol(
    version: Annotated[str | None, Header(alias=PROTOCOL_HEADER)] = None,
) -> int:
    if version is None:
        raise StoreError("protocol.too_old", 426)
    try:
        number = int(version)
    except ValueError as exc:
        raise StoreError("protocol.too_old", 426) from exc
    if number < MIN_PROTOCOL_VERSION:
        raise StoreError("protocol.too_old", 426)
    return number


ProtocolDep = Annotated[int, Depends(check_protocol)]


def get_token(
    settings: SettingsDep,
    authorization: Annotated[str | None, Header()] = None,
) -> TokenClaims:
    """The claims of the bearer token presented; 401 when missing, forged or expired."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise StoreError("auth.token_missing", 401)
    try:
        return read_token(authorization[7:].strip(), secret=settings.secret_key)
    except TokenError as exc:
        raise StoreError(exc.code, 401) from exc


TokenDep = Annotated[TokenClaims, Depends(get_token)]


def get_current_user(engine: EngineDep, token: TokenDep) -> User:
    """The active user a valid, unrevoked token names; 401 ``auth.token_invalid`` otherwise."""
    revoked = exists().where(RevokedToken.token_id == token.token_id)
    with Session(engine) as session:  # one round trip: every request asks it
        found = session.execute(
            select(User, revoked.label("revoked")).where(User.id == token.user_id)
        ).first()
        if found is None or not found[0].active or found[1]:
            raise StoreError("auth.token_invalid", 401)
        user = found[0]
        session.expunge(user)
    note_user(user.id)  # the request's log line names its user
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]

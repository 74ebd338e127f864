from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter
from sqlalchemy import select
from sqlmodel import Session

from app.models import User
from app.models.sync import LoginRequest, LoginResponse, SessionUser
from app.server.deps import EngineDep, ProtocolDep, SettingsDep
from app.server.errors import StoreError, error_responses
from app.server.security import hash_password, issue_token, verify_password

router = APIRouter(prefix="/auth", tags=["auth"])
_DUMMY_HASH = hash_password("not-a-password")


@router.post(
    "/login", response_model=LoginResponse, responses=error_responses(400, 401, 403, 422, 426)
)
def login(body: LoginRequest, settings: SettingsDep, engine: EngineDep, _v: ProtocolDep):
    """Employee number + password → an expiring bearer token."""
    with Session(engine) as session:
        user = session.execute(
            select(User).where(User.employee_no == body.employee_no.strip())
        ).scalar_one_or_none()
        if user is None:
            verify_password(body.password, _DUMMY_HASH)  # same time as a wrong password
            raise StoreError("auth.invalid_credentials", 401)
        if not verify_password(body.password, user.password_hash):
            raise StoreError("auth.invalid_credentials", 401)
        if not user.active:
            raise StoreError("auth.inactive", 403)
        token, expires = issue_token(
            user.id, secret=settings.secret_key, ttl=timedelta(minutes=settings.token_ttl_minutes)
        )
        return LoginResponse(
            token=token,
            expires_at=expires,
            user=SessionUser.model_validate(user, from_attributes=True),
        )

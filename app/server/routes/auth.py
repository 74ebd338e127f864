"""Signing in and out: ``POST /auth/login`` (throttled) and ``POST /auth/logout``."""

from __future__ import annotations

from datetime import UTC, timedelta

from anyio import to_thread
from fastapi import APIRouter, Request
from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.models import LoginOutcome, RevokedToken, User
from app.models.ids import utcnow
from app.models.sync import LoginRequest, LoginResponse, LogoutResponse, SessionUser
from app.server.deps import CurrentUser, EngineDep, ProtocolDep, SettingsDep, TokenDep
from app.server.errors import StoreError, error_responses
from app.server.security import hash_password, issue_token, verify_password
from app.server.throttle import SignInGuard
from app.services.signin import ThrottlePolicy
from app.sqlite import WRITER

router = APIRouter(prefix="/auth", tags=["auth"])
_DUMMY_HASH = hash_password("not-a-password")
_revoked = RevokedToken.__table__


@router.post(
    "/login",
    response_model=LoginResponse,
    responses=error_responses(400, 401, 403, 422, 426, 429),
)
async def login(
    body: LoginRequest,
    request: Request,
    settings: SettingsDep,
    engine: EngineDep,
    _v: ProtocolDep,
) -> LoginResponse:
    """Employee number + password → an expiring bearer token (throttled per account and
    per client address).

    Each sign-in runs whole in a thread of its own, ``login_concurrency`` at once: a crowd
    signing in at nine waits its turn on the event loop, and the password checks (argon2id:
    CPU and memory) never take the threads every other request needs. Past a short queue
    (``login_queue``, ``login_queue_seconds``) the answer is 429 ``server.busy`` with
    ``Retry-After``, before any work: no sign-in waits past the device's timeout."""
    guard = SignInGuard(
        engine,
        ThrottlePolicy(
            account_limit=settings.login_account_limit,
            client_limit=settings.login_client_limit,
            window=timedelta(minutes=settings.login_window_minutes),
            lock=timedelta(minutes=settings.login_lock_minutes),
        ),
        employee_no=body.employee_no.strip(),
        client=request.client.host if request.client else "",
    )
    slot = await request.app.state.signin_gate.admit()  # else 429: come back after a while
    try:
        user = await to_thread.run_sync(
            _sign_in, guard, engine, body.password, limiter=request.app.state.signins
        )
    finally:
        slot.free()
    token, expires = issue_token(
        user.id, secret=settings.secret_key, ttl=timedelta(minutes=settings.token_ttl_minutes)
    )
    return LoginResponse(
        token=token, expires_at=expires, user=SessionUser.model_validate(user, from_attributes=True)
    )


def _sign_in(guard: SignInGuard, engine: Engine, password: str) -> User:
    """The user signing in, past the throttle and the password; else 401, 403 or 429."""
    guard.admit()
    with Session(engine) as session:
        user = session.execute(
            select(User).where(User.employee_no == guard.employee_no)
        ).scalar_one_or_none()
        if user is not None:
            session.expunge(user)
    # an unknown employee costs the same hash as a wrong password: no timing hint
    ok = verify_password(password, user.password_hash if user else _DUMMY_HASH)
    if user is None or not ok:
        guard.failed()
        raise StoreError("auth.invalid_credentials", 401)
    if not user.active:
        guard.settle(LoginOutcome.INACTIVE)
        raise StoreError("auth.inactive", 403)
    guard.settle(LoginOutcome.SUCCEEDED)
    return user


@router.post(
    "/logout", response_model=LogoutResponse, responses=error_responses(400, 401, 403, 422, 426)
)
def logout(
    token: TokenDep, user: CurrentUser, engine: EngineDep, _v: ProtocolDep
) -> LogoutResponse:
    """Revoke the presented token on every replica; later requests with it answer 401."""
    now = utcnow()
    with Session(engine.execution_options(**WRITER)) as session:
        # rows of tokens that have expired anyway are no longer needed
        session.execute(delete(_revoked).where(_revoked.c.expires_at < now))
        session.add(
            RevokedToken(
                token_id=token.token_id,
                user_id=user.id,
                expires_at=token.expires_at,
                revoked_at=now,
            )
        )
        try:
            session.commit()
        except IntegrityError:  # the same token signed out concurrently: revoked either way
            session.rollback()
    return LogoutResponse(revoked_at=now.replace(tzinfo=UTC))  # RFC 3339: with its offset

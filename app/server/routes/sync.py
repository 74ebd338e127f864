from __future__ import annotations

import json

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.models.sync import (
    ChecksumResponse,
    PositionResponse,
    PullPage,
    PushRequest,
    PushResponse,
)
from app.server import pull
from app.server.apply import apply_push
from app.server.db import read_session, write_session
from app.server.deps import CurrentUser, EngineDep, ProtocolDep, SettingsDep
from app.server.errors import StoreError, error_responses
from app.server.incidents import record_skipped
from app.server.scope import scope_of

router = APIRouter(prefix="/sync", tags=["sync"])


@router.get("/pull", responses={200: {"model": PullPage}, **error_responses(401, 409, 422, 426)})
def pull_changes(
    user: CurrentUser,
    engine: EngineDep,
    settings: SettingsDep,
    _v: ProtocolDep,
    cursor: str | None = Query(default=None, max_length=2000),
    limit: int | None = Query(default=None, ge=1, le=20000),
) -> Response:
    """One page of changes in the user's scope since ``cursor`` (none: start a snapshot).

    A stored row that cannot be encoded is left out and kept as an incident.
    """
    with read_session(engine) as session:
        page, skipped = pull.pull_page(
            session, scope_of(session, user), cursor, limit or settings.pull_page_size
        )
    if skipped:  # stored rows no JSON can carry: left out, kept for the admins
        record_skipped(engine, user_id=user.id, skipped=skipped)
    body = json.dumps(page, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return Response(body, media_type="application/json")


@router.post(
    "/push", response_model=PushResponse, responses=error_responses(400, 401, 413, 422, 426)
)
def push_changes(
    request: Request,
    body: PushRequest,
    user: CurrentUser,
    engine: EngineDep,
    settings: SettingsDep,
    _v: ProtocolDep,
) -> PushResponse:
    """Apply outbox mutations exactly once, each applied or rejected with a reason."""
    if len(body.mutations) > settings.push_batch_limit:
        raise StoreError("request.invalid", 413, detail="too many mutations in one push")
    with write_session(engine) as session:
        answer = apply_push(
            session,
            user=user,
            device_id=body.device_id,
            mutations=body.mutations,
            first_seq=body.first_seq,
        )
    # Counted once committed: a push that failed to commit answered nothing.
    request.app.state.metrics.observe_push(
        device_id=body.device_id, mutations=body.mutations, answer=answer
    )
    return answer


@router.get(
    "/checksum", response_model=ChecksumResponse, responses=error_responses(401, 409, 422, 426)
)
def checksum(
    user: CurrentUser, engine: EngineDep, _v: ProtocolDep, cursor: str = Query(max_length=2000)
) -> ChecksumResponse:
    """Per-entity count and digest of the user's scope, if ``cursor`` is up to date.

    A cursor behind the log gets ``stale``: comparing then would only raise alarms.
    """
    with read_session(engine) as session:
        scope = scope_of(session, user)
        high = pull.high_water(session)
        if pull.cursor_seq(cursor, scope) != high:
            return ChecksumResponse(cursor_seq=high, stale=True, entities={})
        entities = pull.checksums(session, scope)
    return ChecksumResponse.model_validate({"cursor_seq": high, "entities": entities})


@router.get(
    "/position", response_model=PositionResponse, responses=error_responses(401, 409, 422, 426)
)
def position(
    user: CurrentUser, engine: EngineDep, _v: ProtocolDep, cursor: str = Query(max_length=2000)
) -> PositionResponse:
    """Whether a device at ``cursor`` has everything (a cheap "anything new?")."""
    with read_session(engine) as session:
        seq = pull.cursor_seq(cursor, scope_of(session, user))
        high = pull.high_water(session)
    return PositionResponse(cursor_seq=seq, high=high, up_to_date=seq is not None and seq >= high)

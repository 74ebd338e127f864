from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response
from sqlalchemy import Engine
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from app.config import Settings
from app.models import User
from app.models.sync import (
    ChecksumResponse,
    PositionResponse,
    PullPage,
    PushRequest,
    PushResponse,
)
from app.server import changes, live, pull
from app.server.admission import SyncAdmission
from app.server.apply import FastPathMissed, apply_push, prepare, push_branches
from app.server.changes import BranchNotLocked
from app.server.db import read_session, write_session
from app.server.deps import (
    CurrentUser,
    EngineDep,
    ProtocolDep,
    SettingsDep,
    get_current_user,
    get_token,
)
from app.server.errors import Rejected, StoreError, error_responses
from app.server.incidents import record_skipped
from app.server.scope import Scope, scope_of

# a cursor holds a position per branch of the scope (an admin's: every branch)
CURSOR_LIMIT = 2000
router = APIRouter(prefix="/sync", tags=["sync"])
# On PostgreSQL a stream waits this long at most for the process's LISTEN connection (made
# on first use); past it the stream opens anyway, the device's timed pull the safety net.
LISTEN_WAIT_SECONDS = 5


@router.get(
    "/pull", responses={200: {"model": PullPage}, **error_responses(401, 409, 422, 426, 429)}
)
def pull_changes(
    _admitted: SyncAdmission,
    user: CurrentUser,
    engine: EngineDep,
    settings: SettingsDep,
    _v: ProtocolDep,
    cursor: str | None = Query(default=None, max_length=CURSOR_LIMIT),
    limit: int | None = Query(default=None, ge=1, le=20000),
) -> Response:
    """One page of changes in the user's scope since ``cursor`` (none: start a snapshot).

    A stored row that cannot be encoded is left out and kept as an incident. Past the
    pulls a process serves at once: 429 ``server.busy`` with ``Retry-After``.
    """
    with read_session(engine) as session:
        page, skipped = pull.pull_page(
            session, scope_of(session, user), cursor, limit or settings.pull_page_size
        )
    if skipped:  # stored rows no JSON can carry: left out, kept for the admins
        record_skipped(engine, user_id=user.id, skipped=skipped)
    return Response(pull.encode_page(page), media_type="application/json")


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
    answer = _push(engine, user, body)
    # Counted once committed: a push that failed to commit answered nothing.
    request.app.state.metrics.observe_push(
        device_id=body.device_id, mutations=body.mutations, answer=answer
    )
    return answer


# a push that changes a branch its guess missed is applied again holding that one too;
# past this many tries it holds the whole store
PUSH_TRIES = 3


def _push(engine: Engine, user: User, body: PushRequest) -> PushResponse:
    """Apply a push holding only the branches it changes (``apply.push_branches``), so
    devices of different branches push side by side; first in one go (``savepoints``
    off), and if any mutation fails that way, again with each in its own savepoint."""
    prepared = prepare(body.mutations)  # parsed and checked before any lock
    with read_session(engine) as session:
        branches: set[str] | None = push_branches(session, user, body.mutations)
    savepoints = any(isinstance(p, Rejected) for p in prepared)
    misses = 0
    while True:
        if misses == PUSH_TRIES:
            branches = None
        try:
            with write_session(engine, branches) as session:
                return apply_push(
                    session,
                    user=user,
                    device_id=body.device_id,
                    mutations=body.mutations,
                    first_seq=body.first_seq,
                    prepared=prepared,
                    savepoints=savepoints,
                )
        except FastPathMissed:
            savepoints = True  # nothing of the first go was kept
        except BranchNotLocked as missed:
            assert branches is not None
            branches = {*branches, missed.branch}
            misses += 1


@router.get(
    "/checksum",
    response_model=ChecksumResponse,
    responses=error_responses(401, 409, 422, 426, 429),
)
def checksum(
    _admitted: SyncAdmission,
    user: CurrentUser,
    engine: EngineDep,
    _v: ProtocolDep,
    cursor: str = Query(max_length=CURSOR_LIMIT),
) -> ChecksumResponse:
    """Per-entity count and digest of the user's scope, if ``cursor`` is up to date.

    A cursor behind the log gets ``stale``: comparing then would only raise alarms.
    """
    with read_session(engine) as session:
        scope = scope_of(session, user)
        newest = pull.scope_heads(session, scope)
        high = sum(newest.values())
        positions = pull.cursor_position(session, cursor, scope)
        if positions is None or pull.behind(positions, newest):
            return ChecksumResponse(cursor_seq=high, stale=True, entities={})
        entities = pull.checksums(session, scope)
    return ChecksumResponse.model_validate({"cursor_seq": high, "entities": entities})


@router.get(
    "/position", response_model=PositionResponse, responses=error_responses(401, 409, 422, 426)
)
def position(
    user: CurrentUser,
    engine: EngineDep,
    _v: ProtocolDep,
    cursor: str = Query(max_length=CURSOR_LIMIT),
) -> PositionResponse:
    """Whether a device at ``cursor`` has everything (a cheap "anything new?"). The cursor
    holds a position per branch; ``cursor_seq`` and ``high`` are their sums over the scope's
    branches (the device's and the store's), equal when it is up to date."""
    with read_session(engine) as session:
        scope = scope_of(session, user)
        positions = pull.cursor_position(session, cursor, scope)
        newest = pull.scope_heads(session, scope)
    seq = None if positions is None else sum(positions.get(b, 0) for b in newest)
    up_to_date = positions is not None and not pull.behind(positions, newest)
    return PositionResponse(cursor_seq=seq, high=sum(newest.values()), up_to_date=up_to_date)


# Not in /openapi.json: an endless text/event-stream has no schema a generated client or a
# contract test could use (they would wait on it for ever).
@router.get("/events", include_in_schema=False)
async def events(
    request: Request,
    user: CurrentUser,
    engine: EngineDep,
    settings: SettingsDep,
    _v: ProtocolDep,
    authorization: Annotated[str | None, Header()] = None,
) -> EventSourceResponse:
    """Server-sent events: ``hello`` with the store's high seq, then ``poke`` (the new high
    seq, never data) whenever a committed change touches the user's scope (app.server.live).
    A revoked token or a disabled account ends the stream with ``bye``."""
    slot = request.app.state.live_streams.enter()  # a Gate of live_max_streams
    hub = live.hub_for(engine)
    subscribed: list[live.Subscriber] = []

    def done() -> None:
        """The stream's end, however it comes (given back exactly once)."""
        for sub in subscribed:
            hub.unsubscribe(sub)
        slot.free()

    try:
        scope = await run_in_threadpool(_scope_of, engine, user)
        sub = hub.subscribe(scope)  # before reading high: no change falls in between
        subscribed.append(sub)
        if hub.postgres:  # the process's LISTEN must be in place too (made on first use)
            await run_in_threadpool(hub.listening.wait, LISTEN_WAIT_SECONDS)
        high = await run_in_threadpool(_high, engine)
    except BaseException:
        done()
        raise

    async def stream() -> AsyncIterator[ServerSentEvent]:
        loop = asyncio.get_running_loop()
        try:
            yield ServerSentEvent(
                data=json.dumps({"high": high}), event="hello", retry=settings.live_retry_ms
            )
            sent_at = 0.0
            check_at = loop.time() + settings.live_recheck_seconds
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(sub.ready.wait(), max(0.0, check_at - loop.time()))
                if sub.pending is not None:
                    # coalesce: one poke per window, carrying the newest seq
                    wait = sent_at + settings.live_coalesce_seconds - loop.time()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    poke = sub.take()
                    sent_at = loop.time()
                    yield ServerSentEvent(data=json.dumps({"high": poke}), event="poke")
                if loop.time() >= check_at:
                    try:
                        again = await run_in_threadpool(
                            _still_signed_in, engine, settings, authorization
                        )
                    except StoreError as exc:
                        yield ServerSentEvent(data=json.dumps({"code": exc.code}), event="bye")
                        return
                    sub.scope = await run_in_threadpool(_scope_of, engine, again)
                    check_at = loop.time() + settings.live_recheck_seconds
        finally:
            done()

    return EventSourceResponse(
        stream(),
        ping=settings.live_ping_seconds,
        send_timeout=30,  # a reader that takes nothing for this long is let go
        background=BackgroundTask(done),  # the generator may never have run
    )


def _scope_of(engine: Engine, user: User) -> Scope:
    with read_session(engine) as session:
        return scope_of(session, user)


def _high(engine: Engine) -> int:
    with read_session(engine) as session:
        return sum(changes.heads(session).values())


def _still_signed_in(engine: Engine, settings: Settings, authorization: str | None) -> User:
    """The user the stream's token names, if it still stands (else ``StoreError``)."""
    return get_current_user(engine, get_token(settings, authorization))

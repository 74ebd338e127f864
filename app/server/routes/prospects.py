"""Requests about one prospect that only the central store can answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from app.models.sync import RevealRequest, RevealResponse
from app.models.wire import EntityId
from app.server.db import write_session
from app.server.deps import CurrentUser, EngineDep, ProtocolDep
from app.server.errors import error_responses
from app.server.reveal import reveal

router = APIRouter(prefix="/prospects", tags=["prospects"])


@router.post(
    "/{prospect_id}/reveal",
    response_model=RevealResponse,
    responses=error_responses(400, 401, 403, 422, 426),
)
def reveal_field(
    prospect_id: Annotated[EntityId, Path()],
    body: RevealRequest,
    user: CurrentUser,
    engine: EngineDep,
    _v: ProtocolDep,
) -> RevealResponse:
    """The clear phone number or credit code of a prospect in reach; every answer is an
    audit event. Unknown and out-of-reach ids both get 403 ``prospect.out_of_scope``."""
    # an audit event, no change of synced data: no branch to hold, nobody waited for
    with write_session(engine, branches=()) as session:
        value = reveal(session, user=user, prospect_id=prospect_id, request=body)
    return RevealResponse(field=body.field, value=value)

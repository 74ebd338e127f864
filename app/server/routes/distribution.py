"""The outlet manager's distribution (分发): auto-assign a pool, return untouched prospects."""

from __future__ import annotations

from fastapi import APIRouter

from app.models.distribution import (
    AutoAssignRequest,
    AutoAssignResult,
    PoolReturnRequest,
    PoolReturnResult,
)
from app.models.ids import utcnow
from app.server.db import write_session
from app.server.deps import CurrentUser, EngineDep, ProtocolDep, SettingsDep
from app.server.distribution import auto_assign, pool_return
from app.server.errors import error_responses
from app.server.scope import scope_of

router = APIRouter(prefix="/distribution", tags=["distribution"])


@router.post(
    "/auto-assign",
    response_model=AutoAssignResult,
    responses=error_responses(400, 401, 403, 404, 422, 426),
)
def auto_assign_pool(
    body: AutoAssignRequest, user: CurrentUser, engine: EngineDep, _v: ProtocolDep
) -> AutoAssignResult:
    """Hand an outlet's unassigned pool to its active marketers (or the ones chosen), evenly
    or to the nearest territory, at most ``cap`` new ones each; one transaction. An outlet
    out of reach answers 404 ``distribution.outlet_not_found``, as an unknown one does."""
    with write_session(engine) as session:
        return auto_assign(session, user=user, request=body, now=utcnow())


@router.post(
    "/pool-return",
    response_model=PoolReturnResult,
    responses=error_responses(400, 401, 403, 422, 426),
)
def return_to_pool(
    body: PoolReturnRequest,
    user: CurrentUser,
    engine: EngineDep,
    settings: SettingsDep,
    _v: ProtocolDep,
) -> PoolReturnResult:
    """Every prospect in reach, assigned and not contacted for ``days`` days (default: the
    store's ``pool_return_days``), back to its outlet's pool (公海) with a transfer."""
    days = body.days or settings.pool_return_days
    with write_session(engine) as session:
        scope = scope_of(session, user)
        n = pool_return(session, scope=scope, actor_id=user.id, days=days, now=utcnow())
    return PoolReturnResult(returned=n)

"""Marketing targets (营销任务): set, see with progress, remove (``app.server.targets``;
who may is ``app.services.policy``'s).

- ``PUT /targets``: an admin for outlets, a sub-branch manager for its outlets and their
  marketers, an outlet manager for its marketers; all or nothing;
- ``GET /targets?period=2026-12``: everyone, the targets in their sight with progress;
- ``DELETE /targets/{id}``: whoever may set it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from app.models.target import PERIOD_PATTERN, TargetsIn, TargetsOut, TargetsSetOut
from app.server import targets
from app.server.db import read_session, write_session
from app.server.deps import CurrentUser, EngineDep
from app.server.errors import error_responses
from app.services.clock import beijing_today
from app.services.performance import Period, period_name

router = APIRouter(prefix="/targets", tags=["targets"])

PeriodQuery = Annotated[
    str | None,
    Query(pattern=PERIOD_PATTERN, description="2026-12 (a month) or 2026-Q4; default: this month"),
]


@router.put("", response_model=TargetsSetOut, responses=error_responses(400, 401, 403, 404, 422))
def put_targets(body: TargetsIn, user: CurrentUser, engine: EngineDep) -> TargetsSetOut:
    """Set targets (up to 500; each replaces the one of the same period, subject and
    metric). A refused item refuses them all, naming its ``index``."""
    with write_session(engine) as session:
        return targets.set_targets(session, user, body)


@router.get("", response_model=TargetsOut, responses=error_responses(401, 422))
def get_targets(user: CurrentUser, engine: EngineDep, period: PeriodQuery = None) -> TargetsOut:
    """The targets of the period in the caller's sight, each with the actual figure and
    progress: contacts (marketing logs), disbursed count and amount (元, loans the loan
    system reported disbursed, credited by the profit split or the booking outlet)."""
    with read_session(engine) as session:
        return targets.list_targets(
            session, user, period or period_name(Period.MONTH, beijing_today())
        )


@router.delete("/{target_id}", status_code=204, responses=error_responses(401, 403, 404, 422))
def delete_target(
    target_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")],
    user: CurrentUser,
    engine: EngineDep,
) -> Response:
    """Remove a target (whoever may set it may remove it)."""
    with write_session(engine) as session:
        targets.delete_target(session, user, target_id)
    return Response(status_code=204)

"""Dashboards above the outlet (DESIGN §8): sub-branch and head-office views read the
central store, paged, never a device copy of the branch (``app.server.dashboards``).

    GET /dashboards/participation?period=month&on=2026-12-01&by=outlet|subbranch|tier|branch
    GET /dashboards/league?level=outlet|marketer&metric=…&period=…&page=&page_size=
    GET /dashboards/batches?outlet_id=&page=&page_size=
    GET /dashboards/overview?period=…&on=…&outlet_id=

Every parameter is checked by its query model (an unknown one is refused: 422
``request.invalid``); every answer carries ``as_of``, the time of the rollups it reads.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.models.dashboard import (
    BatchesQuery,
    BatchFiguresOut,
    LeagueOut,
    LeagueQuery,
    OverviewOut,
    OverviewQuery,
    ParticipationOut,
    ParticipationQuery,
)
from app.server import dashboards
from app.server.db import read_session
from app.server.deps import CurrentUser, EngineDep, ProtocolDep, SettingsDep
from app.server.errors import error_responses
from app.services.clock import beijing_today

router = APIRouter(prefix="/dashboards", tags=["dashboards"])
_ERRORS = error_responses(401, 403, 422, 426)


@router.get("/participation", response_model=ParticipationOut, responses=_ERRORS)
def participation(
    query: Annotated[ParticipationQuery, Query()],
    user: CurrentUser,
    engine: EngineDep,
    _v: ProtocolDep,
) -> ParticipationOut:
    """簿记 / 营销 / 发起 participation of outlets and staff, and loan-customer coverage,
    per outlet, sub-branch or tier of the outlets in reach, with their total."""
    with read_session(engine) as session:
        return dashboards.participation(session, user, query, beijing_today())


@router.get("/league", response_model=LeagueOut, responses=_ERRORS)
def league(
    query: Annotated[LeagueQuery, Query()],
    user: CurrentUser,
    engine: EngineDep,
    _v: ProtocolDep,
) -> LeagueOut:
    """Outlets or marketers ranked within the branch on one metric (ties share a rank);
    the rows in reach, a page at a time."""
    with read_session(engine) as session:
        return dashboards.league(session, user, query, beijing_today())


@router.get(
    "/batches", response_model=BatchFiguresOut, responses=error_responses(401, 403, 404, 422, 426)
)
def batches(
    query: Annotated[BatchesQuery, Query()],
    user: CurrentUser,
    engine: EngineDep,
    settings: SettingsDep,
    _v: ProtocolDep,
) -> BatchFiguresOut:
    """Each batch's coverage within the store's windows (``coverage_windows``) and its
    conversion to disbursed, over the outlets in reach (or one of them)."""
    with read_session(engine) as session:
        return dashboards.batches(session, user, query, settings.coverage_windows)


@router.get(
    "/overview", response_model=OverviewOut, responses=error_responses(401, 403, 404, 422, 426)
)
def overview(
    query: Annotated[OverviewQuery, Query()],
    user: CurrentUser,
    engine: EngineDep,
    _v: ProtocolDep,
) -> OverviewOut:
    """Funnel counts now, contacts and disbursed in the period, over the outlets in reach
    (or one of them)."""
    with read_session(engine) as session:
        return dashboards.overview(session, user, query, beijing_today())

"""Figures only the whole branch can give: ranks within the branch, and 分润.

A marketer's or manager's device holds only their outlet, so it cannot rank itself
among the branch; the central store ranks with the device's own rules
(``app.queries.performance.branch_ranks``) and each sync brings the answer home.

The ranking and the 分润 tallies are counted by the store's scheduled job
(``app.server.ranks``), never on a caller's request: this route reads the caller's rows
of the last count, with its ``as_of`` (``ranked: false`` and no ranks before the first
count). The same answer carries the user's own targets (营销任务) and their outlet's for
this month and quarter, with progress (``targets``: a list, absent from an older store's
answer, which a device reads as none), counted per request from a few indexed rows of
their own; and the 分润 credited to the user, their outlet and (a manager's) its
marketers per period (``shares``; absent from an older store's answer).
"""

from __future__ import annotations

from fastapi import APIRouter

from app.server.db import read_session
from app.server.deps import CurrentUser, EngineDep, ProtocolDep
from app.server.errors import error_responses
from app.server.ranks import answer
from app.services.clock import beijing_today

router = APIRouter(prefix="/stats", tags=["stats"])


@router.get("/ranks", responses=error_responses(401, 422, 426))
def ranks(user: CurrentUser, engine: EngineDep, _v: ProtocolDep) -> dict:
    """This user's rank among the branch's marketers, their outlet's among its outlets
    and the outlet's figures, and for a manager each of the outlet's marketers' (a
    sub-branch manager: each of its outlets' marketers', and each outlet's rank and
    figures under ``outlets`` / ``outlet_tallies``), for the week, month and quarter, as
    the store's ranks job last counted them (``as_of``); and the user's and their outlet's
    targets of this month and quarter, with progress."""
    with read_session(engine) as session:
        return answer(session, user, beijing_today())

"""Figures only the whole branch can give: ranks within the branch.

A marketer's or manager's device holds only its own outlet, so it cannot rank
itself among the branch; the central store ranks with the device's own rules
(``app.queries.performance.branch_ranks``) and each sync brings the answer home.

The same answer carries the user's own targets (营销任务) and their outlet's for this month
and quarter, with progress (``targets``: a list, absent from an older store's answer,
which a device reads as none), so a marketer sees them offline; and the 分润 credited to
the user, their outlet and (a manager's) its marketers per period, counted when asked
(``shares``: ``app.server.share_tallies``; absent from an older store's answer).

Ranking reads the whole branch's logs and funnel events (about a second over
100,000 prospects), so one table serves every device for ``RANKS_TTL``: two hundred
devices syncing at once cost one ranking, not two hundred.
"""

from __future__ import annotations

import threading
import time
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import Engine

from app.models.ids import utcnow
from app.models.user import Role
from app.queries.performance import branch_ranks, marketer_ids
from app.server.db import read_session
from app.server.deps import CurrentUser, EngineDep, ProtocolDep
from app.server.errors import error_responses
from app.server.scope import scope_of
from app.server.share_tallies import device_shares
from app.server.targets import device_targets
from app.services.clock import beijing_today

RANKS_TTL = 60.0  # seconds a ranking is served before it is computed again

router = APIRouter(prefix="/stats", tags=["stats"])


class RankCache:
    """The branch's rank table, computed at most once per ``RANKS_TTL`` (per process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: date | None = None
        self._at = 0.0
        self._as_of = ""
        self._table: dict[str, Any] = {}

    def get(self, engine: Engine, today: date) -> tuple[dict[str, Any], str]:
        with self._lock:  # the second caller waits for the first one's answer
            if self._key != today or time.monotonic() - self._at > RANKS_TTL:
                with read_session(engine) as session:
                    self._table = branch_ranks(session.connection(), today)
                self._key, self._at, self._as_of = today, time.monotonic(), utcnow().isoformat()
            return self._table, self._as_of


def _cache(request: Request) -> RankCache:
    state = request.app.state
    if not hasattr(state, "rank_cache"):
        state.rank_cache = RankCache()
    return state.rank_cache


@router.get("/ranks", responses=error_responses(401, 422, 426))
def ranks(request: Request, user: CurrentUser, engine: EngineDep, _v: ProtocolDep) -> dict:
    """This user's rank among the branch's marketers, their outlet's among its outlets
    and the outlet's figures, and for a manager each of the outlet's marketers' (a
    sub-branch manager: each of its outlets' marketers', and each outlet's rank and
    figures under ``outlets`` / ``outlet_tallies``), for the week, month and quarter; and
    the user's and their outlet's targets of this month and quarter, with progress."""
    today = beijing_today()
    table, as_of = _cache(request).get(engine, today)
    with read_session(engine) as session:
        scope = scope_of(session, user)
        if user.role == Role.MARKETER:
            shown = [user.id]
        else:  # a manager: their outlet's (or outlets') marketers; an admin: the branch's
            reach = None if user.role == Role.ADMIN else scope.outlets
            shown = marketer_ids(session.connection(), reach)
        # per user, not cached with the ranking: a few indexed counts, none without targets
        goals = device_targets(session, user, today)
        # 分润: the user's and their outlet's, a manager's marketers' and outlets' (an admin's
        # 业绩 is the store's dashboard: their own alone)
        mine = {user.outlet_id} if user.outlet_id else set()
        people = {user.id} if user.role == Role.ADMIN else {*shown, user.id}
        credit = device_shares(session, today, users=people, outlets={*scope.outlets, *mine})
    reached = sorted(scope.outlets)  # a manager's outlets, each with its rank and figures
    periods = {
        period: {
            "marketers": {u: entry["marketers"][u] for u in shown if u in entry["marketers"]},
            "outlet": entry["outlets"].get(user.outlet_id) if user.outlet_id else None,
            # the outlet's figures, for a marketer's device that holds only part of it
            "outlet_tally": entry["outlet_tallies"].get(user.outlet_id) if user.outlet_id else None,
            "outlets": {o: entry["outlets"][o] for o in reached if o in entry["outlets"]},
            "outlet_tallies": {
                o: entry["outlet_tallies"][o] for o in reached if o in entry["outlet_tallies"]
            },
        }
        for period, entry in table.items()
    }
    return {
        "today": today.isoformat(),
        "as_of": as_of,
        "periods": periods,
        "targets": goals,
        "shares": credit,
    }

"""Distribution by the outlet manager (分发): who gets which of the outlet's pool, and when
an untouched prospect goes back to it (公海). Pure rules over plain values.

Auto-assign hands the outlet's unassigned pool to its marketers by one of two rules, with
an optional cap: the most NEW prospects any one marketer receives in this run (None: no
cap). What the cap leaves stays in the pool (``left``).

- ``even`` (平均分配): each prospect, in the order given (the store gives the best first:
  score, then line), goes to the marketer with the lightest load so far: their current
  load (open prospects they hold at the outlet) plus what this run gave them. Ties go to
  the marketer listed first. The least loaded are topped up first, and the loads end as
  level as the cap allows.
- ``nearest`` (就近分配): each prospect goes to the marketer whose territory is nearest,
  among those with room under the cap. A marketer's territory is the centroid of the
  prospects currently assigned to them at that outlet (withdrawn ones aside), or the
  outlet's own position when they hold none (a newcomer works from the outlet).

  The assignment is greedy by distance with capacity: every (prospect, marketer) pair in
  order of distance, nearest first; a pair whose prospect is already placed or whose
  marketer is full is passed over. Pairs are not all sorted up front: a heap holds each
  prospect's nearest marketer, and when that one is full its next nearest with room (a
  full marketer never has room again; a displaced prospect's marketers are sorted once),
  which gives the same plan as sorting all n·k pairs, for O(n·k) distances, O(k log k)
  per displaced prospect and O(n log n) heap work. Greedy is not an optimal transport
  plan, but each prospect either gets its nearest marketer with room or waits for one
  nearer to others; that is the rule a manager can explain. Distances are on a local
  flat projection (equirectangular at the prospects' mean latitude): the ranking of
  distances within one city is that of great-circle ones.

Both planners are deterministic: the same inputs give the same plan (ties break on the
order the marketers and prospects were given in, then on ids).

Pool return (公海): a prospect handed to a marketer and not contacted for ``days`` days
goes back to its outlet's pool: its status is still ``assigned`` (nothing was logged that
moved it) and its last contact, if any, is older than the handover. The clock starts at
``assigned_at`` (when the store last handed it over); a prospect without one is never
due (the store cannot tell how long it was held).

Transfers made here carry a reason code (``AUTO_ASSIGN_REASONS``, ``POOL_RETURN``), not
words: the timeline shows them translated (``app.services.timeline.reason_text``).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from app.models.distribution import AssignRule
from app.models.prospect import FunnelStatus

__all__ = [
    "AUTO_ASSIGN_REASONS",
    "POOL_RETURN",
    "REASON_CODES",
    "AssignRule",
    "plan_even",
    "plan_nearest",
    "pool_return_due",
    "territory",
]

# Transfer reasons recorded by distribution (codes; ``transfer.reason.*`` in i18n).
AUTO_ASSIGN_REASONS: Mapping[AssignRule, str] = {
    AssignRule.EVEN: "auto_assign:even",
    AssignRule.NEAREST: "auto_assign:nearest",
}
POOL_RETURN = "pool_return"
REASON_CODES: frozenset[str] = frozenset({*AUTO_ASSIGN_REASONS.values(), POOL_RETURN})

DEFAULT_POOL_RETURN_DAYS = 14

Point = tuple[str, float, float]  # (id, lat, lon), WGS-84


def plan_even(
    prospect_ids: Sequence[str],
    marketers: Sequence[str],
    loads: Mapping[str, int],
    cap: int | None,
) -> dict[str, str]:
    """prospect id -> marketer id: each to the least loaded marketer with room (module doc)."""
    if cap is not None and cap <= 0:
        return {}
    heap = [(loads.get(m, 0), i, m) for i, m in enumerate(dict.fromkeys(marketers))]
    heapq.heapify(heap)
    given: dict[str, int] = {}
    plan: dict[str, str] = {}
    for pid in prospect_ids:
        if not heap:
            break  # everyone is full: the rest stay in the pool
        load, order, marketer = heapq.heappop(heap)
        plan[pid] = marketer
        given[marketer] = given.get(marketer, 0) + 1
        if cap is None or given[marketer] < cap:
            heapq.heappush(heap, (load + 1, order, marketer))
    return plan


def plan_nearest(
    prospects: Sequence[Point], marketers: Sequence[Point], cap: int | None
) -> dict[str, str]:
    """prospect id -> marketer id: greedy by distance with capacity (module doc)."""
    if not prospects or not marketers or (cap is not None and cap <= 0):
        return {}
    ids = [m[0] for m in marketers]
    k = len(ids)
    kx = math.cos(math.radians(sum(p[1] for p in prospects) / len(prospects)))
    spots = [(m[2] * kx, m[1]) for m in marketers]  # a flat (x, y) per marketer
    dist = math.dist
    plan: dict[str, str] = {}
    first: list[tuple[float, int, int]] = []  # (distance, prospect index, marketer index)
    for i, (pid, lat, lon) in enumerate(prospects):
        here = [(lon * kx, lat)] * k
        d = list(map(dist, here, spots))
        nearest = min(d)
        j = d.index(nearest)  # ties: the marketer listed first
        if cap is None:  # nobody fills up: each to its nearest
            plan[pid] = ids[j]
        else:
            first.append((nearest, i, j))
    if cap is None:
        return plan
    # The pairs in order of distance: each prospect's nearest, sorted once, merged with a
    # heap of the displaced ones' next candidates. A full marketer stays full, so a
    # prospect whose candidate filled up next tries its next nearest with room: the order
    # sorting every pair would give, without making the n·k pairs.
    first.sort()
    waiting: list[tuple[float, int, int]] = []
    room = [cap] * k
    left = k  # marketers with room
    later: dict[int, tuple[list[float], list[int], int]] = {}  # displaced: distances, order, at
    n, pos = len(first), 0
    while left and (pos < n or waiting):
        if waiting and (pos >= n or waiting[0] < first[pos]):
            _d, i, j = heapq.heappop(waiting)
        else:
            _d, i, j = first[pos]
            pos += 1
        if room[j] > 0:
            plan[prospects[i][0]] = ids[j]
            room[j] -= 1
            left -= room[j] == 0
            continue
        if i not in later:  # displaced the first time: its marketers, nearest first
            _pid, lat, lon = prospects[i]
            d = list(map(dist, [(lon * kx, lat)] * k, spots))
            later[i] = (d, sorted(range(k), key=d.__getitem__), 0)
        d, order, at = later[i]
        at += 1
        while at < k and room[order[at]] == 0:
            at += 1
        if at < k:
            later[i] = (d, order, at)
            heapq.heappush(waiting, (d[order[at]], i, order[at]))
    return plan


def territory(
    assigned: Sequence[tuple[float, float]], outlet: tuple[float, float]
) -> tuple[float, float]:
    """A marketer's territory: the centroid of the (lat, lon) they hold, else the outlet's."""
    if not assigned:
        return outlet
    n = len(assigned)
    return (sum(p[0] for p in assigned) / n, sum(p[1] for p in assigned) / n)


def pool_return_due(
    assigned_at: datetime | None,
    last_contact_at: datetime | None,
    status: str,
    now: datetime,
    days: int,
) -> bool:
    """Whether a prospect goes back to the pool: still ``assigned``, handed over at least
    ``days`` days before ``now`` and not contacted since the handover."""
    if status != FunnelStatus.ASSIGNED or assigned_at is None:
        return False
    if last_contact_at is not None and last_contact_at >= assigned_at:
        return False
    return now - assigned_at >= timedelta(days=days)


def pool_return_cutoff(now: datetime, days: int) -> datetime:
    """Handed over at or before this, a prospect is due (the SQL spelling's bound)."""
    return now - timedelta(days=days)

"""Distribution in the central store: auto-assign an outlet's pool, return untouched
prospects to their pools (公海). The rules are ``app.services.distribution``; the
handovers are written by ``app.server.moves`` in bulk, one transaction per use case
(``db.write_session``: writers are serialised, so two managers, or two replicas' house-
keeping, never hand the same prospect out twice: the second sees the first's result).

Who may: the roles the policy lets assign (``Action.ASSIGN``), over outlets they reach
whole. An outlet out of reach answers as one that does not exist (404), so outlet ids
cannot be probed; a marketer (or any role the policy refuses) hears 403.

The pool an auto-assign hands out: the outlet's prospects with no assignee, not withdrawn
and not finished (disbursed, declined, invalid stay where they are), best first (score,
then pre-approved line, then id). A marketer's load (``even``): the open prospects they
hold at the outlet. Their territory (``nearest``): the centroid of every prospect they
hold at the outlet, else the outlet's position.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlmodel import Session

from app.models import Outlet, Prospect, Role, User
from app.models.distribution import AssignRule, AutoAssignRequest, AutoAssignResult
from app.models.ids import new_ids
from app.server.errors import StoreError
from app.server.moves import Handing, Move, Standing, write_moves
from app.server.scope import prospect_clause, scope_of
from app.services.distribution import (
    AUTO_ASSIGN_REASONS,
    POOL_RETURN,
    plan_even,
    plan_nearest,
    pool_return_cutoff,
    pool_return_due,
    territory,
)
from app.services.funnel import TERMINAL, FunnelStatus, handover, returned_to_pool
from app.services.policy import (
    ROLES,
    Action,
    AssigneeFacts,
    ProspectFacts,
    decide,
    decide_assignee,
)
from app.services.scope import Scope

# Who moved a prospect when no person did (the housekeeping's pool return).
SYSTEM_ACTOR = "system"
_p = Prospect.__table__  # type: ignore[attr-defined]
_FINISHED = sorted(TERMINAL)


def auto_assign(
    session: Session, *, user: User, request: AutoAssignRequest, now: datetime
) -> AutoAssignResult:
    """Hand the outlet's pool to its marketers by ``request.rule`` (inside ``write_session``)."""
    scope = scope_of(session, user)
    outlet = session.get(Outlet, request.outlet_id)
    pool_facts = ProspectFacts(outlet.id if outlet else None, None, FunnelStatus.UNASSIGNED)
    decision = decide(scope, Action.ASSIGN, pool_facts)
    if not decision:
        if decision.code == "auth.forbidden":
            raise StoreError(decision.code, 403)
        raise StoreError("distribution.outlet_not_found", 404)
    assert outlet is not None  # an unknown outlet is in nobody's reach
    marketers = _marketers(session, scope, outlet.id, request.marketer_ids)
    pool = session.execute(
        select(_p.c.id, _p.c.lat, _p.c.lon, _p.c.status)
        .where(
            _p.c.outlet_id == outlet.id,
            _p.c.assignee_id.is_(None),
            _p.c.withdrawn_at.is_(None),
            _p.c.status.not_in(_FINISHED),
        )
        .order_by(_p.c.score.desc(), _p.c.pre_approved_line.desc(), _p.c.id)
    ).all()
    held = session.execute(
        select(
            _p.c.assignee_id,
            func.count().filter(_p.c.status.not_in(_FINISHED)),
            func.avg(_p.c.lat),
            func.avg(_p.c.lon),
        )
        .where(
            _p.c.outlet_id == outlet.id,
            _p.c.assignee_id.in_(marketers),
            _p.c.withdrawn_at.is_(None),
        )
        .group_by(_p.c.assignee_id)
    ).all()
    if request.rule == AssignRule.NEAREST:
        centroid = {r[0]: (float(r[2]), float(r[3])) for r in held}
        spots = [(m, *centroid.get(m, territory((), (outlet.lat, outlet.lon)))) for m in marketers]
        plan = plan_nearest([(r[0], r[1], r[2]) for r in pool], spots, request.cap)
    else:
        loads = {r[0]: int(r[1]) for r in held}
        plan = plan_even([r[0] for r in pool], marketers, loads, request.cap)
    outlet_id = outlet.id
    status_of = {r[0]: r[3] for r in pool}
    afters = {  # one handover per (status, marketer)
        (status, mid): handover(status, outlet_id, mid, outlet_id)
        for status in set(status_of.values())
        for mid in marketers
    }
    moves = [
        Move(Standing(pid, outlet_id, None, status_of[pid]), afters[(status_of[pid], mid)], tid)
        for (pid, mid), tid in zip(plan.items(), new_ids(len(plan)), strict=True)
    ]
    reason = AUTO_ASSIGN_REASONS[AssignRule(request.rule)]
    write_moves(session, moves, Handing(user.id, reason, now, now))
    assigned = dict.fromkeys(marketers, 0)
    for mid in plan.values():
        assigned[mid] += 1
    return AutoAssignResult(assigned=assigned, left=len(pool) - len(plan))


def _marketers(
    session: Session, scope: Scope, outlet_id: str, chosen: Sequence[str] | None
) -> list[str]:
    """The marketers to hand out to: the chosen ones, each an active marketer of the
    outlet the policy lets ``scope`` assign to (422 naming why not), else every active
    marketer of the outlet; in employee-number order (the tie-break)."""
    users = User.__table__  # type: ignore[attr-defined]
    if chosen is None:
        rows = session.execute(
            select(users.c.id)
            .where(
                users.c.outlet_id == outlet_id,
                users.c.role == Role.MARKETER,
                users.c.active.is_(True),
            )
            .order_by(users.c.employee_no, users.c.id)
        ).all()
        return [r[0] for r in rows]
    found = {
        r.id: r
        for r in session.execute(
            select(
                users.c.id, users.c.role, users.c.outlet_id, users.c.active, users.c.employee_no
            ).where(users.c.id.in_(set(chosen)))
        ).all()
    }
    for uid in chosen:
        row = found.get(uid)
        if row is None:
            raise StoreError("user.not_found", 422)
        decision = decide_assignee(scope, AssigneeFacts(row.role, row.outlet_id, row.active))
        if not decision:
            raise StoreError(decision.code, 422)
        if row.outlet_id != outlet_id:
            raise StoreError("user.other_outlet", 422)
    unique = {uid: found[uid] for uid in chosen}
    return [uid for uid, _ in sorted(unique.items(), key=lambda kv: (kv[1].employee_no, kv[0]))]


def pool_return(
    session: Session, *, scope: Scope | None, actor_id: str, days: int, now: datetime
) -> int:
    """Every prospect in ``scope`` (None: the whole store, for the housekeeping) handed over
    ``days`` days ago or more and not contacted since, back to its outlet's pool, with its
    transfer and funnel event (inside ``write_session``); how many went back."""
    if scope is not None and scope.role not in ROLES[Action.ASSIGN]:
        raise StoreError("auth.forbidden", 403)
    where = [
        _p.c.withdrawn_at.is_(None),
        _p.c.assignee_id.is_not(None),
        _p.c.status == FunnelStatus.ASSIGNED,
        _p.c.assigned_at.is_not(None),
        _p.c.assigned_at <= pool_return_cutoff(now, days),
        or_(_p.c.last_contact_at.is_(None), _p.c.last_contact_at < _p.c.assigned_at),
    ]
    if scope is not None:
        where.append(prospect_clause(scope, _p))
    rows = session.execute(
        select(
            _p.c.id,
            _p.c.outlet_id,
            _p.c.assignee_id,
            _p.c.status,
            _p.c.assigned_at,
            _p.c.last_contact_at,
        )
        .where(and_(*where))
        .order_by(_p.c.id)
    ).all()
    due = [r for r in rows if pool_return_due(r[4], r[5], r[3], now, days)]
    afters = {(r[3], r[1]): returned_to_pool(r[3], r[1]) for r in due}  # (status, outlet)
    moves = [
        Move(Standing(r[0], r[1], r[2], r[3]), afters[(r[3], r[1])], tid)
        for r, tid in zip(due, new_ids(len(due)), strict=True)
    ]
    write_moves(session, moves, Handing(actor_id, POOL_RETURN, now, now))
    return len(moves)

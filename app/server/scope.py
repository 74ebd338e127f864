"""Access scope in the central store's SQL: ``app.services.scope.Scope`` as a condition.

The definition (who reaches which prospects) lives in ``app.services.scope``; this is
its spelling over the ``prospect`` table, tested against ``Scope.contains``. A withdrawn
entry (``prospect.withdrawn_at``: its batch no longer lists it, or expired) is out of
everyone's scope: it leaves every device, and its logs stay here.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Table, and_, false, or_, select
from sqlmodel import Session

from app.models import Outlet, Prospect, Role, User
from app.services.scope import Scope, scope_for

__all__ = ["Scope", "outlet_clause", "placement", "prospect_clause", "scope_of"]

Placement = tuple[str | None, str | None]


def placement(prospect: Prospect) -> Placement:
    """Where scope places ``prospect``: (outlet, assignee), or nowhere once withdrawn. The
    change log records it before and after each change, so pull sends removals."""
    if prospect.withdrawn_at is not None:
        return (None, None)
    return (prospect.outlet_id, prospect.assignee_id)


def scope_of(session: Session, user: User) -> Scope:
    """``user``'s scope; a sub-branch manager's outlets are read from the outlet table."""
    if user.role != Role.SUBBRANCH_MANAGER:
        return scope_for(user.id, user.role, user.outlet_id)
    outlets = session.execute(select(Outlet.id, Outlet.branch_name)).all()
    return scope_for(user.id, user.role, user.outlet_id, [(r[0], r[1]) for r in outlets])


def outlet_clause(scope: Scope, column: ColumnElement[str | None]) -> ColumnElement[bool]:
    """Rows whose outlet ``column`` is one ``scope`` reaches whole (``Scope.reaches_outlet``)."""
    if scope.role == Role.ADMIN:
        return column.is_not(None)
    outlets = sorted(scope.outlets)
    if not outlets:
        return false()
    if len(outlets) == 1:
        return column == outlets[0]
    return column.in_(outlets)


def prospect_clause(scope: Scope, prospect: Table) -> ColumnElement[bool]:
    """The prospects ``scope`` reaches, as a WHERE condition on ``prospect``."""
    live = prospect.c.withdrawn_at.is_(None)
    if scope.role in (Role.ADMIN, Role.OUTLET_MANAGER, Role.SUBBRANCH_MANAGER):
        return and_(live, outlet_clause(scope, prospect.c.outlet_id))
    return and_(
        live,
        or_(
            prospect.c.assignee_id == scope.user_id,
            and_(prospect.c.outlet_id == scope.outlet_id, prospect.c.assignee_id.is_(None)),
        ),
    )

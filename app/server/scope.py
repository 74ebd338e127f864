"""Access scope in the central store's SQL: ``app.services.scope.Scope`` as a condition.

The definition (who reaches which prospects) lives in ``app.services.scope``; this is
its spelling over the ``prospect`` table, tested against ``Scope.contains``.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Table, and_, or_

from app.models import Role
from app.services.scope import Scope

__all__ = ["Scope", "prospect_clause"]


def prospect_clause(scope: Scope, prospect: Table) -> ColumnElement[bool]:
    """The prospects ``scope`` reaches, as a WHERE condition on ``prospect``."""
    if scope.role == Role.ADMIN:
        return prospect.c.outlet_id.is_not(None)
    if scope.role == Role.OUTLET_MANAGER:
        return prospect.c.outlet_id == scope.outlet_id
    return or_(
        prospect.c.assignee_id == scope.user_id,
        and_(prospect.c.outlet_id == scope.outlet_id, prospect.c.assignee_id.is_(None)),
    )

"""Who may see which prospects; enforced here, never only by a UI.

marketer: the outlet's unassigned pool and the prospects assigned to them;
outlet manager: every prospect of their outlet; admin: all.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Table, and_, or_, true

from app.models import Role


@dataclass(frozen=True)
class Scope:
    user_id: str
    role: str
    outlet_id: str | None

    @property
    def fingerprint(self) -> str:
        """Changes when the scope does, so an old cursor is refused."""
        return f"{self.user_id}:{self.role}:{self.outlet_id or ''}"

    def contains(self, outlet_id: str | None, assignee_id: str | None) -> bool:
        if self.role == Role.ADMIN:
            return outlet_id is not None
        if self.role == Role.OUTLET_MANAGER:
            return outlet_id is not None and outlet_id == self.outlet_id
        if assignee_id is not None:
            return assignee_id == self.user_id
        return outlet_id is not None and outlet_id == self.outlet_id

    def prospect_clause(self, prospect: Table) -> ColumnElement[bool]:
        if self.role == Role.ADMIN:
            return true()
        if self.role == Role.OUTLET_MANAGER:
            return prospect.c.outlet_id == self.outlet_id
        return or_(
            prospect.c.assignee_id == self.user_id,
            and_(prospect.c.outlet_id == self.outlet_id, prospect.c.assignee_id.is_(None)),
        )

"""Which prospects a user may reach, and which part of them a list shows: one home each.

Access (enforced by the central store, mirrored by the device):

    marketer        the outlet's unassigned pool and the prospects assigned to them
    outlet manager  every prospect of their outlet
    admin           every prospect

Views (the whitelist's scope chips; what the map and search cover) narrow access:

    mine            assigned to me
    pool            my outlet's unassigned pool
    mine_and_pool   both (a marketer's default)
    outlet          my outlet (a manager's default)
    all             everything the device holds (an admin's default)

The SQL spellings of a view (device store) and of access (central store) are
written from these definitions and tested against them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.models.user import Role


@dataclass(frozen=True)
class Scope:
    """A signed-in user's reach: who they are, their role and outlet."""

    user_id: str
    role: str
    outlet_id: str | None

    @property
    def fingerprint(self) -> str:
        """Changes when the scope does, so an old cursor is refused."""
        return f"{self.user_id}:{self.role}:{self.outlet_id or ''}"

    def contains(self, outlet_id: str | None, assignee_id: str | None) -> bool:
        """Whether a prospect at ``outlet_id`` assigned to ``assignee_id`` is in reach."""
        if self.role == Role.ADMIN:
            return outlet_id is not None
        if self.role == Role.OUTLET_MANAGER:
            return outlet_id is not None and outlet_id == self.outlet_id
        if assignee_id is not None:
            return assignee_id == self.user_id
        return outlet_id is not None and outlet_id == self.outlet_id


class ViewScope(StrEnum):
    MINE = "mine"
    POOL = "pool"
    MINE_AND_POOL = "mine_and_pool"
    OUTLET = "outlet"
    ALL = "all"


DEFAULT_VIEW: dict[str, ViewScope] = {
    Role.MARKETER: ViewScope.MINE_AND_POOL,
    Role.OUTLET_MANAGER: ViewScope.OUTLET,
    Role.ADMIN: ViewScope.ALL,
}


def default_view(role: str) -> ViewScope:
    """The list a user of ``role`` opens on."""
    return DEFAULT_VIEW.get(role, ViewScope.MINE)


def in_view(
    view: ViewScope | str,
    *,
    user_id: str | None,
    outlet_id: str | None,
    assignee_id: str | None,
    prospect_outlet_id: str | None,
) -> bool:
    """Whether a prospect belongs to ``view`` for a user (``user_id``, ``outlet_id``)."""
    mine = user_id is not None and assignee_id == user_id
    pool = outlet_id is not None and prospect_outlet_id == outlet_id and assignee_id is None
    match ViewScope(view):
        case ViewScope.ALL:
            return True
        case ViewScope.MINE:
            return mine
        case ViewScope.POOL:
            return pool
        case ViewScope.OUTLET:
            return outlet_id is not None and prospect_outlet_id == outlet_id
        case ViewScope.MINE_AND_POOL:
            return mine or pool


def view_sql(
    view: ViewScope | str, user_id: str | None, outlet_id: str | None, alias: str = ""
) -> str | None:
    """``view`` as a SQL condition on ``prospect`` (binds ``:uid``, ``:oid``); None when it
    can match nothing (no user or no outlet to compare with). ``alias`` is a table prefix
    such as ``"p."``; a caller may prefix it further (the planner adds SQLite's ``+``)."""
    mine = f"{alias}assignee_id = :uid"
    pool = f"{alias}outlet_id = :oid AND {alias}assignee_id IS NULL"
    match ViewScope(view):
        case ViewScope.ALL:
            return "1"
        case ViewScope.MINE:
            return mine if user_id else None
        case ViewScope.POOL:
            return f"({pool})" if outlet_id else None
        case ViewScope.OUTLET:
            return f"{alias}outlet_id = :oid" if outlet_id else None
        case ViewScope.MINE_AND_POOL:
            if user_id and outlet_id:
                return f"({mine} OR ({pool}))"
            if user_id:
                return mine
            return f"({pool})" if outlet_id else None

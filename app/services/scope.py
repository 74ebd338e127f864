"""Which prospects a user may reach, and which part of them a list shows: one home each.

Access (enforced by the central store, mirrored by the device):

    marketer           the outlet's unassigned pool and the prospects assigned to them
    outlet manager     every prospect of their outlet
    sub-branch manager every prospect of the outlets under their sub-branch (支行)
    admin              every prospect

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

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from app.models.user import Role

# The roles that reach whole outlets (their lists, their staff) rather than a pool.
MANAGERS = frozenset({Role.OUTLET_MANAGER, Role.SUBBRANCH_MANAGER, Role.ADMIN})


@dataclass(frozen=True)
class Scope:
    """A signed-in user's reach: who they are, their role and outlet."""

    user_id: str
    role: str
    outlet_id: str | None
    # A sub-branch manager's outlets (its own among them); empty for every other role.
    outlet_ids: frozenset[str] = frozenset()

    @property
    def fingerprint(self) -> str:
        """Changes when the scope does, so an old cursor is refused."""
        base = f"{self.user_id}:{self.role}:{self.outlet_id or ''}"
        if not self.outlet_ids:
            return base
        digest = hashlib.sha256(",".join(sorted(self.outlet_ids)).encode()).hexdigest()[:12]
        return f"{base}:{digest}"

    @property
    def outlets(self) -> frozenset[str]:
        """The outlets whose whole list is in reach (none for a marketer or an admin, who
        reach a pool and everything respectively)."""
        if self.role == Role.SUBBRANCH_MANAGER:
            return self.outlet_ids
        if self.role == Role.OUTLET_MANAGER and self.outlet_id is not None:
            return frozenset({self.outlet_id})
        return frozenset()

    def reaches_outlet(self, outlet_id: str | None) -> bool:
        """Whether every prospect of ``outlet_id`` is in reach (a manager's own outlets)."""
        if outlet_id is None:
            return False
        return self.role == Role.ADMIN or outlet_id in self.outlets

    def contains(self, outlet_id: str | None, assignee_id: str | None) -> bool:
        """Whether a prospect at ``outlet_id`` assigned to ``assignee_id`` is in reach."""
        if self.role in MANAGERS:
            return self.reaches_outlet(outlet_id)
        if assignee_id is not None:
            return assignee_id == self.user_id
        return outlet_id is not None and outlet_id == self.outlet_id


def subbranch_outlets(own_outlet: str | None, outlets: Iterable[tuple[str, str]]) -> frozenset[str]:
    """The outlets under the sub-branch of ``own_outlet``, from (outlet id, branch name)
    pairs: every outlet whose ``branch_name`` is that of ``own_outlet``."""
    pairs = list(outlets)
    branch = next((name for oid, name in pairs if oid == own_outlet), None)
    if branch is None:
        return frozenset()
    return frozenset(oid for oid, name in pairs if name == branch)


def scope_for(
    user_id: str, role: str, outlet_id: str | None, outlets: Iterable[tuple[str, str]] = ()
) -> Scope:
    """A user's scope; ``outlets`` (id, branch name) are read only for a sub-branch manager."""
    if role == Role.SUBBRANCH_MANAGER:
        return Scope(user_id, role, outlet_id, subbranch_outlets(outlet_id, outlets))
    return Scope(user_id, role, outlet_id)


class ViewScope(StrEnum):
    MINE = "mine"
    POOL = "pool"
    MINE_AND_POOL = "mine_and_pool"
    OUTLET = "outlet"
    ALL = "all"


DEFAULT_VIEW: dict[str, ViewScope] = {
    Role.MARKETER: ViewScope.MINE_AND_POOL,
    Role.OUTLET_MANAGER: ViewScope.OUTLET,
    Role.SUBBRANCH_MANAGER: ViewScope.ALL,  # every outlet of the sub-branch the device holds
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

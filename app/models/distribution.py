"""Distribution on the wire (分发): the outlet manager's auto-assign and the pool return.

    POST /distribution/auto-assign  AutoAssignRequest -> AutoAssignResult
    POST /distribution/pool-return  PoolReturnRequest -> PoolReturnResult

The rules themselves are ``app.services.distribution``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field

from app.models.wire import EntityId, WireModel

CAP_LIMIT = 100_000  # a cap beyond any outlet's pool
DAYS_LIMIT = 3650


class AssignRule(StrEnum):
    EVEN = "even"  # 平均分配: the least loaded first
    NEAREST = "nearest"  # 就近分配: to the nearest marketer's territory


class AutoAssignRequest(WireModel):
    """The outlet's unassigned pool to its active marketers (or the ones chosen)."""

    outlet_id: EntityId
    rule: AssignRule = AssignRule.EVEN
    cap: Annotated[int, Field(ge=1, le=CAP_LIMIT)] | None = None  # most NEW prospects each
    marketer_ids: Annotated[list[EntityId], Field(min_length=1, max_length=1000)] | None = None


class AutoAssignResult(BaseModel):
    assigned: dict[str, int]  # marketer id -> prospects handed to them
    left: int  # still in the pool (the cap, or nobody to give them to)


class PoolReturnRequest(WireModel):
    """Every prospect in reach untouched for ``days`` days back to its pool (None: the
    store's setting)."""

    days: Annotated[int, Field(ge=1, le=DAYS_LIMIT)] | None = None


class PoolReturnResult(BaseModel):
    returned: int

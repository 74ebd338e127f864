"""List quality back to head office (双向传导): a batch's quality report, its flagged
entries, and an admin's withdrawal of bad rows (``app.server.quality`` reads, and
``app.server.batches.withdraw_bad_rows`` writes).

- ``GET /admin/batches/{id}/quality``: admins (every outlet), sub-branch and outlet
  managers (their outlets); 403 ``auth.forbidden`` for a marketer;
- ``GET /admin/batches/{id}/quality/entries?reason=&status=&page=&page_size=``: the same
  readers;
- ``POST /admin/batches/{id}/withdraw``: admins only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.models.quality import (
    ENTRIES_PAGE_MAX,
    ClosedStatus,
    QualityEntriesOut,
    QualityReportOut,
    ReasonFilter,
    WithdrawIn,
    WithdrawOut,
)
from app.server import batches, quality
from app.server.db import read_session, write_session
from app.server.deps import CurrentUser, EngineDep
from app.server.errors import error_responses

router = APIRouter(prefix="/admin", tags=["quality"])

BatchId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]


@router.get(
    "/batches/{batch_id}/quality",
    response_model=QualityReportOut,
    responses=error_responses(401, 403, 404, 422),
)
def quality_report(batch_id: BatchId, user: CurrentUser, engine: EngineDep) -> QualityReportOut:
    """The batch's list quality within the caller's reach: entries, worked, closed as
    invalid or declined, the invalid and wrong-contact rates (÷ worked), counts per
    reason, per outlet (worst first), and the latest notes marketers wrote."""
    with read_session(engine) as session:
        scope = quality.reader_scope(session, user)
        return quality.report(session, scope, batch_id)


@router.get(
    "/batches/{batch_id}/quality/entries",
    response_model=QualityEntriesOut,
    responses=error_responses(401, 403, 404, 422),
)
def flagged_entries(
    batch_id: BatchId,
    user: CurrentUser,
    engine: EngineDep,
    reason: Annotated[ReasonFilter | None, Query(description="one reason only")] = None,
    status: Annotated[ClosedStatus | None, Query(description="invalid | declined")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=ENTRIES_PAGE_MAX)] = 50,
) -> QualityEntriesOut:
    """The batch's closed entries in reach, most recently closed first, with the reason and
    the marketer's words; withdrawn ones say so."""
    with read_session(engine) as session:
        scope = quality.reader_scope(session, user)
        return quality.entries(
            session,
            scope,
            batch_id,
            reason=reason,
            status=status.value if status else None,
            page=page,
            page_size=page_size,
        )


@router.post(
    "/batches/{batch_id}/withdraw",
    response_model=WithdrawOut,
    responses=error_responses(400, 401, 403, 404, 422),
)
def withdraw(
    batch_id: BatchId, body: WithdrawIn, user: CurrentUser, engine: EngineDep
) -> WithdrawOut:
    """Withdraw up to 5,000 entries of the batch as bad rows (admins): they leave every
    device at its next sync, their logs stay. Entries withdrawn before are left alone
    (``already``); an id that is no entry of this batch refuses the whole request (422
    ``quality.not_in_batch``)."""
    with write_session(engine) as session:
        done, already = batches.withdraw_bad_rows(
            session, user, batch_id, body.prospect_ids, body.reason
        )
    return WithdrawOut(withdrawn=done, already=already)

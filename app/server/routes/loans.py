"""The loan system's feed and the admin's loan work (``app.server.loans`` has the rules).

- ``POST /loans/events``: the loan system's service account only (``X-API-Key``);
- ``GET /loans?q=&page=&page_size=``: the disbursed loans, found by id, credit code or
  company name (for the admin's 分润调整);
- ``GET /loans/unmatched``, ``POST /loans/unmatched/{id}/match`` and ``…/dismiss``;
- ``GET`` and ``PUT /loans/{loan_id}/shares``; ``GET`` and ``PUT /admin/share-ratios``:
  admins only (bearer token), 403 ``auth.forbidden`` for anyone else.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query

from app.models.loan import (
    ApiKeyEndpoint,
    DismissIn,
    LoanEventOut,
    LoanEventResult,
    LoanEventsOut,
    LoanEventsPage,
    LoanEventsPost,
    LoanOutcome,
    LoanSharesOut,
    LoansPage,
    LoansQuery,
    MatchIn,
    ShareRatiosIn,
    ShareRatiosOut,
    SharesIn,
)
from app.models.wire import EntityId
from app.server import loans
from app.server.api_keys import KEY_HEADER, authenticate
from app.server.db import read_session, write_session
from app.server.deps import CurrentUser, EngineDep, SettingsDep
from app.server.errors import StoreError, error_responses

router = APIRouter(prefix="/loans", tags=["loans"])
ratios_router = APIRouter(prefix="/admin", tags=["loans"])


def loan_feed_key(
    engine: EngineDep,
    api_key: Annotated[str | None, Header(alias=KEY_HEADER)] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> str:
    """The id of the service account whose key opens the loan feed (judged before the
    body is read); a user's bearer token is no key (``app.server.api_keys``)."""
    if not api_key and authorization:
        raise StoreError("apikey.user_token", 401)
    with write_session(engine, branches=()) as session:  # the key's last use: no synced data
        return authenticate(session, api_key, ApiKeyEndpoint.LOAN_FEED).id


FeedKey = Annotated[str, Depends(loan_feed_key)]


@router.post("/events", response_model=LoanEventsOut, responses=error_responses(400, 401, 403, 422))
def post_events(
    key_id: FeedKey, body: LoanEventsPost, engine: EngineDep, settings: SettingsDep
) -> LoanEventsOut:
    """Up to 500 loan events (each a ``LoanEventIn``), each answered on its own: applied,
    recorded, queued (no prospect has its credit code), duplicate (sent before: nothing
    changed) or rejected with its code. Idempotent: send again freely."""
    source = loans.Source("api", key_id)
    with write_session(engine) as session:
        results = loans.report_events(
            session, body.events, source=source, ratio=loans.default_ratio(settings)
        )
    return _answer(results)


def _answer(results: list[LoanEventResult]) -> LoanEventsOut:
    counts = Counter(r.outcome for r in results)
    return LoanEventsOut(results=results, counts={o.value: counts[o] for o in LoanOutcome})


@router.get("", response_model=LoansPage, responses=error_responses(401, 403, 422))
def list_disbursed(
    query: Annotated[LoansQuery, Query()], user: CurrentUser, engine: EngineDep
) -> LoansPage:
    """Disbursed loans (the ones with a split) whose loan id, credit code or company name
    holds ``q``, newest first, a page at a time, with whether an admin re-split them
    (admins)."""
    loans.require_admin(user)
    with read_session(engine) as session:
        return loans.disbursed_loans(session, user, query)


@router.get("/unmatched", response_model=LoanEventsPage, responses=error_responses(401, 403, 422))
def list_unmatched(
    user: CurrentUser,
    engine: EngineDep,
    offset: int = Query(default=0, ge=0, le=10_000_000),
    limit: int = Query(default=50, ge=1, le=500),
) -> LoanEventsPage:
    """The loan events no prospect matched, oldest first, a page at a time (admins)."""
    loans.require_admin(user)
    with read_session(engine) as session:
        return loans.unmatched(session, offset=offset, limit=limit)


@router.post(
    "/unmatched/{event_id}/match",
    response_model=LoanEventResult,
    responses=error_responses(400, 401, 403, 404, 409, 422),
)
def match_event(
    event_id: Annotated[EntityId, Path()],
    body: MatchIn,
    user: CurrentUser,
    engine: EngineDep,
    settings: SettingsDep,
) -> LoanEventResult:
    """Apply a waiting event to the prospect the admin names (funnel move, shares)."""
    loans.require_admin(user)
    with write_session(engine) as session:
        return loans.match(
            session,
            event_id=event_id,
            prospect_id=body.prospect_id,
            admin=user,
            ratio=loans.default_ratio(settings),
        )


@router.post(
    "/unmatched/{event_id}/dismiss",
    response_model=LoanEventOut,
    responses=error_responses(400, 401, 403, 404, 409, 422),
)
def dismiss_event(
    event_id: Annotated[EntityId, Path()], body: DismissIn, user: CurrentUser, engine: EngineDep
) -> LoanEventOut:
    """Set a waiting event aside with the admin's reason (≤ 200 characters)."""
    loans.require_admin(user)
    with write_session(engine) as session:
        return loans.dismiss(session, event_id=event_id, reason=body.reason, admin=user)


@router.get(
    "/{loan_id:path}/shares",
    response_model=LoanSharesOut,
    responses=error_responses(401, 403, 404, 422),
)
def get_shares(
    loan_id: Annotated[EntityId, Path()], user: CurrentUser, engine: EngineDep
) -> LoanSharesOut:
    """A disbursed loan's split (分润) in fen, with every adjustment made to it."""
    loans.require_admin(user)
    with read_session(engine) as session:
        return loans.shares(session, loan_id)


@router.put(
    "/{loan_id:path}/shares",
    response_model=LoanSharesOut,
    responses=error_responses(400, 401, 403, 404, 422),
)
def put_shares(
    loan_id: Annotated[EntityId, Path()], body: SharesIn, user: CurrentUser, engine: EngineDep
) -> LoanSharesOut:
    """Re-split a disbursed loan by hand: the shares must sum to its amount exactly (in
    fen); the reason, before and after are kept (``share_adjustment``)."""
    loans.require_admin(user)
    with write_session(engine) as session:
        return loans.set_shares(session, loan_id, body, user)


@ratios_router.get(
    "/share-ratios", response_model=ShareRatiosOut, responses=error_responses(401, 403)
)
def get_ratios(user: CurrentUser, engine: EngineDep, settings: SettingsDep) -> ShareRatiosOut:
    """The split per product, and the default for the others (settings)."""
    loans.require_admin(user)
    with read_session(engine) as session:
        return loans.ratios(session, loans.default_ratio(settings))


@ratios_router.put(
    "/share-ratios", response_model=ShareRatiosOut, responses=error_responses(400, 401, 403, 422)
)
def put_ratios(
    body: ShareRatiosIn, user: CurrentUser, engine: EngineDep, settings: SettingsDep
) -> ShareRatiosOut:
    """Set the listed products' split (basis points summing to 10,000); the others stay."""
    loans.require_admin(user)
    with write_session(engine) as session:
        return loans.set_ratios(session, body, user, loans.default_ratio(settings))

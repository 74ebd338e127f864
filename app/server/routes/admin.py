"""Administrators' views of the central store: the incidents it kept."""

from __future__ import annotations

from fastapi import APIRouter, Query

from app.models.incident import IncidentsPublic
from app.models.user import Role
from app.server.db import read_session
from app.server.deps import CurrentUser, EngineDep
from app.server.errors import StoreError, error_responses
from app.server.incidents import recent

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get("/incidents", response_model=IncidentsPublic, responses=error_responses(401, 403, 422))
def list_incidents(
    user: CurrentUser, engine: EngineDep, limit: int = Query(default=100, ge=1, le=1000)
) -> IncidentsPublic:
    """Unexpected failures the store turned into answers, newest first (admins only)."""
    if user.role != Role.ADMIN:
        raise StoreError("auth.forbidden", 403)
    with read_session(engine) as session:
        incidents = recent(session, limit=limit)
    return IncidentsPublic(incidents=incidents, count=len(incidents))

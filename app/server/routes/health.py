from __future__ import annotations

import os

from fastapi import APIRouter
from sqlalchemy import text

from app.models.sync import MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, HealthResponse
from app.server.deps import EngineDep

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthResponse)
def health(engine: EngineDep) -> dict:
    """Up, on which database, speaking which protocol versions, from which process."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return {
        "status": "ok",
        "database": engine.dialect.name,
        "protocol": PROTOCOL_VERSION,
        "min_protocol": MIN_PROTOCOL_VERSION,
        "worker": os.getpid(),
    }

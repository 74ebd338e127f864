from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from app.models.sync import MIN_PROTOCOL_VERSION, PROTOCOL_VERSION
from app.server.deps import EngineDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health(engine: EngineDep) -> dict:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return {
        "status": "ok",
        "database": engine.dialect.name,
        "protocol": PROTOCOL_VERSION,
        "min_protocol": MIN_PROTOCOL_VERSION,
    }

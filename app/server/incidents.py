"""Incidents of the central store: recording the rows a pull left out, and listing.

A mutation's incident is written by ``apply`` inside its push transaction; a pull
reads in a snapshot, so the rows it could not encode are recorded afterwards in a
short write of their own, once per (row, column) while the stored value stays bad.
"""

from __future__ import annotations

import json
import logging

from sqlalchemy import Engine, select
from sqlmodel import Session

from app.models import Incident
from app.models.ids import new_id, utcnow
from app.models.incident import IncidentKind, IncidentPublic
from app.server.db import write_session
from app.server.pull import SkippedRow

log = logging.getLogger(__name__)
_incident = Incident.__table__  # type: ignore[attr-defined]


def record_skipped(engine: Engine, *, user_id: str, skipped: list[SkippedRow]) -> None:
    """Keep each row a pull left out as an incident (unless one says so already)."""
    for row in skipped:
        log.error("pull left out a row: %s", row.reason)
    try:
        with write_session(engine, branches=()) as session:  # no synced data changes
            for row in {r.reason: r for r in skipped}.values():
                known = select(_incident.c.id).where(
                    _incident.c.kind == IncidentKind.PULL, _incident.c.error_message == row.reason
                )
                if session.execute(known.limit(1)).first() is not None:
                    continue
                session.add(
                    Incident(
                        id=new_id(),
                        occurred_at=utcnow(),
                        user_id=user_id,
                        kind=IncidentKind.PULL,
                        error_class="UnencodableValue",
                        error_message=row.reason,
                        payload=json.dumps(
                            {"entity": row.entity, "id": row.entity_id, "column": row.column},
                            ensure_ascii=False,
                        ),
                    )
                )
    except Exception:  # the page itself is fine: a failed note must not fail the pull
        log.exception("could not record the rows a pull left out")


def recent(session: Session, *, limit: int) -> list[IncidentPublic]:
    """The newest incidents first."""
    newest = (_incident.c.occurred_at.desc(), _incident.c.id.desc())
    stmt = select(Incident).order_by(*newest).limit(limit)
    return [IncidentPublic.model_validate(i, from_attributes=True) for i in session.scalars(stmt)]

"""An online reveal: the clear value of a masked phone number or credit code, audited.

A device holds these in clear only for the prospects assigned to its user (see
``app.server.pull``); for any other prospect in reach it asks here. The policy judges
the request as a reveal (``Action.REVEAL``), an unknown id answers as one out of reach,
and the audit event commits with the answer: no clear value leaves the store unrecorded.
The device-made ``event_id`` keeps a retried request to one audit event.
"""

from __future__ import annotations

from sqlmodel import Session

from app.models import AuditEvent, User
from app.models.ids import utcnow
from app.models.sync import RevealField, RevealRequest
from app.server.apply import judge
from app.server.errors import Rejected, StoreError
from app.services.policy import Action


def reveal(session: Session, *, user: User, prospect_id: str, request: RevealRequest) -> str:
    """The clear value of ``request.field``, once allowed and audited (``write_session``)."""
    try:
        prospect = judge(session, user, Action.REVEAL, prospect_id)
    except Rejected as exc:
        raise StoreError(exc.code, 403, **exc.params) from exc
    existing = session.get(AuditEvent, request.event_id)
    if existing is not None and (existing.user_id, existing.prospect_id) != (user.id, prospect_id):
        raise StoreError("request.invalid", 422, detail="event_id already used")
    if existing is None:
        session.add(
            AuditEvent(
                id=request.event_id,
                user_id=user.id,
                action=f"reveal_{request.field}",
                prospect_id=prospect_id,
                device_id=request.device_id,
                occurred_at=utcnow(),
                recorded_at=utcnow(),
            )
        )
    if request.field == RevealField.PHONE:
        return prospect.phone or ""
    return prospect.credit_code or ""

"""Field finds (外拓线索) the device holds: a finder's own, or a manager's outlets'."""

from __future__ import annotations

from sqlalchemy import Connection, text

from app.services.leads import LeadRow
from app.services.stored import stored_datetime


def held_leads(conn: Connection, *, finder_id: str | None = None) -> list[LeadRow]:
    """The finds on the device (only ``finder_id``'s when given), with their finders' names."""
    where = "WHERE l.finder_id = :uid" if finder_id is not None else ""
    rows = conn.execute(
        text(
            "SELECT l.id, l.company_name, l.credit_code, l.contact_name, l.phone, l.industry,"
            " l.address, l.note, l.status, l.review_reason, l.review_note, l.finder_id,"
            " u.name AS finder_name, l.created_at, l.prospect_id, l.rev, l.lat"
            ' FROM field_lead l LEFT JOIN "user" u ON u.id = l.finder_id ' + where
        ),
        {"uid": finder_id},
    )
    return [
        LeadRow(
            id=r.id,
            company_name=r.company_name,
            credit_code=r.credit_code,
            contact_name=r.contact_name or "",
            phone=r.phone or "",
            industry=r.industry or "",
            address=r.address or "",
            note=r.note or "",
            status=r.status,
            review_reason=r.review_reason or "",
            review_note=r.review_note or "",
            finder_id=r.finder_id,
            finder_name=r.finder_name or "",
            created_at=stored_datetime(r.created_at),
            prospect_id=r.prospect_id,
            uploaded=int(r.rev or 0) > 0,
            has_position=r.lat is not None,
        )
        for r in rows
    ]

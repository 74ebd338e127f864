"""The customer card and the outlet's marketers, read from the device store."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, bindparam, text

from app.geo.distance import haversine_km
from app.services.masking import mask_credit_code, mask_phone
from app.services.prospects import ProspectCard, parse_tags
from app.services.stored import stored_date, stored_datetime


def get_card(conn: Connection, prospect_id: str) -> ProspectCard | None:
    """The card of ``prospect_id``, or None when the device does not hold it."""
    r = (
        conn.execute(
            text(
                "SELECT p.*, b.name AS batch_name, b.product AS batch_product,"
                " b.valid_until AS batch_valid_until, u.name AS assignee_name,"
                " o.name AS outlet_name, o.lat AS outlet_lat, o.lon AS outlet_lon,"
                " (SELECT count(*) FROM outbox x WHERE x.entity_id = p.id) AS pending"
                " FROM prospect p LEFT JOIN whitelist_batch b ON b.id = p.batch_id"
                ' LEFT JOIN "user" u ON u.id = p.assignee_id LEFT JOIN outlet o ON o.id = p.outlet_id'
                " WHERE p.id = :id"
            ),
            {"id": prospect_id},
        )
        .mappings()
        .first()
    )
    if r is None:
        return None
    distance = None
    if r["outlet_lat"] is not None:
        distance = haversine_km(r["outlet_lat"], r["outlet_lon"], r["lat"], r["lon"])
    tags = parse_tags(r["tags"])
    return ProspectCard(
        id=r["id"],
        company_name=r["company_name"],
        legal_rep=r["legal_rep"],
        credit_code=r["credit_code"],
        credit_code_masked=mask_credit_code(r["credit_code"]),
        phone=r["phone"],
        phone_masked=mask_phone(r["phone"]),
        industry=r["industry"],
        address=r["address"],
        lat=r["lat"],
        lon=r["lon"],
        pre_approved_line=int(r["pre_approved_line"] or 0),
        score=int(r["score"] or 0),
        tags=tags,
        status=r["status"],
        assignee_id=r["assignee_id"],
        assignee_name=r["assignee_name"],
        outlet_id=r["outlet_id"],
        outlet_name=r["outlet_name"],
        outlet_lat=r["outlet_lat"],
        outlet_lon=r["outlet_lon"],
        distance_km=distance,
        batch_name=r["batch_name"] or "",
        batch_product=r["batch_product"] or "",
        batch_valid_until=stored_date(r["batch_valid_until"]),
        disbursed_amount=r["disbursed_amount"],
        next_follow_up=stored_date(r["next_follow_up"]),
        last_contact_at=stored_datetime(r["last_contact_at"]),
        pending_changes=int(r["pending"]),
    )


def outlet_marketers(
    conn: Connection, outlets: Collection[str] | None
) -> list[tuple[str, str, str]]:
    """(id, name, outlet id) of the active marketers of ``outlets`` (None: every outlet),
    by outlet code then name: who a manager can assign to."""
    sql = (
        'SELECT u.id, u.name, u.outlet_id FROM "user" u LEFT JOIN outlet o ON o.id = u.outlet_id'
        " WHERE u.role = 'marketer' AND u.active{where} ORDER BY o.code, u.name, u.id"
    )
    if outlets is None:
        rows = conn.execute(text(sql.format(where="")))
    else:
        stmt = text(sql.format(where=" AND u.outlet_id IN :oids"))
        stmt = stmt.bindparams(bindparam("oids", expanding=True))
        rows = conn.execute(stmt, {"oids": sorted(outlets)})
    return [(r[0], r[1], r[2]) for r in rows]

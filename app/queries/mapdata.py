"""What the map shows: prospects of a user's view around a centre, as plain markers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from app.services.scope import ViewScope, view_sql

_NOTHING = "0"  # a view missing its user or outlet shows nothing; it never widens


def scope_sql(
    view: ViewScope | str, user_id: str | None, outlet_id: str | None
) -> tuple[str, dict[str, Any]]:
    """``view`` as a SQL condition on ``prospect p`` (for ``app.geo.nearby.within``),
    with its parameters."""
    where = view_sql(view, user_id, outlet_id, alias="p.")
    return (_NOTHING if where is None else where), {"uid": user_id, "oid": outlet_id}


def map_markers(conn: Connection, hits: list[tuple[str, float]]) -> list[dict[str, Any]]:
    """Marker fields for (id, km) hits, nearest first."""
    distances = dict(hits)
    rows: list[dict[str, Any]] = []
    ids = [pid for pid, _ in hits]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join(f":i{n}" for n in range(len(chunk)))
        params = {f"i{n}": pid for n, pid in enumerate(chunk)}
        for r in conn.execute(
            text(
                "SELECT id, company_name, lat, lon, status, pre_approved_line FROM prospect"
                f" WHERE id IN ({marks})"
            ),
            params,
        ):
            rows.append(
                dict(
                    id=r.id,
                    name=r.company_name,
                    lat=r.lat,
                    lon=r.lon,
                    status=r.status,
                    line=int(r.pre_approved_line or 0),
                    distance_km=distances[r.id],
                )
            )
    rows.sort(key=lambda m: m["distance_km"])
    return rows


def prospect_place(conn: Connection, prospect_id: str) -> tuple[float, float, str] | None:
    """A prospect's (lat, lon, company name): where "show on the map" centres."""
    row = conn.execute(
        text("SELECT lat, lon, company_name FROM prospect WHERE id = :id"), {"id": prospect_id}
    ).first()
    if row is None or row.lat is None or row.lon is None:
        return None
    return float(row.lat), float(row.lon), str(row.company_name)

"""What the map shows: prospects of a user's scope around a centre, as plain markers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text


def scope_sql(scope: str, user_id: str, outlet_id: str | None) -> tuple[str, dict[str, Any]]:
    """A SQL condition on ``prospect`` for a whitelist scope, with its parameters."""
    params = {"scope_uid": user_id, "scope_oid": outlet_id}
    clauses = {
        "mine": "assignee_id = :scope_uid",
        "pool": "(outlet_id = :scope_oid AND assignee_id IS NULL)",
        "mine_and_pool": "(assignee_id = :scope_uid OR"
        " (outlet_id = :scope_oid AND assignee_id IS NULL))",
        "outlet": "outlet_id = :scope_oid",
        "all": "1 = 1",
    }
    return clauses.get(scope, clauses["mine"]), params


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
            rows.append(dict(id=r[0], name=r[1], lat=r[2], lon=r[3], status=r[4],
                             line=int(r[5] or 0), distance_km=distances[r[0]]))  # fmt: skip
    rows.sort(key=lambda m: m["distance_km"])
    return rows


def prospect_place(conn: Connection, prospect_id: str) -> tuple[float, float, str] | None:
    """A prospect's (lat, lon, company name): where "show on the map" centres."""
    row = conn.execute(
        text("SELECT lat, lon, company_name FROM prospect WHERE id = :id"), {"id": prospect_id}
    ).first()
    if row is None or row[0] is None or row[1] is None:
        return None
    return float(row[0]), float(row[1]), str(row[2])

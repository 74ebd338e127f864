"""The device's outlets: what a sub-branch manager's reach is made of, and whom a manager
sets targets for."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, bindparam, text


def device_outlets(conn: Connection) -> tuple[tuple[str, str, str], ...]:
    """(id, name, branch name) of every outlet the device holds, by code."""
    rows = conn.execute(text("SELECT id, name, branch_name FROM outlet ORDER BY code, id"))
    return tuple((str(r[0]), str(r[1]), str(r[2])) for r in rows)


def outlets_with_codes(
    conn: Connection, outlets: Collection[str] | None
) -> list[tuple[str, str, str]]:
    """(id, code, name) of ``outlets`` (None: every outlet the device holds), by code."""
    sql = "SELECT id, code, name FROM outlet{where} ORDER BY code, id"
    if outlets is None:
        rows = conn.execute(text(sql.format(where="")))
    else:
        stmt = text(sql.format(where=" WHERE id IN :oids"))
        rows = conn.execute(
            stmt.bindparams(bindparam("oids", expanding=True)), {"oids": sorted(outlets)}
        )
    return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]


def marketers_with_numbers(
    conn: Connection, outlets: Collection[str] | None
) -> list[tuple[str, str, str, str]]:
    """(id, name, employee number, outlet id) of the active marketers of ``outlets`` (None:
    every outlet), by outlet code then name."""
    sql = (
        'SELECT u.id, u.name, u.employee_no, u.outlet_id FROM "user" u'
        " LEFT JOIN outlet o ON o.id = u.outlet_id"
        " WHERE u.role = 'marketer' AND u.active{where} ORDER BY o.code, u.name, u.id"
    )
    if outlets is None:
        rows = conn.execute(text(sql.format(where="")))
    else:
        stmt = text(sql.format(where=" AND u.outlet_id IN :oids"))
        rows = conn.execute(
            stmt.bindparams(bindparam("oids", expanding=True)), {"oids": sorted(outlets)}
        )
    return [(str(r[0]), str(r[1]), str(r[2]), str(r[3] or "")) for r in rows]

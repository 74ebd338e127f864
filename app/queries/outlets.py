"""The device's outlets: what a sub-branch manager's reach is made of."""

from __future__ import annotations

from sqlalchemy import Connection, text


def device_outlets(conn: Connection) -> tuple[tuple[str, str, str], ...]:
    """(id, name, branch name) of every outlet the device holds, by code."""
    rows = conn.execute(text("SELECT id, name, branch_name FROM outlet ORDER BY code, id"))
    return tuple((str(r[0]), str(r[1]), str(r[2])) for r in rows)

"""What the log form reads of a user's own logs in the device store."""

from __future__ import annotations

from sqlalchemy import Connection, text


def last_channel(conn: Connection, author_id: str) -> str | None:
    """The channel of ``author_id``'s latest log on this device (by when it happened), None
    before their first."""
    row = conn.execute(
        text(
            "SELECT channel FROM marketing_log WHERE author_id = :me"
            " ORDER BY occurred_at DESC, id DESC LIMIT 1"
        ),
        {"me": author_id},
    ).first()
    return None if row is None else str(row[0])

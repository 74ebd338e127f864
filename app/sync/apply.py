"""Applying a pulled page: upserts and removals, then the cursor, in one transaction.

Rows arrive columnar and go straight into ``executemany`` (no ORM object per row).
A prospect that left the scope takes its logs, events and transfers with it.
After applying, pending local funnel moves (and reviews of field finds) are laid again on top of the store's
state, so a pull never hides a change the user made but has not pushed yet.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from app.models import TABLES_BY_ENTITY
from app.models.sync import CHILD_ENTITIES, SYNC_COLUMNS, MutationKind
from app.sync import outbox
from app.sync.local import rebase_reviews
from app.sync.state import StateKey
from app.sync.store import DeviceStore, create_screen_indexes, drop_screen_indexes


class PageError(ValueError):
    """A page whose shape does not match the protocol."""


def _upsert_sql(entity: str, columns: list[str]) -> str:
    known = set(TABLES_BY_ENTITY[entity].c.keys())
    unknown = [c for c in columns if c not in known]
    if unknown or "id" not in columns:
        raise PageError(f"{entity}: unexpected columns {unknown}")
    cols = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c != "id")
    return (
        f'INSERT INTO "{entity}" ({cols}) VALUES ({marks}) ON CONFLICT(id) DO UPDATE SET {updates}'
    )


def apply_page(conn: Connection, page: dict[str, Any]) -> dict[str, int]:
    """Write one page and its cursor; the caller's transaction makes it atomic."""
    counts: dict[str, int] = {}
    entities = page.get("entities", {})
    for entity in SYNC_COLUMNS:  # protocol order: parents before children
        bucket = entities.get(entity)
        if not bucket:
            continue
        rows = bucket.get("rows") or []
        if rows:
            _executemany(conn, _upsert_sql(entity, list(bucket["columns"])), rows)
        deletes = bucket.get("deletes") or []
        if deletes:
            _delete(conn, entity, deletes)
        counts[entity] = len(rows) + len(deletes)
    for entity in entities:
        if entity not in SYNC_COLUMNS:
            raise PageError(f"unknown entity {entity}")
    _rebase_pending(conn)
    DeviceStore.put(conn, StateKey.CURSOR, page["cursor"])
    if page.get("snapshot"):
        progress = page.get("progress", {})
        DeviceStore.put(conn, StateKey.SNAPSHOT_DONE, str(progress.get("done", 0)))
        DeviceStore.put(conn, StateKey.SNAPSHOT_TOTAL, str(progress.get("total", 0)))
    elif DeviceStore.get(conn, StateKey.SNAPSHOT_COMPLETE) != "1":
        DeviceStore.put(conn, StateKey.SNAPSHOT_COMPLETE, "1")
        create_screen_indexes(conn)  # with the page that completes the snapshot
    return counts


def _delete(conn: Connection, entity: str, ids: list[str]) -> None:
    params = [(i,) for i in ids]
    _executemany(conn, f'DELETE FROM "{entity}" WHERE id = ?', params)
    if entity == "prospect":
        for child in CHILD_ENTITIES:
            _executemany(conn, f'DELETE FROM "{child}" WHERE prospect_id = ?', params)


def _executemany(conn: Connection, sql: str, rows: list[Any]) -> None:
    """Straight to sqlite3's executemany, inside the caller's transaction."""
    cursor = conn.connection.cursor()
    try:
        cursor.executemany(sql, rows)
    finally:
        cursor.close()


def _rebase_pending(conn: Connection) -> None:
    for move in outbox.pending_kinds(conn, MutationKind.FUNNEL_MOVE):
        conn.execute(
            text("UPDATE prospect SET status = :s WHERE id = :id"),
            {"s": move["to_status"], "id": move["prospect_id"]},
        )
    rebase_reviews(conn)


def reset_for_resync(conn: Connection) -> None:
    """Forget everything the store sent (keep the outbox and local-only rows)."""
    drop_screen_indexes(conn)  # the new snapshot loads faster without them
    for entity in reversed(SYNC_COLUMNS):
        conn.exec_driver_sql(f'DELETE FROM "{entity}" WHERE rev > 0')
    for key in (
        StateKey.CURSOR,
        StateKey.SNAPSHOT_COMPLETE,
        StateKey.SNAPSHOT_DONE,
        StateKey.SNAPSHOT_TOTAL,
    ):
        DeviceStore.put(conn, key, None)


def local_checksums(conn: Connection) -> dict[str, dict[str, Any]]:
    from app.models.sync import scope_digest

    out = {}
    for entity in SYNC_COLUMNS:
        pairs = [
            (r[0], int(r[1]))
            for r in conn.exec_driver_sql(f'SELECT id, rev FROM "{entity}" WHERE rev > 0')
        ]
        out[entity] = {"count": len(pairs), "digest": scope_digest(pairs)}
    return out

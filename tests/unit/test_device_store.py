"""A device file made by an earlier version opens with the columns added since."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import text

from app.sync.store import DeviceStore


def test_an_older_device_file_gains_the_close_reason_columns(tmp_path: Path) -> None:
    path = tmp_path / "device.sqlite3"
    DeviceStore(path).close()
    with sqlite3.connect(path) as conn:  # as the previous version made it
        conn.execute("ALTER TABLE funnel_event DROP COLUMN close_reason")
        conn.execute("ALTER TABLE funnel_event DROP COLUMN close_note")
        conn.execute(
            "INSERT INTO funnel_event (id, prospect_id, actor_id, from_status, to_status,"
            " applied, reason_code, occurred_at, recorded_at, rev) VALUES ('e1', 'p1', 'u1',"
            " 'contacted', 'declined', 1, '', '2026-11-01 08:00:00', '2026-11-01 08:00:00', 3)"
        )

    store = DeviceStore(path)
    try:
        with store.read() as conn:
            row = conn.execute(
                text("SELECT close_reason, close_note FROM funnel_event WHERE id = 'e1'")
            ).one()
        assert tuple(row) == ("", "")  # an event from before: no reason, not NULL
        with store.transaction() as conn:  # and a pulled row that has them fits
            conn.execute(
                text(
                    "UPDATE funnel_event SET close_reason = 'duplicate', close_note = '重复'"
                    " WHERE id = 'e1'"
                )
            )
    finally:
        store.close()

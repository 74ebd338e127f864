"""How every SQLite database of the app is opened: the device store and a SQLite central store.

    WAL journal, synchronous=NORMAL, a 30 s busy timeout on every connection;
    BEGIN issued by us (the driver's own transaction handling is off), and
    BEGIN IMMEDIATE on an engine marked ``WRITER``: a writer takes the lock up
    front, readers stay deferred and, under WAL, never wait.

Extra per-connection pragmas (the device's page cache) are the caller's.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event

WRITER: Mapping[str, Any] = {"sqlite_immediate": True}  # execution options of a writer
BUSY_TIMEOUT_S = 30


def sqlite_engine(url: str, *, pragmas: Mapping[str, object] | None = None) -> Engine:
    """An engine on ``url`` (``sqlite:///path``) set up as above, its folder created;
    ``pragmas`` are run on each new connection after the shared ones."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_S}
    )
    extra = dict(pragmas or {})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # our "begin" listener issues BEGIN
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
        for name, value in extra.items():
            cur.execute(f"PRAGMA {name}={value}")
        cur.close()

    event.listen(engine, "begin", _begin)
    return engine


def _begin(conn: Connection) -> None:
    immediate = conn.get_execution_options().get("sqlite_immediate", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

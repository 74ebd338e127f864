"""Engines, migrations and the single-writer transaction of the central store.

Every transaction that changes synced data runs in ``write_session``: on
PostgreSQL it first takes a transaction-scoped advisory lock, on SQLite it starts
with ``BEGIN IMMEDIATE``. Writers are therefore serialised, change-log sequence
numbers commit in order, and each mutation is judged against committed state. What
a transaction's change-log rows touched pokes the devices of that scope once it
commits (``app.server.live``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlmodel import Session

from app.server import live
from app.server.changes import last_seq
from app.sqlite import WRITER, sqlite_engine

CHANGE_LOG_LOCK = 0x50_55_48_55  # "PUHU"; with the schema's hash: one lock per central store
# A connection left inside a transaction (a crashed worker) is closed by PostgreSQL after
# this long, so it cannot hold the writer lock, or any row lock, for ever.
IDLE_IN_TRANSACTION_TIMEOUT = "60s"
_ALEMBIC_DIR = Path(__file__).parent / "alembic"


# A SQLite central store's connections: a 64 MiB page cache (the device's is smaller), and
# the WAL checkpointed every 10,000 pages (~40 MB) rather than every 1,000: a bulk write
# (an import, an auto-assign) rewrites the same pages again and again, and each checkpoint
# copies them into the database file and syncs it.
SQLITE_STORE_PRAGMAS = {"cache_size": -65536, "wal_autocheckpoint": 10_000}


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        return sqlite_engine(url, pragmas=SQLITE_STORE_PRAGMAS)
    engine = create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    _postgres_session(engine)
    return engine


def _postgres_session(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        cur = dbapi_conn.cursor()
        cur.execute(f"SET idle_in_transaction_session_timeout = '{IDLE_IN_TRANSACTION_TIMEOUT}'")
        cur.close()
        dbapi_conn.commit()


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_ALEMBIC_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A serialised writing transaction; commits on success, rolls back on error."""
    bind = engine.execution_options(**WRITER)
    postgres = engine.dialect.name == "postgresql"
    touch: live.Touch | None = None
    with Session(bind) as session:
        if postgres:
            session.execute(
                text("SELECT pg_advisory_xact_lock(:k, hashtext(current_schema()))"),
                {"k": CHANGE_LOG_LOCK},
            )
        # where this transaction's change-log rows start (writers are serialised), so the
        # devices whose scope it touches are poked once it commits (app.server.live)
        since = last_seq(session) if live.wants_touch(engine) else None
        try:
            yield session
            if since is not None:
                touch = live.touched(session, since)
                if touch is not None and postgres:
                    live.notify(session, touch)  # delivered by PostgreSQL on commit
            session.commit()
        except BaseException:
            session.rollback()
            raise
    if touch is not None and not postgres:
        live.publish(engine, touch)


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A consistent read: one snapshot for every statement inside."""
    bind = engine
    if engine.dialect.name == "postgresql":
        bind = engine.execution_options(isolation_level="REPEATABLE READ")
    with Session(bind) as session:
        try:
            yield session
        finally:
            session.rollback()

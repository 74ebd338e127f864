"""Engines, migrations and the single-writer transaction of the central store.

Every transaction that changes synced data runs in ``write_session``: on PostgreSQL it
first takes transaction-scoped advisory locks — the branches it writes (a device's push:
its own branch), or the whole store (imports, housekeeping, admin work) — on SQLite it
starts with ``BEGIN IMMEDIATE``. Writers of one branch are therefore serialised, each
branch's change-log seqs commit in order, and each mutation is judged against committed
state; writers of different branches run side by side. What a transaction's change-log
rows touched pokes the devices of that scope once it commits (``app.server.live``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, make_url, text
from sqlmodel import Session

from app.server import live
from app.server.changes import LOCKED, flush_changes, written
from app.sqlite import WRITER, sqlite_engine

if TYPE_CHECKING:
    from app.config import Settings

STORE_LOCK = 0x50_55_48_55  # "PUHU"; with the schema's hash: one lock per central store
BRANCH_LOCK = 0x50_55_42_52  # "PUBR"; with the hash of schema and branch: one per branch
_SCHEMA = "hashtext(current_schema())"
# A connection left inside a transaction (a crashed worker) is closed by PostgreSQL after
# this long, so it cannot hold the writer lock, or any row lock, for ever.
IDLE_IN_TRANSACTION_TIMEOUT = "60s"
_ALEMBIC_DIR = Path(__file__).parent / "alembic"


# A SQLite central store's connections: a 64 MiB page cache (the device's is smaller), and
# the WAL checkpointed every 10,000 pages (~40 MB) rather than every 1,000: a bulk write
# (an import, an auto-assign) rewrites the same pages again and again, and each checkpoint
# copies them into the database file and syncs it.
SQLITE_STORE_PRAGMAS = {"cache_size": -65536, "wal_autocheckpoint": 10_000}


@dataclass(frozen=True)
class ConnectionBudget:
    """A process's share of PostgreSQL's connections, and how it reaches them.

    ``pool_size`` kept open, ``max_overflow`` more under load, ``pool_timeout`` seconds a
    request waits for one. ``transaction_pooling``: behind PgBouncer in transaction mode,
    where consecutive transactions of one client run on different server connections, so
    nothing may be set on a connection outside a transaction (the store's advisory locks
    are transaction-scoped, psycopg2 prepares nothing on the server, isolation levels go
    with each ``BEGIN``) and libpq's ``options`` would be refused at connect.
    """

    pool_size: int = 10
    max_overflow: int = 20
    pool_timeout: float = 30
    transaction_pooling: bool = False

    @classmethod
    def of(cls, settings: Settings) -> ConnectionBudget:
        return cls(
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout,
            transaction_pooling=settings.db_transaction_pooling,
        )


def engine_for(settings: Settings) -> Engine:
    """The central store's engine as ``settings`` configure it (database, budget)."""
    return make_engine(settings.server_database_url(), ConnectionBudget.of(settings))


def make_engine(url: str, budget: ConnectionBudget | None = None) -> Engine:
    if url.startswith("sqlite"):
        return sqlite_engine(url, pragmas=SQLITE_STORE_PRAGMAS)
    budget = budget or ConnectionBudget()
    connect_args = {}
    if not budget.transaction_pooling:
        # a startup parameter, not a SET: the session starts with it, no statement spent
        connect_args["options"] = _startup_options(url)
    return create_engine(
        url,
        pool_size=budget.pool_size,
        max_overflow=budget.max_overflow,
        pool_timeout=budget.pool_timeout,
        pool_pre_ping=True,
        connect_args=connect_args,
    )


def _startup_options(url: str) -> str:
    """libpq ``options`` of a direct connection: the URL's own (a schema's search_path)
    and the idle-in-transaction timeout."""
    own = make_url(url).query.get("options", "")
    if isinstance(own, tuple):
        own = " ".join(own)
    ours = f"-c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_TIMEOUT}"
    return f"{own} {ours}".strip()


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
def write_session(engine: Engine, branches: Iterable[str] | None = None) -> Iterator[Session]:
    """A writing transaction; commits on success, rolls back on error.

    ``branches``: the branches (``app.server.changes.branch_of``) it may change; their
    writers are serialised, other branches' are not waited for. None: the whole store,
    every other writer waits (imports, housekeeping, admin work). On SQLite there is one
    writer anyway (``BEGIN IMMEDIATE``); the same check applies, so a change recorded in a
    branch not held (``BranchNotLocked``) fails there too."""
    bind = engine.execution_options(**WRITER)
    postgres = engine.dialect.name == "postgresql"
    held = None if branches is None else frozenset(branches)
    touch: live.Touch | None = None
    with Session(bind) as session:
        session.info[LOCKED] = held
        if postgres:
            _lock(session, held)
        try:
            yield session
            flush_changes(session)  # the change-log rows, their seqs and revs: last
            if live.wants_touch(engine):
                touch = live.touched(written(session))
                if touch is not None and postgres:
                    live.notify(session, touch)  # delivered by PostgreSQL on commit
            session.commit()
        except BaseException:
            session.rollback()
            raise
    if touch is not None and not postgres:
        live.publish(engine, touch)


def _lock(session: Session, held: frozenset[str] | None) -> None:
    """The store's writer lock: exclusive for a whole-store writer; shared, then each held
    branch's own lock (in one order, so two writers never wait on each other in a ring),
    for a branch writer. Transaction-scoped: released by commit or rollback."""
    if held is None:
        session.execute(text(f"SELECT pg_advisory_xact_lock(:k, {_SCHEMA})"), {"k": STORE_LOCK})
        return
    session.execute(text(f"SELECT pg_advisory_xact_lock_shared(:k, {_SCHEMA})"), {"k": STORE_LOCK})
    for branch in sorted(held):
        session.execute(
            text("SELECT pg_advisory_xact_lock(:k, hashtext(current_schema() || '/' || :b))"),
            {"k": BRANCH_LOCK, "b": branch},
        )


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

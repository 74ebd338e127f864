"""The device's SQLite store: schema, transactions and the key/value sync state."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, Table, text
from sqlmodel import SQLModel

from app.models import DEVICE_TABLES
from app.models.ids import new_id
from app.queries.indexes import SCREEN_INDEXES, index_name
from app.queries.text_index import TEXT_INDEX_DDL, TEXT_INDEX_TRIGGERS, TextIndex, note_rebuild
from app.sqlite import WRITER, sqlite_engine

PAGE_CACHE_KB = 16 * 1024


def create_screen_indexes(conn: Connection) -> None:
    """The indexes the screens read, and the text index's triggers. Built once a first
    sync has landed: maintaining them row by row during a 100k-row snapshot costs
    several times the load itself."""
    for ddl in SCREEN_INDEXES:
        conn.exec_driver_sql(ddl)
    note_rebuild(conn)
    for ddl in TEXT_INDEX_DDL:
        conn.exec_driver_sql(ddl)


def drop_screen_indexes(conn: Connection) -> None:
    """Drop the screens' indexes and the text index's triggers (before a snapshot lands)."""
    for ddl in SCREEN_INDEXES:
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {index_name(ddl)}")
    for name in TEXT_INDEX_TRIGGERS:
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
    note_rebuild(conn)


def add_missing_columns(conn: Connection, tables: list[Table]) -> list[str]:
    """Give a device file made by an earlier version the columns added since (``create_all``
    makes missing tables only); each gets its column default. The columns added."""
    added = []
    for table in tables:
        have = {row[1] for row in conn.exec_driver_sql(f'PRAGMA table_info("{table.name}")')}
        for column in table.columns:
            if column.name in have:
                continue
            ddl = column.type.compile(dialect=conn.dialect)
            default = getattr(column.default, "arg", None)
            if isinstance(default, str):
                ddl += " NOT NULL DEFAULT '{}'".format(default.replace("'", "''"))
            elif isinstance(default, int | float):
                ddl += f" NOT NULL DEFAULT {int(default) if isinstance(default, bool) else default}"
            conn.exec_driver_sql(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {ddl}')
            added.append(f"{table.name}.{column.name}")
    return added


class DeviceStore:
    """One SQLite file per device; every write goes through ``transaction()``."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.text_index = TextIndex()  # the search box's text in memory, kept current
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # The screens read the same few MB of indexes over and over: a 16 MB page cache per
        # connection keeps them in memory (SQLite's default, 2 MB, re-reads them from the OS).
        self.engine: Engine = sqlite_engine(
            f"sqlite:///{self.path}", pragmas={"cache_size": -PAGE_CACHE_KB}
        )
        self._writer = self.engine.execution_options(**WRITER)
        SQLModel.metadata.create_all(self.engine, tables=DEVICE_TABLES)
        with self.transaction() as conn:
            add_missing_columns(conn, DEVICE_TABLES)
            if self.get(conn, "snapshot_complete") == "1":
                create_screen_indexes(conn)
            if self.get(conn, "device_id") is None:
                self.put(conn, "device_id", new_id())

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One SQLite write transaction (BEGIN IMMEDIATE): all of it or nothing."""
        with self._writer.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    @staticmethod
    def get(conn: Connection, key: str) -> str | None:
        row = conn.execute(text("SELECT value FROM sync_state WHERE key = :k"), {"k": key}).first()
        return None if row is None else str(row[0])

    @staticmethod
    def put(conn: Connection, key: str, value: str | None) -> None:
        if value is None:
            conn.execute(text("DELETE FROM sync_state WHERE key = :k"), {"k": key})
        else:
            conn.execute(
                text(
                    "INSERT INTO sync_state (key, value) VALUES (:k, :v) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value"
                ),
                {"k": key, "v": value},
            )

    def state(self, key: str) -> str | None:
        with self.read() as conn:
            return self.get(conn, key)

    @property
    def device_id(self) -> str:
        value = self.state("device_id")
        assert value is not None
        return value

    def close(self) -> None:
        self.engine.dispose()

"""The Alembic migrations build exactly the tables the models declare (SQLite, PostgreSQL).

A table or index added to ``app/models`` without its migration (or the other way round)
would work in tests that create tables from the models and fail on a real store.
"""

from __future__ import annotations

import re

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData

import app.models as models
from app.server.db import make_engine, migrate


def not_a_partition(name, kind, _parents):
    return not (kind == "table" and re.fullmatch(r"change_log_p\d+", name or ""))


def test_the_migrated_schema_is_the_models_schema(store_settings):
    engine = make_engine(store_settings.server_database_url())
    try:
        migrate(engine)
        declared = MetaData()
        for table in models.SERVER_TABLES:
            table.to_metadata(declared)
        with engine.connect() as conn:
            # change_log's partitions (PostgreSQL) are the table's storage, not tables of
            # their own: the parent and its indexes are compared
            context = MigrationContext.configure(conn, opts={"include_name": not_a_partition})
            assert compare_metadata(context, declared) == []
    finally:
        engine.dispose()

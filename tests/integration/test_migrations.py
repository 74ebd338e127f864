"""The Alembic migrations build exactly the tables the models declare (SQLite, PostgreSQL).

A table or index added to ``app/models`` without its migration (or the other way round)
would work in tests that create tables from the models and fail on a real store.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData

import app.models as models
from app.server.db import make_engine, migrate


def test_the_migrated_schema_is_the_models_schema(store_settings):
    engine = make_engine(store_settings.server_database_url())
    try:
        migrate(engine)
        declared = MetaData()
        for table in models.SERVER_TABLES:
            table.to_metadata(declared)
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), declared) == []
    finally:
        engine.dispose()

"""The central store: a FastAPI service over SQLModel (PostgreSQL, or SQLite embedded)."""

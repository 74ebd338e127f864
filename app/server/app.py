"""``create_app(settings)``: the central store as a FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI

from app.config import Settings
from app.server.db import make_engine, migrate
from app.server.errors import install_error_handlers
from app.server.observe import Metrics, RequestTelemetry
from app.server.routes import admin, auth, batches, health, metrics, prospects, stats, sync
from app.server.security import check_secret_key


def create_app(settings: Settings, *, run_migrations: bool = True) -> FastAPI:
    """The store's app; ``SecretKeyError`` when its key would let others sign tokens."""
    check_secret_key(settings.secret_key)
    engine = make_engine(settings.server_database_url())
    if run_migrations:
        migrate(engine)
    app = FastAPI(title="普惠营销工作台 中心库 (Puhui central store)", version="1")
    app.state.settings = settings
    app.state.engine = engine
    # Its own registry: several apps in one process (tests) must not count together.
    app.state.metrics = Metrics()
    app.add_middleware(batches.UploadLimit)  # inside the telemetry: a 413 is logged too
    app.add_middleware(RequestTelemetry, metrics=app.state.metrics)
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(sync.router)
    app.include_router(stats.router)
    app.include_router(metrics.router)
    app.include_router(admin.router)
    app.include_router(batches.router)
    app.include_router(prospects.router)
    return app

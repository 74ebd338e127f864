"""``create_app(settings)``: the central store as a FastAPI application."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from app.config import Settings
from app.server import live
from app.server.db import make_engine, migrate
from app.server.errors import install_error_handlers
from app.server.housekeeping import housekeeping_loop
from app.server.observe import Metrics, RequestTelemetry
from app.server.routes import (
    admin,
    auth,
    batches,
    dashboards,
    distribution,
    exports,
    health,
    loans,
    metrics,
    prospects,
    quality,
    stats,
    sync,
    targets,
)
from app.server.security import check_secret_key


def create_app(settings: Settings, *, run_migrations: bool = True) -> FastAPI:
    """The store's app; ``SecretKeyError`` when its key would let others sign tokens."""
    check_secret_key(settings.secret_key)
    engine = make_engine(settings.server_database_url())
    if run_migrations:
        migrate(engine)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # the housekeeping (pool return, …) on the clock; 0 s: never (tests, cron)
        task = None
        if settings.housekeeping_interval_seconds > 0:
            task = asyncio.create_task(housekeeping_loop(engine, settings))
        live.acquire(engine)  # the live updates' fan-out (PostgreSQL: LISTEN on first stream)
        try:
            yield
        finally:
            live.release(engine)
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = FastAPI(
        title="普惠营销工作台 中心库 (Puhui central store)", version="1", lifespan=lifespan
    )
    app.state.settings = settings
    app.state.engine = engine
    # Its own registry: several apps in one process (tests) must not count together.
    app.state.metrics = Metrics()
    app.state.live_streams = sync.LiveStreams()  # open event streams, under live_max_streams
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
    app.include_router(distribution.router)
    app.include_router(loans.router)
    app.include_router(loans.ratios_router)
    app.include_router(dashboards.router)
    app.include_router(quality.router)
    app.include_router(targets.router)
    app.include_router(exports.router)
    return app

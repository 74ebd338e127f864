"""``create_app(settings)``: the central store as a FastAPI application.

``serve --workers N`` runs N processes, each building its own from the environment
(``worker_app``, an import string uvicorn calls in each): the parent migrates the schema
once before they start, so no two workers migrate at the same time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from anyio import CapacityLimiter
from fastapi import FastAPI
from sqlalchemy import Engine, text

from app.config import Settings
from app.server import live
from app.server.admission import Gate
from app.server.db import engine_for, migrate
from app.server.errors import install_error_handlers
from app.server.housekeeping import housekeeping_loop
from app.server.observe import Metrics, RequestTelemetry, configure_json_logging
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

log = logging.getLogger(__name__)


def create_app(settings: Settings, *, run_migrations: bool = True) -> FastAPI:
    """The store's app; ``SecretKeyError`` when its key would let others sign tokens."""
    check_secret_key(settings.secret_key)
    engine = engine_for(settings)
    if run_migrations:
        migrate(engine)
    if settings.db_transaction_pooling:
        _check_behind_pooler(engine, settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # the housekeeping (pool return, …) on the clock; 0 s: never (tests, cron)
        task = None
        if settings.housekeeping_interval_seconds > 0:
            task = asyncio.create_task(housekeeping_loop(engine, settings))
        # the live updates' fan-out (PostgreSQL: LISTEN on first stream, on its own URL)
        live.acquire(engine, settings.listen_url())
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
    # admission control (app/server/admission.py): open event streams, and the pulls and
    # checksums served at once; past either, 429 with Retry-After
    app.state.live_streams = Gate(
        settings.live_max_streams, settings.live_busy_retry_seconds, "sync.busy"
    )
    app.state.sync_gate = Gate(
        settings.sync_max_in_flight or None,
        settings.busy_retry_seconds,
        "server.busy",
        queue=settings.sync_queue,
        queue_seconds=settings.sync_queue_seconds,
    )
    # sign-ins at once (argon2id's CPU and memory), in threads apart from the requests'
    app.state.signins = CapacityLimiter(max(1, settings.login_concurrency))
    app.state.signin_gate = Gate(
        max(1, settings.login_concurrency),
        settings.busy_retry_seconds,
        "server.busy",
        queue=settings.login_queue,
        queue_seconds=settings.login_queue_seconds,
    )
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


def worker_app() -> FastAPI:
    """One ``serve --workers N`` process's app: settings from the environment (``serve``
    puts ``--db`` there), the schema already migrated by the parent."""
    configure_json_logging()  # a new process: the parent's logging is not inherited
    return create_app(Settings(), run_migrations=False)


def _check_behind_pooler(engine: Engine, settings: Settings) -> None:
    """Behind a transaction pooler: say what will not work as configured."""
    if engine.dialect.name != "postgresql":
        return
    if settings.listen_url() == settings.server_database_url():
        log.warning(
            "PUHUI_DB_TRANSACTION_POOLING is set but PUHUI_LISTEN_DATABASE_URL is not: "
            "LISTEN through a transaction pooler hears nothing, so live updates reach only "
            "devices on the process that wrote; give the database's own URL"
        )
    with engine.connect() as conn:
        timeout = conn.execute(text("SHOW idle_in_transaction_session_timeout")).scalar()
    if timeout in ("0", "0ms", "0s"):
        log.warning(
            "idle_in_transaction_session_timeout is off on the store's connections: set it "
            "on the role (ALTER ROLE … SET idle_in_transaction_session_timeout = '60s') or "
            "in PgBouncer's connect_query, so a stuck worker cannot hold locks for ever"
        )

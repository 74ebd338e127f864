"""The central store's housekeeping: jobs that run on the clock, not on a request.

    run_housekeeping(engine, settings, now) -> {job: rows changed}

Each job runs in its own ``db.write_session``: writers are serialised (PostgreSQL's
advisory lock, SQLite's ``BEGIN IMMEDIATE``) and every job judges committed state, so
several replicas running it at once are safe: the first moves what is due, the others
find nothing left (each job is idempotent). A failing job is logged and the next runs.

Every store process runs it in the background every ``housekeeping_interval_seconds``
(first one interval after start; 0 disables it: tests, or an operator who runs
``python main.py housekeeping --db URL`` from cron instead). The dashboards' rollups are
refreshed more often, every ``dashboards_interval_seconds`` (5 min): a league table an
hour old is not what a manager expects. The branch's ranks and 分润 (``app.server.ranks``,
what ``/stats/ranks`` reads) are counted at start-up and every ``ranks_interval_seconds``
(1 min): a count that finds nothing new costs two small reads and one row written.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from app.config import Settings
from app.models.ids import utcnow
from app.server.batches import expire_batches
from app.server.db import write_session
from app.server.distribution import SYSTEM_ACTOR, pool_return
from app.server.pruning import prune
from app.server.ranks import refresh_ranks
from app.server.rollups import refresh
from app.services.clock import beijing_today

log = logging.getLogger(__name__)

Job = Callable[[Engine, Settings, datetime], int]  # how many rows it changed


def pool_return_job(engine: Engine, settings: Settings, now: datetime) -> int:
    """Assigned prospects untouched for ``pool_return_days`` back to their pools (公海)."""
    with write_session(engine) as session:
        return pool_return(
            session, scope=None, actor_id=SYSTEM_ACTOR, days=settings.pool_return_days, now=now
        )


def batch_expiry_job(engine: Engine, settings: Settings, now: datetime) -> int:
    """The entries of batches past their validity (Beijing day) withdrawn: they leave devices."""
    with write_session(engine) as session:
        return expire_batches(session, beijing_today(now), now)


def prune_job(engine: Engine, settings: Settings, now: datetime) -> int:
    """The change log and applied mutations' records past their horizon, deleted."""
    return sum(prune(engine, settings, now).values())


def dashboards_job(engine: Engine, settings: Settings, now: datetime) -> int:
    """The dashboards' rollups brought up to what the store holds (``app.server.rollups``)."""
    return refresh(engine, now)


def ranks_job(engine: Engine, settings: Settings, now: datetime) -> int:
    """The branch's ranks and 分润 counted for /stats/ranks (``app.server.ranks``)."""
    return refresh_ranks(engine, now)


# The jobs, in the order they run: expired entries leave before anyone returns them, and
# the dashboards and the ranks count after both.
JOBS: tuple[tuple[str, Job], ...] = (
    ("batch_expiry", batch_expiry_job),
    ("pool_return", pool_return_job),
    ("dashboards", dashboards_job),
    ("ranks", ranks_job),
    ("prune", prune_job),  # after the rollups have read what it deletes
)


def run_housekeeping(
    engine: Engine, settings: Settings, now: datetime | None = None
) -> dict[str, int]:
    """Run every job once; how many rows each changed (-1: it failed, and was logged)."""
    at = now or utcnow()
    done: dict[str, int] = {}
    for name, job in JOBS:
        try:
            done[name] = job(engine, settings, at)
        except Exception:  # one failing job must not stop the others
            log.exception("housekeeping job %s failed", name)
            done[name] = -1
    log.info("housekeeping: %s", done)
    return done


async def housekeeping_loop(engine: Engine, settings: Settings) -> None:
    """Run the housekeeping every ``housekeeping_interval_seconds``, the dashboards'
    rollups also every ``dashboards_interval_seconds``, and the ranks at once and also
    every ``ranks_interval_seconds`` (each 0: only with the housekeeping), until
    cancelled."""
    loops = [_every(settings.housekeeping_interval_seconds, run_housekeeping, engine, settings)]
    if settings.dashboards_interval_seconds > 0:
        loops.append(_every(settings.dashboards_interval_seconds, _dashboards, engine, settings))
    # a store just started answers ranks from its last count (kept in the database); one
    # just made has none: count at once rather than leave devices without for a round
    ranks_every = settings.ranks_interval_seconds or settings.housekeeping_interval_seconds
    loops.append(_every(ranks_every, _ranks, engine, settings, at_once=True))
    await asyncio.gather(*loops)


def _dashboards(engine: Engine, settings: Settings) -> int:
    return dashboards_job(engine, settings, utcnow())


def _ranks(engine: Engine, settings: Settings) -> int:
    # the clock's round: another replica counting now is as good as this one counting
    return refresh_ranks(engine, utcnow(), wait=False)


async def _every(
    interval: float,
    work: Callable[[Engine, Settings], object],
    engine: Engine,
    settings: Settings,
    *,
    at_once: bool = False,
) -> None:
    if not at_once:
        await asyncio.sleep(interval)
    while True:
        try:
            await asyncio.to_thread(work, engine, settings)
        except Exception:  # noqa: BLE001 - logged; the next round tries again
            log.exception("housekeeping failed")
        await asyncio.sleep(interval)

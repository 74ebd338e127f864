"""Pruning what the store keeps only for devices that are behind: the change log and the
records of applied mutations, past a horizon (``change_log_horizon_days``, 30 by default).

    prune(engine, settings) -> {"change_log": rows, "mutation_record": rows}

Change log: per branch, the rows written before the horizon (by the database's clock, the
one that stamped ``at``) are deleted and the branch's ``floor`` moves up to the newest of
them. A device whose cursor stands below a floor is told ``sync.cursor_expired`` (409) and
pulls its scope again; its outbox is pushed first, so it loses nothing. Each branch is
pruned under its own lock: its writers wait a moment, other branches not at all.

Mutation records: an applied mutation's record only answers a replay of it (a device that
never heard the answer sends it again). Records older than the horizon are deleted and the
device's ``pruned_through`` moves up; a replay at or below it is answered "applied".
Rejected mutations stay: they are the quarantine admins review.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, delete, func, select, text, update
from sqlmodel import Session

from app.config import Settings
from app.models import ChangeClock, ChangeLog, DeviceState, MutationRecord
from app.models.ids import utcnow
from app.models.sync import MutationStatus
from app.server.changes import heads
from app.server.db import read_session, write_session

_log = ChangeLog.__table__
_clock = ChangeClock.__table__
_record = MutationRecord.__table__
_device = DeviceState.__table__


def prune(engine: Engine, settings: Settings, now: datetime | None = None) -> dict[str, int]:
    """Prune both past their horizon; how many rows each lost."""
    return {
        "change_log": prune_change_log(engine, timedelta(days=settings.change_log_horizon_days)),
        "mutation_record": prune_mutation_records(
            engine, (now or utcnow()) - timedelta(days=settings.change_log_horizon_days)
        ),
    }


def prune_change_log(engine: Engine, horizon: timedelta) -> int:
    """Delete each branch's change-log rows written more than ``horizon`` ago."""
    with read_session(engine) as session:
        branches = sorted(heads(session))
    pruned = 0
    for branch in branches:
        with write_session(engine, {branch}) as session:
            cutoff = _older_than(session, horizon)
            floor = session.execute(
                select(func.max(_log.c.seq)).where(_log.c.branch == branch, cutoff)
            ).scalar()
            if floor is None:
                continue
            gone = session.execute(
                delete(_log).where(_log.c.branch == branch, _log.c.seq <= floor)
            ).rowcount
            session.execute(
                update(_clock)
                .where(_clock.c.branch == branch, _clock.c.floor < floor)
                .values(floor=floor)
            )
            pruned += int(gone or 0)
    return pruned


def _older_than(session: Session, horizon: timedelta):  # type: ignore[no-untyped-def]
    """``change_log.at`` before the database's now minus ``horizon`` (the clock that
    stamped it, in its own time zone)."""
    seconds = int(horizon.total_seconds())
    if session.get_bind().dialect.name == "postgresql":
        return _log.c.at < text(f"CURRENT_TIMESTAMP - make_interval(secs => {seconds})")
    return _log.c.at < func.datetime("now", f"-{seconds} seconds")


def prune_mutation_records(engine: Engine, cutoff: datetime) -> int:
    """Delete applied mutations' records older than ``cutoff``; each device's
    ``pruned_through`` first moves up to the newest of its pruned seqs."""
    old = and_(_record.c.status == MutationStatus.APPLIED, _record.c.recorded_at < cutoff)
    with write_session(engine, branches=()) as session:  # no synced data changes
        newest = (
            select(_record.c.device_id, _record.c.user_id, func.max(_record.c.seq).label("seq"))
            .where(old)
            .group_by(_record.c.device_id, _record.c.user_id)
            .subquery()
        )
        session.execute(
            update(_device)
            .where(
                _device.c.device_id == newest.c.device_id,
                _device.c.user_id == newest.c.user_id,
                _device.c.pruned_through < newest.c.seq,
            )
            .values(pruned_through=newest.c.seq)
        )
        return int(session.execute(delete(_record).where(old)).rowcount or 0)

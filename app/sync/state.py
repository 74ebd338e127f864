"""Sync state: the phase enum, the progress the UI shows, and the persisted keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class SyncPhase(StrEnum):
    IDLE = "idle"  # nothing running
    PUSHING = "pushing"  # sending outbox mutations
    PULLING = "pulling"  # fetching and applying pages
    VERIFYING = "verifying"  # comparing scope checksums with the store
    WAITING = "waiting"  # the store is busy: waiting its Retry-After to ask again
    DONE = "done"  # the last run finished
    FAILED = "failed"  # the last run stopped on an error (see ``error_code``)
    CANCELLED = "cancelled"  # the user cancelled the last run


class StateKey(StrEnum):
    DEVICE_ID = "device_id"
    NEXT_SEQ = "next_seq"  # next outbox sequence; never reused
    CURSOR = "cursor"  # the store's opaque pull cursor
    SNAPSHOT_COMPLETE = "snapshot_complete"  # "1" once a full first sync has landed
    SNAPSHOT_DONE = "snapshot_done"  # rows received of the running snapshot
    SNAPSHOT_TOTAL = "snapshot_total"
    LAST_SYNC_AT = "last_sync_at"  # UTC, of the last successful run
    LAST_VERIFIED_AT = "last_verified_at"
    LAST_ERROR = "last_error"
    BRANCH_RANKS = "branch_ranks"  # JSON from the store's /stats/ranks, as of the last sync


@dataclass
class SyncProgress:
    """What the UI shows; replaced (not mutated) on every change."""

    phase: SyncPhase = SyncPhase.IDLE
    done: int = 0
    total: int = 0
    pending: int = 0
    rejected: int = 0
    snapshot_complete: bool = False
    last_sync_at: datetime | None = None
    error_code: str = ""
    error_message: str = ""
    resynced: bool = False
    wait_seconds: int = 0  # WAITING: seconds until the store is asked again
    details: dict[str, int] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.phase in (
            SyncPhase.PUSHING,
            SyncPhase.PULLING,
            SyncPhase.VERIFYING,
            SyncPhase.WAITING,
        )

    @property
    def fraction(self) -> float | None:
        return min(1.0, self.done / self.total) if self.total else None

"""Central-store bookkeeping for sync: the change log, devices and mutation outcomes.

The change log is kept per branch (支行: an outlet's ``branch_name``; head office's
reference data — outlets, users, batches — under the branch ``""``). On PostgreSQL the
table is partitioned by branch (``PARTITION BY HASH``, migration 0009), and every key
carries the branch. Each branch counts its own seqs (``change_clock``) and its writers are
serialised by that branch's lock (``app.server.db.write_session``), so within a branch seqs
become visible in commit order and a cursor that says "everything of branch B up to seq N"
never skips a row committed later with a smaller N; writers of different branches never
wait on each other. A device's cursor holds one position per branch its scope covers.

Each row also says where the change happened (the prospect's outlet and assignee before and
after; for a log, event, transfer or find, where its prospect or find stands), so a pull
reads only its outlet's rows (indexes by branch, outlet and seq).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import NaiveDatetime
from sqlalchemy import BigInteger, Column, DateTime, Index, func
from sqlmodel import Field, SQLModel

GLOBAL_BRANCH = ""  # head office's reference data: outlets, users, batches


class ChangeLog(SQLModel, table=True):
    __tablename__ = "change_log"
    __table_args__ = (
        Index("ix_change_log_prospect", "prospect_id"),
        Index("ix_change_log_outlet_new", "branch", "outlet_new", "seq"),
        Index("ix_change_log_outlet_old", "branch", "outlet_old", "seq"),
    )

    branch: str = Field(primary_key=True)
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    entity: str  # outlet | user | batch | prospect | marketing_log | funnel_event | transfer
    entity_id: str
    prospect_id: str | None = None  # the prospect a child row belongs to (or itself)
    # where the change happened: a prospect's placement before and after (to route
    # removals); a child's or find's placement (old = new) when it was written
    outlet_old: str | None = None
    assignee_old: str | None = None
    outlet_new: str | None = None
    assignee_new: str | None = None
    # when it was written (the database's clock): rows older than the horizon are pruned
    at: datetime | None = Field(
        default=None, sa_column=Column(DateTime, nullable=False, server_default=func.now())
    )


class ChangeClock(SQLModel, table=True):
    """The newest seq of each branch's change log: the head a cursor catches up with.
    Its row is updated in the writing transaction, under the branch's lock."""

    __tablename__ = "change_clock"
    branch: str = Field(primary_key=True)
    seq: int = Field(default=0, sa_type=BigInteger)
    # rows up to this seq were pruned (``app.server.pruning``): a cursor behind it resyncs
    floor: int = Field(default=0, sa_type=BigInteger)


class ScopeSum(SQLModel, table=True):
    """Per entity, outlet and holder: how many rows, and the sum of their (id, rev) hashes;
    a scope's checksum adds up its buckets (``app.server.scope_sums``). Kept by triggers on
    PostgreSQL; empty on SQLite, where checksums read the scope."""

    __tablename__ = "scope_sum"
    entity: str = Field(primary_key=True)
    outlet: str = Field(primary_key=True)  # "" for none
    holder: str = Field(primary_key=True)  # assignee, finder, "*" for an admin user, or ""
    rows: int = Field(default=0, sa_type=BigInteger)
    total: int = Field(default=0, sa_type=BigInteger)


class DeviceState(SQLModel, table=True):
    """The last outbox sequence applied per device and user (exactly-once push).

    Keyed by the user too: a device id is no secret (logs carry it), so another user
    pushing under it must never advance, or read, this device's sequence.
    """

    __tablename__ = "device_state"
    device_id: str = Field(primary_key=True)
    user_id: str = Field(primary_key=True)
    last_seq: int = Field(default=0, sa_type=BigInteger)  # up to wire.SEQ_LIMIT
    # applied mutations' records up to this seq were pruned: a replay of one is "applied"
    pruned_through: int = Field(default=0, sa_type=BigInteger)
    last_seen_at: NaiveDatetime | None = None


class MutationRecord(SQLModel, table=True):
    """Each mutation a device pushed and what became of it; rejected ones are quarantined."""

    __tablename__ = "mutation_record"
    device_id: str = Field(primary_key=True)
    user_id: str = Field(primary_key=True)
    seq: int = Field(primary_key=True, sa_type=BigInteger)
    mutation_id: str
    kind: str
    payload: str  # JSON
    status: str = Field(index=True)  # applied | rejected
    code: str = ""
    message: str = ""
    recorded_at: NaiveDatetime

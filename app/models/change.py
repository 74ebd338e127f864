"""Central-store bookkeeping for sync: the change log, devices and mutation outcomes.

The change log is single-writer: every transaction that appends to it first takes
one lock (``pg_advisory_xact_lock`` on PostgreSQL; SQLite has one writer anyway),
so log sequence numbers become visible in commit order and a cursor that says
"everything up to seq N" never skips a row committed later with a smaller N.
"""

from __future__ import annotations

from pydantic import NaiveDatetime
from sqlalchemy import BigInteger, Column, Index, Integer
from sqlmodel import Field, SQLModel


class ChangeLog(SQLModel, table=True):
    __tablename__ = "change_log"
    __table_args__ = (Index("ix_change_log_prospect", "prospect_id"),)

    seq: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    entity: str  # outlet | user | batch | prospect | marketing_log | funnel_event | transfer
    entity_id: str
    prospect_id: str | None = None  # the prospect a child row belongs to (or itself)
    # a prospect row's scope before and after the change, to route removals
    outlet_old: str | None = None
    assignee_old: str | None = None
    outlet_new: str | None = None
    assignee_new: str | None = None


class DeviceState(SQLModel, table=True):
    """The last outbox sequence applied per device and user (exactly-once push).

    Keyed by the user too: a device id is no secret (logs carry it), so another user
    pushing under it must never advance, or read, this device's sequence.
    """

    __tablename__ = "device_state"
    device_id: str = Field(primary_key=True)
    user_id: str = Field(primary_key=True)
    last_seq: int = Field(default=0, sa_type=BigInteger)  # up to wire.SEQ_LIMIT
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

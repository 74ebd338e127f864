"""Tables that exist only on a device: the outbox, sync state and rejections."""

from __future__ import annotations

from pydantic import NaiveDatetime
from sqlmodel import Field, SQLModel


class OutboxEntry(SQLModel, table=True):
    """One local change waiting to reach the central store, in device order."""

    __tablename__ = "outbox"
    seq: int = Field(primary_key=True)  # per-device sequence, never reused
    mutation_id: str
    kind: str
    entity_id: str = Field(index=True)
    payload: str  # JSON
    created_at: NaiveDatetime
    attempts: int = 0


class SyncStateRow(SQLModel, table=True):
    """Key/value sync state: device id, cursor, next seq, last sync time, session."""

    __tablename__ = "sync_state"
    key: str = Field(primary_key=True)
    value: str


class Rejection(SQLModel, table=True):
    """A mutation the central store refused, kept for the user to see."""

    __tablename__ = "rejection"
    seq: int = Field(primary_key=True)
    mutation_id: str
    kind: str
    entity_id: str
    payload: str
    code: str
    message: str
    rejected_at: NaiveDatetime

"""Incidents: unexpected failures the central store turned into answers, kept for admins.

A mutation that fails for a reason no rule foresaw (a database constraint, a bug) is
rolled back alone and answered ``rejected`` with ``server.incident`` and the incident's
id; a stored row a pull cannot encode is left out of the page. Either way one row
here says what happened, to whom and with what payload, and ``GET /admin/incidents``
lists them.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, NaiveDatetime
from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel


class IncidentKind:
    """What was under way when it happened (a mutation kind, or one of these)."""

    PULL = "pull"  # a stored row a pull page could not encode


class IncidentBase(SQLModel):
    occurred_at: NaiveDatetime = Field(index=True)  # store time, naive UTC
    device_id: str | None = None
    user_id: str | None = None
    seq: int | None = Field(default=None, sa_type=BigInteger)  # the mutation's, if any
    kind: str  # a mutation kind, or IncidentKind.PULL
    error_class: str  # e.g. IntegrityError
    error_message: str
    payload: str  # JSON: the mutation's payload, or the row a pull left out


class Incident(IncidentBase, table=True):
    __tablename__ = "incident"
    id: str = Field(primary_key=True)


class IncidentPublic(BaseModel):
    """One incident as ``GET /admin/incidents`` lists it."""

    id: str
    occurred_at: datetime
    device_id: str | None
    user_id: str | None
    seq: int | None
    kind: str
    error_class: str
    error_message: str
    payload: str


class IncidentsPublic(BaseModel):
    incidents: list[IncidentPublic]
    count: int

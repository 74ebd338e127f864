"""Dates and times as the device store hands them back: ISO text from SQLite, or the
Python objects a SQLAlchemy type already made (naive UTC for times, DESIGN.md §2)."""

from __future__ import annotations

from datetime import date, datetime


def stored_date(value: object) -> date | None:
    """A calendar date from ``2026-03-10``, ``2026-03-10 08:00:00`` or a date/datetime."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def stored_datetime(value: object) -> datetime | None:
    """A naive UTC datetime from ISO text or a datetime."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))

"""The one clock: stored times are naive UTC; people and calendars use Beijing time.

Follow-up dates, batch validity, periods and "today" are Beijing calendar days;
every other module asks here instead of adding eight hours itself.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from app.models.ids import utcnow

BEIJING = ZoneInfo("Asia/Shanghai")  # China has one time zone and no daylight saving

__all__ = ["BEIJING", "beijing_today", "to_beijing", "utc_midnight", "utcnow"]


def beijing_today(now: datetime | None = None) -> date:
    """Today's calendar date in China; ``now`` (aware, or naive UTC) for tests."""
    if now is None:
        return datetime.now(BEIJING).date()
    return to_beijing(now).date()


def to_beijing(value: datetime) -> datetime:
    """An aware Beijing time from a stored naive-UTC (or any aware) datetime."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(BEIJING)


def utc_midnight(day: date) -> datetime:
    """The naive-UTC instant at which Beijing day ``day`` starts."""
    return datetime.combine(day, time(), tzinfo=BEIJING).astimezone(UTC).replace(tzinfo=None)

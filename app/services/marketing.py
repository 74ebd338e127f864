"""Checking a marketing log as the user typed it; errors are codes per field."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from app.models.marketing_log import Channel, Outcome

NOTE_LIMIT = 500
FOLLOW_UP_IN_DAYS = (1, 3, 7)  # the one-tap choices for the next follow-up


def follow_up_choices(today: date) -> list[tuple[int, str]]:
    """(days, ISO date) for the one-tap follow-up buttons, counted from ``today``."""
    return [(n, (today + timedelta(days=n)).isoformat()) for n in FOLLOW_UP_IN_DAYS]


@dataclass(frozen=True)
class LogInput:
    channel: str
    outcome: str
    note: str
    next_follow_up: date | None


def check_log_input(
    *, channel: str | None, outcome: str | None, note: str, next_follow_up: str, today: date
) -> tuple[LogInput | None, dict[str, str]]:
    """The clean input, or the field errors (field -> i18n code); never both."""
    errors: dict[str, str] = {}
    if channel not in {c.value for c in Channel}:
        errors["channel"] = "log.error.channel"
    if outcome not in {o.value for o in Outcome}:
        errors["outcome"] = "log.error.outcome"
    note = (note or "").strip()
    if len(note) > NOTE_LIMIT:
        errors["note"] = "log.error.note"
    follow_up: date | None = None
    raw = (next_follow_up or "").strip()
    if raw:
        try:
            follow_up = date.fromisoformat(raw)
        except ValueError:
            errors["next_follow_up"] = "log.error.date"
        else:
            if follow_up < today:
                errors["next_follow_up"] = "log.error.date_past"
    if errors:
        return None, errors
    return LogInput(str(channel), str(outcome), note, follow_up), {}

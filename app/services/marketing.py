"""Marketing logs: the form's check, a new log's making, and its effect on the prospect.

    form input --check_log_input--> LogInput --new_log--> MarketingLogCreate
        --> device store + outbox (JSON) --> central store (the same model)

Both sides apply a log to its prospect with ``log_effect`` and ``status_after_log``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from app.models.ids import new_id, utcnow
from app.models.marketing_log import NOTE_LIMIT, Channel, MarketingLogCreate, Outcome
from app.models.wire import DATE_HORIZON
from app.services.funnel import FunnelStatus, move_refusal

__all__ = [
    "FOLLOW_UP_IN_DAYS",
    "NOTE_LIMIT",
    "ContactUpdate",
    "LogInput",
    "check_log_input",
    "follow_up_choices",
    "log_effect",
    "new_log",
    "status_after_log",
]
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
    if len(note) > NOTE_LIMIT or "\x00" in note:
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
            elif follow_up >= today + DATE_HORIZON:  # a day inside the model's bound (UTC)
                errors["next_follow_up"] = "log.error.date_far"
    if errors:
        return None, errors
    return LogInput(str(channel), str(outcome), note, follow_up), {}


def new_log(
    *,
    prospect_id: str,
    channel: str,
    outcome: str,
    note: str = "",
    occurred_at: datetime | None = None,
    next_follow_up: date | None = None,
    lat: float | None = None,
    lon: float | None = None,
    attachments: Sequence[str] = (),
) -> MarketingLogCreate:
    """A log made now on this device (its id is born here); ``ValidationError`` if a value
    is out of the wire model's bounds."""
    return MarketingLogCreate.model_validate(
        {
            "id": new_id(),
            "prospect_id": prospect_id,
            "channel": channel,
            "occurred_at": occurred_at or utcnow(),
            "outcome": outcome,
            "note": note,
            "next_follow_up": next_follow_up,
            "lat": lat,
            "lon": lon,
            "attachments": list(attachments),
        }
    )


@dataclass(frozen=True)
class ContactUpdate:
    """What a log changes on its prospect."""

    last_contact_at: datetime
    next_follow_up: date | None


def log_effect(
    last_contact_at: datetime | None,
    log: MarketingLogCreate,
    *,
    next_follow_up: date | None = None,
    sets_plan: bool = True,
) -> ContactUpdate:
    """The prospect's contact fields once ``log`` has arrived.

    Last contact is data (when the latest contact happened): the later of the two. The
    follow-up plan is the latest-arriving log's, whatever its device clock says, so a
    clock running ahead cannot pin an old plan (device clocks order nothing); a log whose
    author no longer holds the prospect (``sets_plan`` False: ``policy.sets_plan``) keeps
    the prospect's plan, ``next_follow_up``, as it is.
    """
    latest = log.occurred_at
    if last_contact_at is not None and last_contact_at > latest:
        latest = last_contact_at
    plan = log.next_follow_up if sets_plan else next_follow_up
    return ContactUpdate(last_contact_at=latest, next_follow_up=plan)


# Where a reached contact shows the prospect stands. An outcome that did not reach the
# customer (no answer, wrong contact) says nothing about the funnel; closing a prospect
# (declined, invalid) stays a deliberate step with its reason, never a side effect.
OUTCOME_STATUS: dict[str, FunnelStatus] = {
    Outcome.NOT_INTERESTED: FunnelStatus.CONTACTED,
    Outcome.CONSIDERING: FunnelStatus.CONTACTED,
    Outcome.INTERESTED: FunnelStatus.INTERESTED,
    Outcome.AGREED_TO_APPLY: FunnelStatus.APPLIED,
}


def status_after_log(current: str, outcome: str, *, holds: bool) -> FunnelStatus | None:
    """The status a log moves its prospect to, or None when it moves nothing.

    A log moves its prospect only forwards along the funnel (the same judgement as a
    move: ``funnel.move_refusal``), so a visit logged offline never undoes progress made
    meanwhile, a closed prospect stays closed and a pool prospect is claimed first; and
    only while its author holds the prospect (``holds``: ``policy.sets_plan``), so a
    log from someone it has left is kept as a fact without steering the new holder's
    funnel. The device applies it when the log is saved; the central store applies it
    again, to the status it holds, when the log arrives.
    """
    target = OUTCOME_STATUS.get(outcome)
    if target is None or not holds or move_refusal(current, target):
        return None
    return target

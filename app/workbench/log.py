"""Writing a marketing log: the form's defaults and checks, the check-in, saving on the device.

A check-in is the device's own position fix or nothing: a log saved without a fix has no
position (never the outlet's or the registered address's standing in for one), and the
form says so and offers to locate again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from pydantic import ValidationError

from app.geo.distance import haversine_km
from app.i18n import Msg
from app.models.ids import utcnow
from app.models.marketing_log import Channel
from app.queries.logs import last_channel
from app.services.clock import beijing_today
from app.services.marketing import check_log_input, follow_up_choices, new_log
from app.services.prospects import ProspectCard
from app.sync import local

if TYPE_CHECKING:
    from app.workbench.workbench import Workbench

DEFAULT_FOLLOW_UP_DAYS = 3  # a new log plans the next contact this far ahead, unless changed


@dataclass(frozen=True)
class CheckIn:
    """Where the device was when the visit was logged (its own fix), and how far that is
    from the registered address."""

    lat: float
    lon: float
    distance_km: float | None


def check_in(card: ProspectCard | None, fix: tuple[float, float] | None) -> CheckIn | None:
    """The device's fix as a check-in; None without a fix (the log then has no position)."""
    if fix is None:
        return None
    lat, lon = fix
    km = haversine_km(lat, lon, card.lat, card.lon) if card is not None else None
    return CheckIn(lat, lon, km)


@dataclass(frozen=True)
class LogDefaults:
    """What a new log starts with: the channel of the user's last log (a visit before the
    first), and a next follow-up ``DEFAULT_FOLLOW_UP_DAYS`` ahead (ISO date). The outcome
    is always the user's own choice."""

    channel: str
    next_follow_up: str


class LogController:
    def __init__(self, workbench: Workbench) -> None:
        self.workbench = workbench

    @staticmethod
    def follow_up_choices() -> list[tuple[int, str]]:
        """(days, ISO date) of the one-tap next follow-ups, from today in Beijing."""
        return follow_up_choices(beijing_today())

    @staticmethod
    def default_follow_up() -> str:
        """The next follow-up a new log proposes (ISO date)."""
        return (beijing_today() + timedelta(days=DEFAULT_FOLLOW_UP_DAYS)).isoformat()

    async def prepare(self, prospect_id: str) -> LogDefaults:
        """Open the form's prospect (company name, address) and read its defaults."""
        card = self.workbench.card.state.card
        if card is None or card.id != prospect_id:
            await self.workbench.card.open(prospect_id)
        me = self.workbench.scope.user_id
        channel = await self.workbench.read(lambda conn: last_channel(conn, me))
        return LogDefaults(channel or Channel.VISIT.value, self.default_follow_up())

    async def save(
        self,
        prospect_id: str,
        *,
        channel: str | None,
        outcome: str | None,
        note: str,
        next_follow_up: str,
        where: CheckIn | None,
    ) -> dict[str, str]:
        """Save the log on the device and queue it (with no position when ``where`` is
        None); returns the field errors (i18n codes), empty when saved."""
        clean, problems = check_log_input(
            channel=channel,
            outcome=outcome,
            note=note,
            next_follow_up=next_follow_up,
            today=beijing_today(),
        )
        if clean is None:
            return problems
        shown = self.workbench.card.state.card
        before = shown.status if shown is not None and shown.id == prospect_id else None
        try:
            log = new_log(
                prospect_id=prospect_id,
                channel=clean.channel,
                outcome=clean.outcome,
                note=clean.note,
                occurred_at=utcnow(),
                next_follow_up=clean.next_follow_up,
                lat=where.lat if where else None,
                lon=where.lon if where else None,
            )
            await asyncio.to_thread(
                local.record_log, self.workbench.store, self.workbench.scope, log
            )
        except ValidationError as exc:  # past the form's checks: the position or the clock
            return {"form": _refusal(exc)}
        except local.LocalError as exc:
            return {"form": exc.code}
        await self.workbench.after_local_change(prospect_id, "log.saved")
        self._say_if_moved(prospect_id, before)
        return {}

    def _say_if_moved(self, prospect_id: str, before: str | None) -> None:
        """The visit moved the funnel (``status_after_log``): say to what."""
        card = self.workbench.card.state.card
        if before is not None and card is not None and card.id == prospect_id:
            if card.status != before:
                self.workbench.notify("log.saved_moved", status=Msg(f"funnel.{card.status}"))


def _refusal(exc: ValidationError) -> str:
    """The i18n code for what the wire model refused of a log the form had accepted."""
    fields = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
    if fields & {"lat", "lon"}:
        return "log.error.position"
    if "occurred_at" in fields:
        return "log.error.clock"
    return "log.error.invalid"

"""The customer card: profile, masked contacts with audited reveal, status, timeline, and
the actions the signed-in user may take (asked of the one policy the store asks too)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import flet as ft
from sqlalchemy import Connection

from app.i18n import Msg
from app.models.user import Role
from app.queries.prospects import get_card, outlet_marketers
from app.queries.timeline import timeline
from app.services.feedback import close_problem, closing
from app.services.funnel import CLOSED, MAIN_LINE, FunnelStatus, needs_amount, rank
from app.services.policy import Action, ProspectFacts, allowed_actions, next_statuses
from app.services.prospects import ProspectCard
from app.services.timeline import TimelineItem
from app.sync import local
from app.sync.reveal import reveal
from app.workbench.reads import LatestRead

if TYPE_CHECKING:
    from app.workbench.workbench import Workbench


# The card's status buttons, each in a place of its own that no tap moves: the steps
# forward (assigned comes from a claim or an assignment), then, apart, the closing ones.
FORWARD_STEPS: tuple[FunnelStatus, ...] = MAIN_LINE[2:]
CLOSING_STEPS: tuple[FunnelStatus, ...] = (FunnelStatus.DECLINED, FunnelStatus.INVALID)


@dataclass(frozen=True)
class StepSlot:
    """One status button: always shown while the user may move the prospect."""

    status: FunnelStatus
    enabled: bool = False  # a tap asks for this move now
    reached: bool = False  # the prospect is at this step or past it
    current: bool = False  # the prospect's status


@dataclass(frozen=True)
class CardActions:
    """What the card offers the signed-in user for this prospect."""

    claim: bool = False
    assign: bool = False
    log: bool = False
    reveal: bool = False
    move: bool = False
    next_statuses: tuple[FunnelStatus, ...] = ()
    forward: tuple[StepSlot, ...] = ()  # FORWARD_STEPS, when ``move``
    closing: tuple[StepSlot, ...] = ()  # CLOSING_STEPS, when ``move``

    @property
    def needs_amount(self) -> bool:
        """A step on offer asks for the disbursed amount."""
        return any(needs_amount(s) for s in self.next_statuses)


@dataclass(frozen=True)
class Marketer:
    id: str
    name: str
    outlet: str = ""  # the outlet's name, for a manager of several outlets

    @property
    def label(self) -> str:
        return f"{self.name} · {self.outlet}" if self.outlet else self.name


@ft.observable
@dataclass
class CardState:
    card: ProspectCard | None = None
    timeline: list[TimelineItem] = field(default_factory=list)
    actions: CardActions = field(default_factory=CardActions)
    # "phone" / "credit_code" -> the clear value revealed: held here only, never written
    # to the device store (which holds them in clear for my own prospects alone)
    revealed: dict[str, str] = field(default_factory=dict)
    marketers: list[Marketer] = field(default_factory=list)  # who a manager may assign to


@dataclass(frozen=True)
class _Read:
    card: ProspectCard | None
    timeline: list[TimelineItem]


class CardController:
    def __init__(self, workbench: Workbench) -> None:
        self.workbench = workbench
        self.state = CardState()
        self._reads = LatestRead()

    def clear(self) -> None:
        s = self.state
        s.card, s.timeline, s.actions, s.marketers = None, [], CardActions(), []
        s.revealed = {}

    async def open(self, prospect_id: str) -> None:
        """Read the card; changes not yet uploaded show in the timeline, marked pending."""
        me = self.workbench.scope

        def read(conn: Connection) -> _Read:
            return _Read(
                get_card(conn, prospect_id),
                timeline(conn, prospect_id, include_outbox=True, me=me.user_id),
            )

        ticket = self._reads.begin()
        found = await self.workbench.read(read)
        if not self._reads.is_latest(ticket):
            return  # another card was tapped meanwhile
        s = self.state
        if s.card is None or s.card.id != prospect_id:
            s.revealed = {}
        s.actions = self._actions(found.card)
        s.card, s.timeline = found.card, found.timeline
        if s.actions.assign:  # the outlet's people, as of the last sync
            await self.load_marketers()

    def _actions(self, card: ProspectCard | None) -> CardActions:
        if card is None:
            return CardActions()
        me = self.workbench.scope
        facts = ProspectFacts(card.outlet_id, card.assignee_id, card.status)
        allowed = allowed_actions(me, facts)
        nexts = tuple(next_statuses(me, facts))
        move = Action.MOVE in allowed
        return CardActions(
            claim=Action.CLAIM in allowed,
            assign=Action.ASSIGN in allowed,
            log=Action.LOG in allowed,
            reveal=Action.REVEAL in allowed,
            move=move,
            next_statuses=nexts,
            forward=_slots(FORWARD_STEPS, card.status, nexts) if move else (),
            closing=_slots(CLOSING_STEPS, card.status, nexts) if move else (),
        )

    async def load_marketers(self) -> None:
        self.state.marketers = await reachable_marketers(self.workbench)

    def assignees(self) -> list[Marketer]:
        """The marketers this card's prospect can be handed to (not its assignee)."""
        card = self.state.card
        current = card.assignee_id if card else None
        return [m for m in self.state.marketers if m.id != current]

    async def reveal(self, field_name: str) -> bool:
        """Show a masked phone number or credit code; the reveal is audited (queued for my
        own prospects, whose values the device holds; an online call for any other).
        False when it cannot be revealed (the reason, offline included, shows as a notice).
        """
        card = self.state.card
        if card is None:
            return False
        workbench = self.workbench
        try:
            value = await asyncio.to_thread(
                reveal,
                workbench.store,
                workbench.client,
                workbench.scope,
                prospect_id=card.id,
                field=field_name,
            )
        except local.LocalError as exc:
            workbench.notify(exc.code)
            return False
        if self.state.card is not None and self.state.card.id == card.id:
            self.state.revealed = {**self.state.revealed, field_name: value}
        await workbench.after_local_change(card.id, "card.revealed")
        return True

    async def move(self, to_status: str, amount_text: str = "") -> None:
        """Ask for a step forward; the amount (yuan, digits) when the step needs one. A
        closing status goes through ``close`` (it needs a reason)."""
        amount = int(amount_text) if amount_text.strip().isdigit() else None
        pid = await self._change(local.move_funnel, to_status=to_status, amount=amount)
        if pid is not None:
            await self._moved(pid, to_status)

    async def close(self, to_status: str, reason: str | None, note: str = "") -> str:
        """Close the prospect (declined / invalid) for a reason from the feedback list, a
        note for ``other``. The problem with the reason (an i18n code) for the dialog to
        show, else "" (saved, or refused by the device with the refusal as a notice)."""
        if not closing(to_status):
            return "funnel.reason_not_closing"
        problem = close_problem(reason, note)
        if problem:
            return problem
        pid = await self._change(
            local.move_funnel, to_status=to_status, close_reason=reason, close_note=note.strip()
        )
        if pid is not None:
            await self._moved(pid, to_status)
        return ""

    async def _moved(self, pid: str, to_status: str) -> None:
        status = Msg(f"funnel.{to_status}")  # named in the language shown, when shown
        await self.workbench.after_local_change(pid, "card.moved", status=status)

    async def assign(self, to_user_id: str, reason: str) -> None:
        name = next((m.name for m in self.state.marketers if m.id == to_user_id), "")
        pid = await self._change(local.assign, to_user_id=to_user_id, reason=reason.strip())
        if pid is not None:
            await self.workbench.after_local_change(pid, "card.assigned", name=name)

    async def claim(self) -> None:
        pid = await self._change(local.claim)
        if pid is not None:
            await self.workbench.after_local_change(pid, "card.claimed")

    async def _change(self, write: Callable[..., object], **values: object) -> str | None:
        """Save one change to the shown card's prospect on the device (with its outbox row);
        its id, or None, with the reason shown, when the device refuses it."""
        card = self.state.card
        if card is None:
            return None
        workbench = self.workbench
        try:
            await asyncio.to_thread(
                write, workbench.store, workbench.scope, prospect_id=card.id, **values
            )
        except local.LocalError as exc:
            workbench.notify(exc.code)
            return None
        return card.id


def _slots(
    steps: tuple[FunnelStatus, ...], status: str, nexts: tuple[FunnelStatus, ...]
) -> tuple[StepSlot, ...]:
    open_ = status not in CLOSED
    return tuple(
        StepSlot(
            s,
            enabled=s in nexts,
            reached=s == status or (open_ and s not in CLOSED and rank(s) <= rank(status)),
            current=s == status,
        )
        for s in steps
    )


async def reachable_marketers(workbench: Workbench) -> list[Marketer]:
    """The marketers the signed-in manager may hand prospects to, as of the last sync: an
    admin's, every outlet's; a manager's, its outlet's (a sub-branch manager's, each of its
    outlets', labelled with their outlet, as a prospect may go to any of them)."""
    me = workbench.scope
    outlets = None if me.role == Role.ADMIN else me.outlets
    rows = await workbench.read(lambda conn: outlet_marketers(conn, outlets))
    several = len(me.outlets) > 1
    return [
        Marketer(uid, name, workbench.outlet_label(oid) if several else "")
        for uid, name, oid in rows
    ]

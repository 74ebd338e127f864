"""Admission control: how many requests of one kind a store process serves at once.

    Gate(limit, retry_after, code, queue=Q, queue_seconds=S)
      enter()        a place (a ``Slot``) at once, or ``Busy``: 429 with ``Retry-After``
                     and the wait in words
      await admit()  a place at once; else, while fewer than Q wait, a place in the queue
                     (first come, first served) for up to S seconds; else ``Busy``
      Slot.free()    the place given back (to the first in the queue), exactly once

Why refuse rather than queue without end: a city's devices starting at nine ask for
first-sync pages faster than one process can build them. Queued in the thread pool and
then for a database connection, each waits behind all the others, past the device's
timeout, and every one fails. Here the few in ``limit`` are served at full speed, a
bounded queue waits on the event loop (no thread, no connection held), and the rest
are refused in microseconds, before a thread, a connection or even the token's user is
taken: the device waits the ``Retry-After`` plus jitter (``app.sync.busy``) and comes
back.

The places are an ``anyio.CapacityLimiter`` (fair, and safe when a waiting client goes
away); grants and returns happen on the event loop. Each process has its own gates
(``serve --workers N``: N times the limit).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, NoReturn

from anyio import CapacityLimiter, WouldBlock, move_on_after
from fastapi import Depends, Request

from app.server.errors import Busy


@dataclass
class Slot:
    """One admitted request's place, given back exactly once."""

    gate: Gate
    held: bool = True
    token: object = field(default_factory=object)

    def free(self) -> None:
        if self.held:
            self.held = False
            self.gate.open -= 1
            self.gate.places.release_on_behalf_of(self.token)


class Gate:
    """At most ``limit`` requests in at once (None: no limit), up to ``queue`` more waiting
    up to ``queue_seconds`` for a place; the rest told to come back after ``retry_after``
    seconds, in ``code``'s words."""

    def __init__(
        self,
        limit: int | None,
        retry_after: int,
        code: str = "server.busy",
        *,
        queue: int = 0,
        queue_seconds: float = 0.0,
    ) -> None:
        self.limit = limit
        self.retry_after = retry_after
        self.code = code
        self.queue = queue
        self.queue_seconds = queue_seconds
        self.places = CapacityLimiter(math.inf if limit is None else limit)
        self.open = 0  # requests inside now
        self.waiting = 0  # requests in the queue now
        self.refused = 0  # requests turned away since the process started

    def enter(self) -> Slot:
        """A place at once, or ``Busy``."""
        slot = self._take()
        if slot is None:
            self._refuse()
        return slot

    async def admit(self) -> Slot:
        """A place at once or after a short wait in the queue, or ``Busy``."""
        slot = self._take()
        if slot is not None:
            return slot
        if self.waiting >= self.queue:
            self._refuse()
        slot = Slot(self)
        self.waiting += 1
        try:
            with move_on_after(self.queue_seconds):
                await self.places.acquire_on_behalf_of(slot.token)
                self.open += 1
                return slot
        finally:
            self.waiting -= 1
        self._refuse()

    def _take(self) -> Slot | None:
        slot = Slot(self)
        try:
            self.places.acquire_on_behalf_of_nowait(slot.token)
        except WouldBlock:
            return None
        self.open += 1
        return slot

    def _refuse(self) -> NoReturn:
        self.refused += 1
        raise Busy(self.code, self.retry_after)


async def admit_sync(request: Request) -> AsyncIterator[None]:
    """A place among the pulls and checksums this process serves at once (else 429)."""
    slot = await request.app.state.sync_gate.admit()
    try:
        yield
    finally:
        slot.free()


# Declared first among a route's parameters, so a refusal costs no thread and no database
# read (not even the token's user); given back as soon as the route's function returns.
SyncAdmission = Annotated[None, Depends(admit_sync, scope="function")]

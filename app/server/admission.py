"""Admission control: how many requests of one kind a store process serves at once.

    Gate(limit, retry_after, code)
      enter()       a place (a ``Slot``), or ``Busy`` at once when every place is taken:
                    429 with ``Retry-After`` and the wait in words
      Slot.free()   the place given back, exactly once

Why refuse rather than queue: a city's devices starting at nine ask for first-sync
pages faster than one process can build them. Queued (in the thread pool, then for a
database connection) each waits behind all the others, past the device's timeout, and
every one fails. Refused at the door, in microseconds and before a thread or a
connection is taken, a device waits the ``Retry-After`` plus jitter
(``app.sync.busy``) and comes back, and the ones let in are served at full speed.

Gates are counted on the event loop (``admit_sync`` is an ``async`` dependency; the
event stream's route is ``async``), so the counter needs no lock. Each process has its
own (``serve --workers N``: N times the limit).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from app.server.errors import Busy


@dataclass
class Slot:
    """One admitted request's place, given back exactly once."""

    gate: Gate
    held: bool = True

    def free(self) -> None:
        if self.held:
            self.held = False
            self.gate.open -= 1


@dataclass
class Gate:
    """At most ``limit`` requests in at once (None: no limit); the rest are told to come
    back after ``retry_after`` seconds, with ``code``'s words."""

    limit: int | None
    retry_after: int
    code: str = "server.busy"
    open: int = 0  # requests inside now
    refused: int = 0  # requests turned away since the process started

    def enter(self) -> Slot:
        if self.limit is not None and self.open >= self.limit:
            self.refused += 1
            raise Busy(self.code, self.retry_after)
        self.open += 1
        return Slot(self)


async def admit_sync(request: Request) -> AsyncIterator[None]:
    """A place among the pulls and checksums this process serves at once (429 past it)."""
    slot = request.app.state.sync_gate.enter()
    try:
        yield
    finally:
        slot.free()


# Declared first among a route's parameters, so a refusal costs no thread, no database
# read (not even the token's user); given back as soon as the route's function returns.
SyncAdmission = Annotated[None, Depends(admit_sync, scope="function")]

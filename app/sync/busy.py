"""Patience with a busy store: wait what it asks, with jitter, and ask again.

A store at capacity (a city's devices starting at nine) answers 429 with
``Retry-After`` (``StoreBusy``). That is no failure of the sync: the device waits and
asks again for the same page or batch, within the same run, and nothing is lost (a page
and its cursor are saved together; a push is answered exactly once).

    the n-th busy answer in a row    wait  min(cap, Retry-After · 2^(n-1))
                                           + jitter · half of that
    an answer that is not busy       the count starts again from 0
    ``max_waits`` busy answers        the run stops with ``StoreBusy`` (the background
    in a row                          sync tries again later, on its own backoff)
    cancelled while waiting           ``SyncCancelled`` at once

The jitter spreads devices refused together, so they do not come back in step; the
doubling relieves a store that stays full. While waiting, ``on_wait(seconds_left)`` is
called each second (the sync bar counts down: "中心库繁忙，N 秒后重试").
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from app.sync.errors import StoreBusy, SyncCancelled

T = TypeVar("T")


@dataclass
class BusyBackoff:
    """The waits after busy answers in a row: bounded, jittered, reset by a success."""

    cap: float = 60.0  # seconds; the longest nominal wait
    jitter: Callable[[], float] = random.random  # 0..1; tests pin it
    busy: int = 0  # busy answers in a row

    def next_wait(self, retry_after: float) -> float:
        """Seconds to wait after one more busy answer that asked for ``retry_after``."""
        self.busy += 1
        asked = max(1.0, float(retry_after))
        nominal = min(self.cap, asked * 2 ** (self.busy - 1))
        return nominal * (1 + 0.5 * min(1.0, max(0.0, self.jitter())))

    def reset(self) -> None:
        """The store answered: the next busy answer starts the doubling over."""
        self.busy = 0


@dataclass
class Patience:
    """Calls the store, waiting out its busy answers (see the module docstring)."""

    backoff: BusyBackoff = field(default_factory=BusyBackoff)
    max_waits: int = 10
    # waits ``seconds``, True when cancelled meanwhile (the engine's cancel event's wait)
    sleep: Callable[[float], bool] = lambda seconds: False
    on_wait: Callable[[int], None] = lambda seconds_left: None

    def call(self, request: Callable[[], T]) -> T:
        """``request()``, asked again after each busy answer, up to ``max_waits`` times."""
        while True:
            try:
                answer = request()
            except StoreBusy as exc:
                if self.backoff.busy >= self.max_waits:
                    raise
                self._wait(self.backoff.next_wait(exc.retry_after))
                continue
            self.backoff.reset()
            return answer

    def _wait(self, seconds: float) -> None:
        """Sleep ``seconds``, telling ``on_wait`` the whole seconds left as they pass."""
        left = seconds
        while left > 0:
            self.on_wait(math.ceil(left))
            step = left - (math.ceil(left) - 1)  # to the next whole second shown
            if self.sleep(step):
                raise SyncCancelled()
            left -= step
        self.on_wait(0)

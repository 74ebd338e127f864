"""Reads that run in threads come back in any order: only the last one started may land."""

from __future__ import annotations


class LatestRead:
    """Numbers the reads of one screen; ``is_latest`` drops an older read that came back
    after a newer one (a slower query, another card, another period)."""

    def __init__(self) -> None:
        self._started = 0

    def begin(self) -> int:
        self._started += 1
        return self._started

    def is_latest(self, ticket: int) -> bool:
        return ticket == self._started

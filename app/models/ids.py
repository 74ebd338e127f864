"""Ids made where a record is born: UUIDv7 strings (time-ordered, collision-free offline)."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime


def new_id() -> str:
    """A UUIDv7 (RFC 9562) as text."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= (rand >> 68 & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def new_ids(n: int) -> list[str]:
    """``n`` UUIDv7s at once (a bulk handover's transfers): one clock read and one draw of
    random bits for all, formatted by hand; the same layout as ``new_id``."""
    ms = (time.time_ns() // 1_000_000) & ((1 << 48) - 1)
    head = (ms << 80) | (0x7 << 76)
    noise = os.urandom(10 * n)
    out = []
    for i in range(n):
        rand = int.from_bytes(noise[10 * i : 10 * i + 10], "big")
        value = head | (rand >> 68 & 0xFFF) << 64 | 0b10 << 62 | rand & ((1 << 62) - 1)
        h = f"{value:032x}"
        out.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return out


def utcnow() -> datetime:
    """Naive UTC now: every stored timestamp is naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)

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
    """``n`` UUIDv7s at once (a bulk handover's transfers): one clock read for all and one
    draw of random bits, put together as text; the same layout as ``new_id``."""
    ms = f"{(time.time_ns() // 1_000_000) & ((1 << 48) - 1):012x}"
    head = f"{ms[:8]}-{ms[8:]}-7"
    noise = os.urandom(15 * n).hex()  # 30 hex digits each: 3 + 3 + 12 random, 1 variant
    out = []
    for i in range(0, 30 * n, 30):
        h = noise[i : i + 30]
        variant = "89ab"[int(h[6], 16) & 3]  # RFC 9562: the variant bits are 10
        out.append(f"{head}{h[:3]}-{variant}{h[3:6]}-{h[7:19]}")
    return out


def utcnow() -> datetime:
    """Naive UTC now: every stored timestamp is naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)

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


def utcnow() -> datetime:
    """Naive UTC now: every stored timestamp is naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)

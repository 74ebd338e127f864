"""What the device itself can tell a screen (its position), through Flet's services."""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)
POSITION_TIMEOUT_S = 6


async def device_position() -> tuple[float, float] | None:
    """The device's position where the platform offers one, within a few seconds."""
    try:
        import flet_geolocator as fg

        fix = await asyncio.wait_for(
            fg.Geolocator().get_current_position(), timeout=POSITION_TIMEOUT_S
        )
    except Exception:  # no service, no permission, web without consent: no fix
        log.info("no position fix", exc_info=True)
        return None
    return (fix.latitude, fix.longitude) if fix else None

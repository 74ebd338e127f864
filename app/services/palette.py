"""The funnel statuses' colours: one table for the app's chips and charts and the map.

The map page (app/geo/maps.py: markers, clusters, legend) and the app's views
(app/views/theme.py re-exports it as ``STATUS_COLORS``) both read this table, so a
status has one colour everywhere. Material shades, as ``#RRGGBB``.
"""

from __future__ import annotations

from types import MappingProxyType

STATUS_COLORS = MappingProxyType(
    {
        "unassigned": "#78909C",  # blue grey 400
        "assigned": "#1E88E5",  # blue 600
        "contacted": "#0097A7",  # cyan 700
        "interested": "#FF8F00",  # amber 800
        "applied": "#F4511E",  # deep orange 600
        "approved": "#689F38",  # light green 700
        "disbursed": "#2E7D32",  # green 800
        "declined": "#757575",  # grey 600
        "invalid": "#9E9E9E",  # grey 500
    }
)
UNKNOWN_COLOR = "#9E9E9E"  # a status this build does not know (a newer store's)


def ink_on(background: str) -> str:
    """The text colour for a bold count on ``background`` (``#RRGGBB``): white when it
    contrasts at least 3:1 (WCAG, large or bold text), else near-black."""

    def channel(hex2: str) -> float:
        c = int(hex2, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(background[i : i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#FFFFFF" if 1.05 / (luminance + 0.05) >= 3.0 else "#212121"

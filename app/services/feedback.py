"""Marketers' feedback on a whitelist entry: the reasons a prospect is closed for.

The list is ``app.models.feedback.FeedbackReason`` (declared beside the wire model that
carries it); the same list later feeds head office's list-quality report per batch.
Here are the rules a form asks before the wire model judges the move:

    closing move (declined | invalid)  needs a reason; ``other`` needs a note too
    any other move                     has neither
"""

from __future__ import annotations

from app.models.feedback import FEEDBACK_NOTE_LIMIT, FeedbackReason
from app.models.prospect import CLOSED_STATUSES

__all__ = [
    "FEEDBACK_NOTE_LIMIT",
    "FeedbackReason",
    "closing",
    "close_problem",
]


def closing(to_status: str) -> bool:
    """Whether a move to ``to_status`` closes the prospect (and so asks why)."""
    return to_status in CLOSED_STATUSES


def close_problem(reason: str | None, note: str) -> str:
    """What is missing from a closing move's reason (an i18n code), "" when complete."""
    if reason not in {r.value for r in FeedbackReason}:
        return "funnel.reason_required"
    note = note.strip()
    if reason == FeedbackReason.OTHER and not note:
        return "funnel.note_required"
    if len(note) > FEEDBACK_NOTE_LIMIT or "\x00" in note:
        return "funnel.note_too_long"
    return ""

"""Marketers' feedback on a whitelist entry (名单反馈): why a prospect is closed.

One list, used twice: a closing move (已拒绝 / 无效) carries one of these reasons, and the
same reasons are what a marketer reports to head office about a wrong or ineligible
entry, counted per batch in its list-quality report (DESIGN §8). The rules over it are
``app.services.feedback``; the wire model that carries it is ``FunnelMovePayload``.
"""

from __future__ import annotations

from enum import StrEnum

FEEDBACK_NOTE_LIMIT = 200  # characters


class FeedbackReason(StrEnum):
    """Why an entry leaves the funnel closed; ``OTHER`` needs a note in words."""

    WRONG_CONTACT = "wrong_contact"  # the phone number or address on the list is wrong
    BUSINESS_CLOSED = "business_closed"  # closed down, deregistered or moved away
    NOT_ELIGIBLE = "not_eligible"  # fails the product's criteria (e.g. overdue, blacklisted)
    NOT_INTERESTED = "not_interested"  # the customer needs no loan
    DUPLICATE = "duplicate"  # already a customer, or listed twice
    OTHER = "other"  # said in the note

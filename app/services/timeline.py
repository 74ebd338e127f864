"""A prospect's timeline (营销时间线): logs, status changes and transfers, newest first.

The items are read from the device store by app/queries/timeline.py; what they
hold, how a transfer is named and their order are here.

- ``log``: a marketing log; ``when`` is its ``occurred_at`` (device time: when the
  contact happened). ``pending`` while it has not come back from the store (rev 0).
  ``check_in_km``: how far its check-in (the device's own fix) lay from the registered
  address; None when it was logged without a fix.
- ``status``: a funnel event as the store judged it, ``applied`` or not (a move
  refused as backwards stays recorded, with ``reason_code``); ``when`` is its
  ``occurred_at``. On request (``include_outbox``), a move made on this device and
  still in the outbox shows as a ``pending`` status item with ``applied`` None (the
  store has not judged it yet) and ``from_status`` the status the device last
  knew from the store (or the previous pending move), None if it knows none. A
  closing move carries its reason (``close_reason``, ``close_note``).
- ``transfer``: an assignment, re-assignment or return to the pool; ``when`` is its
  ``created_at`` (store time). A ``to_user_id`` of None means the outlet pool. Its
  ``reason`` is a manager's words, or a code the store recorded (auto-assign, pool
  return), shown translated (``reason_text``).

Names are joined from the user and outlet tables; an unknown id gives None.
Equal times keep a fixed order (status before log before transfer, then id).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from app.i18n import t
from app.services.distribution import REASON_CODES


class TimelineKind(StrEnum):
    LOG = "log"  # a marketing log
    STATUS = "status"  # a funnel event (or a pending local move)
    TRANSFER = "transfer"  # assignment / transfer between people or to the pool


_TIE_ORDER = {TimelineKind.STATUS: 0, TimelineKind.LOG: 1, TimelineKind.TRANSFER: 2}


@dataclass(frozen=True)
class TimelineItem:
    kind: TimelineKind
    id: str
    when: datetime  # naive UTC
    actor_id: str | None
    actor_name: str | None
    pending: bool = False
    # log
    channel: str | None = None
    outcome: str | None = None
    note: str | None = None
    next_follow_up: date | None = None
    check_in_km: float | None = None  # from the check-in to the registered address; None: no fix
    # status
    from_status: str | None = None
    to_status: str | None = None
    applied: bool | None = None  # None: not judged yet
    reason_code: str | None = None
    amount: int | None = None  # 元, for disbursed
    close_reason: str = ""  # a closing move's ``FeedbackReason``
    close_note: str = ""
    # transfer
    from_user_id: str | None = None
    from_user_name: str | None = None
    to_user_id: str | None = None  # None: back to the outlet pool
    to_user_name: str | None = None
    from_outlet_id: str | None = None
    from_outlet_name: str | None = None
    to_outlet_id: str | None = None
    to_outlet_name: str | None = None
    reason: str | None = None

    def transfer_title(self, lang: str) -> str:
        """ "张伟 → 李娜", "待领取池 → 张伟", "红花岗网点人员 → 张伟"."""
        left = Party.of(self.from_user_id, self.from_user_name, self.from_outlet_name)
        went = Party.of(self.to_user_id, self.to_user_name, self.to_outlet_name)
        return t("timeline.transfer", lang, from_user=left.text(lang), to_user=went.text(lang))

    def reason_text(self, lang: str) -> str:
        """A transfer's reason as shown: the words a manager typed, or what a reason code
        the store recorded (auto-assign, pool return) means in ``lang``."""
        return reason_text(self.reason or "", lang)


def reason_text(reason: str, lang: str) -> str:
    """``reason`` in words: a distribution code (``REASON_CODES``) translated, else as is."""
    if reason in REASON_CODES:
        return t(f"transfer.reason.{reason.replace(':', '.')}", lang)
    return reason


@dataclass(frozen=True)
class Party:
    """One side of a transfer, as the card names it: a person, the outlet pool, or someone
    at another outlet (a device holds only its own outlet's staff)."""

    key: str  # i18n key: timeline.person / .pool / .staff_of / .staff_elsewhere
    name: str = ""
    outlet: str = ""

    @classmethod
    def of(cls, user_id: str | None, name: str | None, outlet: str | None) -> Party:
        if user_id is None:
            return cls("timeline.pool", outlet=outlet or "")
        if name:
            return cls("timeline.person", name=name)
        if outlet:
            return cls("timeline.staff_of", outlet=outlet)
        return cls("timeline.staff_elsewhere")

    def text(self, lang: str) -> str:
        return t(self.key, lang, name=self.name, outlet=self.outlet)


def newest_first(items: Iterable[TimelineItem]) -> list[TimelineItem]:
    """Newest first; equal times in a fixed order so the list never jumps."""
    ordered = sorted(items, key=lambda i: (_TIE_ORDER[i.kind], i.id))
    ordered.sort(key=lambda i: i.when, reverse=True)
    return ordered

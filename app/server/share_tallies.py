"""分润 per person and per outlet for 业绩: what ``/stats/ranks`` carries to the device.

A device holds no loans or shares (they live on the central store only), so each sync
brings home, for the week, month and quarter containing today (Beijing), the credit
shared out of loans disbursed in that period (``profit_share.occurred_on``), in fen:

- a person's, ``users[id] = [as marketer, as originator]``: the shares naming them;
- an outlet's, ``outlets[id] = [booking, staff]``: its booking-outlet shares (簿记),
  and the marketer and originator shares of its staff (a share names the person's
  outlet when the loan was shared out).

Whose: the user's own, their outlet's, and for a manager their outlet's (a sub-branch
manager: its outlets') marketers and outlets; an admin, their own (an admin's 业绩 is
the store's dashboard). One grouped, indexed query per period.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from sqlalchemy import func, or_, select
from sqlmodel import Session

from app.models.loan import ProfitShare, ShareParty
from app.services.performance import Period, period_bounds

__all__ = ["device_shares"]

_S = ProfitShare.__table__.c  # type: ignore[attr-defined]


def device_shares(
    session: Session, today: date, *, users: Collection[str], outlets: Collection[str]
) -> dict[str, dict[str, dict[str, list[int]]]]:
    """{period: {"users": {id: [marketer, originator]}, "outlets": {id: [booking, staff]}}}
    in fen, for ``users`` and ``outlets``; someone with no share in a period is absent
    from it (a device reads absent as zero)."""
    people, places = set(users), set(outlets)
    whose = []
    if people:
        whose.append(_S.user_id.in_(sorted(people)))
    if places:
        whose.append(_S.outlet_id.in_(sorted(places)))
    answer: dict[str, dict[str, dict[str, list[int]]]] = {}
    for period in Period:
        found: dict[str, dict[str, list[int]]] = {"users": {}, "outlets": {}}
        answer[period.value] = found
        if not whose:
            continue
        start, end = period_bounds(period, today)
        stmt = (
            select(_S.party, _S.user_id, _S.outlet_id, func.sum(_S.amount_fen))
            .where(_S.occurred_on >= start, _S.occurred_on <= end, or_(*whose))
            .group_by(_S.party, _S.user_id, _S.outlet_id)
        )
        for party, user_id, outlet_id, fen in session.execute(stmt):
            fen = int(fen or 0)
            if party != ShareParty.BOOKING_OUTLET.value and user_id in people:
                slot = 0 if party == ShareParty.MARKETER.value else 1
                found["users"].setdefault(user_id, [0, 0])[slot] += fen
            if outlet_id in places:  # the booking outlet's own, or its staff's
                slot = 0 if party == ShareParty.BOOKING_OUTLET.value else 1
                found["outlets"].setdefault(outlet_id, [0, 0])[slot] += fen
    return answer

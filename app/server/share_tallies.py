"""分润 per person and per outlet for 业绩: what ``/stats/ranks`` carries to the device.

A device holds no loans or shares (they live on the central store only), so each sync
brings home, for the week, month and quarter containing today (Beijing), the credit
shared out of loans disbursed in that period (``profit_share.occurred_on``), in fen:

- a person's, ``users[id] = [as marketer, as originator]``: the shares naming them;
- an outlet's, ``outlets[id] = [booking, staff]``: its booking-outlet shares (簿记),
  and the marketer and originator shares of its staff (a share names the person's
  outlet when the loan was shared out).

Whose: the user's own, their outlet's, and for a manager their outlet's (a sub-branch
manager: its outlets') marketers and outlets; an admin, the branch's. One grouped,
indexed query per period.
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
    session: Session,
    today: date,
    *,
    users: Collection[str],
    outlets: Collection[str] | None,
) -> dict[str, dict[str, dict[str, list[int]]]]:
    """{period: {"users": {id: [marketer, originator]}, "outlets": {id: [booking, staff]}}}
    in fen, for ``users`` and ``outlets`` (None: every outlet, an admin's); someone with
    no share in a period is absent from it (a device reads absent as zero)."""
    wanted_users, wanted_outlets = set(users), None if outlets is None else set(outlets)
    whose = [_S.user_id.in_(sorted(wanted_users))] if wanted_users else []
    if wanted_outlets is None:
        whose = []  # everything
    elif wanted_outlets:
        whose.append(_S.outlet_id.in_(sorted(wanted_outlets)))
    elif not whose:
        return {p.value: {"users": {}, "outlets": {}} for p in Period}
    answer: dict[str, dict[str, dict[str, list[int]]]] = {}
    for period in Period:
        start, end = period_bounds(period, today)
        stmt = (
            select(_S.party, _S.user_id, _S.outlet_id, func.sum(_S.amount_fen))
            .where(_S.occurred_on >= start, _S.occurred_on <= end)
            .group_by(_S.party, _S.user_id, _S.outlet_id)
        )
        if whose:
            stmt = stmt.where(or_(*whose))
        people: dict[str, list[int]] = {}
        places: dict[str, list[int]] = {}
        for party, user_id, outlet_id, fen in session.execute(stmt):
            fen = int(fen or 0)
            if party == ShareParty.BOOKING_OUTLET.value:
                if wanted_outlets is None or outlet_id in wanted_outlets:
                    places.setdefault(outlet_id, [0, 0])[0] += fen
                continue
            if user_id and user_id in wanted_users or (user_id and wanted_outlets is None):
                slot = 0 if party == ShareParty.MARKETER.value else 1
                people.setdefault(user_id, [0, 0])[slot] += fen
            if wanted_outlets is None or outlet_id in wanted_outlets:
                places.setdefault(outlet_id, [0, 0])[1] += fen
        answer[period.value] = {"users": people, "outlets": places}
    return answer

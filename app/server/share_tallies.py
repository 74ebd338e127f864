"""分润 per person and per outlet for 业绩: counted by the ranks job (``app.server.ranks``),
carried to devices by ``/stats/ranks``.

A device holds no loans or shares (they live on the central store only), so each sync
brings home, for the week, month and quarter containing the counted day (Beijing), the
credit shared out of loans disbursed in that period (``profit_share.occurred_on``), in fen:

- a person's, ``users[id] = [as marketer, as originator]``: the shares naming them;
- an outlet's, ``outlets[id] = [booking, staff]``: its booking-outlet shares (簿记),
  and the marketer and originator shares of its staff (a share names the person's
  outlet when the loan was shared out).

Counted for the whole branch at once, one grouped, indexed query per period; who sees
whose is the route's to decide (``app.server.ranks.answer``).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, func, select

from app.models.loan import ProfitShare, ShareParty
from app.services.performance import Period, period_bounds

__all__ = ["branch_shares"]

_S = ProfitShare.__table__.c  # type: ignore[attr-defined]


def branch_shares(conn: Connection, today: date) -> dict[str, dict[str, dict[str, list[int]]]]:
    """{period: {"users": {id: [marketer, originator]}, "outlets": {id: [booking, staff]}}}
    in fen, for everyone with a share in the period (nobody else)."""
    answer: dict[str, dict[str, dict[str, list[int]]]] = {}
    for period in Period:
        found: dict[str, dict[str, list[int]]] = {"users": {}, "outlets": {}}
        answer[period.value] = found
        start, end = period_bounds(period, today)
        stmt = (
            select(_S.party, _S.user_id, _S.outlet_id, func.sum(_S.amount_fen))
            .where(_S.occurred_on >= start, _S.occurred_on <= end)
            .group_by(_S.party, _S.user_id, _S.outlet_id)
        )
        for party, user_id, outlet_id, fen in conn.execute(stmt):
            fen = int(fen or 0)
            if party != ShareParty.BOOKING_OUTLET.value and user_id is not None:
                slot = 0 if party == ShareParty.MARKETER.value else 1
                found["users"].setdefault(user_id, [0, 0])[slot] += fen
            if outlet_id is not None:  # the booking outlet's own, or its staff's
                slot = 0 if party == ShareParty.BOOKING_OUTLET.value else 1
                found["outlets"].setdefault(outlet_id, [0, 0])[slot] += fen
    return answer

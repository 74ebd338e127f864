"""Figures only the whole branch can give: ranks within the branch.

A marketer's or manager's device holds only its own outlet, so it cannot rank
itself among the branch; the central store ranks with the device's own rules
(``app.services.performance.branch_ranks``) and each sync brings the answer home.
"""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from app.models.ids import utcnow
from app.models.user import Role
from app.server.db import read_session
from app.server.deps import CurrentUser, EngineDep, ProtocolDep
from app.services.performance import branch_ranks
from app.services.whitelist import beijing_today

router = APIRouter(prefix="/stats", tags=["stats"])


@router.get("/ranks")
def ranks(user: CurrentUser, engine: EngineDep, _v: ProtocolDep) -> dict:
    """This user's rank among the branch's marketers, their outlet's among its outlets,
    and for a manager each of the outlet's marketers', for the week, month and quarter."""
    today = beijing_today()
    with read_session(engine) as session:
        conn = session.connection()
        if user.role == Role.MARKETER:
            marketer_ids = [user.id]
        else:
            where = "" if user.role == Role.ADMIN else " AND outlet_id = :oid"
            marketer_ids = list(
                conn.execute(
                    text(f"SELECT id FROM \"user\" WHERE role = 'marketer'{where}"),
                    {"oid": user.outlet_id},
                ).scalars()
            )
        periods = branch_ranks(conn, today, marketer_ids=marketer_ids, outlet_id=user.outlet_id)
    return {"today": today.isoformat(), "as_of": utcnow().isoformat(), "periods": periods}

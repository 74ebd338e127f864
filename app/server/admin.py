"""Administrative writes of the central store: loading data and creating users."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from app.demo import DemoData
from app.models import User
from app.models.ids import new_id
from app.server.changes import bulk_insert, record_change
from app.server.db import write_session
from app.server.loans import CHUNK, Source, report_events
from app.server.security import hash_password
from app.services.shares import Ratio

_LOAD_ORDER = (
    "outlet",
    "user",
    "whitelist_batch",
    "prospect",
    "marketing_log",
    "funnel_event",
    "transfer",
)


def is_empty(engine: Engine) -> bool:
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(User)).scalar_one() == 0


def load_demo(engine: Engine, data: DemoData) -> dict[str, int]:
    """Load generated demo data (one transaction, bulk inserts, change-log entries)."""
    # Every demo user has the one published password: hashed once, not 89 times (argon2
    # at ~20 ms a hash was most of the first run's wait). A salt per user would hide only
    # that they share it, which the README says.
    hashes = {pw: hash_password(pw) for pw in sorted(set(data.passwords.values()))}
    users = [
        {**row, "password_hash": hashes[data.passwords[row["employee_no"]]]} for row in data.user
    ]
    rows: dict[str, list[dict[str, Any]]] = {
        "outlet": data.outlet,
        "user": users,
        "whitelist_batch": data.whitelist_batch,
        "prospect": data.prospect,
        "marketing_log": data.marketing_log,
        "funnel_event": data.funnel_event,
        "transfer": data.transfer,
    }
    with write_session(engine) as session:
        for entity in _LOAD_ORDER:
            bulk_insert(session, entity, rows[entity])
    return {entity: len(rows[entity]) for entity in _LOAD_ORDER}


def report_demo_loans(engine: Engine, data: DemoData, ratio: Ratio) -> dict[str, int]:
    """The demo's loan feed (``DemoData.loan_feed``) through the store's own feed, as the
    loan system would send it (source "demo"), after ``load_demo``: the funnel moves, the
    shares (分润) and the queue of the unmatched are the production path's. How many events
    had each outcome."""
    counts: dict[str, int] = {}
    feed = data.loan_feed
    for start in range(0, len(feed), CHUNK):  # one transaction per request's worth
        with write_session(engine) as session:
            results = report_events(
                session, feed[start : start + CHUNK], source=Source("demo"), ratio=ratio
            )
        for r in results:
            counts[r.outcome] = counts.get(r.outcome, 0) + 1
    return counts


def create_user(
    engine: Engine,
    *,
    employee_no: str,
    name: str,
    role: str,
    outlet_id: str | None,
    password: str,
) -> User:
    with write_session(engine) as session:
        user = User(
            id=new_id(),
            employee_no=employee_no,
            name=name,
            role=role,
            outlet_id=outlet_id,
            password_hash=hash_password(password),
        )
        session.add(user)
        session.flush()
        record_change(session, "user", user.id)
        session.refresh(user)
        session.expunge(user)
    return user

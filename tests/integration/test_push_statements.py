"""What a push costs the store in statements (issue 11: uploads ≥ 500/s).

A marketing log used to cost 13 round trips inside the writer's transaction (its
prospect read, the repeat check, a flush per write, its child row's placement read
again, its record and last_seq one by one); now the push's rows are read once, each
mutation's writes go in one flush at its savepoint's end, and the answers are recorded
once per push. The counts are the database's own work, the same on any machine.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import event, select

from app.models import ChangeLog, MarketingLog, MutationRecord, User
from app.models.sync import Mutation, MutationKind
from app.server.apply import apply_push, prepare, push_branches
from app.server.db import read_session, write_session
from app.services.marketing import new_log
from tests.integration.conftest import PROTOCOL, bearer
from tests.world import build_world

pytestmark = pytest.mark.parametrize("store_settings", ["postgresql"], indirect=True)

LOGS = 20


def _mutations(prospects: list[dict], first_seq: int) -> list[Mutation]:
    out = []
    for i in range(LOGS):
        prospect = prospects[i % len(prospects)]
        log = new_log(prospect_id=prospect["id"], channel="visit", outcome="interested")
        out.append(
            Mutation(
                id=log.id,
                seq=first_seq + i,
                kind=MutationKind.LOG_CREATE,
                payload=log.model_dump(mode="json"),
                created_at=log.occurred_at,
            )
        )
    return out


def test_a_push_of_logs_costs_a_few_statements_each(server):
    world = build_world(server.engine, per_marketer=LOGS)
    with read_session(server.engine) as session:
        user = session.execute(select(User).where(User.employee_no == "M1")).scalar_one()
        session.expunge(user)
    mine = world.prospects_of("M1")
    statements: list[str] = []

    def push(mutations: list[Mutation], savepoints: bool = True) -> list[str]:
        prepared = prepare(mutations)
        with read_session(server.engine) as session:
            branches = push_branches(session, user, mutations)
        with write_session(server.engine, branches) as session:
            answer = apply_push(
                session,
                user=user,
                device_id="dev-1",
                mutations=mutations,
                prepared=prepared,
                savepoints=savepoints,
            )
        return [r.status for r in answer.results]

    def count(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        statements.append(statement.split(None, 1)[0].upper())

    assert push(_mutations(mine, 1)) == ["applied"] * LOGS
    event.listen(server.engine, "before_cursor_execute", count)
    try:
        again = _mutations(mine, LOGS + 1)
        assert push(again) == ["applied"] * LOGS
    finally:
        event.remove(server.engine, "before_cursor_execute", count)
    # per log: its savepoint and release, the log, its funnel step (the first visit moves
    # the prospect on), the prospect; the rest once per push
    assert statements.count("SAVEPOINT") == LOGS
    assert len(statements) <= 6 * LOGS + 20, statements
    with read_session(server.engine) as session:
        stored = session.execute(
            select(MarketingLog.id).where(MarketingLog.id.in_([m.id for m in again]))
        ).all()
        records = session.execute(
            select(MutationRecord.seq).where(MutationRecord.device_id == "dev-1")
        ).all()
    assert len(stored) == LOGS and len(records) == 2 * LOGS
    # the same push again: every answer a replay, nothing written twice
    assert push(again) == ["applied"] * LOGS
    with read_session(server.engine) as session:
        assert len(session.execute(select(MarketingLog.id)).all()) == 2 * LOGS
    # in one go (the route's first try): no savepoint, one insert per table for them all
    statements.clear()
    event.listen(server.engine, "before_cursor_execute", count)
    try:
        assert push(_mutations(mine, 2 * LOGS + 1), savepoints=False) == ["applied"] * LOGS
    finally:
        event.remove(server.engine, "before_cursor_execute", count)
    assert "SAVEPOINT" not in statements
    assert len(statements) <= 25, statements
    with read_session(server.engine) as session:
        assert len(session.execute(select(MarketingLog.id)).all()) == 3 * LOGS


def test_a_push_with_one_refusal_keeps_the_others_and_writes_nothing_twice(server):
    """The route tries a push in one go; a refusal there sends it round again with a
    savepoint per mutation: the others are applied once, the refusal recorded, and the
    first go leaves nothing behind (no log, no change-log row, no record)."""
    world = build_world(server.engine)
    mine, theirs = world.prospects_of("M1"), world.prospects_of("M3")  # M3: another outlet
    mutations = _mutations([mine[0], theirs[0], mine[1]], 1)[:3]
    body = {
        "device_id": "dev-two-goes",
        "mutations": [m.model_dump(mode="json") for m in mutations],
    }
    with httpx.Client(base_url=server.url, headers=PROTOCOL, timeout=30) as http:
        me = bearer(http, "M1")
        answer = http.post("/sync/push", json=body, headers=me)
        assert answer.status_code == 200, answer.text
        statuses = [(r["status"], r["code"]) for r in answer.json()["results"]]
        assert statuses == [("applied", ""), ("rejected", "prospect.out_of_scope"), ("applied", "")]
        again = http.post("/sync/push", json=body, headers=me)  # a replay: the same answers
        assert [(r["status"], r["code"]) for r in again.json()["results"]] == statuses
    ids = [m.id for m in mutations]
    with read_session(server.engine) as session:
        stored = set(
            session.execute(select(MarketingLog.id).where(MarketingLog.id.in_(ids))).scalars()
        )
        logged = session.execute(
            select(ChangeLog.entity_id).where(
                ChangeLog.entity == "marketing_log", ChangeLog.entity_id.in_(ids)
            )
        ).scalars()
        records = session.execute(
            select(MutationRecord.seq, MutationRecord.status).where(
                MutationRecord.device_id == "dev-two-goes"
            )
        ).all()
    assert stored == {ids[0], ids[2]}
    assert sorted(logged) == sorted([ids[0], ids[2]])  # once each
    assert sorted(records) == [(1, "applied"), (2, "rejected"), (3, "applied")]

"""What a push costs the store in statements (issue 11: uploads ≥ 500/s).

A marketing log used to cost 13 round trips inside the writer's transaction (its
prospect read, the repeat check, a flush per write, its child row's placement read
again, its record and last_seq one by one); now the push's rows are read once, each
mutation's writes go in one flush at its savepoint's end, and the answers are recorded
once per push. The counts are the database's own work, the same on any machine.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from app.models import MarketingLog, MutationRecord, User
from app.models.sync import Mutation, MutationKind
from app.server.apply import apply_push, prepare, push_branches
from app.server.db import read_session, write_session
from app.services.marketing import new_log
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

    def push(mutations: list[Mutation]) -> list[str]:
        prepared = prepare(mutations)
        with read_session(server.engine) as session:
            branches = push_branches(session, user, mutations)
        with write_session(server.engine, branches) as session:
            answer = apply_push(
                session, user=user, device_id="dev-1", mutations=mutations, prepared=prepared
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
        assert session.execute(select(MarketingLog.id)).all().__len__() == 2 * LOGS

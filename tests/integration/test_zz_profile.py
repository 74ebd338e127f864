import time, cProfile, pstats, io
import pytest
from sqlalchemy import event, select
from app.models import User
from app.models.sync import Mutation
from app.server.apply import apply_push, prepare, push_branches
from app.server.db import read_session, write_session
from app.services.marketing import new_log
from tests.world import build_world

pytestmark = pytest.mark.parametrize("store_settings", ["postgresql"], indirect=True)

def test_profile_push(server):
    world = build_world(server.engine, per_marketer=60, pool=3)
    with read_session(server.engine) as s:
        user = s.execute(select(User).where(User.employee_no == "M1")).scalar_one()
        s.expunge(user)
    mine = world.prospects_of("M1")
    statements = []
    def count(conn, cursor, stmt, params, context, many):
        statements.append(stmt.split()[0] + " " + stmt[:90].replace("\n"," "))
    seq = 0
    def batch():
        nonlocal seq
        muts = []
        for i in range(10):
            seq += 1
            log = new_log(prospect_id=mine[seq % len(mine)]["id"], channel="visit", outcome="interested")
            muts.append(Mutation.model_validate({"id": log.id, "seq": seq, "kind": "log.create", "payload": log.model_dump(mode="json"), "created_at": "2026-12-01T10:00:00"}))
        return muts
    def push(muts):
        prepared = prepare(muts)
        with read_session(server.engine) as s:
            branches = push_branches(s, user, muts)
        with write_session(server.engine, branches) as s:
            r = apply_push(s, user=user, device_id="dev1", mutations=muts, prepared=prepared)
        assert all(x.status == "applied" for x in r.results), r.results
    push(batch())
    event.listen(server.engine, "before_cursor_execute", count)
    push(batch())
    event.remove(server.engine, "before_cursor_execute", count)
    print("\n".join(statements))
    print("STATEMENTS", len(statements))
    pr = cProfile.Profile()
    t = time.perf_counter()
    pr.enable()
    for _ in range(20):
        push(batch())
    pr.disable()
    print("PER PUSH ms", (time.perf_counter() - t) / 20 * 1000)
    out = io.StringIO()
    pstats.Stats(pr, stream=out).sort_stats("cumulative").print_stats(45)
    print(out.getvalue())

"""Pruning past the horizon (app/server/pruning.py): the change log and applied mutations'
records are deleted once older than ``change_log_horizon_days``. A device away longer
pulls its scope again, pushing what it holds first, and loses nothing; a device that kept
up goes on from where it stands; a replayed mutation whose record was pruned is
answered "applied".
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from app.models import ChangeLog, MutationRecord, Prospect
from app.models.ids import new_id, utcnow
from app.models.sync import MutationKind
from app.server.db import read_session, write_session
from app.server.pruning import prune, prune_change_log
from app.services.marketing import new_log
from app.services.scope import Scope
from app.sync import local
from app.sync.state import SyncPhase
from tests.world import PASSWORD, build_world


def signed_in(make_device, server, employee_no):
    device = make_device(server, employee_no)
    user = device.login(employee_no, PASSWORD)["user"]
    return device, Scope(user["id"], user["role"], user["outlet_id"])


def age_change_log(server, days: int) -> None:
    """Every change-log row written ``days`` ago (by the database's clock)."""
    with write_session(server.engine) as session:
        if server.engine.dialect.name == "postgresql":
            session.execute(text(f"UPDATE change_log SET at = at - interval '{days} days'"))
        else:
            session.execute(text(f"UPDATE change_log SET at = datetime(at, '-{days} days')"))


def log_of(server, prospect_id: str) -> list[str]:
    with read_session(server.engine) as session:
        rows = session.execute(
            text("SELECT note FROM marketing_log WHERE prospect_id = :p"), {"p": prospect_id}
        )
        return [r[0] for r in rows]


def test_a_device_away_past_the_horizon_pulls_again_and_loses_nothing(
    live_server, make_device, settings
):
    world = build_world(live_server.engine)
    m1, me = signed_in(make_device, live_server, "M1")
    m2, colleague = signed_in(make_device, live_server, "M2")
    for device in (m1, m2):
        assert device.sync().phase == SyncPhase.DONE
    mine = world.prospects_of("M1")[0]["id"]
    pooled = world.pool(world.outlet_a)[0]["id"]
    # M1 goes offline with a log not yet pushed; M2 works on
    local.record_log(
        m1.store,
        me,
        new_log(prospect_id=mine, channel="visit", outcome="interested", note="离线记录"),
    )
    local.record_log(
        m2.store,
        colleague,
        new_log(prospect_id=pooled, channel="phone", outcome="no_answer", note="同事记录"),
    )
    assert m2.sync().phase == SyncPhase.DONE
    age_change_log(live_server, 40)  # a month and more goes by

    pruned = prune(live_server.engine, settings)

    assert pruned["change_log"] > 0
    with read_session(live_server.engine) as session:
        assert session.execute(select(ChangeLog.seq)).first() is None
    progress = m1.sync()
    assert progress.phase == SyncPhase.DONE and progress.resynced
    assert log_of(live_server, mine) == ["离线记录"]  # its outbox went first
    fresh, _ = signed_in(make_device, live_server, "M1")
    fresh.sync()
    assert m1.ids() == fresh.ids()
    assert m1.ids("marketing_log") == fresh.ids("marketing_log")
    assert any(m1.row("marketing_log", i)["note"] == "同事记录" for i in m1.ids("marketing_log"))


def test_a_device_that_kept_up_goes_on_from_where_it_stands(live_server, make_device, settings):
    world = build_world(live_server.engine)
    m1, _ = signed_in(make_device, live_server, "M1")
    m2, colleague = signed_in(make_device, live_server, "M2")
    for device in (m1, m2):
        device.sync()
    age_change_log(live_server, 40)
    prune_change_log(live_server.engine, timedelta(days=settings.change_log_horizon_days))
    pooled = world.pool(world.outlet_a)[0]["id"]
    local.record_log(
        m2.store,
        colleague,
        new_log(prospect_id=pooled, channel="phone", outcome="no_answer", note="今天的"),
    )
    m2.sync()

    progress = m1.sync()

    assert progress.phase == SyncPhase.DONE and not progress.resynced
    assert any(m1.row("marketing_log", i)["note"] == "今天的" for i in m1.ids("marketing_log"))


def test_recent_changes_are_kept(live_server, settings):
    build_world(live_server.engine)
    with read_session(live_server.engine) as session:
        before = session.execute(select(ChangeLog.seq)).all()
    assert prune(live_server.engine, settings)["change_log"] == 0
    with read_session(live_server.engine) as session:
        assert len(session.execute(select(ChangeLog.seq)).all()) == len(before)


def test_a_replayed_mutation_whose_record_was_pruned_is_answered_applied(
    live_server, make_device, settings
):
    world = build_world(live_server.engine)
    m1, _ = signed_in(make_device, live_server, "M1")
    prospect = world.prospects_of("M1")[0]["id"]
    now = utcnow().isoformat()

    def mutation(seq: int, prospect_id: str) -> dict:
        return {
            "seq": seq,
            "id": new_id(),
            "kind": MutationKind.LOG_CREATE,
            "created_at": now,
            "payload": {
                "id": f"log-{seq}",
                "prospect_id": prospect_id,
                "channel": "phone",
                "occurred_at": now,
                "outcome": "no_answer",
                "note": "",
            },
        }

    first = mutation(1, prospect)
    refused = mutation(2, new_id())  # no such prospect: rejected, quarantined
    answer = m1.client.push("tablet-1", [first, refused])
    assert [r["status"] for r in answer["results"]] == ["applied", "rejected"]
    with write_session(live_server.engine) as session:
        session.execute(
            text("UPDATE mutation_record SET recorded_at = :t"),
            {"t": utcnow() - timedelta(days=40)},
        )

    prune(live_server.engine, settings)

    with read_session(live_server.engine) as session:
        kept = session.execute(select(MutationRecord.seq, MutationRecord.status)).all()
        assert [tuple(r) for r in kept] == [(2, "rejected")]  # the quarantine stays
    again = m1.client.push("tablet-1", [first, refused])  # the answer was lost: sent again
    assert [(r["seq"], r["status"]) for r in again["results"]] == [(1, "applied"), (2, "rejected")]
    with read_session(live_server.engine) as session:  # and it was not applied twice
        assert len(log_of(live_server, prospect)) == 1
        assert session.get(Prospect, prospect) is not None

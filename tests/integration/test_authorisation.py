"""Who may write what, where: the authorisation matrix over real HTTP pushes.

Every role (marketer, outlet manager, sub-branch manager, admin) pushes every mutation
kind at a prospect in each place (relative to the marketer M1 of outlet A: M1's own, a
colleague's, the outlet's pool, an assigned one and the pool of outlet C, A's sister
under the same sub-branch 汇川支行, another sub-branch's outlet B's assigned and pool,
an id nobody knows), on SQLite and PostgreSQL. The sub-branch manager Z1 sits at A and
reaches A and C. ``EXPECTED`` is written from DESIGN.md §3.3 and §4, not from the policy
code: it is the specification. An unknown id must read exactly like a prospect out of
reach (no probing of which ids exist), and a refused mutation must leave no trace but
its quarantined record.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import httpx
from sqlalchemy import select

from app.models import AuditEvent, FunnelEvent, MarketingLog, Prospect, Transfer
from app.models.ids import new_id, utcnow
from app.models.sync import MutationKind
from app.services.policy import ACTION_OF, PROSPECT_ACTIONS
from tests.conftest import LiveServer
from tests.integration.conftest import bearer
from tests.world import World, build_world

# ok: applied · scope: rejected prospect.out_of_scope · role: rejected auth.forbidden
EXPECTED = """
role       kind             own   colleague  outlet_pool  sister_assigned  sister_pool  other_assigned  other_pool  unknown
marketer   log.create       ok    scope      ok           scope            scope        scope           scope       scope
marketer   funnel.move      ok    scope      ok           scope            scope        scope           scope       scope
marketer   prospect.claim   ok    scope      ok           scope            scope        scope           scope       scope
marketer   prospect.assign  role  role       role         role             role         role            role        role
marketer   audit.reveal     ok    scope      ok           scope            scope        scope           scope       scope
manager    log.create       ok    ok         ok           scope            scope        scope           scope       scope
manager    funnel.move      ok    ok         ok           scope            scope        scope           scope       scope
manager    prospect.claim   role  role       role         role             role         role            role        role
manager    prospect.assign  ok    ok         ok           scope            scope        scope           scope       scope
manager    audit.reveal     ok    ok         ok           scope            scope        scope           scope       scope
subbranch  log.create       ok    ok         ok           ok               ok           scope           scope       scope
subbranch  funnel.move      ok    ok         ok           ok               ok           scope           scope       scope
subbranch  prospect.claim   role  role       role         role             role         role            role        role
subbranch  prospect.assign  ok    ok         ok           ok               ok           scope           scope       scope
subbranch  audit.reveal     ok    ok         ok           ok               ok           scope           scope       scope
admin      log.create       ok    ok         ok           ok               ok           ok              ok          scope
admin      funnel.move      ok    ok         ok           ok               ok           ok              ok          scope
admin      prospect.claim   role  role       role         role             role         role            role        role
admin      prospect.assign  ok    ok         ok           ok               ok           ok              ok          scope
admin      audit.reveal     ok    ok         ok           ok               ok           ok              ok          scope
"""
VERDICT = {
    "ok": ("applied", ""),
    "scope": ("rejected", "prospect.out_of_scope"),
    "role": ("rejected", "auth.forbidden"),
}
EMPLOYEE = {"marketer": "M1", "manager": "G1", "subbranch": "Z1", "admin": "A1"}


def expected_table() -> dict[tuple[str, str, str], str]:
    header, *lines = [line.split() for line in EXPECTED.strip().splitlines()]
    places = header[2:]
    return {
        (role, kind, place): cell
        for role, kind, *cells in lines
        for place, cell in zip(places, cells, strict=True)
    }


TABLE = expected_table()
ROLES = list(EMPLOYEE)
# The kinds judged on a prospect; a field find's (lead.create, lead.review) is judged on
# its outlet: their matrix is tests/integration/test_field_leads.py.
KINDS = [str(k) for k in MutationKind if ACTION_OF[k] in PROSPECT_ACTIONS]
PLACES = EXPECTED.split("\n")[1].split()[2:]


def test_the_table_covers_every_role_kind_and_place():
    """A new mutation kind cannot slip past the matrix: the table must name it."""
    assert {kind for _, kind, _ in TABLE} == set(KINDS)
    assert len(TABLE) == len(ROLES) * len(KINDS) * len(PLACES)


def places(world: World) -> dict[str, list[str]]:
    """Prospect ids of each place, as many as the cells that use them."""
    return {
        "own": [p["id"] for p in world.prospects_of("M1")],
        "colleague": [p["id"] for p in world.prospects_of("M2")],
        "outlet_pool": [p["id"] for p in world.pool(world.outlet_a)],
        "sister_assigned": [p["id"] for p in world.prospects_of("M4")],
        "sister_pool": [p["id"] for p in world.pool(world.outlet_c)],
        "other_assigned": [p["id"] for p in world.prospects_of("M3")],
        "other_pool": [p["id"] for p in world.pool(world.outlet_b)],
        "unknown": [new_id() for _ in range(len(ROLES) * len(KINDS))],
    }


def payload(kind: str, prospect_id: str, pooled: bool, world: World, now: str) -> dict:
    """A well-formed payload of ``kind``: only the permission can refuse it."""
    if kind == MutationKind.LOG_CREATE:
        follow_up = (date.today() + timedelta(days=3)).isoformat()
        return {
            "id": new_id(),
            "prospect_id": prospect_id,
            "channel": "visit",
            "occurred_at": now,
            "outcome": "interested",
            "next_follow_up": follow_up,
        }
    if kind == MutationKind.FUNNEL_MOVE:  # open → closed: a step the funnel always allows
        return {
            "event_id": new_id(),
            "prospect_id": prospect_id,
            "to_status": "invalid",
            "close_reason": "duplicate",
            "occurred_at": now,
        }
    if kind == MutationKind.PROSPECT_CLAIM:
        return {"transfer_id": new_id(), "prospect_id": prospect_id, "occurred_at": now}
    if kind == MutationKind.PROSPECT_ASSIGN:  # a pool prospect to M2, an assigned one back
        return {
            "transfer_id": new_id(),
            "prospect_id": prospect_id,
            "to_user_id": world.user_id("M2") if pooled else None,
            "reason": "矩阵测试",
            "occurred_at": now,
        }
    assert kind == MutationKind.AUDIT_REVEAL
    return {"event_id": new_id(), "prospect_id": prospect_id, "field": "phone", "occurred_at": now}


def prospect_state(live_server: LiveServer, prospect_id: str) -> tuple | None:
    t = Prospect.__table__
    columns = (t.c.outlet_id, t.c.assignee_id, t.c.status, t.c.next_follow_up, t.c.last_contact_at)
    with live_server.engine.connect() as conn:
        row = conn.execute(select(*columns).where(t.c.id == prospect_id)).first()
    return None if row is None else tuple(row)


def traces(live_server: LiveServer, kind: str, data: dict) -> int:
    """Rows the mutation made: its log, funnel event, transfer or audit event."""
    table, key = {
        MutationKind.LOG_CREATE: (MarketingLog.__table__, "id"),
        MutationKind.FUNNEL_MOVE: (FunnelEvent.__table__, "event_id"),
        MutationKind.PROSPECT_CLAIM: (Transfer.__table__, "transfer_id"),
        MutationKind.PROSPECT_ASSIGN: (Transfer.__table__, "transfer_id"),
        MutationKind.AUDIT_REVEAL: (AuditEvent.__table__, "event_id"),
    }[MutationKind(kind)]
    with live_server.engine.connect() as conn:
        return len(conn.execute(select(table.c.id).where(table.c.id == data[key])).all())


def test_every_role_kind_and_place_is_answered_as_the_table_says(live_server, api):
    cells = len(ROLES) * len(KINDS)  # a fresh prospect of each place per cell
    world = build_world(live_server.engine, per_marketer=cells, pool=cells, subbranch=True)
    ids = places(world)
    pooled = {"outlet_pool", "sister_pool", "other_pool"}
    now = str(utcnow())
    got: dict[tuple[str, str, str], str] = {}
    wrong_effects: list[str] = []
    for r, role in enumerate(ROLES):
        headers = bearer(api, EMPLOYEE[role])
        cells: list[tuple[str, str, str, dict]] = []
        for k, kind in enumerate(KINDS):
            for place in PLACES:
                prospect_id = ids[place][r * len(KINDS) + k]  # a fresh prospect per cell
                cells.append(
                    (
                        kind,
                        place,
                        prospect_id,
                        payload(kind, prospect_id, place in pooled, world, now),
                    )
                )
        before = {pid: prospect_state(live_server, pid) for _, _, pid, _ in cells}
        mutations = [
            {"seq": i, "id": new_id(), "kind": kind, "payload": data, "created_at": now}
            for i, (kind, _, _, data) in enumerate(cells, start=1)
        ]
        response = api.post(
            "/sync/push",
            json={"device_id": f"matrix-{role}", "mutations": mutations},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        for (kind, place, prospect_id, data), result in zip(cells, results, strict=True):
            verdict = (result["status"], result["code"])
            got[(role, kind, place)] = next(
                (name for name, v in VERDICT.items() if v == verdict), "/".join(verdict)
            )
            made = traces(live_server, kind, data)
            if verdict[0] == "rejected":
                # a refusal leaves nothing behind: no row made, the prospect as it was
                if made or prospect_state(live_server, prospect_id) != before[prospect_id]:
                    wrong_effects.append(f"{role} {kind} {place}: refused but changed the store")
            elif kind != MutationKind.PROSPECT_CLAIM or place != "own":  # own: nothing to do
                if made != 1:
                    wrong_effects.append(f"{role} {kind} {place}: applied but left no record")

    mismatches = {cell: (TABLE[cell], got[cell]) for cell in TABLE if got[cell] != TABLE[cell]}
    assert mismatches == {}, "\n".join(
        f"{c}: expected {e}, got {g}" for c, (e, g) in mismatches.items()
    )
    assert wrong_effects == []


def test_an_outlet_manager_cannot_claim_a_pool_prospect_and_become_its_assignee(live_server, api):
    world = build_world(live_server.engine)
    prospect = world.pool(world.outlet_a)[0]["id"]
    headers = bearer(api, "G1")
    claim = {
        "seq": 1,
        "id": new_id(),
        "kind": MutationKind.PROSPECT_CLAIM,
        "payload": {"transfer_id": new_id(), "prospect_id": prospect, "occurred_at": str(utcnow())},
        "created_at": str(utcnow()),
    }
    response = api.post(
        "/sync/push", json={"device_id": "manager-1", "mutations": [claim]}, headers=headers
    )

    [result] = response.json()["results"]
    assert (result["status"], result["code"]) == ("rejected", "auth.forbidden")
    assert prospect_state(live_server, prospect)[:3] == (world.outlet_a, None, "unassigned")


def test_a_log_for_a_prospect_that_left_me_is_kept_but_leaves_its_new_plan_alone(live_server, api):
    """DESIGN §3.3: a visit logged offline before a transfer still counts (and counts as
    the customer's last contact), but the follow-up plan is the new holder's now; someone
    the prospect never belonged to cannot log on it at all."""
    world = build_world(live_server.engine)
    prospect = world.prospects_of("M1")[0]["id"]
    m1, m2, m3, g1 = (bearer(api, no) for no in ("M1", "M2", "M3", "G1"))
    visited = utcnow() - timedelta(hours=2)
    their_plan = date.today() + timedelta(days=7)

    def push(headers: dict, device: str, kind: str, data: dict) -> dict:
        mutation = {
            "seq": 1,
            "id": new_id(),
            "kind": kind,
            "payload": data,
            "created_at": str(utcnow()),
        }
        response = api.post(
            "/sync/push", json={"device_id": device, "mutations": [mutation]}, headers=headers
        )
        assert response.status_code == 200, response.text
        return response.json()["results"][0]

    def log(at: datetime, follow_up: date) -> dict:
        return {
            "id": new_id(),
            "prospect_id": prospect,
            "channel": "visit",
            "occurred_at": str(at),
            "outcome": "interested",
            "next_follow_up": follow_up.isoformat(),
        }

    transfer = {
        "transfer_id": new_id(),
        "prospect_id": prospect,
        "to_user_id": world.user_id("M2"),
        "reason": "调岗",
        "occurred_at": str(utcnow()),
    }
    assert push(g1, "g1-device", MutationKind.PROSPECT_ASSIGN, transfer)["status"] == "applied"
    m2_log = log(utcnow() - timedelta(hours=3), their_plan)
    assert push(m2, "m2-device", MutationKind.LOG_CREATE, m2_log)["status"] == "applied"

    m1_log = log(visited, date.today() + timedelta(days=1))  # made offline before the transfer
    kept = push(m1, "m1-device", MutationKind.LOG_CREATE, m1_log)
    stranger = push(m3, "m3-device", MutationKind.LOG_CREATE, log(utcnow(), date.today()))

    assert (kept["status"], kept["code"]) == ("applied", "")
    assert traces(live_server, MutationKind.LOG_CREATE, m1_log) == 1
    _, assignee, _, plan, last_contact = prospect_state(live_server, prospect)
    assert assignee == world.user_id("M2")
    assert plan == their_plan  # M2's plan stands
    assert last_contact.replace(microsecond=0) == visited.replace(microsecond=0)
    assert (stranger["status"], stranger["code"]) == ("rejected", "prospect.out_of_scope")


def test_a_sub_branch_manager_assigns_within_its_outlets_only(live_server, api):
    """Z1 hands prospects between A and C (the prospect follows its marketer's outlet) but
    not to B's marketer, another sub-branch's; G1 may not hand one to its sister C."""
    world = build_world(live_server.engine, subbranch=True)
    a, c = world.outlet_a, world.outlet_c
    z1, g1 = bearer(api, "Z1"), bearer(api, "G1")
    pool_a, pool_c = world.pool(a), world.pool(c)
    now = str(utcnow())

    def assign(headers: dict, device: str, prospect_id: str, to: str) -> tuple[str, str]:
        data = {
            "transfer_id": new_id(),
            "prospect_id": prospect_id,
            "to_user_id": world.user_id(to),
            "reason": "支行调配",
            "occurred_at": now,
        }
        mutation = {"seq": 1, "id": new_id(), "kind": "prospect.assign", "payload": data}
        response = api.post(
            "/sync/push",
            json={"device_id": device, "mutations": [{**mutation, "created_at": now}]},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        [result] = response.json()["results"]
        return result["status"], result["code"]

    assert assign(z1, "z1-device-a", pool_c[0]["id"], "M1") == ("applied", "")
    assert prospect_state(live_server, pool_c[0]["id"])[:3] == (a, world.user_id("M1"), "assigned")
    assert assign(z1, "z1-device-b", pool_a[0]["id"], "M4") == ("applied", "")
    assert prospect_state(live_server, pool_a[0]["id"])[:2] == (c, world.user_id("M4"))

    refused = ("rejected", "user.other_outlet")
    assert assign(z1, "z1-device-c", pool_a[1]["id"], "M3") == refused  # B: another sub-branch
    assert prospect_state(live_server, pool_a[1]["id"])[:2] == (a, None)
    assert assign(g1, "g1-device-a", pool_a[2]["id"], "M4") == refused  # C is not G1's outlet


def test_a_sub_branch_manager_reveals_online_within_its_outlets(live_server, api):
    """The clear value of a prospect of its sister outlet comes, audited; another
    sub-branch's reads as out of reach, like an id nobody knows."""
    world = build_world(live_server.engine, subbranch=True)
    z1 = bearer(api, "Z1")
    theirs = world.prospects_of("M4")[0]
    other = world.prospects_of("M3")[0]

    def reveal(prospect_id: str) -> httpx.Response:
        body = {"event_id": new_id(), "field": "phone", "device_id": "z1-device"}
        return api.post(f"/prospects/{prospect_id}/reveal", json=body, headers=z1)

    ok = reveal(theirs["id"])
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"field": "phone", "value": theirs["phone"]}
    with live_server.engine.connect() as conn:
        t = AuditEvent.__table__
        audited = conn.execute(select(t.c.user_id).where(t.c.prospect_id == theirs["id"])).all()
    assert [r[0] for r in audited] == [world.user_id("Z1")]
    for prospect_id in (other["id"], new_id()):
        refused = reveal(prospect_id)
        assert refused.status_code == 403
        assert refused.json()["code"] == "prospect.out_of_scope"

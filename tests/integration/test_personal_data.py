"""Personal data on devices (DESIGN.md §4), over real HTTP on SQLite and PostgreSQL.

A device holds phone numbers and credit codes in clear only for its user's own
prospects; every other row arrives masked, and revealing one is an online call the
store audits. A prospect that becomes mine arrives in clear, one that leaves me is
masked again, and checksums agree throughout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from app.config import Settings
from app.models import AuditEvent
from app.models.ids import new_id
from app.services.masking import mask_credit_code, mask_phone
from app.services.scope import Scope
from app.services.whitelist import WhitelistQuery
from app.sync import local
from app.sync.errors import CursorInvalid
from app.sync.state import StateKey
from app.workbench import Workbench
from tests.conftest import Device, LiveServer
from tests.integration.conftest import bearer
from tests.world import PASSWORD, World, build_world

_audit = AuditEvent.__table__


def signed_in(make_device, server: LiveServer, employee_no: str) -> tuple[Device, Scope]:  # type: ignore[no-untyped-def]
    device = make_device(server, employee_no)
    user = device.login(employee_no, PASSWORD)["user"]
    return device, Scope(user["id"], user["role"], user["outlet_id"])


def synced(device: Device, **kwargs: object):  # type: ignore[no-untyped-def]
    progress = device.sync(**kwargs)
    assert progress.phase == "done", progress
    return progress


def held(device: Device, prospect_id: str) -> tuple[str, str]:
    row = device.row("prospect", prospect_id)
    assert row is not None
    return row["phone"], row["credit_code"]


def clear(world: World, prospect_id: str) -> tuple[str, str]:
    p = next(p for p in world.prospects if p["id"] == prospect_id)
    return p["phone"], p["credit_code"]


def masked(world: World, prospect_id: str) -> tuple[str, str]:
    phone, code = clear(world, prospect_id)
    return mask_phone(phone), mask_credit_code(code)


def audits(server: LiveServer, prospect_id: str) -> list[tuple[str, str]]:
    with server.engine.connect() as conn:
        rows = conn.execute(
            select(_audit.c.user_id, _audit.c.action).where(_audit.c.prospect_id == prospect_id)
        )
        return [tuple(r) for r in rows]


def test_a_device_holds_clear_values_only_for_its_users_own_prospects(live_server, make_device):
    world = build_world(live_server.engine)
    m1, _ = signed_in(make_device, live_server, "M1")
    g1, _ = signed_in(make_device, live_server, "G1")
    synced(m1)
    synced(g1)

    for p in world.prospects_of("M1"):
        assert held(m1, p["id"]) == clear(world, p["id"])
    pool = world.pool(world.outlet_a)
    for p in pool:
        assert held(m1, p["id"]) == masked(world, p["id"])
    for p in pool + world.prospects_of("M1") + world.prospects_of("M2"):
        assert held(g1, p["id"]) == masked(world, p["id"])  # a manager is assigned none
    # nowhere on the device, not even in another column
    with m1.store.read() as conn:
        dump = "\n".join(str(r) for r in conn.exec_driver_sql("SELECT * FROM prospect"))
    assert not any(clear(world, p["id"])[0] in dump for p in pool)


def test_clear_values_follow_the_assignee_and_checksums_still_agree(live_server, make_device):
    world = build_world(live_server.engine)
    m1, me = signed_in(make_device, live_server, "M1")
    g1, manager = signed_in(make_device, live_server, "G1")
    synced(m1)
    synced(g1)
    pooled = world.pool(world.outlet_a)[0]["id"]
    mine = world.prospects_of("M1")[0]["id"]

    local.claim(m1.store, me, prospect_id=pooled)
    assert held(m1, pooled) == masked(world, pooled)  # a claim not yet confirmed
    synced(m1)
    assert held(m1, pooled) == clear(world, pooled)  # mine now: the store sent it again

    local.assign(g1.store, manager, prospect_id=mine, to_user_id=None, reason="退回公共池")
    synced(g1)
    progress = synced(m1, verify=True)
    assert held(m1, mine) == masked(world, mine)  # back in the pool: masked again
    assert not progress.resynced  # the checksum over (id, rev) agrees with masked rows


def test_a_cursor_issued_before_masking_makes_the_device_pull_its_scope_again(
    live_server, make_device
):
    """A device that pulled clear pool rows before masking existed must not keep them:
    its cursor (bound to the old page format) is refused and it pulls everything again."""
    world = build_world(live_server.engine)
    m1, me = signed_in(make_device, live_server, "M1")
    synced(m1)
    pooled = world.pool(world.outlet_a)[0]["id"]
    import base64
    import json

    old = {"phase": "log", "positions": {}, "scope": me.fingerprint}
    text = base64.urlsafe_b64encode(json.dumps(old).encode()).decode().rstrip("=")
    with pytest.raises(CursorInvalid):
        m1.client.pull(text)
    with m1.store.transaction() as conn:  # as an old device: clear pool values, old cursor
        conn.exec_driver_sql(
            "UPDATE prospect SET phone = ? WHERE id = ?", (clear(world, pooled)[0], pooled)
        )
        m1.store.put(conn, StateKey.CURSOR, text)

    progress = synced(m1)

    assert progress.resynced
    assert held(m1, pooled) == masked(world, pooled)


def test_the_reveal_endpoint_answers_in_reach_audits_once_and_cannot_be_probed(live_server, api):
    world = build_world(live_server.engine)
    m1 = bearer(api, "M1")
    pooled = world.pool(world.outlet_a)[0]["id"]
    event = new_id()
    body = {"event_id": event, "field": "credit_code", "device_id": "d-1"}

    first = api.post(f"/prospects/{pooled}/reveal", json=body, headers=m1)
    again = api.post(f"/prospects/{pooled}/reveal", json=body, headers=m1)  # a retry

    assert first.status_code == 200, first.text
    assert first.json() == {"field": "credit_code", "value": clear(world, pooled)[1]}
    assert again.json() == first.json()
    assert audits(live_server, pooled) == [(world.user_id("M1"), "reveal_credit_code")]

    other_outlet = world.prospects_of("M3")[0]["id"]
    colleague = world.prospects_of("M2")[0]["id"]
    answers = [
        api.post(
            f"/prospects/{pid}/reveal",
            json={"event_id": new_id(), "field": "phone"},
            headers=m1,
        )
        for pid in (other_outlet, colleague, new_id())
    ]
    assert {(r.status_code, r.text) for r in answers} == {
        (403, answers[0].text)
    }  # unknown reads exactly like out of reach
    assert answers[0].json()["code"] == "prospect.out_of_scope"
    assert audits(live_server, other_outlet) == audits(live_server, colleague) == []
    no_token = api.post(f"/prospects/{pooled}/reveal", json=body)
    assert no_token.status_code == 401


# -- the card -------------------------------------------------------------------------------


@pytest.fixture
def workbench(live_server, tmp_path) -> Iterator[tuple[World, Workbench]]:  # type: ignore[no-untyped-def]
    world = build_world(live_server.engine)
    settings = Settings(server_url=live_server.url, data_dir=tmp_path / "device")
    wb = Workbench(settings)
    yield world, wb
    wb.close()


async def test_the_card_reveals_a_pool_prospect_online_and_keeps_it_off_the_device(
    live_server, workbench
):
    world, wb = workbench
    assert await wb.login.submit("M1", PASSWORD)
    await asyncio.to_thread(wb.engine.sync_once)
    pooled = world.pool(world.outlet_a)[0]["id"]
    await wb.card.open(pooled)

    assert await wb.card.reveal("phone")

    assert wb.card.state.revealed == {"phone": clear(world, pooled)[0]}
    assert audits(live_server, pooled) == [(world.user_id("M1"), "reveal_phone")]  # at once
    with wb.store.read() as conn:
        phone = conn.exec_driver_sql("SELECT phone FROM prospect WHERE id = ?", (pooled,)).scalar()
        queued = conn.exec_driver_sql("SELECT count(*) FROM outbox").scalar()
    assert phone == mask_phone(clear(world, pooled)[0]) and queued == 0

    await wb.card.open(world.prospects_of("M1")[0]["id"])  # another card: the value is gone
    assert wb.card.state.revealed == {}


async def test_the_card_says_in_words_that_revealing_a_pool_prospect_needs_a_connection(
    live_server, workbench
):
    world, wb = workbench
    assert await wb.login.submit("M1", PASSWORD)
    await asyncio.to_thread(wb.engine.sync_once)
    pooled = world.pool(world.outlet_a)[0]["id"]
    mine = world.prospects_of("M1")[0]["id"]
    assert await wb.settings_screen.set_server_url("http://127.0.0.1:9")  # offline
    await wb.card.open(pooled)

    assert not await wb.card.reveal("phone")
    assert wb.state.notice is not None and wb.state.notice.code == "card.reveal_offline"
    assert wb.card.state.revealed == {}

    await wb.card.open(mine)  # my own: the device holds it, the audit is queued
    assert await wb.card.reveal("phone")
    assert wb.card.state.revealed == {"phone": clear(world, mine)[0]}
    with wb.store.read() as conn:
        kinds = [k for (k,) in conn.exec_driver_sql("SELECT kind FROM outbox")]
    assert kinds == ["audit.reveal"]


async def test_a_pool_prospect_is_still_found_by_the_last_four_digits_of_its_phone(
    live_server, workbench
):
    world, wb = workbench
    assert await wb.login.submit("M1", PASSWORD)
    await asyncio.to_thread(wb.engine.sync_once)
    pooled = world.pool(world.outlet_a)[0]
    me = wb.scope

    from app.queries.whitelist import query_whitelist

    def search(text: str) -> set[str]:
        q = WhitelistQuery(user_id=me.user_id, outlet_id=me.outlet_id, text=text)
        with wb.store.read() as conn:
            page = query_whitelist(conn, q, text_index=wb.store.text_index)
        return {row.id for row in page.rows}

    assert pooled["id"] in search(pooled["phone"][-4:])
    assert pooled["id"] not in search(pooled["phone"])  # the full number is not held
    with live_server.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(_audit)).scalar_one() == 0

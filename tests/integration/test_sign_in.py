"""Signing in on a device: online, then offline within the bound, and told apart in words."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from app.models.ids import utcnow
from app.sync.client import SyncClient
from app.sync.session import SignInError, resume, sign_in, sign_out
from app.sync.store import DeviceStore
from tests.conftest import free_port
from tests.world import PASSWORD, build_world


def offline_client() -> SyncClient:
    return SyncClient(httpx.Client(base_url=f"http://127.0.0.1:{free_port()}", timeout=2))


def test_online_then_offline_within_the_bound(live_server, tmp_path):
    build_world(live_server.engine)
    store = DeviceStore(tmp_path / "d.sqlite3")
    online = SyncClient(httpx.Client(base_url=live_server.url))
    with pytest.raises(SignInError) as wrong:
        sign_in(store, online, "M1", "not-the-password", offline_hours=72)
    assert wrong.value.code == "auth.invalid_credentials"

    session = sign_in(store, online, "M1", PASSWORD, offline_hours=72)
    assert session.name == "张伟" and not session.offline

    # the network is gone: the same person gets in offline, with the saved token
    offline = sign_in(store, offline_client(), "M1", PASSWORD, offline_hours=72)
    assert offline.offline and offline.token == session.token
    with pytest.raises(SignInError) as bad:
        sign_in(store, offline_client(), "M1", "guess", offline_hours=72)
    assert bad.value.code == "auth.invalid_credentials"
    with pytest.raises(SignInError) as other:
        sign_in(store, offline_client(), "M2", PASSWORD, offline_hours=72)
    assert other.value.code == "login.offline_unavailable"  # unreachable, not "wrong password"


def test_the_offline_session_expires(live_server, tmp_path):
    build_world(live_server.engine)
    store = DeviceStore(tmp_path / "d.sqlite3")
    sign_in(
        store, SyncClient(httpx.Client(base_url=live_server.url)), "M1", PASSWORD, offline_hours=72
    )
    import json

    saved = json.loads(store.state("session"))
    saved["logged_in_at"] = str(utcnow() - timedelta(hours=73))
    with store.transaction() as conn:
        store.put(conn, "session", json.dumps(saved))
    with pytest.raises(SignInError) as late:
        sign_in(store, offline_client(), "M1", PASSWORD, offline_hours=72)
    assert late.value.code == "login.offline_expired"
    assert resume(store, offline_hours=72) is None


def test_log_out_refuses_to_drop_unsynced_changes_without_consent(live_server, tmp_path):
    from app.services.marketing import new_log
    from app.services.scope import Scope
    from app.sync import local

    world = build_world(live_server.engine)
    store = DeviceStore(tmp_path / "d.sqlite3")
    client = SyncClient(httpx.Client(base_url=live_server.url))
    session = sign_in(store, client, "M1", PASSWORD, offline_hours=72)
    from app.sync.engine import SyncEngine

    SyncEngine(store, client).sync_once()
    actor = Scope(session.user_id, session.role, session.outlet_id)
    local.record_log(
        store,
        actor,
        new_log(
            prospect_id=world.prospects_of("M1")[0]["id"],
            channel="visit",
            outcome="interested",
            note="未同步",
        ),
    )
    with pytest.raises(SignInError) as refused:
        sign_out(store)
    assert refused.value.code == "settings.logout_confirm"
    assert store.state("session") is not None  # still signed in, nothing dropped
    sign_out(store, discard_pending=True)
    assert store.state("session") is None
    with store.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM outbox").scalar_one() == 0

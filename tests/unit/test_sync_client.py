"""The sync client's error boundary and the engine's phases, over ``httpx.MockTransport``.

The transport plays the central store (a small fake speaking the wire protocol);
the device store is a real SQLite file.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.i18n import t
from app.models.ids import new_id, utcnow
from app.models.sync import (
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    SYNC_COLUMNS,
    MutationKind,
    RevealPayload,
)
from app.sync import outbox
from app.sync.client import SyncClient
from app.sync.engine import SyncEngine
from app.sync.errors import (
    AuthError,
    CursorInvalid,
    InvalidCredentials,
    ProtocolTooOld,
    RequestRejected,
    ServerUnavailable,
    SyncError,
    SyncTimeout,
    TransportError,
)
from app.sync.state import StateKey, SyncPhase, SyncProgress
from app.sync.store import DeviceStore

Handler = Callable[[httpx.Request], httpx.Response]
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def client_for(handler: Handler, token: str | None = "t0k3n") -> SyncClient:
    http = httpx.Client(base_url="http://store.test", transport=httpx.MockTransport(handler))
    return SyncClient(http, token=token)


def answering(status: int, body: Any = None, *, content: bytes | None = None) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if content is not None:
            return httpx.Response(status, content=content)
        return httpx.Response(status, json=body)

    return handler


def raising(exc_type: type[httpx.HTTPError]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc_type("simulated", request=request)

    return handler


# -- the client: every failure becomes a SyncError, once ------------------------------------------


@pytest.mark.parametrize(
    "status,body,error,code",
    [
        (
            401,
            {"code": "auth.invalid_credentials", "message": "员工号或密码错误"},
            InvalidCredentials,
            "auth.invalid_credentials",
        ),
        (
            401,
            {"code": "auth.token_expired", "message": "登录已过期，请重新登录"},
            AuthError,
            "auth.token_expired",
        ),
        (
            401,
            {"code": "auth.token_missing", "message": "请先登录"},
            AuthError,
            "auth.token_missing",
        ),
        (403, {"code": "auth.inactive", "message": "该账号已停用"}, AuthError, "auth.inactive"),
        (
            409,
            {"code": "sync.cursor_invalid", "message": "同步进度已失效"},
            CursorInvalid,
            "sync.cursor_invalid",
        ),
        (409, {"code": "something.else", "message": "冲突"}, RequestRejected, "something.else"),
        (
            426,
            {"code": "protocol.too_old", "message": "客户端版本过旧，请升级"},
            ProtocolTooOld,
            "protocol.too_old",
        ),
        (
            422,
            {"code": "request.invalid", "message": "请求格式错误"},
            RequestRejected,
            "request.invalid",
        ),
        (413, {"code": "request.invalid", "message": "太多"}, RequestRejected, "request.invalid"),
        (
            500,
            {"code": "server.error", "message": "服务器内部错误"},
            ServerUnavailable,
            "sync.server",
        ),
        (503, None, ServerUnavailable, "sync.server"),
        (502, "Bad Gateway", ServerUnavailable, "sync.server"),  # a proxy's JSON string
        (504, [], ServerUnavailable, "sync.server"),
    ],
)
def test_http_errors_map_to_sync_errors(status, body, error, code):
    client = client_for(answering(status, body))
    with pytest.raises(error) as exc:
        client.pull(None)
    assert type(exc.value) is error
    assert exc.value.code == code
    assert exc.value.status == status
    if isinstance(body, dict):
        assert exc.value.message == body["message"]  # the store's words reach the user


def test_html_error_page_from_a_gateway_is_server_unavailable():
    client = client_for(answering(502, content=b"<html><h1>502 Bad Gateway</h1></html>"))
    with pytest.raises(ServerUnavailable) as exc:
        client.push("device-0001", [])
    assert exc.value.status == 502


def test_success_that_is_not_json_is_server_unavailable():
    client = client_for(answering(200, content=b"<html>captive portal login</html>"))
    with pytest.raises(ServerUnavailable):
        client.pull(None)


@pytest.mark.parametrize(
    "exc_type,error",
    [
        (httpx.ConnectTimeout, SyncTimeout),
        (httpx.ReadTimeout, SyncTimeout),
        (httpx.WriteTimeout, SyncTimeout),
        (httpx.PoolTimeout, SyncTimeout),
        (httpx.ConnectError, TransportError),
        (httpx.ReadError, TransportError),
        (httpx.RemoteProtocolError, TransportError),
    ],
)
def test_network_failures_map_to_transport_errors(exc_type, error):
    client = client_for(raising(exc_type))
    with pytest.raises(error) as exc:
        client.pull(None)
    assert type(exc.value) is error
    assert isinstance(exc.value, TransportError)
    assert exc.value.code == ("sync.timeout" if error is SyncTimeout else "sync.network")


def test_every_request_carries_the_protocol_and_the_session():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/auth/login":
            return httpx.Response(
                200,
                json={"token": "fresh", "expires_at": "2026-11-23T00:00:00", "user": {"id": "u"}},
            )
        return httpx.Response(200, json={"ok": True})

    client = client_for(handler, token=None)
    client.login("M1", "pw")
    client.pull("cur", 50)
    client.push("device-0001", [{"seq": 1}])
    client.checksum("cur")

    assert all(r.headers[PROTOCOL_HEADER] == str(PROTOCOL_VERSION) for r in seen)
    assert "authorization" not in seen[0].headers
    assert all(r.headers["authorization"] == "Bearer fresh" for r in seen[1:])
    assert dict(seen[1].url.params) == {"cursor": "cur", "limit": "50"}
    assert json.loads(seen[2].content) == {"device_id": "device-0001", "mutations": [{"seq": 1}]}
    assert seen[3].url.path == "/sync/checksum"


# -- the engine: phases the UI shows -------------------------------------------------------------


def outlet_row(outlet_id: str) -> list[Any]:
    values = dict(
        id=outlet_id,
        code=outlet_id,
        name="测试网点",
        tier="general",
        branch_name="汇川支行",
        address="",
        lat=27.7,
        lon=106.9,
        rev=1,
    )
    return [values[c] for c in SYNC_COLUMNS["outlet"]]


class FakeStore:
    """The central store in miniature: numbered cursors, every push applied."""

    def __init__(self, pages: int = 2) -> None:
        self.pages = [
            {
                "cursor": f"c{i + 1}",
                "has_more": i + 1 < pages,
                "snapshot": i + 1 < pages,
                "progress": {"done": i + 1, "total": pages},
                "entities": {
                    "outlet": {
                        "columns": list(SYNC_COLUMNS["outlet"]),
                        "rows": [outlet_row(f"o-{i}")],
                        "deletes": [],
                    }
                },
            }
            for i in range(pages)
        ]
        self.pushed: list[dict[str, Any]] = []
        self.fail: Callable[[httpx.Request], httpx.Response] | None = None
        self.gate: threading.Event | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.gate is not None:
            self.gate.wait(10)
        if self.fail is not None:
            return self.fail(request)
        return self.answer(request)

    def answer(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/sync/push":
            mutations = json.loads(request.content)["mutations"]
            self.pushed.extend(mutations)
            results = [{"seq": m["seq"], "status": "applied"} for m in mutations]
            return httpx.Response(200, json={"results": results, "last_seq": mutations[-1]["seq"]})
        if request.url.path == "/sync/pull":
            cursor = request.url.params.get("cursor")
            return httpx.Response(200, json=self.pages[0 if cursor is None else int(cursor[1:])])
        if request.url.path == "/sync/checksum":
            return httpx.Response(200, json={"cursor_seq": 0, "stale": True, "entities": {}})
        return httpx.Response(404, json={"code": "not_found", "message": "无此接口"})


@pytest.fixture
def device(tmp_path: Path) -> Iterator[DeviceStore]:
    store = DeviceStore(tmp_path / "device.sqlite3")
    yield store
    store.close()


def engine_for(store: DeviceStore, fake: FakeStore) -> tuple[SyncEngine, list[SyncProgress]]:
    engine = SyncEngine(store, client_for(fake))
    seen: list[SyncProgress] = []
    engine.subscribe(seen.append)
    return engine, seen


def phases(seen: list[SyncProgress]) -> list[SyncPhase]:
    out: list[SyncPhase] = []
    for p in seen:
        if not out or out[-1] != p.phase:
            out.append(p.phase)
    return out


def queue_reveal(store: DeviceStore) -> None:
    """One mutation in the outbox (what it says does not matter to the engine)."""
    reveal = RevealPayload(
        event_id=new_id(), prospect_id=new_id(), field="phone", occurred_at=utcnow()
    )
    with store.transaction() as conn:
        outbox.enqueue(
            conn, MutationKind.AUDIT_REVEAL, reveal.prospect_id, reveal.model_dump(mode="json")
        )


def test_engine_goes_idle_pushing_pulling_done(device):
    queue_reveal(device)
    fake = FakeStore(pages=3)
    engine, seen = engine_for(device, fake)
    assert engine.progress.phase == SyncPhase.IDLE and engine.progress.pending == 1

    progress = engine.sync_once(verify=False)

    assert phases(seen) == [SyncPhase.PUSHING, SyncPhase.PULLING, SyncPhase.DONE]
    assert progress.phase == SyncPhase.DONE and not progress.running
    assert progress.pending == 0 and progress.snapshot_complete
    assert progress.last_sync_at is not None
    pulling = [p for p in seen if p.phase == SyncPhase.PULLING]
    assert [(p.done, p.total) for p in pulling] == [(0, 0), (1, 3), (2, 3), (3, 3)]
    assert len(fake.pushed) == 1


def test_engine_verifies_when_asked(device):
    engine, seen = engine_for(device, FakeStore())
    engine.sync_once(verify=True)
    assert phases(seen) == [
        SyncPhase.PUSHING,
        SyncPhase.PULLING,
        SyncPhase.VERIFYING,
        SyncPhase.DONE,
    ]


@pytest.mark.parametrize(
    "failure,code",
    [
        (raising(httpx.ConnectError), "sync.network"),
        (raising(httpx.ReadTimeout), "sync.timeout"),
        (answering(503, {"code": "server.error", "message": "服务器内部错误"}), "sync.server"),
        (
            answering(401, {"code": "auth.token_expired", "message": "登录已过期"}),
            "auth.token_expired",
        ),
        (
            answering(426, {"code": "protocol.too_old", "message": "客户端版本过旧"}),
            "protocol.too_old",
        ),
    ],
)
def test_engine_records_failed_with_a_code_and_keeps_the_outbox(device, failure, code):
    fake = FakeStore()
    fake.fail = failure
    engine, seen = engine_for(device, fake)
    queue_reveal(device)
    queue_reveal(device)

    progress = engine.sync_once()

    assert phases(seen) == [SyncPhase.PUSHING, SyncPhase.FAILED]
    assert progress.phase == SyncPhase.FAILED and progress.error_code == code
    assert progress.pending == 2
    with device.read() as conn:
        assert outbox.count(conn) == 2
    assert device.state(StateKey.LAST_ERROR) == code
    assert device.state(StateKey.LAST_SYNC_AT) is None
    # after a restart the UI still knows what went wrong
    assert SyncEngine(device, client_for(fake)).progress.error_code == code

    fake.fail = None
    assert engine.sync_once(verify=False).phase == SyncPhase.DONE
    assert engine.progress.error_code == "" and device.state(StateKey.LAST_ERROR) is None
    assert len(fake.pushed) == 2


def test_engine_failing_mid_pull_keeps_the_pages_it_saved(device):
    fake = FakeStore(pages=3)
    engine, seen = engine_for(device, fake)

    def second_page_fails(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("cursor") == "c1":
            raise httpx.ReadError("tunnel", request=request)
        return fake.answer(request)

    fake.fail = second_page_fails
    progress = engine.sync_once(verify=False)

    assert progress.phase == SyncPhase.FAILED and progress.error_code == "sync.network"
    assert not progress.snapshot_complete
    assert device.state(StateKey.CURSOR) == "c1"


def test_engine_resyncs_when_the_store_refuses_its_cursor(device):
    fake = FakeStore(pages=1)
    engine, _ = engine_for(device, fake)
    with device.transaction() as conn:
        DeviceStore.put(conn, StateKey.CURSOR, "from-an-old-scope")
        conn.exec_driver_sql(
            "INSERT INTO outlet (id, code, name, tier, branch_name, address, lat, lon, rev)"
            " VALUES ('o-old', 'o-old', '旧网点', 'general', '支行', '', 0, 0, 5)"
        )

    def refuse_old(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("cursor") == "from-an-old-scope":
            return httpx.Response(409, json={"code": "sync.cursor_invalid", "message": "失效"})
        return fake.answer(request)

    fake.fail = refuse_old
    progress = engine.sync_once(verify=False)

    assert progress.phase == SyncPhase.DONE and progress.resynced
    with device.read() as conn:
        outlets = {r[0] for r in conn.exec_driver_sql("SELECT id FROM outlet")}
    assert outlets == {"o-0"}  # rows of the old scope are gone


async def test_start_returns_at_once_and_syncs_in_the_background(device):
    fake = FakeStore()
    fake.gate = threading.Event()
    engine, seen = engine_for(device, fake)
    queue_reveal(device)

    task = engine.start()
    await asyncio.sleep(0.05)
    assert not task.done() and engine.running  # the UI thread is free meanwhile
    assert engine.start() is task  # a second tap does not start a second sync
    fake.gate.set()
    progress = await asyncio.wait_for(task, 10)

    assert progress.phase == SyncPhase.DONE and not engine.running
    assert isinstance(progress, SyncProgress)


def test_every_sync_error_has_words_for_the_user():
    for cls in (
        TransportError,
        SyncTimeout,
        ServerUnavailable,
        AuthError,
        InvalidCredentials,
        ProtocolTooOld,
        CursorInvalid,
        RequestRejected,
    ):
        assert issubclass(cls, SyncError)
        assert CHINESE.search(t(cls.code)), cls.code

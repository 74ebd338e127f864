"""The central store's HTTP surface, over real HTTP on SQLite and PostgreSQL.

What a client (or an attacker) sees: the documented endpoints, errors as JSON with
a code and a Chinese message, tokens that expire and cannot be forged, the protocol
check, and scope and password protection enforced by the store itself.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta

import httpx
from sqlalchemy import select, update

from app.models import DeviceState, MutationRecord, User
from app.models.ids import new_id, utcnow
from app.models.sync import PROTOCOL_HEADER, PROTOCOL_VERSION, SYNC_COLUMNS
from app.server.db import write_session
from app.server.security import issue_token
from tests.world import PASSWORD, World, build_world

CHINESE = re.compile(r"[\u4e00-\u9fff]")
_user = User.__table__


def token_of(api: httpx.Client, employee_no: str) -> str:
    response = api.post("/auth/login", json={"employee_no": employee_no, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code, body
    assert CHINESE.search(body["message"]), body


def pull_everything(api: httpx.Client, token: str) -> tuple[dict[str, set[str]], str, str]:
    """All pages of a first sync: ids per entity, the raw bodies, the final cursor."""
    ids: dict[str, set[str]] = {}
    raw, cursor = [], None
    while True:
        params = {"limit": 7} | ({"cursor": cursor} if cursor else {})
        response = api.get("/sync/pull", params=params, headers=bearer(token))
        assert response.status_code == 200, response.text
        raw.append(response.text)
        page = response.json()
        for entity, bucket in page["entities"].items():
            ids.setdefault(entity, set()).update(row[0] for row in bucket["rows"])
        cursor = page["cursor"]
        if not page["has_more"]:
            return ids, "\n".join(raw), cursor


def test_openapi_lists_the_protocol_and_health_is_ok(live_server, api):
    paths = api.get("/openapi.json").json()["paths"]
    for path in ("/auth/login", "/sync/pull", "/sync/push", "/sync/checksum", "/health"):
        assert path in paths, path
    health = api.get("/health")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok"
    assert body["database"] == live_server.engine.dialect.name
    assert body["protocol"] == PROTOCOL_VERSION


def test_wrong_password_is_refused_in_chinese_without_telling_which_part(live_server, api):
    build_world(live_server.engine)
    wrong = api.post("/auth/login", json={"employee_no": "M1", "password": "wrong-password"})
    nobody = api.post("/auth/login", json={"employee_no": "X9", "password": PASSWORD})
    assert_error(wrong, 401, "auth.invalid_credentials")
    assert wrong.json() == nobody.json()  # no hint whether the employee exists
    ok = api.post("/auth/login", json={"employee_no": " M1 ", "password": PASSWORD})
    assert ok.status_code == 200
    assert ok.json()["user"]["employee_no"] == "M1"
    assert "password_hash" not in ok.json()["user"]


def test_expired_forged_or_missing_tokens_are_refused(live_server, api):
    world = build_world(live_server.engine)
    secret = live_server.app.state.settings.secret_key
    m1 = world.user_id("M1")
    good = token_of(api, "M1")
    expired, _ = issue_token(m1, secret=secret, ttl=timedelta(minutes=-1))
    other_key, _ = issue_token(world.user_id("A1"), secret="not-the-store-secret", ttl=timedelta(1))
    # M1's signature under a body that claims to be the admin
    body = (
        base64.urlsafe_b64encode(
            json.dumps({"sub": world.user_id("A1"), "exp": 4102444800}).encode()
        )
        .decode()
        .rstrip("=")
    )
    claimed = f"{body}.{good.split('.', 1)[1]}"

    cases = [
        ({}, "auth.token_missing"),
        ({"Authorization": "Basic TTE6cHc="}, "auth.token_missing"),
        (bearer(expired), "auth.token_expired"),
        (bearer(other_key), "auth.token_invalid"),
        (bearer(claimed), "auth.token_invalid"),
        (bearer("not-a-token"), "auth.token_invalid"),
        (bearer(good + "x"), "auth.token_invalid"),
        ({"Authorization": b"Bearer abc.\xe9\xe9"}, "auth.token_invalid"),
    ]
    for headers, code in cases:
        for method, path in (("GET", "/sync/pull"), ("POST", "/sync/push")):
            kwargs = (
                {"json": {"device_id": "device-0001", "mutations": []}} if method == "POST" else {}
            )
            assert_error(api.request(method, path, headers=headers, **kwargs), 401, code)

    assert api.get("/sync/pull", headers=bearer(good)).status_code == 200
    with write_session(live_server.engine) as session:  # the employee leaves the bank
        session.execute(update(_user).where(_user.c.id == m1).values(active=False))
    assert_error(api.get("/sync/pull", headers=bearer(good)), 401, "auth.token_invalid")
    login = api.post("/auth/login", json={"employee_no": "M1", "password": PASSWORD})
    assert_error(login, 403, "auth.inactive")


def test_requests_without_a_current_protocol_get_426(live_server, api):
    build_world(live_server.engine)
    token = token_of(api, "M1")
    for version in (None, "0", "abc", ""):
        headers = bearer(token) | ({PROTOCOL_HEADER: version} if version is not None else {})
        with httpx.Client(base_url=live_server.url, timeout=30) as bare:
            requests = [
                bare.get("/sync/pull", headers=headers),
                bare.post(
                    "/sync/push",
                    headers=headers,
                    json={"device_id": "device-0001", "mutations": []},
                ),
                bare.get("/sync/checksum", headers=headers, params={"cursor": "x"}),
                bare.post(
                    "/auth/login", headers=headers, json={"employee_no": "M1", "password": PASSWORD}
                ),
            ]
        for response in requests:
            assert_error(response, 426, "protocol.too_old")


def test_malformed_push_is_422_with_a_code_and_records_nothing(live_server, api):
    build_world(live_server.engine)
    headers = bearer(token_of(api, "M1"))
    now = str(utcnow())
    good = {"seq": 1, "id": new_id(), "kind": "log.create", "payload": {}, "created_at": now}
    bodies = [
        {},
        {"mutations": []},
        {"device_id": "short", "mutations": []},
        {"device_id": "device-0001", "mutations": "all of them"},
        {"device_id": "device-0001", "mutations": [good | {"seq": 0}]},
        {"device_id": "device-0001", "mutations": [good | {"created_at": "yesterday"}]},
        {"device_id": "device-0001", "mutations": [{k: v for k, v in good.items() if k != "id"}]},
    ]
    for body in bodies:
        assert_error(api.post("/sync/push", headers=headers, json=body), 422, "request.invalid")
    not_json = api.post(
        "/sync/push", headers=headers | {"content-type": "application/json"}, content=b"{not json"
    )
    assert_error(not_json, 422, "request.invalid")
    too_many = {
        "device_id": "device-0001",
        "mutations": [good | {"seq": i, "id": new_id()} for i in range(1, 502)],
    }
    assert_error(api.post("/sync/push", headers=headers, json=too_many), 413, "request.invalid")
    assert_error(
        api.get("/sync/pull", headers=headers, params={"limit": 0}), 422, "request.invalid"
    )

    with live_server.engine.connect() as conn:
        assert conn.execute(select(MutationRecord.__table__)).first() is None
        assert conn.execute(select(DeviceState.__table__)).first() is None


def test_passwords_are_stored_hashed_and_never_leave_the_store(live_server, api):
    build_world(live_server.engine)
    with live_server.engine.connect() as conn:
        hashes = [r[0] for r in conn.execute(select(_user.c.password_hash))]
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert PASSWORD not in "".join(hashes)
    assert "password_hash" not in SYNC_COLUMNS["user"]

    ids, raw, _ = pull_everything(api, token_of(api, "A1"))  # the admin receives every user
    assert len(ids["user"]) == 5
    assert "$argon2" not in raw and PASSWORD not in raw and "password" not in raw


def _scope(world: World, employee_no: str) -> set[str]:
    user = world.users[employee_no]
    if user["role"] == "admin":
        return {p["id"] for p in world.prospects}
    if user["role"] == "outlet_manager":
        return {p["id"] for p in world.prospects if p["outlet_id"] == user["outlet_id"]}
    return {p["id"] for p in world.prospects_of(employee_no) + world.pool(user["outlet_id"])}


def test_each_role_receives_exactly_its_scope_from_the_store(live_server, api):
    world = build_world(live_server.engine)
    for employee_no in ("M1", "M2", "G1", "M3", "A1"):
        ids, _, cursor = pull_everything(api, token_of(api, employee_no))
        assert ids.get("prospect", set()) == _scope(world, employee_no), employee_no
        position = api.get(
            "/sync/position", params={"cursor": cursor}, headers=bearer(token_of(api, employee_no))
        )
        assert position.json()["up_to_date"] is True
    marketers = _scope(world, "M1") | _scope(world, "M2")
    assert not _scope(world, "M1") & _scope(world, "M3")
    assert marketers == _scope(world, "G1")


def test_another_users_cursor_is_refused_everywhere(live_server, api):
    build_world(live_server.engine)
    _, _, cursor_m3 = pull_everything(api, token_of(api, "M3"))
    m1 = bearer(token_of(api, "M1"))
    assert_error(
        api.get("/sync/pull", params={"cursor": cursor_m3}, headers=m1), 409, "sync.cursor_invalid"
    )
    assert_error(
        api.get("/sync/checksum", params={"cursor": cursor_m3}, headers=m1),
        409,
        "sync.cursor_invalid",
    )
    assert_error(
        api.get("/sync/position", params={"cursor": cursor_m3}, headers=m1),
        409,
        "sync.cursor_invalid",
    )
    _, _, cursor_m1 = pull_everything(api, m1["Authorization"][7:])
    checksum = api.get("/sync/checksum", params={"cursor": cursor_m1}, headers=m1).json()
    assert checksum["stale"] is False and checksum["entities"]["prospect"]["count"] == 8

"""What an operator of the central store sees: request ids, structured logs, /metrics.

Over real HTTP on SQLite and PostgreSQL: the request id a client sends comes back
(a malformed one is replaced), each request leaves one log line naming its route
template, status, duration and user, each pushed mutation's answer is logged and
counted, and ``/metrics`` is Prometheus text that only the operators may read.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.config import Settings
from app.models.ids import new_id, utcnow
from app.server.observe import REQUEST_ID_HEADER, JsonFormatter
from tests.conftest import LiveServer
from tests.integration.conftest import bearer
from tests.world import World, build_world


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The values of one sample name, keyed by their sorted labels."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                out[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def access_lines(caplog: pytest.LogCaptureFixture, event: str) -> list[dict]:
    return [
        r.fields
        for r in caplog.records
        if r.name == "app.server.access" and r.getMessage() == event
    ]


# -- request id ------------------------------------------------------------------------


def test_the_request_id_a_client_sends_comes_back_and_a_malformed_one_is_replaced(api):
    sent = "device-7f3a:push.0042"
    assert api.get("/health", headers={REQUEST_ID_HEADER: sent}).headers[REQUEST_ID_HEADER] == sent
    # An error answer carries it too: that is when a client needs to quote it.
    refused = api.get("/sync/pull", headers={REQUEST_ID_HEADER: sent})
    assert refused.status_code == 401
    assert refused.headers[REQUEST_ID_HEADER] == sent

    for bad in ("has space", "x" * 129, 'quote"and{json}', ""):
        given = api.get("/health", headers={REQUEST_ID_HEADER: bad}).headers[REQUEST_ID_HEADER]
        assert given != bad and len(given) == 32  # a fresh one, never the client's text
    first = api.get("/health").headers[REQUEST_ID_HEADER]
    assert first != api.get("/health").headers[REQUEST_ID_HEADER]


# -- logs ------------------------------------------------------------------------------


def test_each_request_logs_one_json_line_with_route_template_status_duration_and_user(
    live_server, api, caplog
):
    world = build_world(live_server.engine)
    headers = bearer(api, "M1")
    caplog.set_level(logging.INFO, logger="app.server.access")

    api.get("/sync/pull", headers=headers | {REQUEST_ID_HEADER: "trace-1"}, params={"limit": 2})
    api.get(f"/prospects/{world.prospects[0]['id']}", headers={REQUEST_ID_HEADER: "trace-2"})

    lines = {line["request_id"]: line for line in access_lines(caplog, "request")}
    pulled = lines["trace-1"]
    assert pulled["method"] == "GET" and pulled["route"] == "/sync/pull"
    assert pulled["status"] == 200 and pulled["duration_ms"] > 0
    assert pulled["user_id"] == world.user_id("M1")
    unknown = lines["trace-2"]  # an id in an unknown path never reaches the log
    assert unknown["route"] == "<unmatched>" and unknown["status"] == 404
    assert unknown["user_id"] is None

    record = next(
        r for r in caplog.records if getattr(r, "fields", {}).get("request_id") == "trace-1"
    )
    line = json.loads(JsonFormatter().format(record))
    assert {"time", "level", "event", "request_id", "route", "status", "duration_ms"} <= set(line)
    assert line["time"].endswith("Z") and line["request_id"] == "trace-1"


# -- push results ----------------------------------------------------------------------


def _push(api: httpx.Client, headers: dict[str, str], world: World) -> dict:
    now = utcnow().replace(microsecond=0).isoformat()
    pool = world.pool(world.outlet_a)[0]["id"]
    mutations = [
        {
            "seq": 1,
            "id": new_id(),
            "kind": "prospect.claim",
            "payload": {"transfer_id": new_id(), "prospect_id": pool, "occurred_at": now},
            "created_at": now,
        },
        {"seq": 2, "id": new_id(), "kind": "funnel.move", "payload": {}, "created_at": now},
    ]
    answer = api.post(
        "/sync/push", headers=headers, json={"device_id": "device-obs-01", "mutations": mutations}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_push_is_logged_and_counted_under_each_answers_status_and_code(live_server, api, caplog):
    world = build_world(live_server.engine)
    headers = bearer(api, "M1")
    caplog.set_level(logging.INFO, logger="app.server.access")

    answer = _push(api, headers, world)
    assert [r["status"] for r in answer["results"]] == ["applied", "rejected"]

    counted = samples(api.get("/metrics").text, "puhui_push_results_total")
    applied = (("code", ""), ("kind", "prospect.claim"), ("status", "applied"))
    rejected = (("code", "mutation.invalid"), ("kind", "funnel.move"), ("status", "rejected"))
    assert counted == {applied: 1.0, rejected: 1.0}
    logged = access_lines(caplog, "push.result")
    assert [(line["seq"], line["status"], line["code"]) for line in logged] == [
        (1, "applied", ""),
        (2, "rejected", "mutation.invalid"),
    ]
    assert all(line["device_id"] == "device-obs-01" for line in logged)

    _push(api, headers, world)  # the device did not hear the answer and asks again
    again = samples(api.get("/metrics").text, "puhui_push_results_total")
    assert again == {applied: 2.0, rejected: 2.0}  # every answer given, replays included


# -- /metrics --------------------------------------------------------------------------


def test_metrics_is_prometheus_text_counting_requests_and_latency_by_route(api):
    for _ in range(3):
        api.get("/health")
    api.get("/sync/pull")  # 401: no token
    answer = api.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")

    requests = samples(answer.text, "puhui_http_requests_total")
    assert requests[(("method", "GET"), ("route", "/health"), ("status", "200"))] == 3.0
    assert requests[(("method", "GET"), ("route", "/sync/pull"), ("status", "401"))] == 1.0
    latency = samples(answer.text, "puhui_http_request_duration_seconds_count")
    assert latency[(("method", "GET"), ("route", "/health"), ("status", "200"))] == 3.0
    assert "/metrics" not in api.get("/openapi.json").json()["paths"]


def test_metrics_are_for_the_operators_only(api, store_settings: Settings, tmp_path: Path):
    # Seen from elsewhere (uvicorn trusts X-Forwarded-For from a loopback proxy).
    outside = {"X-Forwarded-For": "203.0.113.9"}
    assert api.get("/metrics", headers=outside).status_code == 403
    assert api.get("/metrics").status_code == 200  # on the store's own machine

    guarded = store_settings.model_copy(
        update={"metrics_token": "scrape-secret", "database_url": f"sqlite:///{tmp_path}/g.db"}
    )
    with LiveServer(guarded) as server, httpx.Client(base_url=server.url) as client:
        assert client.get("/metrics").status_code == 403  # loopback is not enough now
        wrong = client.get("/metrics", headers={"Authorization": "Bearer guess"})
        assert wrong.status_code == 403 and wrong.json()["code"] == "auth.forbidden"
        right = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
        assert right.status_code == 200
        assert samples(right.text, "puhui_http_requests_total")
        # Each app counts its own requests: this one never saw the other's /health.
        assert not any(
            dict(labels)["route"] == "/health"
            for labels in samples(right.text, "puhui_http_requests_total")
        )


def test_a_server_error_still_answers_with_its_request_id_and_logs_it(live_server, api, caplog):
    def broken() -> None:
        raise RuntimeError("a defect")

    # A route that fails as a defect would; the store's own routes must not (test_api_contract).
    live_server.app.add_api_route("/broken", broken)
    caplog.set_level(logging.INFO, logger="app.server")

    answer = api.get("/broken", headers={REQUEST_ID_HEADER: "trace-500"})

    assert answer.status_code == 500 and answer.json()["code"] == "server.error"
    assert answer.headers[REQUEST_ID_HEADER] == "trace-500"
    error = next(r for r in caplog.records if r.getMessage() == "unhandled error")
    assert error.request_id == "trace-500" and error.exc_info is not None
    assert "RuntimeError: a defect" in json.loads(JsonFormatter().format(error))["exception"]
    line = next(f for f in access_lines(caplog, "request") if f["request_id"] == "trace-500")
    assert line["status"] == 500 and line["route"] == "/broken"

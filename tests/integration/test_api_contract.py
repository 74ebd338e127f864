"""The store's HTTP API keeps its published contract: schemathesis over ``/openapi.json``.

Schemathesis reads the schema the running store publishes and sends generated
requests, valid and invalid, to every operation over real HTTP, on SQLite and on
PostgreSQL, once anonymously and once with a marketer's bearer token. Whatever it
sends, the store must never answer 5xx, must answer only statuses the schema
documents, with bodies and content types the schema describes: an integrator who
codes against ``/openapi.json`` meets no surprise.

The run is bounded (a few dozen examples per operation) and seeded, so CI sees the
same requests every time; a separate test pins each defect it once found.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.engine import Status, events

from app.models.sync import PROTOCOL_HEADER, PROTOCOL_VERSION
from tests.conftest import LiveServer
from tests.world import PASSWORD, build_world

MAX_EXAMPLES = 30  # per operation and phase: about 10 s a run on this machine
SEED = 20260407
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)
OPERATIONS = {
    "GET /health",
    "POST /auth/login",
    "GET /sync/pull",
    "POST /sync/push",
    "GET /sync/checksum",
    "GET /sync/position",
    "GET /stats/ranks",
}


def run_schemathesis(base_url: str, headers: dict[str, str]) -> tuple[list[str], set[str]]:
    """Each distinct failure (operation, check, status) with one request that shows it,
    and the operations that were exercised."""
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "headers": headers,
            "workers": 1,  # two shared cores; a second worker only adds noise
            "continue-on-failure": True,  # report every defect, not the first
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",  # no replay of another run's examples
            },
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        }
    )
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", config=config)
    failures: dict[str, str] = {}  # what failed -> one curl that shows it
    tested: set[str] = set()
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            if event.status != Status.SKIP:
                tested.add(event.recorder.label)
            for what, sample in _failed_checks(event.recorder):
                failures.setdefault(what, sample)
        elif isinstance(event, events.NonFatalError):
            failures.setdefault(f"{event.label}: {event.info.message}", "")
        elif isinstance(event, events.FatalError):
            failures.setdefault(f"schemathesis stopped: {event.exception!r}", "")
    return [f"{what}\n    {sample}" for what, sample in sorted(failures.items())], tested


def _failed_checks(recorder: Any) -> list[tuple[str, str]]:
    out = []
    for case_id, nodes in recorder.checks.items():
        for node in nodes:
            if node.status != Status.FAILURE or node.failure_info is None:
                continue
            interaction = recorder.interactions.get(case_id)
            status = (
                interaction.response.status_code if interaction and interaction.response else "-"
            )
            failure = node.failure_info.failure
            what = f"{recorder.label} [{node.name}] {status} {failure.title}"
            out.append((what, node.failure_info.code_sample))
    return out


def _token(server: LiveServer, employee_no: str) -> str:
    answer = httpx.post(
        f"{server.url}/auth/login",
        json={"employee_no": employee_no, "password": PASSWORD},
        headers={PROTOCOL_HEADER: str(PROTOCOL_VERSION)},
    )
    answer.raise_for_status()
    return answer.json()["token"]


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "marketer"])
def test_every_answer_is_documented_and_none_is_a_server_error(
    live_server: LiveServer, signed_in: bool
) -> None:
    build_world(live_server.engine)
    # The current protocol on every request, so generated requests reach the routes'
    # own logic instead of all stopping at the version check.
    headers = {PROTOCOL_HEADER: str(PROTOCOL_VERSION)}
    if signed_in:
        headers["Authorization"] = f"Bearer {_token(live_server, 'M1')}"

    failures, tested = run_schemathesis(live_server.url, headers)

    assert failures == [], "\n".join(failures)
    assert tested >= OPERATIONS  # a schema that lost an operation would pass unseen


# -- the defects schemathesis found, pinned ---------------------------------------------


def _documented(schema: dict[str, Any], method: str, path: str) -> set[int]:
    return {int(code) for code in schema["paths"][path][method]["responses"]}


def test_openapi_documents_the_error_statuses_each_route_answers(live_server: LiveServer) -> None:
    """Before, every route documented only 200 and 422, yet answered 401 without a
    token, 409 for a damaged cursor, 400 for an unreadable body, 413 and 426."""
    schema = httpx.get(f"{live_server.url}/openapi.json").json()
    assert _documented(schema, "post", "/auth/login") >= {200, 400, 401, 403, 422, 426}
    assert _documented(schema, "post", "/sync/push") >= {200, 400, 401, 413, 422, 426}
    for path in ("/sync/pull", "/sync/checksum", "/sync/position"):
        assert _documented(schema, "get", path) >= {200, 401, 409, 422, 426}, path
    assert _documented(schema, "get", "/stats/ranks") >= {200, 401, 426}
    # Errors are documented with the body they really have, not FastAPI's default.
    login_422 = schema["paths"]["/auth/login"]["post"]["responses"]["422"]
    assert login_422["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")


def test_a_damaged_cursor_is_answered_as_documented(live_server: LiveServer) -> None:
    build_world(live_server.engine)
    headers = {
        PROTOCOL_HEADER: str(PROTOCOL_VERSION),
        "Authorization": f"Bearer {_token(live_server, 'M1')}",
    }
    schema = httpx.get(f"{live_server.url}/openapi.json").json()
    for path in ("/sync/pull", "/sync/checksum", "/sync/position"):
        answer = httpx.get(f"{live_server.url}{path}", params={"cursor": "0"}, headers=headers)
        assert answer.status_code == 409
        assert answer.json()["code"] == "sync.cursor_invalid"
        assert answer.status_code in _documented(schema, "get", path)


def test_a_control_character_in_the_employee_number_is_refused_in_words(
    live_server: LiveServer,
) -> None:
    """Before, a NUL in the employee number reached PostgreSQL, which refused the query:
    the store answered 500 "server error" instead of saying what was wrong."""
    answer = httpx.post(
        f"{live_server.url}/auth/login",
        json={"employee_no": "M\x001", "password": PASSWORD},
        headers={PROTOCOL_HEADER: str(PROTOCOL_VERSION)},
    )
    assert answer.status_code == 422
    assert answer.json()["code"] == "request.invalid"
    assert "employee_no" in answer.json()["message"]

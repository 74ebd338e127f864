"""The import and batch calls of the sync client, and the import screen's controller, over
``httpx.MockTransport`` playing the central store's ``/admin/imports`` contract."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.i18n import t
from app.models.imports import ImportMode, ImportRequest
from app.models.sync import PROTOCOL_HEADER
from app.sync.client import SyncClient
from app.sync.errors import AuthError, RequestRejected, TransportError
from app.workbench import Workbench

Handler = Callable[[httpx.Request], httpx.Response]
CSV = "企业名称,统一社会信用代码\n甲商贸,91520303E2E000013C\n".encode("gbk")

PREVIEW = {
    "file_name": "list.csv",
    "encoding": "gbk",
    "headers": ["企业名称", "统一社会信用代码", "备注"],
    "mapping": {"企业名称": "company_name", "统一社会信用代码": "credit_code"},
    "unknown_headers": ["备注"],
    "total": 3,
    "valid": 2,
    "bad": 1,
    "problems": [
        {
            "line": 4,
            "column": "统一社会信用代码",
            "code": "import.credit_code_invalid",
            "message": "统一社会信用代码校验位错误",
            "value": "91520303E2E0000800",
        }
    ],
    "problems_total": 1,
    "outlets": {"GZ-ZY-001": 2},
}
RESULT = {
    "batch_id": "b1",
    "version": 1,
    "added": 2,
    "updated": 0,
    "unchanged": 0,
    "withdrawn": 0,
    "reinstated": 0,
    "rows_bad": 1,
}


def form_of(request: httpx.Request) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """The multipart body's fields and files, read back the way a server would."""
    from email.parser import BytesParser
    from email.policy import default

    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = BytesParser(policy=default).parsebytes(head + request.content)
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True) or b""
        if filename:
            files[name] = (filename, payload)
        else:
            fields[name] = payload.decode()
    return fields, files


class FakeStore:
    """Answers the import contract and remembers what it was sent."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, str], dict[str, tuple[str, bytes]]]] = []
        self.preview = dict(PREVIEW)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        assert request.headers[PROTOCOL_HEADER]
        assert request.headers["Authorization"] == "Bearer t0k3n"
        if request.method == "GET" and path == "/admin/batches":
            return httpx.Response(200, json={"batches": [batch()]})
        if request.method == "GET" and path.endswith("/versions"):
            return httpx.Response(200, json={"versions": [version()]})
        fields, files = form_of(request)
        self.seen.append((path, fields, files))
        if path == "/admin/imports/preview":
            return httpx.Response(200, json=self.preview)
        if path == "/admin/imports/report":
            return httpx.Response(200, content=b"PK\x03\x04xlsx")
        if path == "/admin/imports":
            if fields.get("mode", "all") == "all" and self.preview["bad"]:
                return httpx.Response(422, json={"code": "import.has_errors", "message": "有错误"})
            return httpx.Response(201, json=RESULT)
        return httpx.Response(404, json={"code": "not_found", "message": ""})


def batch(**over: Any) -> dict[str, Any]:
    return {
        "id": "b1",
        "name": "2026 年首贷白名单",
        "product": "经营快贷",
        "source": "head_office",
        "version": 2,
        "valid_from": "2026-01-01",
        "valid_until": "2026-06-30",
        "created_at": "2026-01-01T02:00:00",
        "expired": True,
        "total": 12,
        "withdrawn": 1,
        "by_status": {"unassigned": 10, "assigned": 2},
        "by_outlet": [{"outlet_id": "o1", "code": "GZ-ZY-001", "name": "汇川", "count": 12}],
        **over,
    }


def version() -> dict[str, Any]:
    return {
        "version": 1,
        "file_name": "list.csv",
        "mode": "valid_only",
        "imported_at": "2026-01-01T02:00:00",
        "imported_by": "u1",
        "imported_by_name": "周志英",
        "rows_total": 3,
        "rows_bad": 1,
        "added": 2,
        "updated": 0,
        "unchanged": 0,
        "withdrawn": 0,
    }


def client_for(handler: Handler) -> SyncClient:
    http = httpx.Client(base_url="http://store.test", transport=httpx.MockTransport(handler))
    return SyncClient(http, token="t0k3n")


def test_a_preview_uploads_the_file_with_its_name_datum_and_mapping():
    store = FakeStore()
    found = client_for(store).import_preview(
        CSV, "list.csv", ImportRequest(datum="gcj02", mapping={"备注": "tags"})
    )
    path, fields, files = store.seen[0]
    assert path == "/admin/imports/preview"
    assert files["file"] == ("list.csv", CSV)
    assert fields["datum"] == "gcj02"
    assert json.loads(fields["mapping"]) == {"备注": "tags"}
    assert "mode" not in fields and "name" not in fields  # a preview stores nothing
    assert (found.total, found.valid, found.bad) == (3, 2, 1)
    assert found.problems[0].line == 4 and found.outlets == {"GZ-ZY-001": 2}


def test_a_commit_sends_the_mode_and_the_batch_and_a_reimport_only_its_id():
    store = FakeStore()
    client = client_for(store)
    request = ImportRequest(
        mode=ImportMode.VALID_ONLY,
        name="首贷",
        product="快贷",
        source="branch",
        valid_from=date(2026, 1, 1),
        valid_until=date(2026, 6, 30),
    )
    result = client.import_commit(CSV, "list.csv", request)
    _, fields, _ = store.seen[-1]
    assert fields == {
        "datum": "wgs84",
        "mode": "valid_only",
        "name": "首贷",
        "product": "快贷",
        "source": "branch",
        "valid_from": "2026-01-01",
        "valid_until": "2026-06-30",
    }
    assert (result.batch_id, result.added, result.rows_bad) == ("b1", 2, 1)

    again = request.model_copy(update={"batch_id": "b1"})
    client.import_commit(CSV, "list.csv", again)
    _, fields, _ = store.seen[-1]
    assert fields == {"datum": "wgs84", "batch_id": "b1", "mode": "valid_only"}


def test_the_store_refusing_all_with_bad_rows_is_a_coded_rejection():
    with pytest.raises(RequestRejected) as caught:
        client_for(FakeStore()).import_commit(CSV, "list.csv", ImportRequest())
    assert caught.value.code == "import.has_errors" and caught.value.status == 422


def test_the_report_is_the_workbook_bytes():
    assert client_for(FakeStore()).import_report(CSV, "a.xlsx", ImportRequest()).startswith(b"PK")


def test_batches_and_versions_are_typed():
    client = client_for(FakeStore())
    (b,) = client.batches().batches
    assert b.expired and b.valid_until == date(2026, 6, 30) and b.by_outlet[0].count == 12
    (v,) = client.batch_versions("b1").versions
    assert v.mode == "valid_only" and v.imported_by_name == "周志英"


def test_a_manager_without_rights_or_network_gets_the_usual_errors():
    def forbidden(_r: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"code": "auth.forbidden", "message": "无权"})

    def down(_r: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    with pytest.raises(AuthError):
        client_for(forbidden).batches()
    with pytest.raises(TransportError):
        client_for(down).import_preview(CSV, "a.csv", ImportRequest())


# -- the controller ------------------------------------------------------------------------


@pytest.fixture
def workbench(tmp_path):  # type: ignore[no-untyped-def]
    wb = Workbench(Settings(server_url="http://store.test", data_dir=tmp_path / "device"))
    yield wb
    wb.close()


def served_by(workbench: Workbench, handler: Handler) -> list[str]:
    """Point the workbench's client at ``handler``; returns the list of spawned jobs."""
    workbench.client.http = httpx.Client(
        base_url="http://store.test", transport=httpx.MockTransport(handler)
    )
    workbench.client.token = "t0k3n"
    spawned: list[str] = []
    workbench.spawn = lambda work: spawned.append(getattr(work, "__name__", "?"))  # type: ignore[method-assign]
    return spawned


async def test_choosing_a_file_previews_it_and_bad_rows_allow_only_the_valid_ones(workbench):
    store = FakeStore()
    served_by(workbench, store)
    imports = workbench.imports
    await imports.choose_file("list.csv", CSV)

    s = imports.state
    assert s.preview is not None and s.preview.bad == 1 and not s.error_code
    assert not imports.can_import_all and imports.can_import_valid
    imports.set_meta(name="首贷")
    imports.ask(ImportMode.ALL)
    assert s.confirm == ""  # 全部导入 is not offered while a row is bad
    imports.ask(ImportMode.VALID_ONLY)
    assert s.confirm == "valid_only"


async def test_a_mapping_and_a_datum_preview_again_with_them(workbench):
    store = FakeStore()
    served_by(workbench, store)
    imports = workbench.imports
    await imports.choose_file("list.csv", CSV)
    await imports.map_header("备注", "tags")
    await imports.set_datum("bd09")
    _, fields, _ = store.seen[-1]
    assert fields["datum"] == "bd09" and json.loads(fields["mapping"]) == {"备注": "tags"}
    assert len(store.seen) == 3


async def test_commit_valid_only_shows_the_result_and_syncs(workbench):
    store = FakeStore()
    spawned = served_by(workbench, store)
    imports = workbench.imports
    await imports.choose_file("list.csv", CSV)
    imports.set_meta(name="首贷", product="快贷", source="field")
    imports.ask(ImportMode.VALID_ONLY)
    result = await imports.commit()

    assert result is not None and imports.state.result == result
    _, fields, _ = store.seen[-1]
    assert fields["mode"] == "valid_only" and fields["source"] == "field"
    assert "sync_in_background" in spawned and "load_batches" in spawned
    assert imports.state.preview is None and not imports.has_file  # done with that file
    assert workbench.state.notice is not None and workbench.state.notice.code == "admin.imported"


async def test_a_batch_needs_a_name_and_sensible_dates(workbench):
    served_by(workbench, FakeStore())
    imports = workbench.imports
    await imports.choose_file("list.csv", CSV)
    imports.ask(ImportMode.VALID_ONLY)
    assert imports.state.error_code == "admin.name_required" and not imports.state.confirm
    imports.set_meta(name="首贷", valid_from="2026-06-01", valid_until="2026-01-01")
    imports.ask(ImportMode.VALID_ONLY)
    assert imports.state.error_code == "admin.dates_reversed"
    imports.set_meta(valid_until="2026-13-01")
    imports.ask(ImportMode.VALID_ONLY)
    assert imports.state.error_code == "admin.date_invalid"


async def test_a_reimport_needs_no_meta_and_names_its_batch(workbench):
    store = FakeStore()
    served_by(workbench, store)
    imports = workbench.imports
    await imports.load_batches()
    (b,) = imports.batches.batches
    await imports.new_version_of(b)
    await imports.choose_file("list.csv", CSV)
    imports.ask(ImportMode.VALID_ONLY)
    assert imports.state.confirm == "valid_only"
    await imports.commit()
    path, fields, _ = store.seen[-1]
    assert path == "/admin/imports" and fields["batch_id"] == "b1" and "name" not in fields


async def test_offline_says_the_import_needs_the_network(workbench):
    def down(_r: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    served_by(workbench, down)
    imports = workbench.imports
    await imports.choose_file("list.csv", CSV)
    assert imports.state.error_code == "admin.needs_online"
    assert imports.state.busy == "" and imports.state.preview is None
    assert "需要联网" in t(imports.state.error_code)
    await imports.load_batches()
    assert imports.batches.error_code == "admin.needs_online"


async def test_the_stores_refusal_of_a_file_shows_its_code(workbench):
    def refuse(_r: httpx.Request) -> httpx.Response:
        return httpx.Response(413, json={"code": "import.too_large", "message": "文件太大"})

    served_by(workbench, refuse)
    await workbench.imports.choose_file("big.csv", CSV)
    s = workbench.imports.state
    assert (s.error_code, s.error_message) == ("import.too_large", "文件太大")


async def test_an_empty_file_is_refused_on_the_device(workbench):
    store = FakeStore()
    served_by(workbench, store)
    await workbench.imports.choose_file("empty.csv", b"")
    assert workbench.imports.state.error_code == "admin.file_empty" and not store.seen


def test_problems_read_in_the_users_language_without_losing_their_details():
    from app.views.admin import words

    # Chinese: the store's own words, details filled in
    assert (
        words("import.outlet_unknown", "网点代码“X”不存在", "zh", code="X") == "网点代码“X”不存在"
    )
    # English: ours where we can fill them in, else the store's rather than a blank
    assert words("import.outlet_unknown", "网点代码“X”不存在", "en", code="X", value="X") == (
        'No outlet has the code "X"'
    )
    assert words("import.duplicate_in_file", "与第 3 行重复", "en") == "与第 3 行重复"
    assert "network" in words("admin.needs_online", "connection refused", "en")
    # any refusal whose words need details the code alone lacks: the store's, whole
    assert words("share.user_required", "营销人员份额须指明员工", "en") == "营销人员份额须指明员工"
    assert words("share.user_required", "营销人员份额须指明员工", "zh") == "营销人员份额须指明员工"
    # and one that needs none: ours, in the user's language
    assert words("auth.forbidden", "无权限", "en") == t("auth.forbidden", "en")

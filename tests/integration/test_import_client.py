"""The device's import calls against the real central store (SQLite and PostgreSQL): an
outlet manager previews a messy file, reads its problems and report, is refused 全部导入,
imports the valid rows only, sees the batch and its version, and the outlet's marketer's
device pulls the new prospects with its next sync."""

from __future__ import annotations

import csv
import io
from datetime import date

import openpyxl
import pytest

from app.models.imports import ImportMode, ImportRequest
from app.services.validation import make_credit_code
from app.sync.errors import AuthError, RequestRejected
from tests.world import PASSWORD, build_world

HEAD = ["企业名称", "统一社会信用代码", "联系电话", "行业", "地址", "经度", "纬度"]
HEAD += ["预授信额度(万元)", "网点代码", "评分", "客户经理备注"]


def messy_csv() -> tuple[bytes, list[str]]:
    """Four good rows for outlet T-001, one bad check character, one for outlet T-002
    (not the manager's), in GBK; and the good rows' names."""
    codes = [make_credit_code("520303", f"ATG{i:05d}") for i in range(1, 7)]
    wrong = codes[5][:17] + ("0" if codes[5][17] != "0" else "1")
    good = [f"导入测试{n}商贸有限公司" for n in "甲乙丙丁"]
    rows = [
        [good[0], codes[0], "13885201001", "批发零售", "汇川区上海路1号", "106.935", "27.707"],
        [good[1], codes[1], "0851-28221234", "餐饮", "汇川区上海路2号", "106.936", "27.708"],
        [good[2], codes[2], "13885201003", "餐饮", "汇川区上海路3号", "106.934", "27.706"],
        [good[3], codes[3], "13885201004", "批发零售", "汇川区上海路4号", "106.933", "27.705"],
        ["导入测试戊商行", wrong, "13885201005", "餐饮", "汇川区上海路5号", "106.93", "27.70"],
        ["导入测试己商行", codes[4], "13885201006", "餐饮", "红花岗区中华路2号", "106.91", "27.69"],
    ]
    outlet = ["T-001"] * 5 + ["T-002"]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEAD)
    for row, code in zip(rows, outlet, strict=True):
        w.writerow([*row, "50", code, "80", "备注"])
    return buf.getvalue().encode("gbk"), good


META = ImportRequest(
    name="集成测试白名单",
    product="经营快贷",
    valid_from=date(2026, 1, 1),
    valid_until=date(2099, 12, 31),
)


def test_a_manager_imports_the_valid_rows_and_the_marketer_pulls_them(live_server, make_device):
    world = build_world(live_server.engine, per_marketer=2, pool=1)
    manager = make_device(live_server, "manager")
    manager.login("G1", PASSWORD)
    marketer = make_device(live_server, "marketer")
    marketer.login("M1", PASSWORD)
    marketer.sync()
    before = marketer.ids()
    content, good = messy_csv()
    client = manager.client

    found = client.import_preview(content, "messy.csv", META)
    assert (found.total, found.valid, found.bad) == (6, 4, 2)
    assert found.encoding.lower().startswith("g")  # GBK or GB18030, detected
    assert found.outlets == {"T-001": 4}
    assert found.unknown_headers == ["客户经理备注"]
    by_line = {p.line: p for p in found.problems}
    assert set(by_line) == {6, 7}
    assert by_line[6].column == "统一社会信用代码" and by_line[6].message
    # the contract: out of scope (an outlet the store knows), not unknown
    assert by_line[7].code == "import.outlet_out_of_scope"

    report = client.import_report(content, "messy.csv", META)
    sheet = openpyxl.load_workbook(io.BytesIO(report)).active
    assert sheet is not None and sheet.max_row >= 3  # a header and the two problems

    with pytest.raises(RequestRejected) as refused:
        client.import_commit(content, "messy.csv", META)
    assert refused.value.code == "import.has_errors"
    before_batches = {b.id for b in client.batches().batches}
    assert META.name not in {b.name for b in client.batches().batches}  # nothing stored

    done = client.import_commit(
        content, "messy.csv", META.model_copy(update={"mode": ImportMode.VALID_ONLY})
    )
    assert (done.version, done.added, done.rows_bad) == (1, 4, 2)

    (batch,) = [b for b in client.batches().batches if b.id not in before_batches]
    assert (batch.name, batch.total, batch.expired) == ("集成测试白名单", 4, False)
    assert [(o.code, o.count) for o in batch.by_outlet] == [("T-001", 4)]
    (version,) = client.batch_versions(batch.id).versions
    assert (version.mode, version.rows_total, version.rows_bad, version.added) == (
        "valid_only",
        6,
        2,
        4,
    )

    marketer.sync()
    new = marketer.ids() - before
    assert len(new) == 4
    with marketer.store.read() as conn:
        names = {r[0] for r in conn.exec_driver_sql("SELECT company_name FROM prospect")}
    assert set(good) <= names
    assert world.outlet_a  # the rows went to the manager's own outlet


def test_a_marketer_may_not_import(live_server, make_device):
    build_world(live_server.engine, per_marketer=1, pool=0)
    device = make_device(live_server, "marketer")
    device.login("M1", PASSWORD)
    content, _ = messy_csv()
    with pytest.raises(AuthError):
        device.client.import_preview(content, "messy.csv", META)
    with pytest.raises(AuthError):
        device.client.batches()

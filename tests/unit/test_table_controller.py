"""The table view's selection, sort direction and pages (the controller alone, no store);
the bulk notice's words."""

from __future__ import annotations

from types import SimpleNamespace

from app.i18n import t
from app.services.whitelist import TableRow, TableSort
from app.sync.local import BulkResult
from app.workbench.table import TABLE_PAGE, TableController, bulk_notice


def _row(pid: str) -> TableRow:
    return TableRow(pid, f"公司{pid}", "assigned", None, None, 100_000, 60, None, None, "o1")


def _controller(rows: list[str], total: int | None = None) -> TableController:
    tables = TableController(SimpleNamespace(session=None))  # type: ignore[arg-type]
    tables.state.rows = [_row(p) for p in rows]
    tables.state.total = len(rows) if total is None else total
    return tables


def test_ticks_by_row_and_by_page_keep_other_pages_ticks():
    tables = _controller(["a", "b", "c"])
    assert tables.state.page_selected is False
    tables.toggle("b", True)
    assert tables.state.selected == ["b"] and tables.state.page_selected is None
    tables.state.selected = ["x", "b"]  # "x": ticked on another page
    tables.toggle_page(True)
    assert tables.state.selected == ["x", "a", "b", "c"] and tables.state.page_selected is True
    tables.toggle_page(False)
    assert tables.state.selected == ["x"]
    tables.toggle("x", False)
    tables.clear_selection()
    assert tables.state.selected == []


async def test_a_heading_sorts_its_natural_way_first_then_the_other():
    tables = _controller(["a"], total=3 * TABLE_PAGE + 1)
    assert tables.state.pages == 4
    await tables.go(9)
    assert tables.state.page == 3
    await tables.sort_by(TableSort.SCORE)  # largest first
    assert (tables.state.sort, tables.state.descending, tables.state.page) == ("score", True, 0)
    await tables.sort_by(TableSort.SCORE)
    assert tables.state.descending is False
    await tables.sort_by(TableSort.COMPANY)  # A to Z first
    assert (tables.state.sort, tables.state.descending) == ("company", False)
    await tables.go(-1)
    assert tables.state.page == 0


def test_the_bulk_notice_counts_what_went_and_what_was_refused():
    done = BulkResult(assigned=["a", "b"], unchanged=["c"], refused={"d": "prospect.out_of_scope"})
    code, params = bulk_notice(done, "张伟")
    assert t(code, "zh", **params) == "已分配 3 个给 张伟，1 个不在您的范围内"
    code, params = bulk_notice(BulkResult(assigned=["a"]), None)
    assert t(code, "zh", **params) == "已退回公海 1 个，将在下次同步时上传"
    assert t(code, "en", **params) == "Returned 1 to the pool; uploaded at the next sync"

"""Follow-ups due: the marketer's open prospects whose follow-up date has come, worst first."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, text

from app.queries.followups import due_followups
from app.services.followups import FollowUpRow, split_due
from app.services.marketing import new_log
from app.services.scope import Scope
from app.sync import local
from app.sync.store import DeviceStore

TODAY = date(2026, 3, 25)


def _prospect(
    conn: Connection,
    id: str,
    assignee: str | None,
    status: str,
    follow_up: str | None,
    line: int = 100_000,
    **extra: Any,
) -> None:
    row = dict(
        id=id,
        batch_id="K",
        company_name=f"公司{id}",
        credit_code=f"CC-{id}",
        legal_rep=f"法人{id}",
        phone="13800000000",
        industry="批发零售",
        address="",
        lat=27.7,
        lon=106.9,
        pre_approved_line=line,
        score=70,
        tags="[]",
        outlet_id="A",
        assignee_id=assignee,
        status=status,
        disbursed_amount=None,
        last_contact_at=None,
        next_follow_up=follow_up,
        updated_at="2026-01-01 00:00:00",
        rev=1,
    )
    row.update(extra)
    cols = ", ".join(row)
    marks = ", ".join(f":{c}" for c in row)
    conn.execute(text(f"INSERT INTO prospect ({cols}) VALUES ({marks})"), row)


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    s = DeviceStore(tmp_path / "d.sqlite3")
    with s.transaction() as conn:
        _prospect(
            conn,
            "late3-small",
            "M1",
            "contacted",
            "2026-03-22",
            100_000,
            last_contact_at="2026-03-15 02:00:00",
        )
        _prospect(conn, "late3-big", "M1", "interested", "2026-03-22", 500_000)
        _prospect(conn, "late1", "M1", "approved", "2026-03-24", 900_000)
        _prospect(conn, "late40", "M1", "assigned", "2026-02-13", 50_000)
        _prospect(conn, "today-a", "M1", "applied", "2026-03-25", 200_000)
        _prospect(conn, "today-b", "M1", "assigned", "2026-03-25", 300_000)
        _prospect(conn, "tomorrow", "M1", "contacted", "2026-03-26", 800_000)
        _prospect(conn, "no-date", "M1", "contacted", None)
        _prospect(conn, "disbursed", "M1", "disbursed", "2026-03-01")
        _prospect(conn, "declined", "M1", "declined", "2026-03-01")
        _prospect(conn, "invalid", "M1", "invalid", "2026-03-01")
        _prospect(conn, "colleague", "M2", "contacted", "2026-03-01")
        _prospect(conn, "pool", None, "unassigned", "2026-03-01")
    yield s
    s.close()


def test_overdue_most_overdue_first_then_larger_line(store: DeviceStore) -> None:
    with store.read() as conn:
        due = due_followups(conn, "M1", TODAY)
    assert [(r.prospect_id, r.days_overdue) for r in due.overdue] == [
        ("late40", 40),
        ("late3-big", 3),
        ("late3-small", 3),
        ("late1", 1),
    ]
    assert [(r.prospect_id, r.days_overdue) for r in due.today] == [("today-b", 0), ("today-a", 0)]
    assert due.total == 6


def test_rows_carry_what_the_list_shows(store: DeviceStore) -> None:
    with store.read() as conn:
        due = due_followups(conn, "M1", TODAY)
    row = next(r for r in due.overdue if r.prospect_id == "late3-small")
    assert row == FollowUpRow(
        prospect_id="late3-small",
        company_name="公司late3-small",
        legal_rep="法人late3-small",
        status="contacted",
        pre_approved_line=100_000,
        next_follow_up=date(2026, 3, 22),
        last_contact_at=datetime(2026, 3, 15, 2, 0),
        days_overdue=3,
    )


def test_closed_others_and_undated_prospects_are_never_due(store: DeviceStore) -> None:
    with store.read() as conn:
        due = due_followups(conn, "M1", TODAY)
        later = due_followups(conn, "M1", date(2026, 3, 26))
        colleague = due_followups(conn, "M2", TODAY)
    ids = {r.prospect_id for r in due.overdue + due.today}
    assert not ids & {
        "tomorrow",
        "no-date",
        "disbursed",
        "declined",
        "invalid",
        "colleague",
        "pool",
    }
    assert [r.prospect_id for r in later.today] == ["tomorrow"]  # a day later it is due
    assert [r.prospect_id for r in colleague.overdue] == ["colleague"]


def test_a_new_log_moves_the_follow_up(store: DeviceStore) -> None:
    """Logging the overdue visit with a new date takes it off today's list."""
    me = Scope(user_id="M1", role="marketer", outlet_id="A")
    local.record_log(
        store,
        me,
        new_log(
            prospect_id="late40",
            channel="visit",
            outcome="considering",
            next_follow_up=date(2026, 4, 1),
        ),
    )
    local.record_log(
        store,
        me,
        new_log(
            prospect_id="tomorrow", channel="phone", outcome="interested", next_follow_up=TODAY
        ),
    )
    with store.read() as conn:
        due = due_followups(conn, "M1", TODAY)
    assert "late40" not in {r.prospect_id for r in due.overdue}
    assert [r.prospect_id for r in due.today] == ["tomorrow", "today-b", "today-a"]


def test_nothing_due_on_an_empty_device(tmp_path: Path) -> None:
    s = DeviceStore(tmp_path / "e.sqlite3")
    with s.read() as conn:
        due = due_followups(conn, "M1", TODAY)
    s.close()
    assert due.overdue == [] and due.today == [] and due.total == 0


def test_split_due_on_plain_rows() -> None:
    def row(pid: str, day: date, line: int) -> FollowUpRow:
        return FollowUpRow(pid, pid, "", "contacted", line, day, None, (TODAY - day).days)

    rows = [
        row("b", date(2026, 3, 25), 1),
        row("c", date(2026, 3, 26), 9),  # not yet due
        row("a", date(2026, 3, 20), 1),
        row("d", date(2026, 3, 20), 5),
    ]
    due = split_due(rows, TODAY)
    assert [r.prospect_id for r in due.overdue] == ["d", "a"]
    assert [r.prospect_id for r in due.today] == ["b"]

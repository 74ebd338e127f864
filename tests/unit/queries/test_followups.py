"""Follow-ups: the marketer's open prospects with a follow-up date, overdue to later, by date."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, text

from app.queries.followups import planned_followups
from app.services.followups import FollowUpRow, split_followups
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
        _prospect(conn, "in2", "M1", "interested", "2026-03-27", 100_000)
        _prospect(conn, "in7-small", "M1", "assigned", "2026-04-01", 100_000)
        _prospect(conn, "in5", "M1", "contacted", "2026-03-30", 100_000)
        _prospect(conn, "in7-big", "M1", "contacted", "2026-04-01", 400_000)
        _prospect(conn, "in8", "M1", "contacted", "2026-04-02", 900_000)
        _prospect(conn, "in60", "M1", "applied", "2026-05-24", 100_000)
        _prospect(conn, "colleague-tomorrow", "M2", "contacted", "2026-03-26")
        _prospect(conn, "closed-tomorrow", "M1", "disbursed", "2026-03-26")
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
        due = planned_followups(conn, "M1", TODAY)
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
        due = planned_followups(conn, "M1", TODAY)
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
        due = planned_followups(conn, "M1", TODAY)
        later = planned_followups(conn, "M1", date(2026, 3, 26))
        colleague = planned_followups(conn, "M2", TODAY)
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
        due = planned_followups(conn, "M1", TODAY)
    assert "late40" not in {r.prospect_id for r in due.overdue}
    assert [r.prospect_id for r in due.today] == ["tomorrow", "today-b", "today-a"]


def test_nothing_due_on_an_empty_device(tmp_path: Path) -> None:
    s = DeviceStore(tmp_path / "e.sqlite3")
    with s.read() as conn:
        due = planned_followups(conn, "M1", TODAY)
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
    due = split_followups(rows, TODAY)
    assert [r.prospect_id for r in due.overdue] == ["d", "a"]
    assert [r.prospect_id for r in due.today] == ["b"]
    assert [r.prospect_id for r in due.tomorrow] == ["c"]  # not yet due: planned
    assert (due.total, due.upcoming) == (3, 1)


def test_upcoming_tomorrow_the_next_7_days_and_later(store: DeviceStore) -> None:
    """A marketer plans ahead: tomorrow, two to seven days ahead, then later; by date, and
    the larger line first on the same day."""
    with store.read() as conn:
        plan = planned_followups(conn, "M1", TODAY)
    assert [r.prospect_id for r in plan.tomorrow] == ["tomorrow"]
    assert [(r.prospect_id, r.next_follow_up) for r in plan.week] == [
        ("in2", date(2026, 3, 27)),
        ("in5", date(2026, 3, 30)),
        ("in7-big", date(2026, 4, 1)),  # seven days ahead: still this section
        ("in7-small", date(2026, 4, 1)),
    ]
    assert [r.prospect_id for r in plan.later] == ["in8", "in60"]
    assert plan.upcoming == 7 and plan.total == 6  # due now: unchanged by what is planned
    assert plan.week[0].days_overdue == -2  # ahead of today
    everyone = plan.overdue + plan.today + plan.tomorrow + plan.week + plan.later
    assert not {r.prospect_id for r in everyone} & {
        "colleague-tomorrow",
        "closed-tomorrow",
        "no-date",
        "pool",
    }


def test_sections_move_with_the_days(store: DeviceStore) -> None:
    """Tomorrow's follow-up is today's a day later, and overdue the day after."""
    with store.read() as conn:
        days = [planned_followups(conn, "M1", TODAY + timedelta(days=n)) for n in range(3)]
    ids = lambda rows: {r.prospect_id for r in rows}  # noqa: E731
    assert "tomorrow" in ids(days[0].tomorrow)
    assert "tomorrow" in ids(days[1].today)
    late = next(r for r in days[2].overdue if r.prospect_id == "tomorrow")
    assert late.days_overdue == 1

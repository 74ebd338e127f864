"""A prospect's timeline: logs, funnel events and transfers merged, newest first."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, text

from app.queries.timeline import timeline
from app.services.marketing import new_log
from app.services.scope import Scope
from app.services.timeline import Party, TimelineItem, TimelineKind, newest_first
from app.sync import local
from app.sync.store import DeviceStore

ME = Scope(user_id="M1", role="marketer", outlet_id="A")


def _insert(conn: Connection, table: str, **row: Any) -> None:
    cols = ", ".join(f'"{c}"' for c in row)
    marks = ", ".join(f":{c}" for c in row)
    conn.execute(text(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})'), row)


def _prospect(conn: Connection, id: str, status: str) -> None:
    _insert(
        conn,
        "prospect",
        id=id,
        batch_id="K",
        company_name="遵义测试商贸有限公司",
        credit_code=f"CC-{id}",
        legal_rep="赵六",
        phone="13800000000",
        industry="批发零售",
        address="",
        lat=27.7,
        lon=106.9,
        pre_approved_line=500_000,
        score=70,
        tags="[]",
        outlet_id="A",
        assignee_id="M1",
        status=status,
        updated_at="2026-03-01 00:00:00",
        rev=1,
    )


def _event(
    conn: Connection,
    id: str,
    prospect: str,
    actor: str,
    a: str,
    b: str,
    at: str,
    applied: bool = True,
    reason: str = "",
    amount: int | None = None,
) -> None:
    _insert(
        conn,
        "funnel_event",
        id=id,
        prospect_id=prospect,
        actor_id=actor,
        from_status=a,
        to_status=b,
        applied=applied,
        reason_code=reason,
        amount=amount,
        occurred_at=at,
        recorded_at=at,
        rev=5,
    )


def _transfer(
    conn: Connection,
    id: str,
    prospect: str,
    from_user: str | None,
    to_user: str | None,
    by: str,
    at: str,
    reason: str = "",
    to_outlet: str = "A",
) -> None:
    _insert(
        conn,
        "transfer",
        id=id,
        prospect_id=prospect,
        from_user_id=from_user,
        to_user_id=to_user,
        from_outlet_id="A",
        to_outlet_id=to_outlet,
        by_user_id=by,
        reason=reason,
        created_at=at,
        rev=6,
    )


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    s = DeviceStore(tmp_path / "d.sqlite3")
    with s.transaction() as conn:
        for oid, name in [("A", "汇川网点"), ("B", "红花岗网点")]:
            _insert(
                conn,
                "outlet",
                id=oid,
                code=oid,
                name=name,
                tier="general",
                branch_name="汇川支行",
                address="",
                lat=27.7,
                lon=106.9,
                rev=1,
            )
        for uid, name, role in [
            ("M1", "张伟", "marketer"),
            ("M2", "李娜", "marketer"),
            ("G1", "王强", "outlet_manager"),
        ]:
            _insert(
                conn,
                "user",
                id=uid,
                employee_no=uid,
                name=name,
                role=role,
                outlet_id="A",
                active=True,
                password_hash="",
                rev=1,
            )
        _prospect(conn, "p", "approved")
        _prospect(conn, "other", "contacted")
        _transfer(conn, "t1", "p", None, "M1", "G1", "2026-03-01 01:00:00")
        _event(conn, "e1", "p", "G1", "unassigned", "assigned", "2026-03-01 01:00:00")
        _insert(
            conn,
            "marketing_log",
            id="l1",
            prospect_id="p",
            author_id="M1",
            channel="phone",
            occurred_at="2026-03-02 02:00:00",
            outcome="interested",
            note="有意向，下周再谈",
            next_follow_up="2026-03-05",
            attachments="[]",
            device_id="d",
            recorded_at="2026-03-02 02:01:00",
            rev=3,
        )
        _event(conn, "e2", "p", "M1", "assigned", "contacted", "2026-03-02 02:05:00")
        _event(conn, "e2b", "p", "M1", "contacted", "interested", "2026-03-02 03:00:00")
        # A stale offline move, judged after e2b though its device clock said earlier.
        _event(
            conn,
            "e3",
            "p",
            "M2",
            "interested",
            "contacted",
            "2026-03-02 02:30:00",
            applied=False,
            reason="funnel.backwards",
        )
        _transfer(conn, "t2", "p", "M1", "M2", "G1", "2026-03-04 08:00:00", reason="调岗")
        _transfer(conn, "t3", "p", "M2", None, "ghost", "2026-03-06 08:00:00", to_outlet="B")
        _event(conn, "e4", "p", "M2", "interested", "approved", "2026-03-07 02:00:00")
        _event(conn, "x1", "other", "M1", "assigned", "contacted", "2026-03-07 02:00:00")
    local.record_log(
        s,
        ME,
        new_log(
            prospect_id="p",
            channel="visit",
            outcome="agreed_to_apply",
            note="已签约",
            occurred_at=datetime(2026, 3, 8, 2, 0),
        ),
    )
    local.move_funnel(
        s,
        ME,
        prospect_id="p",
        to_status="disbursed",
        amount=250_000,
        occurred_at=datetime(2026, 3, 9, 2, 0),
    )
    yield s
    s.close()


def test_everything_merged_newest_first(store: DeviceStore) -> None:
    with store.read() as conn:
        items = timeline(conn, "p", include_outbox=True, me="M1")
    assert [(i.kind.value, i.id if not i.pending else "pending") for i in items] == [
        ("status", "pending"),  # the disbursement moved offline, 03-09
        ("log", "pending"),  # the visit logged offline, 03-08
        ("status", "e4"),
        ("transfer", "t3"),
        ("transfer", "t2"),
        ("status", "e2b"),
        ("status", "e3"),
        ("status", "e2"),
        ("log", "l1"),
        ("status", "e1"),  # same second as t1: status first, always
        ("transfer", "t1"),
    ]
    assert all(i.when <= j.when for j, i in zip(items, items[1:], strict=False))


def test_log_items(store: DeviceStore) -> None:
    with store.read() as conn:
        items = timeline(conn, "p")
    l1 = next(i for i in items if i.id == "l1")
    assert l1 == TimelineItem(
        kind=TimelineKind.LOG,
        id="l1",
        when=datetime(2026, 3, 2, 2, 0),
        actor_id="M1",
        actor_name="张伟",
        pending=False,
        channel="phone",
        outcome="interested",
        note="有意向，下周再谈",
        next_follow_up=date(2026, 3, 5),
    )
    local_log = next(i for i in items if i.kind == TimelineKind.LOG and i.pending)
    assert (local_log.channel, local_log.outcome, local_log.note) == (
        "visit",
        "agreed_to_apply",
        "已签约",
    )
    assert (local_log.actor_name, local_log.when) == ("张伟", datetime(2026, 3, 8, 2, 0))


def test_status_items_keep_refused_moves(store: DeviceStore) -> None:
    with store.read() as conn:
        items = {i.id: i for i in timeline(conn, "p")}
    e3 = items["e3"]
    assert (e3.kind, e3.from_status, e3.to_status) == (
        TimelineKind.STATUS,
        "interested",
        "contacted",
    )
    assert (e3.applied, e3.reason_code, e3.actor_name) == (False, "funnel.backwards", "李娜")
    e4 = items["e4"]
    assert (e4.applied, e4.reason_code, e4.pending) == (True, "", False)


def test_a_move_still_in_the_outbox_shows_as_pending_on_request(store: DeviceStore) -> None:
    with store.read() as conn:
        mine = timeline(conn, "p", include_outbox=True, me="M1")[0]
        anonymous = timeline(conn, "p", include_outbox=True)[0]
        plain = timeline(conn, "p")
    assert mine.kind == TimelineKind.STATUS and mine.pending
    # From what the store last applied (e4: approved), not yet judged.
    assert (mine.from_status, mine.to_status, mine.applied) == ("approved", "disbursed", None)
    assert (mine.amount, mine.actor_id, mine.actor_name) == (250_000, "M1", "张伟")
    assert (anonymous.actor_id, anonymous.actor_name) == (None, None)
    # By default only what the store recorded, plus local logs.
    assert [i.pending for i in plain if i.kind == TimelineKind.STATUS] == [False] * 5
    assert len(plain) == 10


def test_a_move_back_from_the_store_is_shown_once(store: DeviceStore) -> None:
    """The pulled event and its outbox row can coexist for a moment: one item, not pending."""
    with store.read() as conn:
        event_id = timeline(conn, "p", include_outbox=True)[0].id
    with store.transaction() as conn:
        _event(
            conn,
            event_id,
            "p",
            "M1",
            "approved",
            "disbursed",
            "2026-03-09 02:00:00",
            amount=250_000,
        )
    with store.read() as conn:
        items = [i for i in timeline(conn, "p", include_outbox=True) if i.id == event_id]
    assert len(items) == 1
    assert (items[0].pending, items[0].applied, items[0].from_status) == (False, True, "approved")


def test_transfer_items_name_people_and_the_pool(store: DeviceStore) -> None:
    with store.read() as conn:
        items = {i.id: i for i in timeline(conn, "p")}
    t2 = items["t2"]
    assert (t2.from_user_name, t2.to_user_name, t2.actor_name, t2.reason) == (
        "张伟",
        "李娜",
        "王强",
        "调岗",
    )
    assert t2.when == datetime(2026, 3, 4, 8, 0)
    t3 = items["t3"]
    assert (t3.to_user_id, t3.to_user_name) == (None, None)  # back to the pool
    assert (t3.actor_id, t3.actor_name) == ("ghost", None)  # someone this device does not know
    assert (t3.from_outlet_name, t3.to_outlet_name) == ("汇川网点", "红花岗网点")
    t1 = items["t1"]
    assert (t1.from_user_id, t1.to_user_name) == (None, "张伟")


def test_other_prospects_and_empty_timelines(store: DeviceStore) -> None:
    with store.read() as conn:
        assert [i.id for i in timeline(conn, "other")] == ["x1"]
        assert timeline(conn, "nobody") == []


def test_unreadable_outbox_rows_are_skipped(store: DeviceStore) -> None:
    with store.transaction() as conn:
        conn.execute(
            text(
                "INSERT INTO outbox (seq, mutation_id, kind, entity_id, payload, created_at,"
                " attempts) VALUES (999, 'm', 'funnel.move', 'p', '{\"to_status\": 1}',"
                " '2026-03-09 00:00:00', 0)"
            )
        )
    with store.read() as conn:
        assert len(timeline(conn, "p", include_outbox=True)) == 11


def test_newest_first_on_plain_items() -> None:
    at = datetime(2026, 3, 1, 8, 0)
    items = [
        TimelineItem(TimelineKind.TRANSFER, "t", at, None, None),
        TimelineItem(TimelineKind.LOG, "b", at, None, None),
        TimelineItem(TimelineKind.LOG, "a", at, None, None),
        TimelineItem(TimelineKind.STATUS, "s", at, None, None),
        TimelineItem(TimelineKind.LOG, "z", datetime(2026, 3, 2), None, None),
    ]
    assert [i.id for i in newest_first(items)] == ["z", "s", "a", "b", "t"]


def test_pending_moves_chain_from_the_last_known_status(store: DeviceStore) -> None:
    local.move_funnel(
        store,
        ME,
        prospect_id="other",
        to_status="interested",
        occurred_at=datetime(2026, 3, 10, 2, 0),
    )
    local.move_funnel(
        store, ME, prospect_id="other", to_status="applied", occurred_at=datetime(2026, 3, 10, 3, 0)
    )
    with store.read() as conn:
        items = timeline(conn, "other", include_outbox=True, me="M1")
    assert [(i.from_status, i.to_status, i.pending) for i in items] == [
        ("interested", "applied", True),
        ("contacted", "interested", True),
        ("assigned", "contacted", False),
    ]


def test_transfer_titles_tell_the_pool_from_staff_of_other_outlets(store: DeviceStore) -> None:
    """A device holds only its own outlet's staff: someone it does not know is named by
    their outlet, never mistaken for the pool."""
    with store.transaction() as conn:
        _insert(
            conn,
            "transfer",
            id="t9",
            prospect_id="p",
            from_user_id="far-away",
            to_user_id="M1",
            from_outlet_id="B",
            to_outlet_id="A",
            by_user_id="admin",
            reason="",
            created_at="2026-03-08 08:00:00",
            rev=6,
        )
    with store.read() as conn:
        items = {i.id: i for i in timeline(conn, "p")}
    assert items["t9"].transfer_title("zh") == "红花岗网点人员 → 张伟"
    assert items["t9"].transfer_title("en") == "staff of 红花岗网点 → 张伟"
    assert items["t3"].transfer_title("zh") == "李娜 → 待领取池"
    assert items["t1"].transfer_title("zh") == "待领取池 → 张伟"
    nowhere = Party.of("far-away", None, None)
    assert nowhere.text("zh") == "其他网点人员"


def test_a_log_shows_how_far_its_own_fix_lay_from_the_address_and_none_without(
    store: DeviceStore,
) -> None:
    """The distance is the check-in's (the device's fix) to the registered address; a log
    without a fix has none: nothing else stands in for it."""
    for lat, lon, note in [(27.7, 106.91, "定位"), (None, None, "无定位")]:
        local.record_log(
            store,
            ME,
            new_log(
                prospect_id="other",
                channel="visit",
                outcome="considering",
                note=note,
                lat=lat,
                lon=lon,
            ),
        )
    with store.read() as conn:
        logs = {i.note: i for i in timeline(conn, "other") if i.kind == TimelineKind.LOG}
    assert logs["定位"].check_in_km == pytest.approx(0.99, abs=0.02)
    assert logs["无定位"].check_in_km is None


def test_a_closing_move_keeps_its_reason_pending_and_from_the_store(store: DeviceStore) -> None:
    with store.transaction() as conn:
        _event(conn, "e9", "p", "M1", "contacted", "invalid", "2026-03-10 02:00:00")
        conn.execute(
            text(
                "UPDATE funnel_event SET close_reason = 'duplicate', close_note = '重复'"
                " WHERE id = 'e9'"
            )
        )
    local.move_funnel(
        store, ME, prospect_id="other", to_status="declined", close_reason="not_interested"
    )
    with store.read() as conn:
        judged = {i.id: i for i in timeline(conn, "p")}["e9"]
        pending = timeline(conn, "other", include_outbox=True, me="M1")[0]
    assert (judged.close_reason, judged.close_note) == ("duplicate", "重复")
    assert (pending.pending, pending.to_status) == (True, "declined")
    assert (pending.close_reason, pending.close_note) == ("not_interested", "")

"""Applying pulled pages and making local changes on a real device SQLite file.

No central store here: pages are built by hand in the wire format of
``app.models.sync``; the pull phase talks to an ``httpx.MockTransport``.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import text

from app.models.ids import new_id
from app.models.marketing_log import MarketingLogCreate
from app.models.sync import SYNC_COLUMNS
from app.services.marketing import new_log
from app.services.scope import Scope
from app.sync import local, outbox
from app.sync.apply import PageError, apply_page, local_checksums, reset_for_resync
from app.sync.client import SyncClient
from app.sync.errors import TransportError
from app.sync.pull import pull_all
from app.sync.state import StateKey
from app.sync.store import DeviceStore

ME = Scope(user_id="u-m1", role="marketer", outlet_id="o-a")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DeviceStore]:
    s = DeviceStore(tmp_path / "device.sqlite3")
    yield s
    s.close()


def row(entity: str, **values: Any) -> list[Any]:
    defaults: dict[str, dict[str, Any]] = {
        "prospect": dict(
            batch_id="b-1",
            company_name="遵义测试商贸有限公司",
            credit_code="91520300MA6D00001X",
            legal_rep="赵六",
            phone="13800000001",
            industry="批发零售",
            address="遵义市汇川区上海路1号",
            lat=27.7,
            lon=106.9,
            pre_approved_line=300_000,
            score=80,
            tags="[]",
            outlet_id="o-a",
            assignee_id="u-m1",
            status="assigned",
            disbursed_amount=None,
            last_contact_at=None,
            next_follow_up=None,
            updated_at="2026-11-01 08:00:00",
            rev=1,
        ),
        "marketing_log": dict(
            prospect_id="?",
            author_id="u-m1",
            channel="visit",
            occurred_at="2026-11-02 10:00:00",
            outcome="interested",
            note="",
            next_follow_up=None,
            lat=None,
            lon=None,
            attachments="[]",
            device_id="d-1",
            recorded_at="2026-11-02 10:05:00",
            rev=2,
        ),
        "funnel_event": dict(
            prospect_id="?",
            actor_id="u-m1",
            from_status="assigned",
            to_status="contacted",
            applied=True,
            reason_code="",
            close_reason="",
            close_note="",
            amount=None,
            occurred_at="2026-11-02 10:00:00",
            recorded_at="2026-11-02 10:05:00",
            rev=3,
        ),
        "transfer": dict(
            prospect_id="?",
            from_user_id=None,
            to_user_id="u-m1",
            from_outlet_id="o-a",
            to_outlet_id="o-a",
            by_user_id="u-g1",
            reason="",
            created_at="2026-11-01 08:00:00",
            rev=4,
        ),
    }
    merged = {"id": new_id(), **defaults[entity], **values}
    return [merged[c] for c in SYNC_COLUMNS[entity]]


def page(
    cursor: str,
    *,
    snapshot: bool = False,
    done: int = 0,
    total: int = 0,
    **entities: tuple[list[list[Any]], list[str]],
) -> dict[str, Any]:
    return {
        "cursor": cursor,
        "has_more": False,
        "snapshot": snapshot,
        "progress": {"done": done, "total": total},
        "entities": {
            name: {"columns": list(SYNC_COLUMNS[name]), "rows": rows, "deletes": deletes}
            for name, (rows, deletes) in entities.items()
        },
    }


def apply(store: DeviceStore, p: dict[str, Any]) -> None:
    with store.transaction() as conn:
        apply_page(conn, p)


def ids(store: DeviceStore, entity: str = "prospect") -> set[str]:
    with store.read() as conn:
        return {r[0] for r in conn.exec_driver_sql(f'SELECT id FROM "{entity}"')}


def status(store: DeviceStore, prospect_id: str) -> str:
    with store.read() as conn:
        return str(
            conn.execute(
                text("SELECT status FROM prospect WHERE id = :i"), {"i": prospect_id}
            ).scalar_one()
        )


# -- a page and its cursor land together -------------------------------------------------------


def _bad_pages() -> list[Any]:
    good = [row("prospect"), row("prospect")]
    short = row("prospect")[:-3]
    no_prospect = row("marketing_log", prospect_id=None)
    unknown_column = page("c2", prospect=(good, []))
    unknown_column["entities"]["prospect"]["columns"][2] = "secret_column"
    unknown_entity = page("c2", prospect=(good, []))
    unknown_entity["entities"]["salary"] = {"columns": ["id"], "rows": [["x"]], "deletes": []}
    log_without_prospect = page(
        "c2", snapshot=True, done=9, total=9, prospect=(good, []), marketing_log=([no_prospect], [])
    )
    return [
        pytest.param(log_without_prospect, id="log-row-without-its-prospect"),
        pytest.param(page("c2", prospect=(good + [short], [])), id="row-with-too-few-values"),
        pytest.param(unknown_column, id="unknown-column"),
        pytest.param(unknown_entity, id="unknown-entity"),
    ]


@pytest.mark.parametrize("bad", _bad_pages())
def test_page_with_a_bad_row_rolls_back_its_rows_and_its_cursor(store, bad):
    first = row("prospect")
    apply(store, page("c1", snapshot=True, done=1, total=10, prospect=([first], [])))

    with pytest.raises((sqlite3.Error, PageError)):
        apply(store, bad)

    assert ids(store) == {first[0]}
    assert ids(store, "marketing_log") == set()
    assert store.state(StateKey.CURSOR) == "c1"
    assert store.state(StateKey.SNAPSHOT_DONE) == "1"
    assert store.state(StateKey.SNAPSHOT_COMPLETE) is None


def test_prospect_removed_from_scope_takes_its_history_along(store):
    gone, kept = row("prospect"), row("prospect")
    history = {
        entity: [row(entity, prospect_id=gone[0]), row(entity, prospect_id=kept[0])]
        for entity in ("marketing_log", "funnel_event", "transfer")
    }
    apply(
        store,
        page("c1", prospect=([gone, kept], []), **{e: (rows, []) for e, rows in history.items()}),
    )

    apply(store, page("c2", prospect=([], [gone[0]])))

    assert ids(store) == {kept[0]}
    for entity, rows in history.items():
        assert ids(store, entity) == {rows[1][0]}, entity


def test_whitelist_is_complete_only_after_the_last_snapshot_page(store):
    apply(
        store,
        page(
            "c1", snapshot=True, done=2, total=3, prospect=([row("prospect"), row("prospect")], [])
        ),
    )
    assert store.state(StateKey.SNAPSHOT_COMPLETE) is None
    assert (store.state(StateKey.SNAPSHOT_DONE), store.state(StateKey.SNAPSHOT_TOTAL)) == ("2", "3")
    apply(store, page("c2", snapshot=False, prospect=([row("prospect")], [])))
    assert store.state(StateKey.SNAPSHOT_COMPLETE) == "1"
    assert len(ids(store)) == 3


def test_pending_local_move_is_not_undone_by_a_pull(store):
    prospect = row("prospect", status="assigned")
    apply(store, page("c1", prospect=([prospect], [])))
    local.move_funnel(store, ME, prospect_id=prospect[0], to_status="contacted")

    # the store has not heard of the move yet and sends the row again (e.g. a new phone)
    apply(
        store,
        page("c2", prospect=([row("prospect", id=prospect[0], phone="13900000000", rev=9)], [])),
    )

    assert status(store, prospect[0]) == "contacted"


def test_resync_forgets_the_stores_rows_but_keeps_unsynced_work(store):
    prospect = row("prospect")
    apply(store, page("c1", snapshot=False, prospect=([prospect], [])))
    log_id = local.record_log(
        store,
        ME,
        new_log(prospect_id=prospect[0], channel="phone", outcome="considering", note="还没上传"),
    )

    with store.transaction() as conn:
        reset_for_resync(conn)

    assert ids(store) == set()
    assert ids(store, "marketing_log") == {log_id}
    with store.read() as conn:
        assert outbox.count(conn) == 1
        assert all(v["count"] == 0 for v in local_checksums(conn).values())
    assert store.state(StateKey.CURSOR) is None
    assert store.state(StateKey.SNAPSHOT_COMPLETE) is None
    assert store.state(StateKey.NEXT_SEQ) == "2"  # sequences go on where they were


# -- a local change and its outbox row commit together -------------------------------------------


def test_local_change_and_its_outbox_row_commit_together(store):
    prospect = row("prospect")
    apply(store, page("c1", prospect=([prospect], [])))
    with store.transaction() as conn:  # the outbox write fails (a full disk, say)
        conn.exec_driver_sql(
            "CREATE TRIGGER outbox_full BEFORE INSERT ON outbox"
            " BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )

    with pytest.raises(Exception, match="disk full"):
        local.record_log(
            store,
            ME,
            new_log(
                prospect_id=prospect[0], channel="visit", outcome="interested", next_follow_up=None
            ),
        )
    with pytest.raises(Exception, match="disk full"):
        local.move_funnel(store, ME, prospect_id=prospect[0], to_status="contacted")

    assert ids(store, "marketing_log") == set()  # no log without its outbox row
    assert status(store, prospect[0]) == "assigned"
    with store.read() as conn:
        assert conn.exec_driver_sql("SELECT last_contact_at FROM prospect").scalar_one() is None
    assert store.state(StateKey.NEXT_SEQ) is None


def test_local_change_refused_by_the_rules_writes_nothing(store):
    prospect = row("prospect", status="applied")
    apply(store, page("c1", prospect=([prospect], [])))
    with pytest.raises(local.LocalError) as exc:
        local.move_funnel(store, ME, prospect_id=prospect[0], to_status="contacted")
    assert exc.value.code == "funnel.backwards"
    with pytest.raises(local.LocalError):
        local.record_log(
            store, ME, new_log(prospect_id=new_id(), channel="visit", outcome="interested")
        )
    with store.read() as conn:
        assert outbox.count(conn) == 0
    assert ids(store, "marketing_log") == set()


# -- pull: page by page, resumable -------------------------------------------------------------


def test_pull_interrupted_by_the_network_resumes_from_the_last_saved_page(store):
    pages = [
        page(f"c{i + 1}", snapshot=i < 3, done=i + 1, total=4, prospect=([row("prospect")], []))
        for i in range(4)
    ]
    for p in pages[:-1]:
        p["has_more"] = True
    seen: list[str | None] = []
    broken = {"after": 2}

    def handler(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("cursor")
        seen.append(cursor)
        if len(seen) > broken["after"]:
            raise httpx.ConnectError("no signal in the market", request=request)
        index = 0 if cursor is None else int(cursor[1:])
        return httpx.Response(200, json=pages[index])

    client = SyncClient(
        httpx.Client(base_url="http://store", transport=httpx.MockTransport(handler)), token="t"
    )
    with pytest.raises(TransportError):
        pull_all(store, client)
    assert store.state(StateKey.CURSOR) == "c2" and len(ids(store)) == 2
    assert store.state(StateKey.SNAPSHOT_COMPLETE) is None

    broken["after"] = 99
    seen.clear()
    pull_all(store, client)

    assert seen == ["c2", "c3"]  # resumed, not restarted
    assert len(ids(store)) == 4
    assert store.state(StateKey.SNAPSHOT_COMPLETE) == "1"
    assert store.state(StateKey.CURSOR) == "c4"


# -- the device refuses what the store would refuse, before saving ------------------------------


def _contact(store: DeviceStore, prospect_id: str) -> tuple[Any, Any]:
    with store.read() as conn:
        return tuple(
            conn.execute(
                text("SELECT last_contact_at, next_follow_up FROM prospect WHERE id = :i"),
                {"i": prospect_id},
            ).one()
        )


def _nothing_queued(store: DeviceStore) -> bool:
    with store.read() as conn:
        return outbox.count(conn) == 0


@pytest.mark.parametrize(
    "bad",
    [
        {"channel": "carrier pigeon"},
        {"lat": 91.0, "lon": 106.9},
        {"lat": math.nan, "lon": 1.0},
        {"lat": 27.7},
        {"occurred_at": datetime(9999, 1, 1)},
        {"note": "长" * 501},
        {"note": "\x00"},
        {"attachments": ["photo.jpg"]},
    ],
    ids=repr,
)
def test_a_log_the_wire_model_refuses_is_never_saved(store, bad):
    prospect = row("prospect")
    apply(store, page("c1", prospect=([prospect], [])))
    good = new_log(
        prospect_id=prospect[0],
        channel="visit",
        outcome="interested",
        next_follow_up=date.today() + timedelta(days=3),
    )
    with pytest.raises(ValidationError):  # built as the form's caller builds it
        new_log(
            **{
                "prospect_id": prospect[0],
                "channel": "visit",
                "outcome": "interested",
                **{k: v for k, v in bad.items() if k != "attachments"},
                "attachments": bad.get("attachments", ()),
            }
        )
    smuggled = MarketingLogCreate.model_construct(**(good.model_dump() | bad))  # not validated

    with pytest.raises(local.LocalError) as refused:
        local.record_log(store, ME, smuggled)

    assert refused.value.code == "mutation.invalid"
    assert ids(store, "marketing_log") == set() and _nothing_queued(store)
    assert _contact(store, prospect[0]) == (None, None)


def test_a_log_moves_last_contact_forward_only_and_the_newest_sets_the_plan(store):
    prospect = row("prospect")
    apply(store, page("c1", prospect=([prospect], [])))
    later, earlier = datetime(2026, 11, 20, 2, 0), datetime(2026, 11, 18, 2, 0)
    plan = date.today() + timedelta(days=7)
    local.record_log(
        store,
        ME,
        new_log(prospect_id=prospect[0], channel="visit", outcome="interested", occurred_at=later),
    )
    local.record_log(
        store,
        ME,
        new_log(
            prospect_id=prospect[0],
            channel="phone",
            outcome="considering",
            occurred_at=earlier,
            next_follow_up=plan,
        ),
    )

    assert _contact(store, prospect[0]) == (str(later), plan.isoformat())
    with store.read() as conn:
        queued = [
            json.loads(p)
            for (p,) in conn.exec_driver_sql("SELECT payload FROM outbox ORDER BY seq")
        ]
    assert [MarketingLogCreate.model_validate(q).occurred_at for q in queued] == [later, earlier]


def _user(user_id: str, role: str, outlet_id: str | None) -> list[Any]:
    return [user_id, user_id.upper(), user_id, role, outlet_id, True, 1]


OTHER_POOL = dict(id="p-b-pool", outlet_id="o-b", assignee_id=None, status="unassigned")
OUR_POOL = dict(id="p-a-pool", outlet_id="o-a", assignee_id=None, status="unassigned")
MANAGER = Scope(user_id="u-g1", role="outlet_manager", outlet_id="o-a")


@pytest.mark.parametrize(
    ("actor", "change", "code"),
    [
        (ME, lambda s, a: local.claim(s, a, prospect_id="p-b-pool"), "prospect.out_of_scope"),
        (ME, lambda s, a: local.claim(s, a, prospect_id="p-m2"), "prospect.out_of_scope"),
        (MANAGER, lambda s, a: local.claim(s, a, prospect_id="p-a-pool"), "auth.forbidden"),
        (
            ME,
            lambda s, a: local.assign(s, a, prospect_id="p-a-pool", to_user_id="u-m1"),
            "auth.forbidden",
        ),
        (
            MANAGER,
            lambda s, a: local.assign(s, a, prospect_id="p-b-pool", to_user_id="u-m1"),
            "prospect.out_of_scope",
        ),
        (
            MANAGER,
            lambda s, a: local.assign(s, a, prospect_id="p-a-pool", to_user_id="u-m3"),
            "user.other_outlet",
        ),
        (
            MANAGER,
            lambda s, a: local.assign(s, a, prospect_id="p-a-pool", to_user_id="u-g1"),
            "user.not_marketer",
        ),
        (
            MANAGER,
            lambda s, a: local.assign(s, a, prospect_id="p-a-pool", to_user_id="ghost"),
            "user.not_found",
        ),
        (
            ME,
            lambda s, a: local.move_funnel(s, a, prospect_id="p-m2", to_status="contacted"),
            "prospect.out_of_scope",
        ),
        (
            ME,
            lambda s, a: local.record_reveal(s, a, prospect_id="p-b-pool", field="phone"),
            "prospect.out_of_scope",
        ),
        (  # a colleague's prospect that was never mine takes no log from me
            ME,
            lambda s, a: local.record_log(
                s, a, new_log(prospect_id="p-m2", channel="visit", outcome="interested")
            ),
            "prospect.out_of_scope",
        ),
        (
            ME,
            lambda s, a: local.move_funnel(s, a, prospect_id="p-mine", to_status="assigned"),
            "funnel.use_claim",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_the_device_refuses_what_the_policy_refuses_and_queues_nothing(store, actor, change, code):
    apply(
        store,
        page(
            "c1",
            user=(
                [
                    _user("u-m1", "marketer", "o-a"),
                    _user("u-m2", "marketer", "o-a"),
                    _user("u-g1", "outlet_manager", "o-a"),
                    _user("u-m3", "marketer", "o-b"),
                ],
                [],
            ),
            prospect=(
                [
                    row("prospect", **OTHER_POOL),
                    row("prospect", **OUR_POOL),
                    row("prospect", id="p-m2", assignee_id="u-m2"),
                    row("prospect", id="p-mine"),
                ],
                [],
            ),
        ),
    )
    with store.read() as conn:
        before = conn.exec_driver_sql("SELECT * FROM prospect ORDER BY id").all()

    with pytest.raises(local.LocalError) as refused:
        change(store, actor)

    assert refused.value.code == code
    assert _nothing_queued(store)
    with store.read() as conn:
        assert conn.exec_driver_sql("SELECT * FROM prospect ORDER BY id").all() == before


def test_claim_and_assign_change_the_prospect_as_the_store_will(store):
    apply(
        store,
        page(
            "c1",
            user=([_user("u-m2", "marketer", "o-a")], []),
            prospect=([row("prospect", **OUR_POOL), row("prospect", id="p-mine")], []),
        ),
    )
    local.claim(store, ME, prospect_id="p-a-pool")
    local.claim(store, ME, prospect_id="p-a-pool")  # mine already: nothing more to do
    local.assign(store, MANAGER, prospect_id="p-mine", to_user_id="u-m2", reason="调岗")

    with store.read() as conn:
        rows = dict(
            conn.exec_driver_sql(
                "SELECT id, assignee_id || ':' || status FROM prospect ORDER BY id"
            ).all()
        )
        kinds = [k for (k,) in conn.exec_driver_sql("SELECT kind FROM outbox ORDER BY seq")]
    assert rows == {"p-a-pool": "u-m1:assigned", "p-mine": "u-m2:assigned"}
    assert kinds == ["prospect.claim", "prospect.assign"]

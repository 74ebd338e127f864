"""Snapshot rows that PostgreSQL encodes (app/server/row_json.py) are the rows the Python
path gives, value for value: temporal forms, masking outside one's own prospects, and the
odd stored values (a phone with spaces, a short credit code, a date past year 9999, NaN)
that either go through Python or are left out as they always were."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from app.models import User
from app.models.sync import SYNC_ENTITIES
from app.server import pull
from app.server.db import read_session
from app.server.scope import scope_of
from tests.world import build_world

pytestmark = pytest.mark.parametrize("store_settings", ["postgresql"], indirect=True)

ODD = [
    # (phone, credit_code, last_contact_at, next_follow_up, lat)
    ("138 1234 5678", "91520300MA6DKXYZ1Q", "2026-03-04 05:06:07", "2026-03-05", 27.5),
    ("12345", " 91520300MA6DKXYZ1Q ", "2026-03-04 05:06:07.000120", None, 27.0),
    ("", "短码", "2026-03-04 05:06:07.5", "2026-12-31", 27.123456789012345),
    ("", "", None, None, float("nan")),
    ("13812345678", "9152", "10000-01-01 00:00:00", None, 1.0),
    ("+86 138-1234-5678", "", "infinity", "9999-12-31", 2.0),
    ("13987654321", "ABCDEFGHIJKLMNOPQRSTUV", "0999-01-01 00:00:00", "0500-01-01", -0.0),
]


def _pages(session, scope, entity, budget=500):
    json_page, python_page = pull.Page(), pull.Page()
    got = pull._json_rows(session, entity, scope, "", budget, json_page)
    want = pull._python_rows(session, entity, scope, "", budget, python_page)
    return got, json_page, want, python_page


def _decoded(rows):
    return sorted((json.loads(r) if isinstance(r, str) else r for r in rows), key=lambda r: r[0])


def test_the_store_encodes_every_row_as_the_python_path_does(server):
    world = build_world(server.engine, subbranch=True)
    ids = [p["id"] for p in world.prospects_of("M1")] + [
        p["id"] for p in world.pool(world.outlet_a)
    ]
    with server.engine.begin() as conn:
        for prospect_id, (phone, code, contact, follow, lat) in zip(ids, ODD, strict=False):
            conn.execute(
                text(
                    "UPDATE prospect SET phone = :phone, credit_code = :code,"
                    " last_contact_at = CAST(:contact AS timestamp),"
                    " next_follow_up = CAST(:follow AS date), lat = CAST(:lat AS float8)"
                    " WHERE id = :id"
                ),
                dict(
                    id=prospect_id,
                    phone=phone,
                    code=code,
                    contact=contact,
                    follow=follow,
                    lat=None if lat is None else repr(lat),
                ),
            )
    compared = 0
    with read_session(server.engine) as session:
        for employee_no in ("M1", "M2", "G1", "Z1", "A1"):
            user = session.execute(select(User).where(User.employee_no == employee_no)).scalar_one()
            scope = scope_of(session, user)
            for entity in SYNC_ENTITIES:
                (rows, seen, last), json_page, (want, seen2, last2), python_page = _pages(
                    session, scope, entity
                )
                assert (seen, last) == (seen2, last2), (employee_no, entity)
                assert _decoded(rows) == _decoded(want), (employee_no, entity)
                assert json_page.skipped == python_page.skipped, (employee_no, entity)
                compared += len(want)
            m1_rows = {r[0]: r for r in _decoded(_pages(session, scope, "prospect")[0][0])}
            if employee_no == "M1":  # its own prospects in clear, the pool's masked
                assert m1_rows[ids[0]][5] == "138 1234 5678"
                assert "*" in m1_rows[ids[-1]][5]
    assert compared > 50
    # the rows Python could not send are left out by both paths, and named
    with read_session(server.engine) as session:
        admin = session.execute(select(User).where(User.employee_no == "A1")).scalar_one()
        (_, _, _), json_page, _, _ = _pages(session, scope_of(session, admin), "prospect")
    left_out = {(s.entity_id, s.column) for s in json_page.skipped}
    assert left_out == {
        (ids[3], "lat"),
        (ids[4], "last_contact_at"),
        (ids[5], "last_contact_at"),
    }


def test_a_page_with_encoded_rows_reads_as_the_same_json(server):
    build_world(server.engine)
    with read_session(server.engine) as session:
        admin = session.execute(select(User).where(User.employee_no == "A1")).scalar_one()
        scope = scope_of(session, admin)
        page, skipped = pull.pull_page(session, scope, None, 10_000)
    assert not skipped
    body = pull.encode_page(page)
    assert isinstance(page["entities"]["prospect"]["rows"][0], str)  # made by the store
    decoded = json.loads(body)
    plain = json.loads(json.dumps(page))
    for entity, bucket in decoded["entities"].items():
        rows = [
            json.loads(r) if isinstance(r, str) else r for r in page["entities"][entity]["rows"]
        ]
        assert bucket["rows"] == rows
        assert bucket["columns"] == plain["entities"][entity]["columns"]
    assert {k: v for k, v in decoded.items() if k != "entities"} == {
        k: v for k, v in plain.items() if k != "entities"
    }

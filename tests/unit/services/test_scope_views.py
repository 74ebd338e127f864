"""The whitelist views: the device store's SQL (``view_sql``) draws the line ``in_view`` does."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import create_engine, text

from app.services.scope import ViewScope, in_view, view_sql

# (prospect outlet, assignee) of every kind of prospect a view may meet
PROSPECTS = {
    "mine at my outlet": ("o1", "m1"),
    "mine at another outlet": ("o2", "m1"),
    "colleague's": ("o1", "m2"),
    "my outlet's pool": ("o1", None),
    "another outlet's pool": ("o2", None),
    "elsewhere, someone else's": ("o2", "m3"),
    "no outlet, no one's": (None, None),
}
USERS = list(itertools.product(("m1", None), ("o1", None)))  # (user id, outlet id)


@pytest.mark.parametrize("view", list(ViewScope))
@pytest.mark.parametrize(("user_id", "outlet_id"), USERS)
@pytest.mark.parametrize("alias", ["", "p."])
def test_the_sql_view_agrees_with_the_rule(
    view: ViewScope, user_id: str | None, outlet_id: str | None, alias: str
) -> None:
    engine = create_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE prospect (id TEXT, outlet_id TEXT, assignee_id TEXT)"))
        conn.execute(
            text("INSERT INTO prospect VALUES (:id, :o, :a)"),
            [{"id": name, "o": o, "a": a} for name, (o, a) in PROSPECTS.items()],
        )
        where = view_sql(view, user_id, outlet_id, alias=alias)
        found: set[str] = set()
        if where is not None:
            sql = f"SELECT {alias}id FROM prospect {alias.rstrip('.')} WHERE {where}"
            found = {r[0] for r in conn.execute(text(sql), {"uid": user_id, "oid": outlet_id})}
    engine.dispose()
    expected = {
        name
        for name, (o, a) in PROSPECTS.items()
        if in_view(view, user_id=user_id, outlet_id=outlet_id, assignee_id=a, prospect_outlet_id=o)
    }
    assert found == expected


def test_a_view_missing_its_user_or_outlet_matches_nothing() -> None:
    assert view_sql(ViewScope.MINE, None, "o1") is None
    assert view_sql(ViewScope.POOL, "m1", None) is None
    assert view_sql(ViewScope.OUTLET, "m1", None) is None
    assert view_sql(ViewScope.MINE_AND_POOL, None, None) is None
    assert view_sql(ViewScope.ALL, None, None) == "1"

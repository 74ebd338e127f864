"""Who a write pokes: ``Touch.reaches`` over its sets agrees with ``Scope.contains`` over
the placements it was made from, for every role; and its NOTIFY payload stays small."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.models.user import Role
from app.server.live import MAX_PAYLOAD, Touch
from app.services.scope import Scope

OUTLETS = ["o1", "o2", "o3"]
USERS = ["u1", "u2", "u3"]
placements = st.lists(
    st.tuples(st.sampled_from([*OUTLETS, None]), st.sampled_from([*USERS, None])), max_size=6
)
scopes = st.builds(
    Scope,
    user_id=st.sampled_from(USERS),
    role=st.sampled_from(list(Role)),
    outlet_id=st.sampled_from([*OUTLETS, None]),
    outlet_ids=st.frozensets(st.sampled_from(OUTLETS)),
)


def touch_of(pairs: list[tuple[str | None, str | None]]) -> Touch:
    """As ``live.touched`` builds it from prospect placements."""
    return Touch(
        1,
        outlets=frozenset(o for o, _ in pairs if o is not None),
        assignees=frozenset(a for _, a in pairs if a is not None),
        pools=frozenset(o for o, a in pairs if a is None and o is not None),
    )


@given(placements, scopes)
def test_a_touch_reaches_exactly_the_scopes_that_contain_a_placement(pairs, scope):
    if scope.role != Role.SUBBRANCH_MANAGER:
        scope = Scope(scope.user_id, scope.role, scope.outlet_id)
    expected = any(scope.contains(o, a) for o, a in pairs)
    assert touch_of(pairs).reaches(scope) == expected
    assert Touch.from_payload(touch_of(pairs).payload()).reaches(scope) == expected


def test_a_touch_too_large_for_notify_pokes_everyone():
    many = [(f"outlet-{i:05d}-{'x' * 30}", f"user-{i:05d}-{'y' * 30}") for i in range(200)]
    payload = touch_of(many).payload()
    assert len(payload.encode()) <= MAX_PAYLOAD
    nobody_listed = Scope("someone-else", Role.MARKETER, "elsewhere")
    assert Touch.from_payload(payload).reaches(nobody_listed)


def test_an_unreadable_payload_pokes_everyone():
    assert Touch.from_payload("{not json").reaches(Scope("u1", Role.MARKETER, "o1"))

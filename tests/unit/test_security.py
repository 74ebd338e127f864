"""Passwords, tokens and scope rules of the central store (DESIGN.md §4)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import stat
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Column, DateTime, MetaData, String, Table, create_engine, insert, select

from app.models.ids import utcnow
from app.server.scope import Scope, prospect_clause
from app.server.security import (
    SecretKeyError,
    TokenError,
    check_secret_key,
    hash_password,
    issue_token,
    local_secret_key,
    read_token,
    verify_password,
)

SECRET = "unit-test-secret-of-at-least-32-characters"
DAY = timedelta(days=1)


# -- passwords -------------------------------------------------------------------------------


def test_password_is_stored_as_a_salted_argon2_hash():
    first, second = hash_password("Secret#2026"), hash_password("Secret#2026")
    assert first.startswith("$argon2id$") and "Secret#2026" not in first
    assert first != second  # salted: equal passwords do not give equal hashes
    assert verify_password("Secret#2026", first) and verify_password("Secret#2026", second)


@pytest.mark.parametrize("attempt", ["secret#2026", "Secret#2026 ", "", "Secret#202"])
def test_wrong_password_does_not_verify(attempt):
    assert not verify_password(attempt, hash_password("Secret#2026"))


@pytest.mark.parametrize("stored", ["", "Secret#2026", "$argon2id$garbage", "$2b$12$abc"])
def test_a_broken_or_plain_stored_hash_never_verifies(stored):
    assert not verify_password("Secret#2026", stored)


# -- tokens ----------------------------------------------------------------------------------


def test_token_names_its_user_until_it_expires():
    token, expires = issue_token("u-1", secret=SECRET, ttl=DAY)
    claims = read_token(token, secret=SECRET)
    assert claims.user_id == "u-1"
    assert claims.expires_at == expires.replace(microsecond=0)
    assert timedelta(hours=23) < expires - utcnow() <= DAY


def test_each_token_has_its_own_id_to_revoke_it_by():
    first, _ = issue_token("u-1", secret=SECRET, ttl=DAY)
    second, _ = issue_token("u-1", secret=SECRET, ttl=DAY)
    ids = {read_token(first, secret=SECRET).token_id, read_token(second, secret=SECRET).token_id}
    assert len(ids) == 2 and all(ids)


def _signed(payload: object) -> str:
    """A token whose signature is valid over any payload (as a leaked key would make)."""
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    sig = hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).digest()
    return f"{body}.{base64.urlsafe_b64encode(sig).decode().rstrip('=')}"


FAR = 4102444800  # 2100-01-01


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param([], id="a-list"),
        pytest.param("u-1", id="a-string"),
        pytest.param(None, id="null"),
        pytest.param({}, id="empty"),
        pytest.param({"exp": FAR, "jti": "t"}, id="no-sub"),
        pytest.param({"sub": 7, "exp": FAR, "jti": "t"}, id="sub-a-number"),
        pytest.param({"sub": "", "exp": FAR, "jti": "t"}, id="sub-empty"),
        pytest.param({"sub": "u-1", "jti": "t"}, id="no-exp"),
        pytest.param({"sub": "u-1", "exp": "soon", "jti": "t"}, id="exp-a-word"),
        pytest.param({"sub": "u-1", "exp": [1], "jti": "t"}, id="exp-a-list"),
        pytest.param({"sub": "u-1", "exp": True, "jti": "t"}, id="exp-a-bool"),
        pytest.param({"sub": "u-1", "exp": 10**30, "jti": "t"}, id="exp-past-year-9999"),
        pytest.param({"sub": "u-1", "exp": FAR}, id="no-jti-cannot-be-revoked"),
        pytest.param({"sub": "u-1", "exp": FAR, "jti": {"a": 1}}, id="jti-an-object"),
    ],
)
def test_a_validly_signed_but_malformed_token_is_refused_as_invalid(payload):
    with pytest.raises(TokenError) as exc:
        read_token(_signed(payload), secret=SECRET)
    assert exc.value.code == "auth.token_invalid"


def test_expired_token_is_refused_as_expired():
    token, _ = issue_token("u-1", secret=SECRET, ttl=timedelta(seconds=-5))
    with pytest.raises(TokenError) as exc:
        read_token(token, secret=SECRET)
    assert exc.value.code == "auth.token_expired"


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _forgeries() -> list:
    token, _ = issue_token("u-1", secret=SECRET, ttl=DAY)
    body, sig = token.split(".", 1)
    other_key, _ = issue_token("u-admin", secret="another-secret", ttl=DAY)
    return [
        pytest.param(other_key, id="signed-with-another-key"),
        pytest.param(
            f"{_b64({'sub': 'u-admin', 'exp': 4102444800})}.{sig}", id="claims-other-user"
        ),
        pytest.param(f"{_b64({'sub': 'u-1', 'exp': 4102444800})}.{sig}", id="extends-its-expiry"),
        pytest.param(f"{body}.", id="signature-stripped"),
        pytest.param(body, id="no-signature"),
        pytest.param("", id="empty"),
        pytest.param("...", id="dots"),
        pytest.param(f"{body}.{sig}é", id="non-ascii"),
        pytest.param("é.é", id="all-non-ascii"),
        pytest.param("%%%.%%%", id="not-base64"),
    ]


@pytest.mark.parametrize("forged", _forgeries())
def test_forged_or_damaged_token_is_refused(forged):
    with pytest.raises(TokenError) as exc:
        read_token(forged, secret=SECRET)
    assert exc.value.code == "auth.token_invalid"


# -- the secret key ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "code"),
    [
        ("", "store.secret_key_missing"),
        ("change-me-in-production-puhui", "store.secret_key_weak"),
        ("short-key", "store.secret_key_weak"),
    ],
)
def test_an_empty_short_or_published_key_is_refused(key, code):
    with pytest.raises(SecretKeyError) as exc:
        check_secret_key(key)
    assert exc.value.code == code


def test_the_embedded_store_keeps_its_own_key_private_and_reuses_it(tmp_path):
    path = tmp_path / "data" / "secret_key"
    key = local_secret_key(path)
    check_secret_key(key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert local_secret_key(path) == key  # the next run signs with the same key
    assert local_secret_key(tmp_path / "other" / "secret_key") != key


# -- scope -----------------------------------------------------------------------------------


MARKETER = Scope("m1", "marketer", "outlet-a")
MANAGER = Scope("g1", "outlet_manager", "outlet-a")
# a sub-branch manager sitting at outlet C, whose sub-branch holds outlets B and C
SUBBRANCH = Scope("s1", "subbranch_manager", "outlet-c", frozenset({"outlet-b", "outlet-c"}))
ADMIN = Scope("a1", "admin", None)

# (outlet, assignee) of prospects around the marketer M1 of outlet A
CASES = {
    "mine": ("outlet-a", "m1"),
    "my outlet's pool": ("outlet-a", None),
    "a colleague's": ("outlet-a", "m2"),
    "mine, though booked at another outlet": ("outlet-b", "m1"),
    "another outlet's pool": ("outlet-b", None),
    "another outlet's marketer's": ("outlet-b", "m3"),
    "no outlet yet": (None, None),
    "outlet C's pool": ("outlet-c", None),
}
VISIBLE = {
    MARKETER: {"mine", "my outlet's pool", "mine, though booked at another outlet"},
    MANAGER: {"mine", "my outlet's pool", "a colleague's"},
    SUBBRANCH: {
        "mine, though booked at another outlet",
        "another outlet's pool",
        "another outlet's marketer's",
        "outlet C's pool",
    },
    ADMIN: set(CASES) - {"no outlet yet"},
}


@pytest.mark.parametrize("scope", list(VISIBLE), ids=lambda s: s.role)
def test_each_role_sees_exactly_its_prospects(scope):
    seen = {name for name, (outlet, assignee) in CASES.items() if scope.contains(outlet, assignee)}
    assert seen == VISIBLE[scope]


@pytest.mark.parametrize("scope", list(VISIBLE), ids=lambda s: s.role)
def test_the_sql_scope_agrees_with_the_rule(scope):
    """Pull filters in SQL and routes removals in Python: both must draw the same line.
    A withdrawn entry is out of everyone's scope, wherever it stood."""
    table = Table(
        "prospect",
        MetaData(),
        Column("id", String, primary_key=True),
        Column("outlet_id", String),
        Column("assignee_id", String),
        Column("withdrawn_at", DateTime),
    )
    engine = create_engine("sqlite://")
    table.metadata.create_all(engine)
    withdrawn = datetime(2026, 11, 30, 8, 0)
    with engine.begin() as conn:
        conn.execute(
            insert(table),
            [
                {"id": name, "outlet_id": o, "assignee_id": a, "withdrawn_at": None}
                for name, (o, a) in CASES.items()
            ]
            + [
                {
                    "id": f"withdrawn {name}",
                    "outlet_id": o,
                    "assignee_id": a,
                    "withdrawn_at": withdrawn,
                }
                for name, (o, a) in CASES.items()
            ],
        )
        rows = conn.execute(select(table.c.id).where(prospect_clause(scope, table)))
        assert {r[0] for r in rows} == VISIBLE[scope]
    engine.dispose()


def test_scope_fingerprint_changes_with_role_or_outlet():
    moved = Scope("m1", "marketer", "outlet-b")
    promoted = Scope("m1", "outlet_manager", "outlet-a")
    prints = {MARKETER.fingerprint, moved.fingerprint, promoted.fingerprint}
    assert len(prints) == 3

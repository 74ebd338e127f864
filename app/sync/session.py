"""The device's sign-in: online against the central store, or a bounded offline session.

A successful online log-in saves the session (token, user, time) and an argon2
verifier of the password on the device. When the store cannot be reached, the
same employee may sign in offline with the same password for
``offline_session_hours`` after the last online log-in; sync then waits for a
fresh token.

Signing out forgets the session on the device first, then asks the store to revoke
its token when the store can be reached; offline, the local sign-out stands alone.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.models.ids import utcnow
from app.services.passwords import hash_password, verify_password
from app.sync.busy import Patience
from app.sync.client import SyncClient
from app.sync.errors import SyncError, TransportError
from app.sync.state import StateKey
from app.sync.store import DeviceStore

log = logging.getLogger(__name__)
SESSION_KEY = "session"
LAST_EMPLOYEE_KEY = "last_employee_no"


@dataclass(frozen=True)
class DeviceSession:
    token: str
    user_id: str
    employee_no: str
    name: str
    role: str
    outlet_id: str | None
    logged_in_at: datetime
    offline: bool = False


class SignInError(Exception):
    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


# A store too busy to check a password now (429 ``server.busy``, a crowd signing in at
# nine) is asked again after its Retry-After, doubled and jittered (app.sync.busy): about
# 2 + 4 + 8 seconds in all before the busy answer is shown in words.
SIGN_IN_BUSY_WAITS = 3


def _patient(patience: Patience | None) -> Patience:
    return patience or Patience(max_waits=SIGN_IN_BUSY_WAITS, sleep=_sleep)


def _sleep(seconds: float) -> bool:
    time.sleep(seconds)
    return False  # a sign-in is not cancelled: the screen shows it busy meanwhile


def sign_in(
    store: DeviceStore,
    client: SyncClient,
    employee_no: str,
    password: str,
    *,
    offline_hours: int,
    patience: Patience | None = None,
) -> DeviceSession:
    """Log in online; fall back to the saved session when the store is unreachable. A
    busy store is waited out (``patience``, default ``SIGN_IN_BUSY_WAITS`` waits)."""
    employee_no = employee_no.strip()
    if not employee_no or not password:
        raise SignInError("login.required")
    try:
        data = _patient(patience).call(lambda: client.login(employee_no, password))
    except TransportError as exc:
        return _offline(store, client, employee_no, password, offline_hours, exc)
    except SyncError as exc:  # wrong password, locked, disabled, too old, server trouble
        raise SignInError(exc.code, **{"status": exc.status or "", **exc.params}) from exc
    user = data["user"]
    session = DeviceSession(
        token=data["token"],
        user_id=user["id"],
        employee_no=user["employee_no"],
        name=user["name"],
        role=user["role"],
        outlet_id=user["outlet_id"],
        logged_in_at=utcnow(),
    )
    saved = {**_as_dict(session), "verifier": hash_password(password)}
    with store.transaction() as conn:
        store.put(conn, SESSION_KEY, json.dumps(saved, ensure_ascii=False))
        store.put(conn, LAST_EMPLOYEE_KEY, session.employee_no)
    return session


def _offline(store, client, employee_no, password, hours, cause) -> DeviceSession:  # type: ignore[no-untyped-def]
    raw = store.state(SESSION_KEY)
    saved = json.loads(raw) if raw else None
    if not saved or saved["employee_no"] != employee_no:
        raise SignInError("login.offline_unavailable") from cause
    if not verify_password(password, saved["verifier"]):
        raise SignInError("auth.invalid_credentials")
    session = _from_saved(saved, offline=True)
    if utcnow() - session.logged_in_at > timedelta(hours=hours):
        raise SignInError("login.offline_expired", hours=hours) from cause
    client.token = session.token
    return session


def resume(store: DeviceStore, *, offline_hours: int) -> DeviceSession | None:
    """The saved session if it is still within the offline bound (app restart)."""
    raw = store.state(SESSION_KEY)
    if not raw:
        return None
    session = _from_saved(json.loads(raw), offline=False)
    if utcnow() - session.logged_in_at > timedelta(hours=offline_hours):
        return None
    return session


def last_employee_no(store: DeviceStore) -> str:
    return store.state(LAST_EMPLOYEE_KEY) or ""


def sign_out(
    store: DeviceStore, client: SyncClient | None = None, *, discard_pending: bool = False
) -> None:
    """Forget the session; unsynced changes go only when the user said so. Then, given a
    ``client``, revoke the session's token at the store if it answers (never required)."""
    with store.transaction() as conn:
        pending = conn.exec_driver_sql("SELECT count(*) FROM outbox").scalar_one()
        if pending and not discard_pending:
            raise SignInError("settings.logout_confirm", count=pending)
        raw = store.get(conn, SESSION_KEY)
        if discard_pending:
            conn.exec_driver_sql("DELETE FROM outbox")
            conn.exec_driver_sql("DELETE FROM marketing_log WHERE rev = 0")
        store.put(conn, SESSION_KEY, None)
        store.put(conn, StateKey.BRANCH_RANKS, None)  # the next user's ranks come with their sync
    token = (json.loads(raw).get("token") if raw else None) or (client.token if client else None)
    if client is None or not token:
        return
    try:
        client.logout(token)
    except SyncError as exc:  # offline, or the token already dead: signed out here anyway
        log.info("the store did not revoke the token (%s); signed out on this device", exc.code)


_FIELDS = ("token", "user_id", "employee_no", "name", "role", "outlet_id", "logged_in_at")


def _from_saved(saved: dict, *, offline: bool) -> DeviceSession:
    values = {k: saved[k] for k in _FIELDS}
    values["logged_in_at"] = datetime.fromisoformat(saved["logged_in_at"])
    return DeviceSession(**values, offline=offline)


def _as_dict(session: DeviceSession) -> dict[str, object]:
    return {
        k: (str(getattr(session, k)) if k == "logged_in_at" else getattr(session, k))
        for k in _FIELDS
    }

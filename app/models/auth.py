"""The central store's sign-in records: attempts, locks and revoked tokens.

Kept in the database, not in a process, so every replica behind a load balancer
counts the same failures and honours the same locks and revocations:

- ``LoginAttempt``: one row per ``POST /auth/login``, whatever its outcome. The
  failures are what the throttle counts; the refused ones are the audit trail of
  attempts turned away unchecked.
- ``LoginLock``: an account (employee number) or a client address refused for a
  while after too many failures; each row is also the audit record of that lock.
- ``RevokedToken``: tokens signed out before they expire (``POST /auth/logout``).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import NaiveDatetime
from sqlalchemy import Index
from sqlmodel import Field, SQLModel


class LoginOutcome(StrEnum):
    CHECKING = "checking"  # written before the password is checked (see app/server/throttle)
    SUCCEEDED = "succeeded"  # a token was issued; the account's failure count starts again
    FAILED = "failed"  # wrong password or unknown employee
    INACTIVE = "inactive"  # right password of a disabled account: not a guess, not counted
    REFUSED = "refused"  # turned away unchecked while the account or the address was locked


class LockKind(StrEnum):
    ACCOUNT = "account"  # key: the employee number as typed (stripped), known or not
    CLIENT = "client"  # key: the client address


class LoginAttempt(SQLModel, table=True):
    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_account", "employee_no", "occurred_at"),
        Index("ix_login_attempt_client", "client", "occurred_at"),
    )

    id: str = Field(primary_key=True)
    employee_no: str
    client: str
    outcome: str  # LoginOutcome
    occurred_at: NaiveDatetime


class LoginLock(SQLModel, table=True):
    __tablename__ = "login_lock"
    __table_args__ = (Index("ix_login_lock_key", "kind", "key", "locked_until"),)

    id: str = Field(primary_key=True)
    kind: str  # LockKind
    key: str
    failures: int  # failures counted when the lock was taken
    locked_at: NaiveDatetime
    locked_until: NaiveDatetime


class RevokedToken(SQLModel, table=True):
    __tablename__ = "revoked_token"

    token_id: str = Field(primary_key=True)  # the token's ``jti``
    user_id: str = Field(index=True)
    expires_at: NaiveDatetime = Field(index=True)  # past it the row may go: the token is dead
    revoked_at: NaiveDatetime

"""The sign-in throttle of the central store, shared by every replica through the database.

One ``SignInGuard`` per ``POST /auth/login``:

    admit()   a locked account or address: the attempt is recorded as refused and
              answered 429 unchecked. Otherwise the attempt is written as ``checking``
              *before* the password is checked (and committed), then counted. For an
              account, attempts still being checked count as failures: of any two
              concurrent guesses the later count sees both, so a burst of parallel
              guesses at one account gets no more password checks than the limit (the
              excess is refused for a minute, without a lock of its own). For an
              address only settled failures count: a branch's devices behind one NAT
              signing in at nine must not lock each other out.
    failed()  the password was wrong: take the locks the count calls for (each lock
              row is the audit record of that lock) and answer 429 if any was taken.
    settle()  the attempt's real outcome (a success resets the account's count).

The rules (limits, window, lock length) are ``app.services.signin``'s.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import NoReturn

from sqlalchemy import Engine, and_, func, or_, select, update
from sqlmodel import Session

from app.models.auth import LockKind, LoginAttempt, LoginLock, LoginOutcome
from app.models.ids import new_id, utcnow
from app.server.errors import TooManyAttempts
from app.services.signin import ThrottlePolicy, Verdict, judge, wait_seconds
from app.sqlite import WRITER

log = logging.getLogger(__name__)
_attempt = LoginAttempt.__table__
_lock = LoginLock.__table__
LOCK_CODES = {LockKind.ACCOUNT: "auth.account_locked", LockKind.CLIENT: "auth.client_throttled"}
OVER_LIMIT_WAIT_S = 60  # a concurrent attempt past the limit, before any lock was taken


class SignInGuard:
    """Counts, locks and records one sign-in attempt (see the module docstring)."""

    def __init__(
        self, engine: Engine, policy: ThrottlePolicy, *, employee_no: str, client: str
    ) -> None:
        self.engine = engine
        self.policy = policy
        self.employee_no = employee_no
        self.client = client
        self.attempt_id = new_id()
        self.now = utcnow()
        self.verdict = Verdict(lock_account=False, lock_client=False, over=False)
        self.failures = {LockKind.ACCOUNT: 0, LockKind.CLIENT: 0}

    def _write(self) -> Session:
        # BEGIN IMMEDIATE on SQLite: a write that reads first never fails to upgrade its lock
        return Session(self.engine.execution_options(**WRITER))

    def admit(self) -> None:
        """Refuse (429) while locked; otherwise record the attempt as a failure and count."""
        with self._write() as session:
            locked = self._active_lock(session)
            outcome = LoginOutcome.REFUSED if locked else LoginOutcome.CHECKING
            session.add(self._row(outcome))
            session.commit()
        if locked:
            self._refuse(*locked)
        with Session(self.engine) as session:
            self.failures = self._failures(session)
            locked = self._active_lock(session)
        if locked:  # taken by a concurrent attempt since the first look, which also moved
            self.settle(LoginOutcome.REFUSED)  # the count's start past the attempts it saw
            self._refuse(*locked)
        self.verdict = judge(
            self.policy, self.failures[LockKind.ACCOUNT], self.failures[LockKind.CLIENT]
        )
        if self.verdict.over:  # a concurrent guess past the limit: never checked
            self.settle(LoginOutcome.REFUSED)
            with Session(self.engine) as session:
                locked = self._active_lock(session)
            if locked:
                self._refuse(*locked)
            until = self.now + timedelta(seconds=OVER_LIMIT_WAIT_S)
            self._refuse(LockKind.ACCOUNT, until)

    def failed(self) -> None:
        """The password was wrong: lock what the count calls for (429), else return."""
        self.settle(LoginOutcome.FAILED)
        if self.verdict.lock_account or self.verdict.lock_client:
            self._take_locks()

    def settle(self, outcome: LoginOutcome) -> None:
        """Record the attempt's real outcome (it was written as a failure)."""
        with self._write() as session:
            session.execute(
                update(_attempt).where(_attempt.c.id == self.attempt_id).values(outcome=outcome)
            )
            session.commit()

    # -- helpers ---------------------------------------------------------------------------

    def _refuse(self, kind: LockKind, until: datetime) -> NoReturn:
        log.warning(
            "sign-in refused unchecked: %s locked (employee %r, client %s)",
            kind,
            self.employee_no,
            self.client,
        )
        raise TooManyAttempts(LOCK_CODES[kind], wait_seconds(until, self.now))

    def _row(self, outcome: LoginOutcome) -> LoginAttempt:
        return LoginAttempt(
            id=self.attempt_id,
            employee_no=self.employee_no,
            client=self.client,
            outcome=outcome,
            occurred_at=self.now,
        )

    def _keys(self) -> dict[LockKind, str]:
        return {LockKind.ACCOUNT: self.employee_no, LockKind.CLIENT: self.client}

    def _active_lock(self, session: Session) -> tuple[LockKind, datetime] | None:
        """The lock (kind, end) that ends last among those on this account or address."""
        rows = session.execute(
            select(_lock.c.kind, func.max(_lock.c.locked_until))
            .where(
                or_(*(and_(_lock.c.kind == k, _lock.c.key == v) for k, v in self._keys().items())),
                _lock.c.locked_until > self.now,
            )
            .group_by(_lock.c.kind)
        ).all()
        if not rows:
            return None
        kind, until = max(rows, key=lambda r: r[1])
        return LockKind(kind), until

    def _since(self, session: Session, kind: LockKind, column_key: str) -> datetime:
        """Where a count starts: the window, the end of the last lock's count, and for an
        account its last success."""
        starts = [self.now - self.policy.window]
        last_lock = session.execute(
            select(func.max(_lock.c.locked_at)).where(
                _lock.c.kind == kind, _lock.c.key == column_key
            )
        ).scalar()
        if last_lock is not None:
            starts.append(last_lock)
        if kind is LockKind.ACCOUNT:
            last_success = session.execute(
                select(func.max(_attempt.c.occurred_at)).where(
                    _attempt.c.employee_no == column_key,
                    _attempt.c.outcome == LoginOutcome.SUCCEEDED,
                )
            ).scalar()
            if last_success is not None:
                starts.append(last_success)
        return max(starts)

    def _failures(self, session: Session) -> dict[LockKind, int]:
        """Failures of the account and of the address, this attempt included (see the
        module docstring for which attempts still being checked count)."""
        counted = {
            LockKind.ACCOUNT: (LoginOutcome.FAILED, LoginOutcome.CHECKING),
            LockKind.CLIENT: (LoginOutcome.FAILED,),
        }
        columns = {LockKind.ACCOUNT: _attempt.c.employee_no, LockKind.CLIENT: _attempt.c.client}
        counts = {}
        for kind, key in self._keys().items():
            counts[kind] = session.execute(
                select(func.count()).where(
                    columns[kind] == key,
                    _attempt.c.outcome.in_(counted[kind]),
                    _attempt.c.occurred_at > self._since(session, kind, key),
                )
            ).scalar_one()
        counts[LockKind.CLIENT] += 1  # this attempt, still being checked
        return counts

    def _take_locks(self) -> None:
        """Lock the account and/or address the verdict names, then answer 429."""
        v, until = self.verdict, self.now + self.policy.lock
        named = ((LockKind.ACCOUNT, v.lock_account), (LockKind.CLIENT, v.lock_client))
        kinds = [kind for kind, due in named if due]  # ``over`` implies at least one
        with self._write() as session:
            for kind in kinds:
                session.add(
                    LoginLock(
                        id=new_id(),
                        kind=kind,
                        key=self._keys()[kind],
                        failures=self.failures[kind],
                        locked_at=self.now,
                        locked_until=until,
                    )
                )
            session.commit()
        for kind in kinds:
            log.warning(
                "sign-in lock: %s %r locked until %s", kind, self._keys()[kind], until.isoformat()
            )
        raise TooManyAttempts(LOCK_CODES[kinds[0]], wait_seconds(until, self.now))

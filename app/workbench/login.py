"""The log-in screen: employee number and password against the central store, or offline."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import flet as ft

from app.sync.errors import SyncError
from app.sync.session import SignInError, last_employee_no, sign_in

if TYPE_CHECKING:
    from app.workbench.workbench import Workbench

log = logging.getLogger(__name__)


@ft.observable
@dataclass
class LoginState:
    password: str = ""  # the box as typed; emptied with a wrong-password error
    busy: bool = False
    error: str = ""  # an i18n code
    error_params: dict[str, object] = field(default_factory=dict)


class LoginController:
    def __init__(self, workbench: Workbench) -> None:
        self.workbench = workbench
        self.state = LoginState()

    def remembered_employee_no(self) -> str:
        return last_employee_no(self.workbench.store)

    async def submit(self, employee_no: str, password: str) -> bool:
        """Sign in; on failure the state carries the reason in words."""
        workbench, s = self.workbench, self.state
        s.error, s.busy = "", True
        try:
            session = await asyncio.to_thread(
                sign_in,
                workbench.store,
                workbench.client,
                employee_no,
                password,
                offline_hours=workbench.settings.offline_session_hours,
            )
        except SignInError as exc:
            if exc.code == "auth.invalid_credentials":
                s.password = ""  # in the same render as the error: the next one is typed afresh
            s.error_params, s.error = dict(exc.params), exc.code
            return False
        except SyncError as exc:  # a sync error other than the network: say so in words
            s.error_params, s.error = {"status": exc.status or "", **exc.params}, exc.code
            return False
        except Exception:  # a fault of ours: logged, and the user still reads words
            log.exception("signing in failed")
            s.error_params, s.error = {"status": ""}, "sync.failed"
            return False
        finally:
            s.busy = False
        s.password = ""
        if session.offline:
            workbench.notify("login.offline", hours=workbench.settings.offline_session_hours)
        await workbench.enter(session)
        return True

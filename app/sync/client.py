"""HTTP client of the central store over an injected ``httpx.Client``.

Tests hand it an ``httpx.MockTransport`` or a client bound to a live server; the
app hands it a real one. Every httpx failure becomes a ``SyncError`` here and
nowhere else.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from urllib.parse import quote, unquote

import httpx

from app.models.dashboard import BatchFiguresOut, LeagueOut, OverviewOut, ParticipationOut
from app.models.distribution import (
    AssignRule,
    AutoAssignRequest,
    AutoAssignResult,
    PoolReturnRequest,
    PoolReturnResult,
)
from app.models.imports import (
    XLSX_MEDIA_TYPE,
    BatchesOut,
    BatchVersionsOut,
    ImportCommitOut,
    ImportPreviewOut,
    ImportRequest,
)
from app.models.loan import (
    DismissIn,
    LoanEventOut,
    LoanEventResult,
    LoanEventsPage,
    LoanSharesOut,
    LoansPage,
    MatchIn,
    ShareIn,
    SharesIn,
)
from app.models.quality import QualityEntriesOut, QualityReportOut, WithdrawIn, WithdrawOut
from app.models.sync import PROTOCOL_HEADER, PROTOCOL_VERSION
from app.models.target import TargetIn, TargetsIn, TargetsOut, TargetsSetOut
from app.sync.errors import (
    AuthError,
    CursorInvalid,
    InvalidCredentials,
    ProtocolTooOld,
    RequestRejected,
    ServerUnavailable,
    StoreBusy,
    SyncError,
    SyncTimeout,
    TooManyAttempts,
    TransportError,
)

# Signing out online must never keep a person waiting long: it is a courtesy to the store.
LOGOUT_TIMEOUT = httpx.Timeout(5, connect=2)
# A probe asks only whether the store answers: a slow answer counts as none.
PROBE_TIMEOUT = httpx.Timeout(5, connect=2)
# A whitelist of 100,000 rows is read, checked and stored in one request: give it time.
IMPORT_TIMEOUT = httpx.Timeout(120, connect=5)
LEAGUE_PAGE = 200  # rows of a league table fetched at once (the store's page limit)
# 429s that mean "full, come back later", not "too many failed sign-ins"
BUSY_CODES = frozenset({"sync.busy", "server.busy"})


class SyncClient:
    def __init__(
        self, http: httpx.Client, *, token: str | None = None, protocol: int = PROTOCOL_VERSION
    ) -> None:
        self.http = http
        self.token = token
        self.protocol = protocol

    @classmethod
    def connect(cls, base_url: str, *, timeout: float = 30, connect: float = 5) -> SyncClient:
        """A client of the store at ``base_url`` over its own HTTP connection pool."""
        return cls(httpx.Client(base_url=base_url, timeout=httpx.Timeout(timeout, connect=connect)))

    @property
    def base_url(self) -> str:
        return str(self.http.base_url).rstrip("/")

    def point_to(self, base_url: str) -> None:
        """Talk to another central store from the next request on (settings)."""
        self.http.base_url = httpx.URL(base_url)

    def close(self) -> None:
        self.http.close()

    def _request(
        self, method: str, path: str, *, token: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {PROTOCOL_HEADER: str(self.protocol)}
        bearer = token or self.token
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        try:
            response = self.http.request(method, path, headers=headers, **kwargs)
        except httpx.TimeoutException as exc:
            raise SyncTimeout(str(exc)) from exc
        except httpx.TransportError as exc:
            raise TransportError(str(exc)) from exc
        if response.status_code >= 400:
            raise _error_for(response)
        return response

    def _send(self, method: str, path: str, *, token: str | None = None, **kwargs: Any) -> Any:
        response = self._request(method, path, token=token, **kwargs)
        try:
            return json.loads(response.content)
        except ValueError as exc:
            raise ServerUnavailable("invalid JSON", status=response.status_code) from exc

    def health(self) -> dict[str, Any]:
        """The store's ``/health``: a cheap question whether it can be reached at all."""
        return self._send("GET", "/health", timeout=PROBE_TIMEOUT)

    def login(self, employee_no: str, password: str) -> dict[str, Any]:
        data = self._send(
            "POST", "/auth/login", json={"employee_no": employee_no, "password": password}
        )
        self.token = data["token"]
        return data

    def logout(self, token: str | None = None) -> dict[str, Any]:
        """Revoke ``token`` (default: this client's) at the store; quick to give up."""
        return self._send("POST", "/auth/logout", token=token, timeout=LOGOUT_TIMEOUT)

    def pull(self, cursor: str | None, limit: int | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if cursor:
            params["cursor"] = cursor
        if limit:
            params["limit"] = limit
        return self._send("GET", "/sync/pull", params=params)

    def push(
        self, device_id: str, mutations: list[dict[str, Any]], *, first_seq: int | None = None
    ) -> dict[str, Any]:
        """Send mutations; ``first_seq``: the lowest sequence this device still holds."""
        body: dict[str, Any] = {"device_id": device_id, "mutations": mutations}
        if first_seq is not None:
            body["first_seq"] = first_seq
        return self._send("POST", "/sync/push", json=body)

    def checksum(self, cursor: str) -> dict[str, Any]:
        return self._send("GET", "/sync/checksum", params={"cursor": cursor})

    def ranks(self) -> dict[str, Any]:
        return self._send("GET", "/stats/ranks")

    def reveal(self, prospect_id: str, field: str, *, event_id: str, device_id: str) -> str:
        """The clear value of a masked field, from the store (which audits the reveal)."""
        body = {"event_id": event_id, "field": field, "device_id": device_id}
        path = f"/prospects/{quote(prospect_id, safe='')}/reveal"
        return str(self._send("POST", path, json=body)["value"])

    def position(self, cursor: str) -> dict[str, Any]:
        return self._send("GET", "/sync/position", params={"cursor": cursor})

    def auto_assign(
        self,
        outlet_id: str,
        rule: AssignRule | str = AssignRule.EVEN,
        *,
        cap: int | None = None,
        marketer_ids: list[str] | None = None,
    ) -> AutoAssignResult:
        """Hand an outlet's pool to its marketers (a manager's online call); the devices
        see the result at their next pull."""
        body = AutoAssignRequest(
            outlet_id=outlet_id, rule=AssignRule(rule), cap=cap, marketer_ids=marketer_ids
        )
        data = self._send("POST", "/distribution/auto-assign", json=body.model_dump())
        return AutoAssignResult.model_validate(data)

    def pool_return(self, days: int | None = None) -> PoolReturnResult:
        """Return every untouched prospect in reach to its pool (None: the store's days)."""
        body = PoolReturnRequest(days=days).model_dump()
        return PoolReturnResult.model_validate(
            self._send("POST", "/distribution/pool-return", json=body)
        )

    # -- dashboards and exports (managers and admins; online only) --------------------------

    def league(self, level: str, metric: str, period: str, on: date | None = None) -> LeagueOut:
        """Outlets or marketers ranked within the branch; the rows in reach, first page."""
        params: dict[str, Any] = {"level": level, "metric": metric, "period": period}
        if on is not None:
            params["on"] = on.isoformat()
        params["page_size"] = LEAGUE_PAGE
        return LeagueOut.model_validate(self._send("GET", "/dashboards/league", params=params))

    def overview(self, period: str) -> OverviewOut:
        """Funnel counts, contacts and disbursements of the period over the reach."""
        data = self._send("GET", "/dashboards/overview", params={"period": period})
        return OverviewOut.model_validate(data)

    def participation(self, period: str, by: str) -> ParticipationOut:
        """Participation (簿记 / 营销 / 发起) and coverage by outlet, sub-branch or tier."""
        params = {"period": period, "by": by, "page_size": LEAGUE_PAGE}
        data = self._send("GET", "/dashboards/participation", params=params)
        return ParticipationOut.model_validate(data)

    def batch_figures(self) -> BatchFiguresOut:
        """Each batch's coverage within the windows and its conversion to disbursed."""
        data = self._send("GET", "/dashboards/batches", params={"page_size": LEAGUE_PAGE})
        return BatchFiguresOut.model_validate(data)

    def export(
        self, kind: str, *, period: str | None = None, batch_id: str | None = None, lang: str = "zh"
    ) -> tuple[str, bytes]:
        """A report's ``.xlsx``: its file name (the store's) and its bytes; ``period`` for
        the reports of a period, ``batch_id`` for a batch's (quality)."""
        params = {"lang": lang}
        if period is not None:
            params["period"] = period
        if batch_id is not None:
            params["batch_id"] = batch_id
        response = self._request("GET", f"/exports/{quote(kind, safe='')}.xlsx", params=params)
        return _file_name(response, f"{kind}-{period or batch_id}.xlsx"), response.content

    # -- marketing targets (营销任务; managers and admins set them; online only) ------------

    def targets(self, period: str) -> TargetsOut:
        """The targets of ``period`` ("2026-12", "2026-Q4") in sight, with progress."""
        return TargetsOut.model_validate(self._send("GET", "/targets", params={"period": period}))

    def set_targets(self, items: list[TargetIn]) -> TargetsSetOut:
        """Set targets, all of them or none (the store names the refused item)."""
        body = TargetsIn(targets=items).model_dump(mode="json")
        return TargetsSetOut.model_validate(self._send("PUT", "/targets", json=body))

    def delete_target(self, target_id: str) -> None:
        self._request("DELETE", f"/targets/{quote(target_id, safe='')}")

    # -- the loan system's unmatched events (admins; online only) --------------------------

    def loans_unmatched(self, offset: int = 0, limit: int = 50) -> LoanEventsPage:
        """Loan events no prospect matched, oldest first, a page at a time."""
        data = self._send("GET", "/loans/unmatched", params={"offset": offset, "limit": limit})
        return LoanEventsPage.model_validate(data)

    def loan_match(self, event_id: str, prospect_id: str) -> LoanEventResult:
        """Apply a waiting event to ``prospect_id`` (its funnel move and shares)."""
        body = MatchIn(prospect_id=prospect_id).model_dump()
        data = self._send("POST", f"/loans/unmatched/{quote(event_id, safe='')}/match", json=body)
        return LoanEventResult.model_validate(data)

    def loan_dismiss(self, event_id: str, reason: str) -> LoanEventOut:
        """Set a waiting event aside, with the admin's reason."""
        body = DismissIn(reason=reason).model_dump()
        path = f"/loans/unmatched/{quote(event_id, safe='')}/dismiss"
        return LoanEventOut.model_validate(self._send("POST", path, json=body))

    # -- disbursed loans' profit shares (分润; admins; online only) --------------------------

    def loans_disbursed(self, q: str = "", page: int = 1, page_size: int = 20) -> LoansPage:
        """Disbursed loans whose loan id, credit code or company name holds ``q``."""
        params = {"q": q, "page": page, "page_size": page_size}
        return LoansPage.model_validate(self._send("GET", "/loans", params=params))

    def loan_shares(self, loan_id: str) -> LoanSharesOut:
        """A disbursed loan's split, with every adjustment made to it."""
        path = f"/loans/{quote(loan_id, safe='')}/shares"
        return LoanSharesOut.model_validate(self._send("GET", path))

    def set_loan_shares(self, loan_id: str, shares: list[ShareIn], reason: str) -> LoanSharesOut:
        """Re-split a disbursed loan (the fen must sum to its amount), with the reason."""
        body = SharesIn(shares=shares, reason=reason).model_dump(mode="json")
        path = f"/loans/{quote(loan_id, safe='')}/shares"
        return LoanSharesOut.model_validate(self._send("PUT", path, json=body))

    # -- whitelist import and batches (managers and admins; online only) --------------------

    def import_preview(
        self, content: bytes, file_name: str, request: ImportRequest
    ) -> ImportPreviewOut:
        """What the file holds: counts, problems, destination outlets; nothing stored."""
        data = self._send("POST", "/admin/imports/preview", **_form(content, file_name, request))
        return ImportPreviewOut.model_validate(data)

    def import_report(self, content: bytes, file_name: str, request: ImportRequest) -> bytes:
        """The file's error report, an ``.xlsx`` workbook's bytes."""
        form = _form(content, file_name, request)
        return self._request("POST", "/admin/imports/report", **form).content

    def import_commit(
        self, content: bytes, file_name: str, request: ImportRequest
    ) -> ImportCommitOut:
        """Store the file's rows as a batch (or a new version of ``request.batch_id``)."""
        data = self._send(
            "POST", "/admin/imports", **_form(content, file_name, request, commit=True)
        )
        return ImportCommitOut.model_validate(data)

    def batches(self) -> BatchesOut:
        return BatchesOut.model_validate(self._send("GET", "/admin/batches"))

    def batch_versions(self, batch_id: str) -> BatchVersionsOut:
        path = f"/admin/batches/{quote(batch_id, safe='')}/versions"
        return BatchVersionsOut.model_validate(self._send("GET", path))

    # -- list quality (managers read; admins withdraw bad rows; online only) ---------------

    def batch_quality(self, batch_id: str) -> QualityReportOut:
        """The batch's quality report within the caller's reach."""
        path = f"/admin/batches/{quote(batch_id, safe='')}/quality"
        return QualityReportOut.model_validate(self._send("GET", path))

    def quality_entries(
        self,
        batch_id: str,
        *,
        reason: str | None = None,
        status: str | None = None,
        page: int = 1,
        page_size: int = 50,
    ) -> QualityEntriesOut:
        """The batch's closed entries (of one reason, one closing status), newest first."""
        params: dict[str, Any] = {"page": page, "page_size": page_size}
        if reason:
            params["reason"] = reason
        if status:
            params["status"] = status
        path = f"/admin/batches/{quote(batch_id, safe='')}/quality/entries"
        return QualityEntriesOut.model_validate(self._send("GET", path, params=params))

    def withdraw_entries(self, batch_id: str, prospect_ids: list[str], reason: str) -> WithdrawOut:
        """Withdraw entries of the batch as bad rows, with the admin's reason."""
        body = WithdrawIn(prospect_ids=prospect_ids, reason=reason).model_dump()
        path = f"/admin/batches/{quote(batch_id, safe='')}/withdraw"
        return WithdrawOut.model_validate(self._send("POST", path, json=body))


def _file_name(response: httpx.Response, fallback: str) -> str:
    """The file name a Content-Disposition header gives (RFC 5987 ``filename*`` first)."""
    header = response.headers.get("content-disposition", "")
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name.lower() == "filename*" and value.lower().startswith("utf-8''"):
            return unquote(value[7:]) or fallback
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name.lower() == "filename":
            return value.strip('"') or fallback
    return fallback


def _form(
    content: bytes, file_name: str, request: ImportRequest, commit: bool = False
) -> dict[str, Any]:
    """A whitelist file and the import's fields, as a multipart POST sends them."""
    kind = XLSX_MEDIA_TYPE if file_name.lower().endswith(".xlsx") else "text/csv"
    return {
        "files": {"file": (file_name, content, kind)},
        "data": request.form(commit=commit),
        "timeout": IMPORT_TIMEOUT,
    }


def _error_for(response: httpx.Response) -> SyncError:
    try:
        body = response.json()
        if not isinstance(body, dict):  # a proxy's JSON that is not the store's error body
            raise ValueError(body)
        code, message = str(body.get("code", "")), str(body.get("message", ""))
    except ValueError:
        code, message = "", response.text[:200]
    status = response.status_code
    if status == 426:
        return ProtocolTooOld(message, status=status)
    if status == 409 and code in ("sync.cursor_invalid", "sync.cursor_expired"):
        return CursorInvalid(message, status=status)
    if status == 401 and code == "auth.invalid_credentials":
        return InvalidCredentials(message, status=status)
    if status in (401, 403):
        return AuthError(message, code=code or None, status=status)
    if status == 429 and code in BUSY_CODES:
        return StoreBusy(message, code=code, retry_after=_seconds(response), status=status)
    if status == 429:
        return TooManyAttempts(
            message, code=code or None, status=status, params={"minutes": _minutes(response)}
        )
    if status >= 500:
        return ServerUnavailable(message, status=status)
    return RequestRejected(message, code=code or None, status=status)


def _seconds(response: httpx.Response) -> int:
    """``Retry-After`` in seconds; 60 when absent or an HTTP date (a proxy's, not ours)."""
    try:
        return max(0, int(response.headers.get("Retry-After", "60")))
    except ValueError:
        return 60


def _minutes(response: httpx.Response) -> int:
    """``Retry-After`` (seconds) as whole minutes to wait, rounded up; 1 when absent."""
    return max(1, -(-_seconds(response) // 60))

"""分润调整 (管理 → 贷款回流): an admin re-splits a disbursed loan's credit by hand.

    find:  the disbursed loans whose loan id, credit code or company name holds the text
           (``GET /loans``), a page at a time;
    open:  one loan's shares — each party (营销人员 / 发起人 / 簿记网点), its person and
           outlet, its amount to the fen and ratio — and the adjustments made before
           (who, when, why);
    edit:  each share's amount typed in 元 (up to two decimals, ``parse_yuan``), the
           running total against the loan's amount shown as it is typed;
    save:  checked here first — every amount readable, the total the loan's amount to
           the fen, a reason in words — and nothing is sent while one check fails; then
           the whole split at once (``PUT /loans/{id}/shares``: the store takes all of
           it or none). On a refusal the store's words are shown and what the admin
           typed stays as typed.

Online only: nothing here is kept on the device. A failure lands in ``error_code`` /
``error_message`` (``error_params`` for a refusal made here); a done save says so in
``notice``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import flet as ft

from app.models.loan import LoanListItem, LoanSharesOut, ShareIn, ShareParty
from app.services.shares import parse_yuan, yuan_text
from app.workbench.online import OnlineCalls

if TYPE_CHECKING:
    from app.workbench.workbench import Workbench

PAGE_SIZE = 10  # loans listed at once: a phone's screenful of cards
REASON_LIMIT = 200  # characters, the store's own limit


@ft.observable
@dataclass
class SharesState:
    query: str = ""
    results: list[LoanListItem] = field(default_factory=list)
    total: int = 0
    page: int = 1
    searched: bool = False  # a search has answered (an empty list then says so)
    loan: LoanSharesOut | None = None  # the loan open for editing
    drafts: list[str] = field(default_factory=list)  # each share's amount as typed (元)
    problems: dict[int, str] = field(default_factory=dict)  # share's place → i18n code
    reason: str = ""
    busy: str = ""  # "search" | "open" | "save" | ""
    error_code: str = ""
    error_message: str = ""
    error_params: dict[str, object] = field(default_factory=dict)
    notice: str = ""  # an i18n key: what was just done

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


class SharesController(OnlineCalls):
    def __init__(self, workbench: Workbench) -> None:
        self.workbench = workbench
        self.state = SharesState()

    def clear(self) -> None:
        """Signed out: nothing of the last admin's work stays (the state object is kept:
        the screens hold it)."""
        fresh = SharesState()
        for name in SharesState.__dataclass_fields__:
            setattr(self.state, name, getattr(fresh, name))

    # -- finding a loan --------------------------------------------------------------------

    def set_query(self, text: str) -> None:
        self.state.query = text

    async def search(self, page: int = 1) -> None:
        """The disbursed loans the query finds (all of them, newest first, when empty)."""
        s = self.state
        text = s.query.strip()
        fn = self.workbench.client.loans_disbursed
        found = await self._call("search", fn, text, max(1, page), PAGE_SIZE)
        if found is None:
            return
        s.results, s.total, s.page, s.searched = found.items, found.total, found.page, True
        s.notice = ""

    # -- one loan's split --------------------------------------------------------------------

    async def open(self, loan_id: str) -> None:
        found = await self._call("open", self.workbench.client.loan_shares, loan_id)
        if found is not None:
            self._show(found)
            self.state.notice = ""

    def close(self) -> None:
        s = self.state
        s.loan, s.drafts, s.problems, s.reason, s.notice = None, [], {}, "", ""
        self._clear_error()

    def reset(self) -> None:
        """Back to the split as stored; the reason stays."""
        if self.state.loan is not None:
            reason = self.state.reason
            self._show(self.state.loan)
            self.state.reason = reason

    def type_amount(self, index: int, text: str) -> None:
        """A share's field changed: what is wrong with it, said at once."""
        s = self.state
        if not 0 <= index < len(s.drafts):
            return
        drafts = list(s.drafts)
        drafts[index] = text
        s.drafts = drafts
        self._clear_error()  # a refusal said is answered by the change; the total speaks now
        problems = {k: v for k, v in s.problems.items() if k != index}
        _, problem = parse_yuan(text)
        if problem:
            problems[index] = problem
        s.problems = problems

    def set_reason(self, text: str) -> None:
        self.state.reason = text
        if self.state.error_code == "shares.reason_required" and text.strip():
            self._clear_error()

    def typed_total(self) -> int | None:
        """The typed shares' sum in fen; None while one is missing or wrong."""
        total = 0
        for text in self.state.drafts:
            fen, problem = parse_yuan(text)
            if fen is None or problem:
                return None
            total += fen
        return total

    def difference(self) -> int | None:
        """Typed total minus the loan's amount, in fen (0: they agree); None: no total."""
        loan, total = self.state.loan, self.typed_total()
        if loan is None or total is None:
            return None
        return total - loan.amount_fen

    async def save(self) -> bool:
        """Send the typed split with the reason; False when nothing was stored (a check
        here failed, said in words, or the store refused: its words are shown). What
        was typed stays as typed either way until the store has taken it."""
        s = self.state
        loan = s.loan
        if loan is None:
            return False
        s.notice = ""
        amounts: list[int] = []
        problems: dict[int, str] = {}
        for i, text in enumerate(s.drafts):
            fen, problem = parse_yuan(text)
            if fen is None or problem:
                problems[i] = problem or "share.problem.empty"
            else:
                amounts.append(fen)
        s.problems = problems
        if problems:
            self._fail("shares.problems")
            return False
        total = sum(amounts)
        if total != loan.amount_fen:
            self._refuse("shares.sum_differs", sum=_yuan(total), amount=_yuan(loan.amount_fen))
            return False
        reason = s.reason.strip()
        if not reason:
            self._refuse("shares.reason_required")
            return False
        if len(reason) > REASON_LIMIT:
            self._refuse("share.reason_too_long", limit=REASON_LIMIT)
            return False
        if amounts == [share.amount_fen for share in loan.shares]:
            self._refuse("shares.unchanged")
            return False
        shares = [
            ShareIn(
                party=ShareParty(share.party),
                user_id=share.user_id,
                outlet_id=share.outlet_id,
                amount_fen=fen,
            )
            for share, fen in zip(loan.shares, amounts, strict=True)
        ]
        fn = self.workbench.client.set_loan_shares
        done = await self._call("save", fn, loan.loan_id, shares, reason)
        if done is None:
            return False
        self._show(done)
        s.notice = "shares.saved"
        s.results = [
            item.model_copy(update={"adjusted": done.adjusted})
            if item.loan_id == done.loan_id
            else item
            for item in s.results
        ]
        return True

    # -- helpers -----------------------------------------------------------------------------

    def _show(self, loan: LoanSharesOut) -> None:
        s = self.state
        s.loan = loan
        s.drafts = [yuan_text(share.amount_fen) for share in loan.shares]
        s.problems, s.reason = {}, ""

    def _refuse(self, code: str, **params: object) -> None:
        """A refusal made here, before anything is sent."""
        self._fail(code)
        self.state.error_params = dict(params)

    def _clear_error(self) -> None:
        super()._clear_error()
        self.state.error_params = {}


def _yuan(fen: int) -> str:
    """Fen as 元 in a sentence: "10,000.50" (the unit is the sentence's)."""
    return f"{fen // 100:,}.{fen % 100:02d}"

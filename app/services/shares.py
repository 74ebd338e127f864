"""Profit sharing (分润): how a disbursed loan's credit is split among its participants.

A disbursed loan's credit is its amount in fen (``amount × 100``), shared by three
parties (``ShareParty``):

- the **marketer**: the prospect's assignee when the disbursement is applied;
- the **originator**: the employee the loan system names as originating the loan;
- the **booking outlet**: the outlet that booked the loan (簿记), always present.

The split is a ratio in basis points per party that sums to 10,000: the product's own
(``share_ratio``) or else the store's defaults (settings ``share_*_bp``, 4000 / 3000 /
3000). Each party's share is ``floor(fen × bp / 10,000)``; the fen the rounding leaves
over (at most two) go to the party the ratio names as ``remainder_to``. A party the loan
does not have (a prospect still in its outlet's pool has no marketer; the loan system
named no originator) gives its share, remainder included, to the booking outlet. So the
shares always sum to the loan's amount exactly, to the fen.

Worked example: 1 元 (100 fen) at 3333 / 3333 / 3334, remainder to the marketer:
floors 33 / 33 / 33 (99 fen), the 1 fen left goes to the marketer: 34 / 33 / 33. With
no marketer the booking outlet takes 34 + 33 = 67 fen and the originator 33.

An admin may later change a loan's split by hand (``PUT /loans/{id}/shares``, with a
reason, audited); that is the store's business, not this rule's. The admin types each
share in 元 with up to two decimals (``parse_yuan``: "1,234.5" is 123,450 fen), and the
screen refuses a sum that is not the loan's before anything is sent.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from app.models.loan import LOAN_AMOUNT_MAX, ShareParty

__all__ = [
    "BP_TOTAL",
    "PARTIES",
    "Part",
    "Ratio",
    "parse_yuan",
    "ratio_problem",
    "split",
    "yuan_text",
]

BP_TOTAL = 10_000  # basis points in the whole
PARTIES: tuple[ShareParty, ...] = (
    ShareParty.MARKETER,
    ShareParty.ORIGINATOR,
    ShareParty.BOOKING_OUTLET,
)


@dataclass(frozen=True)
class Ratio:
    """A split in basis points, and who takes the fen the rounding leaves."""

    marketer_bp: int
    originator_bp: int
    booking_outlet_bp: int
    remainder_to: str = ShareParty.MARKETER

    def bp(self, party: ShareParty) -> int:
        return {
            ShareParty.MARKETER: self.marketer_bp,
            ShareParty.ORIGINATOR: self.originator_bp,
            ShareParty.BOOKING_OUTLET: self.booking_outlet_bp,
        }[party]


@dataclass(frozen=True)
class Part:
    """One party's share: the basis points it holds (its own and any a missing party
    passed on) and its amount in fen."""

    bp: int
    fen: int


def ratio_problem(
    marketer_bp: int, originator_bp: int, booking_outlet_bp: int, remainder_to: str
) -> str:
    """Why a ratio will not do (an i18n key), or "" when it will: each part from 0 to
    10,000, together exactly 10,000, and the remainder to one of the three parties."""
    parts = (marketer_bp, originator_bp, booking_outlet_bp)
    if any(p < 0 or p > BP_TOTAL for p in parts):
        return "share.ratio_range"
    if sum(parts) != BP_TOTAL:
        return "share.ratio_sum"
    if remainder_to not in set(PARTIES):
        return "share.remainder_party"
    return ""


def split(
    amount_yuan: int, ratio: Ratio, *, has_marketer: bool, has_originator: bool
) -> dict[ShareParty, Part]:
    """The parts of ``amount_yuan`` by ``ratio`` (see the module docstring); only the
    parties present appear, and their fen sum to ``amount_yuan × 100``."""
    problem = ratio_problem(
        ratio.marketer_bp, ratio.originator_bp, ratio.booking_outlet_bp, ratio.remainder_to
    )
    if problem:
        raise ValueError(problem)
    if amount_yuan < 0:
        raise ValueError("amount must not be negative")
    fen = amount_yuan * 100
    parts = {party: [ratio.bp(party), fen * ratio.bp(party) // BP_TOTAL] for party in PARTIES}
    parts[ShareParty(ratio.remainder_to)][1] += fen - sum(p[1] for p in parts.values())
    present = {
        ShareParty.MARKETER: has_marketer,
        ShareParty.ORIGINATOR: has_originator,
        ShareParty.BOOKING_OUTLET: True,
    }
    outlet = parts[ShareParty.BOOKING_OUTLET]
    for party in PARTIES:
        if not present[party]:
            bp, amount = parts.pop(party)
            outlet[0] += bp
            outlet[1] += amount
    return {party: Part(bp, amount) for party, (bp, amount) in parts.items()}


FEN_PER_YUAN = 100
_YUAN_UNITS = ("元", "¥", "￥")  # typed before or after an amount, as people write it


def parse_yuan(text: str) -> tuple[int | None, str]:
    """A share as an admin types it, in 元: (fen, "") or (None, a problem's i18n code).
    Full-width digits, thousands separators and a 元 or ¥ sign are read as people type
    them; nothing typed is a problem too (a share is 0 or more, never left out)."""
    raw = unicodedata.normalize("NFKC", text).strip().replace(",", "").replace(" ", "")
    for unit in _YUAN_UNITS:
        raw = raw.removeprefix(unit).removesuffix(unit)
    if not raw:
        return None, "share.problem.empty"
    try:
        number = Decimal(raw)
    except InvalidOperation:
        return None, "share.problem.not_a_number"
    if not number.is_finite():
        return None, "share.problem.not_a_number"
    if number < 0:
        return None, "share.problem.negative"
    if number > LOAN_AMOUNT_MAX:  # compared as typed: "1e999999999" is never multiplied out
        return None, "share.problem.too_large"
    fen = number * FEN_PER_YUAN
    if fen != fen.to_integral_value():
        return None, "share.problem.precision"
    return int(fen), ""


def yuan_text(fen: int) -> str:
    """Fen as a share's field shows them in 元: "4000", "1234.50"."""
    yuan, cents = divmod(fen, FEN_PER_YUAN)
    return str(yuan) if not cents else f"{yuan}.{cents:02d}"

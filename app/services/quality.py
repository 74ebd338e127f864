"""List quality (名单质量): what marketers' feedback says about a whitelist batch, for head
office (双向传导, DESIGN §8).

A marketer who closes an entry (已拒绝 declined, 无效 invalid) says why
(``FeedbackReason``: wrong contact, business closed, not eligible, not interested,
duplicate, other with a note). This rolls those reasons up per batch, and per outlet
within a batch, over the entries in the reader's reach (an admin: every outlet; a
manager: its outlets). The central store gathers the counts (``app.server.quality``);
the figures are these pure functions.

Definitions a product owner signs off:

- **Entries** (名单条数): the batch's entries at the outlets in reach, withdrawn ones
  included: a withdrawn entry was on the list marketers worked, and withdrawing a bad row
  does not make the list better in hindsight. **Withdrawn** counts those of them
  withdrawn since (a new version no longer listed them, the batch expired, or head
  office withdrew them as bad rows).
- **Worked** (已处理): entries a marketer has taken past ``assigned``: contacted, further
  along the main line, or closed. An entry nobody has worked says nothing about the list
  yet, so it is in no rate's denominator: a batch pushed yesterday does not look clean
  for being untouched.
- **Invalid** (无效) and **declined** (已拒绝): entries whose status is ``invalid`` /
  ``declined`` now. Closing is final (nothing moves a closed entry), so this is every
  entry ever closed so.
- **Reason** of a closed entry: the ``FeedbackReason`` on the applied funnel event that
  closed it; ``unspecified`` for an entry closed before reasons were asked.
- **Invalid rate** (无效率) = invalid ÷ worked.
- **Wrong-contact rate** (联系方式错误率) = closed entries whose reason is
  ``wrong_contact``, declined or invalid alike, ÷ worked: a wrong phone number is the
  list's fault however the marketer closed the entry.
- Both rates are None (shown "—") while nothing is worked.
- **Reasons**: the closed entries per reason, split by status; their total is
  invalid + declined.
- **Notes**: the words marketers wrote when closing (``close_note``, required for
  ``other``), newest first, a few of them (``NOTES_SHOWN``) for head office to read.

Worked example (``tests/unit/services/test_quality.py``): outlet A holds 10 entries:
1 unassigned, 2 assigned, 2 contacted, 1 disbursed, 3 invalid (2 wrong contact, 1
business closed; one of the wrong contacts withdrawn since) and 1 declined (not
interested). Worked = 2 + 1 + 3 + 1 = 7; invalid rate 3 / 7 = 42.9 %; wrong-contact rate
2 / 7 = 28.6 %. Outlet B holds 4: 2 assigned, 1 declined for a wrong contact, 1 invalid
with no reason (closed before reasons were asked). Worked 2; invalid rate 1 / 2; wrong
contact 1 / 2. The batch: 14 entries, 1 withdrawn, 9 worked, invalid 4 / 9 = 44.4 %,
wrong contact 3 / 9 = 33.3 %.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from app.models.feedback import FeedbackReason
from app.models.prospect import FunnelStatus

__all__ = [
    "NOTES_SHOWN",
    "REASONS",
    "UNSPECIFIED",
    "Quality",
    "QualityCount",
    "by_batch",
    "by_outlet",
    "rate",
    "reason_of",
    "tally",
]

NOTES_SHOWN = 5  # the latest closing notes a report carries
UNSPECIFIED = "unspecified"  # a closed entry's reason when its event has none
# Every reason a report counts, in the order a report lists them.
REASONS: tuple[str, ...] = (*(r.value for r in FeedbackReason), UNSPECIFIED)
# Statuses that are not yet "worked": nobody has judged the entry.
UNWORKED: frozenset[str] = frozenset({FunnelStatus.UNASSIGNED, FunnelStatus.ASSIGNED})
_CLOSED = (FunnelStatus.INVALID.value, FunnelStatus.DECLINED.value)


@dataclass(frozen=True)
class QualityCount:
    """How many entries of one batch, at one outlet, stand alike: the store's rows."""

    batch_id: str
    outlet_id: str
    status: str
    reason: str  # a closed entry's ``FeedbackReason`` value as stored ("": none); "" if open
    withdrawn: bool
    n: int


@dataclass(frozen=True)
class Quality:
    """A batch's (or one outlet's part of it) list quality, by the module's definitions."""

    entries: int = 0
    withdrawn: int = 0
    worked: int = 0
    invalid: int = 0
    declined: int = 0
    wrong_contact: int = 0
    # reason -> {"invalid": n, "declined": n}, every reason of ``REASONS``
    reasons: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    @property
    def invalid_rate(self) -> float | None:
        return rate(self.invalid, self.worked)

    @property
    def wrong_contact_rate(self) -> float | None:
        return rate(self.wrong_contact, self.worked)


def rate(part: int, whole: int) -> float | None:
    """``part`` ÷ ``whole``; None when ``whole`` is 0 (nothing to judge by)."""
    return part / whole if whole else None


def reason_of(status: str, stored: str | None) -> str:
    """The reason a closed entry counts under (``unspecified`` when none was given); ""
    for an open one."""
    if status not in _CLOSED:
        return ""
    return stored if stored in REASONS and stored != UNSPECIFIED else UNSPECIFIED


def tally(rows: Iterable[QualityCount]) -> Quality:
    """The figures over ``rows`` (any mix of batches and outlets: the caller groups)."""
    entries = withdrawn = worked = wrong = 0
    closed = {s: 0 for s in _CLOSED}
    reasons = {r: dict.fromkeys(_CLOSED, 0) for r in REASONS}
    for row in rows:
        entries += row.n
        withdrawn += row.n if row.withdrawn else 0
        worked += 0 if row.status in UNWORKED else row.n
        if row.status in closed:
            closed[row.status] += row.n
            reason = reason_of(row.status, row.reason)
            reasons[reason][row.status] += row.n
            wrong += row.n if reason == FeedbackReason.WRONG_CONTACT else 0
    return Quality(
        entries=entries,
        withdrawn=withdrawn,
        worked=worked,
        invalid=closed[FunnelStatus.INVALID],
        declined=closed[FunnelStatus.DECLINED],
        wrong_contact=wrong,
        reasons=reasons,
    )


def by_outlet(rows: Iterable[QualityCount]) -> dict[str, Quality]:
    """One ``Quality`` per outlet among ``rows``."""
    return {k: tally(v) for k, v in _group(rows, lambda r: r.outlet_id).items()}


def by_batch(rows: Iterable[QualityCount]) -> dict[str, Quality]:
    """One ``Quality`` per batch among ``rows`` (every outlet of it in ``rows``)."""
    return {k: tally(v) for k, v in _group(rows, lambda r: r.batch_id).items()}


def _group(
    rows: Iterable[QualityCount], key: Callable[[QualityCount], str]
) -> dict[str, list[QualityCount]]:
    groups: dict[str, list[QualityCount]] = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    return groups

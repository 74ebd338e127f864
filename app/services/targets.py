"""Marketing targets (营销任务) and their progress: the figures a target is measured by.

An admin sets an outlet's targets, a sub-branch manager its outlets' and their marketers',
an outlet manager its marketers' (the rule is ``app.services.policy.decide_target``), for
a calendar month ("2026-12") or quarter ("2026-Q4"). The central store counts the actual
figures (``app.server.targets``); this module holds what they mean, and reads what a
device was sent at its last sync.

Definitions a product owner signs off (periods are Beijing calendar periods, as in
``app.services.performance``):

- **Contacts** (营销次数): marketing logs whose ``occurred_at`` (when the contact happened)
  lies in the period. A marketer's are the logs they wrote, whoever holds the prospect
  now; an outlet's are the logs on its prospects (the entries at the outlet now,
  withdrawn ones included: the work on them was done), whoever wrote them.
- **Disbursed count** (放款笔数) and **amount** (放款金额, 元): loans the loan system
  reported disbursed with a business date in the period and matched to a prospect
  (loan events ``disbursed`` in state applied or recorded). A loan is a marketer's when a
  marketer share of its profit split (分润) names them, as the feed made it or an admin
  re-split it; an outlet's when the outlet booked it (簿记). The amount is the loan's
  whole amount, not the share. A loan counts once per marketer however many shares name
  them.
- **Progress** (完成率) = actual ÷ target; None for a target of 0 (nothing to reach).
  Above 1 when exceeded; ``met`` when the actual reaches the target.

Worked example (``tests/unit/services/test_targets.py``): a target of 40 contacts in
2026-12 with 30 logs dated 1–31 December Beijing time is 75 % done; a log at 2026-11-30
17:00 UTC (1 December 01:00 in Beijing) counts, one at 2026-12-31 16:30 UTC (1 January in
Beijing) does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from app.models.target import TargetMetric, TargetSubject
from app.services.performance import named_period

__all__ = ["TargetProgress", "in_period", "progress", "stored_targets"]


def progress(actual: int, target: int) -> float | None:
    """actual ÷ target; None for a target of 0."""
    return actual / target if target else None


def in_period(period: str, day: date) -> bool:
    """Whether Beijing date ``day`` lies in the named period ("2026-12", "2026-Q4")."""
    try:
        start, end = named_period(period)
    except ValueError:
        return False
    return start <= day <= end


@dataclass(frozen=True)
class TargetProgress:
    """One target and how far it has come (as the central store counted it)."""

    id: str
    period: str
    subject: TargetSubject
    subject_id: str
    metric: TargetMetric
    value: int  # the target: contacts, loans, or 元
    actual: int

    @property
    def progress(self) -> float | None:
        return progress(self.actual, self.value)

    @property
    def met(self) -> bool:
        return self.actual >= self.value


def stored_targets(stored: Mapping[str, Any] | None, today: date) -> list[TargetProgress]:
    """The targets the central store sent at the last sync (``targets`` of /stats/ranks)
    whose period contains ``today``: last month's must not pass for this one's. An answer
    from a store without targets, or an entry this release does not read, gives none."""
    out = []
    for entry in (stored or {}).get("targets") or []:
        try:
            found = TargetProgress(
                id=str(entry["id"]),
                period=str(entry["period"]),
                subject=TargetSubject(entry["subject"]),
                subject_id=str(entry["subject_id"]),
                metric=TargetMetric(entry["metric"]),
                value=int(entry["value"]),
                actual=int(entry["actual"]),
            )
        except (KeyError, TypeError, ValueError):
            continue
        if in_period(found.period, today):
            out.append(found)
    return out

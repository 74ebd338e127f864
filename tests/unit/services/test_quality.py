"""List quality's definitions (``app.services.quality``), on the docstring's worked example:
the denominators are the worked entries, withdrawn entries still count, a wrong contact
counts however the entry was closed, and an entry closed without a reason says so."""

from __future__ import annotations

import pytest

from app.services.quality import (
    REASONS,
    UNSPECIFIED,
    Quality,
    QualityCount,
    by_batch,
    by_outlet,
    reason_of,
    tally,
)

B = "batch-1"


def rows(outlet: str, *groups: tuple[str, str, bool, int]) -> list[QualityCount]:
    return [QualityCount(B, outlet, status, reason, gone, n) for status, reason, gone, n in groups]


# the docstring's batch: outlet A 10 entries, outlet B 4
A = rows(
    "A",
    ("unassigned", "", False, 1),
    ("assigned", "", False, 2),
    ("contacted", "", False, 2),
    ("disbursed", "", False, 1),
    ("invalid", "wrong_contact", False, 1),
    ("invalid", "wrong_contact", True, 1),  # withdrawn since: still on the list worked
    ("invalid", "business_closed", False, 1),
    ("declined", "not_interested", False, 1),
)
B_ROWS = rows(
    "B",
    ("assigned", "", False, 2),
    ("declined", "wrong_contact", False, 1),
    ("invalid", "", False, 1),  # closed before reasons were asked
)


def test_the_worked_example_per_outlet():
    outlets = by_outlet(A + B_ROWS)
    a, b = outlets["A"], outlets["B"]
    assert (a.entries, a.withdrawn, a.worked, a.invalid, a.declined, a.wrong_contact) == (
        10,
        1,
        7,
        3,
        1,
        2,
    )
    assert a.invalid_rate == pytest.approx(3 / 7)  # 42.9 %
    assert a.wrong_contact_rate == pytest.approx(2 / 7)  # 28.6 %
    assert (b.entries, b.worked, b.invalid, b.declined, b.wrong_contact) == (4, 2, 1, 1, 1)
    assert (b.invalid_rate, b.wrong_contact_rate) == (0.5, 0.5)


def test_the_worked_example_for_the_batch():
    whole = tally(A + B_ROWS)
    assert (whole.entries, whole.withdrawn, whole.worked) == (14, 1, 9)
    assert whole.invalid_rate == pytest.approx(4 / 9)  # 44.4 %
    assert whole.wrong_contact_rate == pytest.approx(3 / 9)  # 33.3 %: one was declined
    assert by_batch(A + B_ROWS)[B] == whole
    assert whole.reasons["wrong_contact"] == {"invalid": 2, "declined": 1}
    assert whole.reasons[UNSPECIFIED] == {"invalid": 1, "declined": 0}
    assert whole.reasons["not_interested"] == {"invalid": 0, "declined": 1}
    assert list(whole.reasons) == list(REASONS)
    per_reason = sum(sum(v.values()) for v in whole.reasons.values())
    assert per_reason == whole.invalid + whole.declined


def test_nothing_worked_has_no_rate_rather_than_a_clean_zero():
    fresh = tally(rows("A", ("unassigned", "", False, 50), ("assigned", "", False, 50)))
    assert (fresh.entries, fresh.worked) == (100, 0)
    assert fresh.invalid_rate is None and fresh.wrong_contact_rate is None
    assert Quality().invalid_rate is None


def test_a_closed_entrys_reason_and_an_open_entrys_none():
    assert reason_of("invalid", "wrong_contact") == "wrong_contact"
    assert reason_of("declined", "") == UNSPECIFIED
    assert reason_of("declined", "something_new") == UNSPECIFIED
    assert reason_of("contacted", "wrong_contact") == ""

"""Targets' definitions (``app.services.targets``): periods in Beijing time, progress, and
what a device reads back from its last sync."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from app.models.target import TargetMetric, TargetSubject
from app.services.performance import named_period, period_name, utc_range
from app.services.targets import TargetProgress, in_period, progress, stored_targets


def test_the_worked_example_progress_and_the_beijing_month():
    assert progress(30, 40) == 0.75
    assert progress(50, 40) == 1.25  # exceeded
    assert progress(3, 0) is None  # a target of nothing has no progress
    lo, hi = utc_range(*named_period("2026-12"))
    first_hour = datetime(2026, 11, 30, 17, 0)  # 1 December 01:00 in Beijing
    new_year = datetime(2026, 12, 31, 16, 30)  # 1 January 00:30 in Beijing
    assert lo <= first_hour < hi
    assert not (lo <= new_year < hi)


@pytest.mark.parametrize(
    ("name", "start", "end"),
    [
        ("2026-12", date(2026, 12, 1), date(2026, 12, 31)),
        ("2026-02", date(2026, 2, 1), date(2026, 2, 28)),
        ("2028-02", date(2028, 2, 1), date(2028, 2, 29)),
        ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),
        ("2026-Q1", date(2026, 1, 1), date(2026, 3, 31)),
    ],
)
def test_named_periods(name, start, end):
    assert named_period(name) == (start, end)


@pytest.mark.parametrize(
    "name", ["2026-13", "2026-00", "2026-Q5", "26-12", "1999-12", "9999-12", "2026/12", ""]
)
def test_a_name_that_is_no_period_is_refused(name):
    with pytest.raises(ValueError):
        named_period(name)


def test_the_name_of_this_month_and_quarter():
    assert period_name("month", date(2026, 12, 9)) == "2026-12"
    assert period_name("quarter", date(2026, 12, 9)) == "2026-Q4"
    assert period_name("month", date(2027, 1, 1)) == "2027-01"
    assert in_period("2026-Q4", date(2026, 10, 1)) and not in_period("2026-Q4", date(2027, 1, 1))


def test_a_device_reads_this_periods_targets_and_nothing_else():
    stored = {
        "today": "2026-12-09",
        "targets": [
            {
                "id": "t1",
                "period": "2026-12",
                "subject": "marketer",
                "subject_id": "u1",
                "metric": "contacts",
                "value": 40,
                "actual": 30,
            },
            {
                "id": "t2",
                "period": "2026-Q4",
                "subject": "outlet",
                "subject_id": "o1",
                "metric": "disbursed_amount",
                "value": 5_000_000,
                "actual": 6_000_000,
            },
            {"id": "t3", "period": "2026-12", "subject": "planet"},  # a newer store's kind
        ],
    }
    in_december = stored_targets(stored, date(2026, 12, 31))
    assert in_december == [
        TargetProgress(
            "t1", "2026-12", TargetSubject.MARKETER, "u1", TargetMetric.CONTACTS, 40, 30
        ),
        TargetProgress(
            "t2",
            "2026-Q4",
            TargetSubject.OUTLET,
            "o1",
            TargetMetric.DISBURSED_AMOUNT,
            5_000_000,
            6_000_000,
        ),
    ]
    assert in_december[0].progress == 0.75 and not in_december[0].met
    assert in_december[1].met
    # January: December's targets must not pass for January's
    assert stored_targets(stored, date(2027, 1, 2)) == []
    # an answer from a store without targets
    assert stored_targets({"today": "2026-12-09", "periods": {}}, date(2026, 12, 9)) == []
    assert stored_targets(None, date(2026, 12, 9)) == []

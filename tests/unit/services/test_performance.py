"""Performance figures as pure functions: periods, reach, rates, ranks, coverage."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from app.services.performance import (
    BatchInfo,
    Conversion,
    Period,
    Tally,
    batch_coverage,
    competition_ranks,
    conversion_rates,
    period_bounds,
    rank_of,
    reached_counts,
    status_mix,
    utc_range,
    week_starts,
    weekly_series,
)

TODAY = date(2026, 3, 25)  # a Wednesday
D = date


# -- periods ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "today", "bounds"),
    [
        (Period.WEEK, D(2026, 3, 25), (D(2026, 3, 23), D(2026, 3, 29))),
        (Period.WEEK, D(2026, 3, 23), (D(2026, 3, 23), D(2026, 3, 29))),  # Monday
        (Period.WEEK, D(2026, 3, 29), (D(2026, 3, 23), D(2026, 3, 29))),  # Sunday
        (Period.WEEK, D(2025, 12, 31), (D(2025, 12, 29), D(2026, 1, 4))),  # across the year
        (Period.WEEK, D(2027, 1, 1), (D(2026, 12, 28), D(2027, 1, 3))),  # ISO week 53
        (Period.MONTH, D(2025, 12, 31), (D(2025, 12, 1), D(2025, 12, 31))),
        (Period.MONTH, D(2026, 2, 14), (D(2026, 2, 1), D(2026, 2, 28))),
        (Period.MONTH, D(2024, 2, 29), (D(2024, 2, 1), D(2024, 2, 29))),  # leap year
        (Period.MONTH, D(2026, 1, 1), (D(2026, 1, 1), D(2026, 1, 31))),
        (Period.QUARTER, D(2026, 3, 31), (D(2026, 1, 1), D(2026, 3, 31))),
        (Period.QUARTER, D(2026, 4, 1), (D(2026, 4, 1), D(2026, 6, 30))),
        (Period.QUARTER, D(2026, 9, 30), (D(2026, 7, 1), D(2026, 9, 30))),
        (Period.QUARTER, D(2025, 12, 31), (D(2025, 10, 1), D(2025, 12, 31))),
        (Period.QUARTER, D(2026, 1, 1), (D(2026, 1, 1), D(2026, 3, 31))),
    ],
)
def test_period_bounds(period: Period, today: date, bounds: tuple[date, date]) -> None:
    assert period_bounds(period, today) == bounds
    assert period_bounds(period.value, today) == bounds  # the view may pass the code


def test_a_beijing_period_starts_at_16_00_utc_the_day_before() -> None:
    assert utc_range(D(2026, 3, 23), D(2026, 3, 29)) == (
        datetime(2026, 3, 22, 16, 0),
        datetime(2026, 3, 29, 16, 0),
    )
    assert utc_range(*period_bounds(Period.QUARTER, D(2026, 1, 5))) == (
        datetime(2025, 12, 31, 16, 0),
        datetime(2026, 3, 31, 16, 0),
    )


# -- pure computation -------------------------------------------------------------------


def test_reached_is_cumulative_along_the_main_line() -> None:
    reached = reached_counts({6: 2, 5: 1, 3: 3, 2: 1, 1: 2, 0: 1})
    assert reached == {
        "unassigned": 10,
        "assigned": 9,
        "contacted": 7,
        "interested": 6,
        "applied": 3,
        "approved": 3,
        "disbursed": 2,
    }


def test_conversion_rates_between_consecutive_stages() -> None:
    reached = {
        "unassigned": 10,
        "assigned": 8,
        "contacted": 6,
        "interested": 0,
        "applied": 0,
        "approved": 0,
        "disbursed": 0,
    }
    rates = conversion_rates(reached)
    assert rates[0] == Conversion("unassigned", "assigned", 0.8)
    assert rates[1] == Conversion("assigned", "contacted", 0.75)
    assert rates[2] == Conversion("contacted", "interested", 0.0)
    assert rates[3] == Conversion("interested", "applied", None)  # nobody to convert
    assert len(rates) == 6


def test_status_mix_covers_every_status() -> None:
    mix = status_mix({"assigned": 3, "disbursed": 1})
    assert mix["assigned"] == 0.75 and mix["disbursed"] == 0.25
    assert mix["declined"] == 0.0 and len(mix) == 9
    assert set(status_mix({}).values()) == {0.0}


def test_weekly_series_buckets_days_into_iso_weeks() -> None:
    daily = {
        D(2026, 3, 1): 5,
        D(2026, 3, 2): 1,
        D(2026, 3, 8): 2,
        D(2026, 3, 23): 4,
        D(2026, 3, 29): 1,
        D(2026, 3, 30): 9,
    }
    assert weekly_series(daily, TODAY, weeks=4) == [
        (D(2026, 3, 2), 3),
        (D(2026, 3, 9), 0),
        (D(2026, 3, 16), 0),
        (D(2026, 3, 23), 5),
    ]
    assert week_starts(D(2026, 3, 29), 2) == [D(2026, 3, 16), D(2026, 3, 23)]


def test_competition_ranks_share_places_on_ties() -> None:
    assert competition_ranks([(0, 0, 2), (5, 1, 0), (5, 1, 0), (5, 1, 3), (0, 0, 0)]) == [
        4,
        2,
        2,
        1,
        5,
    ]
    assert competition_ranks([]) == []
    tallies = {"x": Tally(3, 2, 0, 0), "y": Tally(0, 0, 1, 10), "z": Tally(3, 1, 0, 0)}
    assert rank_of("y", tallies) == (1, 3)
    assert rank_of("z", tallies) == (2, 3)  # same contacts as x: shares second place
    assert rank_of("nobody", tallies) == (None, 3)


def test_batch_coverage_counts_first_contacts_within_7_and_30_days() -> None:
    k = BatchInfo("K", "批次K", "经营快贷", D(2026, 3, 1))
    rows = [
        ("K", D(2026, 2, 20), 1),  # contacted before the batch started: covered
        ("K", D(2026, 3, 1), 2),  # day 0
        ("K", D(2026, 3, 7), 1),  # day 6: the seventh day
        ("K", D(2026, 3, 8), 1),  # day 7: too late for 7, fine for 30
        ("K", D(2026, 3, 30), 1),  # day 29
        ("K", D(2026, 3, 31), 1),  # day 30: too late
        ("K", None, 3),  # never contacted
        ("ghost", D(2026, 3, 1), 4),  # a batch this device does not know
    ]
    [cov] = batch_coverage([k], rows)
    assert (cov.prospects, cov.within_7, cov.within_30) == (10, 4, 6)
    assert (cov.share_7, cov.share_30) == (0.4, 0.6)

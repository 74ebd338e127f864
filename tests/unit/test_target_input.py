"""A target as a manager types it (管理 → 营销任务): what is read, and what is refused in
words before anything is sent (``app.workbench.targets.parse_value``)."""

from __future__ import annotations

import pytest

from app.workbench.targets import COUNT_MAX, parse_value, typed

AMOUNT, CONTACTS = "disbursed_amount", "contacts"


@pytest.mark.parametrize(
    ("metric", "text", "value"),
    [
        (AMOUNT, "12.5", 125_000),  # 万元 as typed, 元 as stored
        (AMOUNT, "50", 500_000),
        (AMOUNT, " 1,000 ", 10_000_000),
        (AMOUNT, "０.０００１", 1),  # full-width, to the yuan
        (AMOUNT, "30万元", 300_000),
        (AMOUNT, "30万", 300_000),
        (AMOUNT, "1000000", 10_000_000_000),  # the store's limit, exactly
        (CONTACTS, "40", 40),
        (CONTACTS, "４０", 40),
        (CONTACTS, "0", 0),
        (CONTACTS, "1e2", 100),
        ("disbursed_count", "3.0", 3),
        (CONTACTS, str(COUNT_MAX), COUNT_MAX),
    ],
)
def test_what_is_read(metric, text, value):
    assert parse_value(metric, text) == (value, "")


@pytest.mark.parametrize(
    ("metric", "text", "problem"),
    [
        (CONTACTS, "abc", "targets.problem.not_a_number"),
        (CONTACTS, "12次", "targets.problem.not_a_number"),
        (AMOUNT, "NaN", "targets.problem.not_a_number"),
        (AMOUNT, "Infinity", "targets.problem.not_a_number"),
        (CONTACTS, "-1", "targets.problem.negative"),
        (AMOUNT, "-0.5", "targets.problem.negative"),
        (CONTACTS, "2.5", "targets.problem.whole"),
        (AMOUNT, "0.00001", "targets.problem.precision"),  # a tenth of a yuan
        (CONTACTS, str(COUNT_MAX + 1), "targets.problem.too_large"),
        (AMOUNT, "1000000.0001", "targets.problem.too_large_amount"),
        (AMOUNT, "1e999999999", "targets.problem.too_large_amount"),  # no huge integer made
    ],
)
def test_what_is_refused_in_words(metric, text, problem):
    assert parse_value(metric, text) == (None, problem)


def test_nothing_typed_is_no_target():
    assert parse_value(CONTACTS, "  ") == (None, "")
    assert parse_value(AMOUNT, "万元") == (None, "")


def test_a_stored_target_shows_as_typed():
    assert typed(AMOUNT, 125_000) == "12.5"
    assert typed(AMOUNT, 500_000) == "50"
    assert typed(AMOUNT, 1) == "0.0001"
    assert typed(CONTACTS, 40) == "40"
    for value in (1, 99_999, 125_000, 10_000_000_000):
        assert parse_value(AMOUNT, typed(AMOUNT, value)) == (value, "")

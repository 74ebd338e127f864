"""A share of a loan as an admin types it (管理 → 贷款回流 → 分润调整): read in 元 to the
fen, or refused in words before anything is sent (``app.services.shares.parse_yuan``)."""

from __future__ import annotations

import pytest

from app.i18n import format_fen, t
from app.services.shares import parse_yuan, yuan_text


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("4000", 400_000),
        ("4000.5", 400_050),
        ("0.01", 1),
        ("0", 0),
        (" 1,234.56 ", 123_456),
        ("１２３４．５６", 123_456),  # full-width, as a Chinese keyboard types it
        ("300元", 30_000),
        ("¥300", 30_000),
        ("10000000", 1_000_000_000),  # the largest loan, exactly
    ],
)
def test_what_is_read(text, fen):
    assert parse_yuan(text) == (fen, "")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "share.problem.empty"),
        ("  元", "share.problem.empty"),
        ("abc", "share.problem.not_a_number"),
        ("12元3", "share.problem.not_a_number"),
        ("NaN", "share.problem.not_a_number"),
        ("-1", "share.problem.negative"),
        ("0.001", "share.problem.precision"),  # a tenth of a fen
        ("10000000.01", "share.problem.too_large"),
        ("1e999999999", "share.problem.too_large"),  # no huge integer made
    ],
)
def test_what_is_refused_in_words(text, problem):
    assert parse_yuan(text) == (None, problem)
    assert t(problem, "zh") != problem and t(problem, "en") != problem


def test_a_share_shows_as_typed_and_reads_back():
    assert [yuan_text(f) for f in (400_000, 123_450, 1, 0)] == ["4000", "1234.50", "0.01", "0"]
    for fen in (0, 1, 99, 100, 123_456, 1_000_000_000):
        assert parse_yuan(yuan_text(fen)) == (fen, "")


def test_an_amount_to_the_fen_in_words():
    assert format_fen(123_456_78) == "123,456.78 元"
    assert format_fen(5, "en") == "¥0.05"
    assert format_fen(-150) == "-1.50 元"

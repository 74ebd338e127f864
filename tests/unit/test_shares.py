"""The split of a disbursed loan's credit (分润, ``app.services.shares``), the default ratio's
check in the settings, the funnel's judgement of the loan system, and the loan file's
reading (``app.services.loan_import``)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.config import Settings
from app.models.loan import LoanEventIn, ShareParty
from app.services.funnel import move_refusal
from app.services.import_read import ImportFileError
from app.services.loan_import import read_loan_file
from app.services.shares import Part, Ratio, ratio_problem, split

M, OR, B = ShareParty.MARKETER, ShareParty.ORIGINATOR, ShareParty.BOOKING_OUTLET
ROOT = Path(__file__).resolve().parents[2]


def test_the_worked_example_of_the_docstring():
    thirds = Ratio(3333, 3333, 3334, remainder_to=M)
    assert split(1, thirds, has_marketer=True, has_originator=True) == {
        M: Part(3333, 34),
        OR: Part(3333, 33),
        B: Part(3334, 33),
    }
    # no marketer: its share and the remainder it took go to the booking outlet
    assert split(1, thirds, has_marketer=False, has_originator=True) == {
        OR: Part(3333, 33),
        B: Part(6667, 67),
    }


def test_the_default_split_of_a_round_amount():
    ratio = Ratio(4000, 3000, 3000)
    assert split(500_000, ratio, has_marketer=True, has_originator=True) == {
        M: Part(4000, 20_000_000),
        OR: Part(3000, 15_000_000),
        B: Part(3000, 15_000_000),
    }


def test_missing_parties_give_their_share_to_the_booking_outlet():
    ratio = Ratio(4000, 3000, 3000, remainder_to=OR)
    alone = split(999, ratio, has_marketer=False, has_originator=False)
    assert alone == {B: Part(10_000, 99_900)}
    no_originator = split(7, ratio, has_marketer=True, has_originator=False)
    assert no_originator == {M: Part(4000, 280), B: Part(6000, 420)}


@pytest.mark.parametrize("amount", [1, 2, 3, 7, 99, 101, 333_333, 1_000_001, 9_999_999, 10_000_000])
@pytest.mark.parametrize(
    "bps",
    [
        (3333, 3333, 3334),
        (1, 1, 9998),
        (9999, 0, 1),
        (0, 0, 10_000),
        (3000, 3001, 3999),
        (4000, 3000, 3000),
    ],
)
def test_shares_always_sum_to_the_amount_exactly(amount, bps):
    for remainder_to, marketer, originator in itertools.product(
        (M, OR, B), (True, False), (True, False)
    ):
        ratio = Ratio(*bps, remainder_to=remainder_to)
        parts = split(amount, ratio, has_marketer=marketer, has_originator=originator)
        assert sum(p.fen for p in parts.values()) == amount * 100
        assert sum(p.bp for p in parts.values()) == 10_000
        assert (M in parts, OR in parts, B in parts) == (marketer, originator, True)
        # each share is its exact part give or take the rounding (under 3 fen)
        for part in parts.values():
            assert abs(part.fen * 10_000 - amount * 100 * part.bp) < 3 * 10_000


def test_the_remainder_goes_to_the_named_party():
    ratio = Ratio(3333, 3333, 3334, remainder_to=B)  # 9,999,999 元: floors leave 2 fen
    parts = split(9_999_999, ratio, has_marketer=True, has_originator=True)
    fen = 999_999_900
    assert parts[M].fen == fen * 3333 // 10_000
    assert parts[OR].fen == fen * 3333 // 10_000
    assert parts[B].fen == fen - 2 * (fen * 3333 // 10_000)
    assert parts[B].fen == fen * 3334 // 10_000 + 2 == 333_399_968


def test_a_ratio_must_be_whole_and_name_a_party():
    assert ratio_problem(4000, 3000, 3000, "marketer") == ""
    assert ratio_problem(4000, 3000, 2999, "marketer") == "share.ratio_sum"
    assert ratio_problem(10_001, -1, 0, "marketer") == "share.ratio_range"
    assert ratio_problem(4000, 3000, 3000, "branch") == "share.remainder_party"
    with pytest.raises(ValueError, match="share.ratio_sum"):
        split(100, Ratio(5000, 5000, 1), has_marketer=True, has_originator=True)


def test_the_settings_refuse_a_default_split_that_is_not_whole():
    assert Settings().share_marketer_bp == 4000
    Settings(share_marketer_bp=5000, share_originator_bp=2500, share_booking_outlet_bp=2500)
    with pytest.raises(ValidationError, match="share.ratio_sum"):
        Settings(share_marketer_bp=5000)
    with pytest.raises(ValidationError, match="share.remainder_party"):
        Settings(share_remainder_to="branch")


def test_the_loan_system_is_not_told_to_claim_first():
    assert move_refusal("unassigned", "applied") == "funnel.not_assigned"
    assert move_refusal("unassigned", "applied", by_person=False) == ""
    assert move_refusal("unassigned", "disbursed", 10, by_person=False) == ""
    # every other rule holds for it too
    assert move_refusal("disbursed", "applied", by_person=False) == "funnel.closed"
    assert move_refusal("approved", "applied", by_person=False) == "funnel.backwards"
    assert move_refusal("declined", "approved", by_person=False) == "funnel.closed"
    assert move_refusal("applied", "applied", by_person=False) == "funnel.same_status"


def test_a_loan_event_breaks_the_wire_model_on_zero_absurd_or_future():
    good = dict(
        loan_id="DK-1",
        credit_code="91520302MA6DR5YD3A",
        status="applied",
        amount=1,
        occurred_on="2026-01-05",
        booking_outlet_code="T-001",
    )
    LoanEventIn.model_validate(good)
    for change in ({"amount": 0}, {"amount": 10_000_001}, {"occurred_on": "2999-01-01"}):
        with pytest.raises(ValidationError):
            LoanEventIn.model_validate({**good, **change})


GBK_FILE = (
    "2026年11月信贷系统导出\r\n"
    "借据号,统一社会信用代码,贷款状态,金额（元）,业务日期,簿记网点,发起人工号,备注\r\n"
    'DK-1,９１５２０３０２ma6dr5yd3a,审批通过,"1,200,000.00",2026/11/3,t-001,M1,随便\r\n'
    ",,,,,,,\r\n"
    "DK-2,91520302MA6DR5YD3A,逾期,12.5,20261104,T-001,,\r\n"
).encode("gbk")


def test_a_gbk_file_with_chinese_headers_reads_as_events():
    found = read_loan_file(GBK_FILE)
    assert found.encoding == "gbk"
    assert found.rows == [
        (
            3,
            {
                "loan_id": "DK-1",
                "credit_code": "91520302ma6dr5yd3a",  # full-width folded (NFKC)
                "status": "approved",
                "amount": "1200000",
                "occurred_on": "2026-11-03",
                "booking_outlet_code": "t-001",
                "originator_employee_no": "M1",
            },
        ),
        (
            5,
            {
                "loan_id": "DK-2",
                "credit_code": "91520302MA6DR5YD3A",
                "status": "overdue",
                "amount": "12.5",  # not whole yuan: the wire model refuses it, row by row
                "occurred_on": "2026-11-04",
                "booking_outlet_code": "T-001",
            },
        ),
    ]
    # the wire model takes the first (its credit code upper-cased), refuses the second
    assert LoanEventIn.model_validate(found.rows[0][1]).credit_code == "91520302MA6DR5YD3A"
    with pytest.raises(ValidationError):
        LoanEventIn.model_validate(found.rows[1][1])


def test_english_headers_and_a_missing_column():
    text = (
        "loan id,credit code,status,amount,date,booking outlet code\nL1,X,applied,5,2026-01-01,T\n"
    )
    assert read_loan_file(text.encode()).rows[0][1]["loan_id"] == "L1"
    with pytest.raises(ImportFileError) as caught:
        read_loan_file(b"loan id,credit code,status,date\nL1,X,applied,2026-01-01\n")
    assert caught.value.code == "loans.import.missing_columns"
    assert caught.value.params["names"] == "金额（元）、簿记网点代码"
    with pytest.raises(ImportFileError) as caught:
        read_loan_file(b"a,b,c\n1,2,3\n")
    assert caught.value.code == "import.no_header"


def test_the_sample_file_reads():
    found = read_loan_file((ROOT / "samples" / "loans-sample.csv").read_bytes())
    assert found.encoding == "gbk"
    assert len(found.rows) == 18
    assert {r[1]["status"] for r in found.rows} == {"applied", "approved", "disbursed"}

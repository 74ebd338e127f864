"""Write samples/loans-sample.csv: loan events as a loan system without an API exports
them, for ``main.py import-loans`` (deterministic: the same bytes every run).

    python scripts/make_loan_sample.py

GBK, Chinese headers, statuses in Chinese, amounts with thousands separators, dates with
slashes. The businesses, outlets and employees are the demo store's (``app.demo.generate``
with its default seed: ``main.py demo-data`` loads the same), so on a demo store:

- loans DK-0001…DK-0004 match demo prospects held by marketers: applied, approved and
  disbursed reported in order (the funnel moves; each disbursement is shared out);
- DK-0005 is for a prospect still in its outlet's pool (the loan system is not held to
  "claim first"; with no marketer, the marketer's share goes to the booking outlet);
- DK-0006 has a credit code no prospect carries: queued for an admin;
- the last four rows are refused: a wrong check character (``validation.credit_code.
  check``), an unknown outlet code (``loan.outlet_unknown``), ``已申请`` after DK-0005
  reported ``已放款`` (``loan.status_backwards``), and DK-0002's disbursement again with
  another amount (``loan.conflict``).
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.demo import generate  # noqa: E402
from app.services.validation import make_credit_code  # noqa: E402

OUT = ROOT / "samples" / "loans-sample.csv"
HEADERS = [
    "贷款编号",
    "统一社会信用代码",
    "贷款状态",
    "金额（元）",
    "业务日期",
    "簿记网点代码",
    "发起人员工号",
    "簿记人员工号",
    "产品",
]
STEPS = [("已申请", "2026/10/08"), ("审批通过", "2026/10/15"), ("已放款", "2026/10/20")]


def rows() -> list[list[str]]:
    data = generate()
    outlets = {o["id"]: o["code"] for o in data.outlet}
    users = {u["id"]: u for u in data.user}
    manager = {u["outlet_id"]: u["employee_no"] for u in data.user if u["role"] == "outlet_manager"}
    held = [
        p for p in data.prospect if p["assignee_id"] and p["status"] in ("contacted", "interested")
    ]
    pooled = [p for p in data.prospect if not p["assignee_id"] and p["status"] == "unassigned"]
    out: list[list[str]] = []
    for n, p in enumerate(held[:4], 1):
        outlet = outlets[p["outlet_id"]]
        marketer = users[p["assignee_id"]]["employee_no"]
        amount = f"{(n * 350_000):,}.00"
        for status, day in STEPS:
            booker = manager.get(p["outlet_id"], "")
            out.append(
                [
                    f"DK-{n:04d}",
                    p["credit_code"],
                    status,
                    amount,
                    day,
                    outlet,
                    marketer,
                    booker,
                    "经营快贷",
                ]
            )
    p = pooled[0]
    outlet = outlets[p["outlet_id"]]
    out.append(
        ["DK-0005", p["credit_code"], "已放款", "280,000", "2026/10/21", outlet, "", "", "经营快贷"]
    )
    stranger = make_credit_code("520302", "MA7X0001")
    out.append(
        ["DK-0006", stranger, "已申请", "500,000", "2026/10/22", "GZ-ZY-001", "", "", "经营快贷"]
    )
    bad_check = held[4]["credit_code"][:17] + ("0" if held[4]["credit_code"][17] != "0" else "1")
    out.append(
        ["DK-0007", bad_check, "已申请", "120,000", "2026/10/23", "GZ-ZY-001", "", "", "经营快贷"]
    )
    out.append(
        [
            "DK-0008",
            held[5]["credit_code"],
            "已申请",
            "120,000",
            "2026/10/23",
            "GZ-ZY-099",
            "",
            "",
            "经营快贷",
        ]
    )
    pool_loan = out[-4]  # DK-0005, disbursed: reporting it applied now goes backwards
    out.append(
        [*pool_loan[:2], "已申请", "280,000", "2026/10/24", pool_loan[5], "", "", "经营快贷"]
    )
    second = out[5]  # DK-0002 disbursed, sent again with another amount: a conflict
    out.append([*second[:3], "800,000.00", *second[4:]])
    return out


def main() -> None:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(HEADERS)
    writer.writerows(rows())
    OUT.write_bytes(buf.getvalue().encode("gbk"))
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

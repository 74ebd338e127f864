"""How a funnel event reads on the prospect's timeline (the card's 跟进记录)."""

from __future__ import annotations

from datetime import datetime

import flet as ft

from app.services.timeline import TimelineItem, TimelineKind
from app.views.card import _timeline_item


def _texts(control: ft.Control) -> list[str]:
    """Every text the control shows, depth first."""
    found: list[str] = []
    if isinstance(control, ft.Text) and control.value:
        found.append(str(control.value))
    for name in ("content", "controls"):
        child = getattr(control, name, None)
        for c in child if isinstance(child, list) else [child] if child is not None else []:
            if isinstance(c, ft.Control):
                found += _texts(c)
    return found


def _status(from_status: str, to_status: str, **fields: object) -> TimelineItem:
    return TimelineItem(
        kind=TimelineKind.STATUS,
        id="e1",
        when=datetime(2026, 12, 1, 2, 0),
        actor_id="loan_system",
        actor_name="信贷系统",
        from_status=from_status,
        to_status=to_status,
        **fields,  # type: ignore[arg-type]
    )


def test_the_loan_systems_report_of_a_status_already_held_reads_as_a_confirmation():
    shown = _texts(
        _timeline_item(
            _status("applied", "applied", applied=False, reason_code="funnel.same_status"), "zh"
        )
    )
    assert "已申请 · 信贷系统已确认" in shown
    assert not any("未生效" in s for s in shown)  # nothing was refused: it was already there


def test_a_refused_move_still_says_why():
    shown = _texts(
        _timeline_item(
            _status("approved", "applied", applied=False, reason_code="funnel.backwards"), "zh"
        )
    )
    assert any(s.startswith("未生效：") for s in shown)
    assert "已审批 → 已申请" in shown

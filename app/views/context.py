"""How a screen reaches its session's workbench, and re-renders when state changes."""

from __future__ import annotations

from typing import TypeVar

import flet as ft

from app.workbench import Workbench

S = TypeVar("S")
WorkbenchContext = ft.create_context(None)


def use_workbench() -> Workbench:
    """The session's workbench (provided by ``App``)."""
    workbench = ft.use_context(WorkbenchContext)
    if not isinstance(workbench, Workbench):
        raise RuntimeError("a screen rendered outside App")
    return workbench


def use_observed(state: S) -> S:
    """Re-render the calling component whenever the observable ``state`` changes."""
    value, _ = ft.use_state(lambda: state)  # type: ignore[arg-type,return-value]
    return value  # use_state subscribes its component to an observable value

"""Every Flet control a view builds is called with arguments Flet 1.0.5 accepts.

A wrong keyword in a component only fails when that screen renders, inside Flet's
renderer, where the session dies quietly; this reads the views and checks each
``ft.X(...)`` / ``fch.X(...)`` / ``fwv.X(...)`` call against the real signature.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import flet as ft
import flet_charts as fch
import flet_webview as fwv
import pytest

VIEWS = sorted((Path(__file__).resolve().parents[2] / "app" / "views").glob("*.py"))
MODULES = {"ft": ft, "fch": fch, "fwv": fwv}


def _calls(path: Path):  # type: ignore[no-untyped-def]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in MODULES
        ):
            yield node


@pytest.mark.parametrize("path", VIEWS, ids=lambda p: p.name)
def test_controls_get_only_arguments_they_accept(path: Path) -> None:
    problems = []
    for call in _calls(path):
        target = getattr(MODULES[call.func.value.id], call.func.attr, None)
        if target is None:
            problems.append(f"line {call.lineno}: no {call.func.value.id}.{call.func.attr}")
            continue
        if not inspect.isclass(target):
            continue
        params = inspect.signature(target).parameters
        if any(p.kind is p.VAR_KEYWORD for p in params.values()):
            continue
        for kw in call.keywords:
            if kw.arg is not None and kw.arg not in params:
                problems.append(f"line {call.lineno}: {call.func.attr}({kw.arg}=...)")
    assert not problems, "\n".join(problems)

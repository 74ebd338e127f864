"""The layers of DESIGN.md §5, as import contracts (pyproject's [tool.importlinter])."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from importlinter.cli import lint_imports
from mypy import api as mypy

ROOT = Path(__file__).resolve().parents[2]


def test_every_import_contract_holds():
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


@pytest.mark.parametrize(
    ("module", "line"),
    [
        ("app/views/card.py", "import sqlalchemy"),
        ("app/views/whitelist.py", "from app.sync.store import DeviceStore"),
        ("app/views/map_view.py", "import httpx"),
        ("app/services/funnel.py", "import flet"),
        ("app/sync/engine.py", "import app.server.apply"),
        ("app/services/masking.py", "import app.workbench"),
        ("app/services/policy.py", "from sqlalchemy import text"),
    ],
)
def test_a_screen_or_rule_that_reaches_past_its_layer_fails_the_contracts(
    tmp_path, monkeypatch, module, line
):
    """The same contracts over a copy of the app with one forbidden import added."""
    shutil.copytree(ROOT / "app", tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    for name in [m for m in sys.modules if m == "app" or m.startswith("app.")]:
        monkeypatch.delitem(sys.modules, name)  # grimp finds the copy, not the imported app
    assert lint_imports(config_filename=str(tmp_path / "pyproject.toml"), no_cache=True) == 1


def test_the_application_layer_and_the_rules_type_check():
    """Typed state and use cases (no ``Any``), and rules over plain values, as mypy sees them."""
    out, err, status = mypy.run(
        [
            "--ignore-missing-imports",
            "--follow-imports=silent",
            "--cache-dir=/dev/null",
            str(ROOT / "app" / "workbench"),
            str(ROOT / "app" / "services"),
            str(ROOT / "app" / "views" / "context.py"),
        ]
    )
    assert status == 0, out + err

"""Every message a user can be shown reads as words in their language, never as a key.

Walks both catalogues, and every notice and refusal code the application can raise
(found in the source, so a new ``notify("…")`` or ``LocalError("…")`` is covered the
day it is written), rendered the way the notice line renders them.
"""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from app.i18n import Msg, en, t, zh
from app.sync import errors

APP = Path(__file__).resolve().parents[2] / "app"
CJK = re.compile(r"[\u3400-\u9fff]")
# what an untranslated key looks like on screen: "funnel.applied", "log.outcome.interested"
RAW_KEY = re.compile(r"\b[a-z_]+\.[a-z_]+(\.[a-z_]+)*\b")
# calls whose first argument is a message code shown to a person
CODE_CALLS = {
    "notify",
    "after_local_change",
    "LocalError",
    "refused",
    "Rejected",
    "FunnelError",
    "SignInError",
    "SyncError",
}
# sample values for placeholders: a message key passed as ``Msg`` must read as words
SAMPLES: dict[str, object] = {
    "status": Msg("funnel.applied"),
    "count": 3,
    "days": 3,
    "minutes": 15,
    "hours": 72,
    "name": "Wang Fang",
}


def _placeholders(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def _render(code: str, lang: str) -> str:
    text = {"zh": zh.MESSAGES, "en": en.MESSAGES}[lang][code]
    params = {name: SAMPLES.get(name, "X") for name in _placeholders(text)}
    return t(code, lang, **params)


def _codes_in_source() -> set[str]:
    """Every literal message code passed to a notice or refusal in app/."""
    codes: set[str] = set()
    for path in APP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[1] if name == "after_local_change" else node.args[0]
            if name in CODE_CALLS and isinstance(first, ast.Constant):
                if isinstance(first.value, str) and RAW_KEY.fullmatch(first.value):
                    codes.add(first.value)
    return codes


def _sync_error_codes() -> set[str]:
    found = set()
    for value in vars(errors).values():
        if isinstance(value, type) and issubclass(value, Exception) and hasattr(value, "code"):
            found.add(value.code)
    return found


def test_the_source_raises_many_codes():  # the walk finds what it is meant to find
    codes = _codes_in_source()
    assert {"log.saved", "card.moved", "funnel.backwards", "prospect.out_of_scope"} <= codes
    assert len(codes) > 20


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_message_renders_as_words(lang: str):
    catalogue = {"zh": zh.MESSAGES, "en": en.MESSAGES}[lang]
    for code in catalogue:
        shown = _render(code, lang)
        assert "{" not in shown and "}" not in shown, (code, shown)
        leftover = [m.group(0) for m in RAW_KEY.finditer(shown) if m.group(0) in catalogue]
        assert not leftover, f"{code} shows the key(s) {leftover}: {shown!r}"
        if lang == "en":
            # a language is named in its own words (the switch reads 中文 | English)
            assert not CJK.search(shown) or code == "settings.language_zh", (code, shown)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_notice_and_refusal_the_app_raises_reads_as_words(lang: str):
    catalogue = {"zh": zh.MESSAGES, "en": en.MESSAGES}[lang]
    codes = _codes_in_source() | _sync_error_codes()
    missing = sorted(code for code in codes if code not in catalogue)
    assert not missing, f"codes the app raises that {lang} cannot say: {missing}"
    for code in codes:
        shown = _render(code, lang)
        assert not RAW_KEY.search(shown) or code.startswith("store."), (code, shown)


def _looks_like_a_key(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(RAW_KEY.fullmatch(node.value))
    if isinstance(node, ast.JoinedStr) and node.values:  # f"funnel.{status}"
        head = node.values[0]
        return isinstance(head, ast.Constant) and bool(re.match(r"[a-z_]+\.", str(head.value)))
    return False


def test_a_key_passed_into_a_notice_is_marked_for_translation():
    """``notify("card.moved", status="funnel.applied")`` showed "状态已更新为 funnel.applied";
    a key given as a parameter must be a ``Msg`` (or a variable holding one)."""
    raw = []
    for path in APP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in CODE_CALLS:
                    raw += [
                        f"{path.name}:{node.lineno} {kw.arg}"
                        for kw in node.keywords
                        if kw.value is not None and _looks_like_a_key(kw.value)
                    ]
    assert not raw, f"raw message keys passed as notice parameters: {raw}"


def test_a_status_in_a_notice_is_named_in_the_users_language():
    assert t("card.moved", "zh", status=Msg("funnel.declined")).startswith("状态已更新为 已拒绝")
    assert t("card.moved", "en", status=Msg("funnel.applied")).startswith("Status set to Applied")
    assert "funnel." not in t("card.moved", "en", status=Msg("funnel.applied"))

"""Catalogues (zh-CN default, English) and money/date formatting.

``t(key, lang, **params)`` looks a key up in the language's catalogue, falls
back to Chinese, then to the key itself, and formats ``{params}``.
"""

from __future__ import annotations

from datetime import date, datetime

from app.i18n import en, zh
from app.services.clock import BEIJING, to_beijing

DEFAULT_LANG = "zh"
DISPLAY_TZ = BEIJING  # stored times are naive UTC; people read Beijing time
CATALOGUES: dict[str, dict[str, str]] = {"zh": zh.MESSAGES, "en": en.MESSAGES}


class Msg(str):
    """A message parameter that is itself a message key (a status, a channel): shown in
    the message's language, never as the key (``t("card.moved", status=Msg(...))``)."""

    __slots__ = ()


def t(key: str, lang: str = DEFAULT_LANG, /, **params: object) -> str:
    text = CATALOGUES.get(lang, zh.MESSAGES).get(key) or zh.MESSAGES.get(key) or key
    shown = {k: t(v, lang) if isinstance(v, Msg) else v for k, v in params.items()}
    return text.format_map(_Params(shown))


class _Params(dict[str, object]):
    """A message's parameters; one the caller did not give reads as nothing, never as
    ``{detail}`` on screen."""

    def __missing__(self, key: str) -> str:
        return ""


def format_money(yuan: int | float | None, lang: str = DEFAULT_LANG) -> str:
    """元 below 10,000, 万元 above (Chinese, as the bank writes lines); whole yuan in English."""
    if yuan is None:
        return "—"
    if lang != "zh":
        return f"¥{yuan:,.0f}"
    if abs(yuan) >= 10_000:
        wan = yuan / 10_000
        text = f"{wan:,.0f}" if wan == int(wan) else f"{wan:,.1f}"
        return f"{text} 万元"
    return f"{yuan:,.0f} 元"


def format_fen(fen: int | None, lang: str = DEFAULT_LANG) -> str:
    """An amount to the fen, in 元 (a share of a loan: "4,000.00 元", "¥4,000.00")."""
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    if lang != "zh":
        return f"{sign}¥{yuan:,}.{cents:02d}"
    return f"{sign}{yuan:,}.{cents:02d} 元"


def format_datetime(value: datetime | None, lang: str = DEFAULT_LANG) -> str:
    if value is None:
        return t("common.never", lang)
    return to_beijing(value).strftime("%Y-%m-%d %H:%M")


def format_date(value: date | None, lang: str = DEFAULT_LANG) -> str:
    if value is None:
        return "—"
    return value.strftime("%Y-%m-%d") if lang == "en" else f"{value.month}月{value.day}日"


def format_distance(km: float | None, lang: str = DEFAULT_LANG) -> str:
    if km is None:
        return "—"
    if km < 1:
        return f"{km * 1000:.0f} 米" if lang == "zh" else f"{km * 1000:.0f} m"
    return f"{km:.1f} 公里" if lang == "zh" else f"{km:.1f} km"

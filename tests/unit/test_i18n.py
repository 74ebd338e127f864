import re
import string
from datetime import datetime

from app.i18n import en, format_datetime, format_distance, format_money, t, zh


def test_both_catalogues_have_the_same_keys_and_placeholders():
    assert set(zh.MESSAGES) == set(en.MESSAGES)
    fields = lambda s: {f for _, f, _, _ in string.Formatter().parse(s) if f}  # noqa: E731
    for key, text in zh.MESSAGES.items():
        assert fields(text) == fields(en.MESSAGES[key]), key


def test_money_in_yuan_and_wan_yuan():
    assert format_money(8_500) == "8,500 元"
    assert format_money(300_000) == "30 万元"
    assert format_money(846_000) == "84.6 万元"
    assert format_money(300_000, "en") == "¥300,000"
    assert format_money(257_300, "en") == "¥257,300"  # nothing rounded away


def test_times_show_in_beijing_time_and_distances_in_metres_or_km():
    assert format_datetime(datetime(2026, 11, 22, 16, 5)) == "2026-11-23 00:05"
    assert format_distance(0.706) == "706 米"
    assert format_distance(12.34, "en") == "12.3 km"


def test_unknown_keys_fall_back_to_chinese_then_the_key():
    assert t("funnel.applied", "en") == "Applied"
    assert t("funnel.applied", "fr") == "已申请"
    assert re.fullmatch(r"no\.such\.key", t("no.such.key"))

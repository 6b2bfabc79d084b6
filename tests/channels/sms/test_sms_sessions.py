"""Keywords in nine languages, E.164 numbers, and the SMS message catalogs."""

from __future__ import annotations

import pytest

from zhiyan.channels.sms.sessions import (
    KEYWORDS,
    InvalidNumber,
    language_from_arg,
    normalize_number,
    parse_command,
)
from zhiyan.i18n import LANGUAGES, catalog, t


@pytest.mark.parametrize(("text", "kind", "lang"), [
    ("STOP", "stop", None), ("stop!", "stop", None), ("  Unsubscribe ", "stop", None),
    ("退订", "stop", "zh"), ("TD", "stop", "zh"), ("acha", "stop", "sw"),
    ("Tsaya", "stop", "ha"), ("አቁም", "stop", "am"), ("dúró", "stop", "yo"),
    ("หยุด", "stop", "th"), ("berhenti", "stop", "ms"),
    ("START", "start", None), ("anza", "start", "sw"), ("bẹ̀rẹ̀", "start", "yo"),
    ("开始", "start", "zh"), ("help", "help", None), ("msaada", "help", "sw"),
    ("MORE", "more", None), ("zaidi", "more", "sw"), ("更多", "more", "zh"),
    ("ተጨማሪ", "more", "am"), ("ต่อ", "more", "th"),
])
def test_keywords(text: str, kind: str, lang: str | None) -> None:
    command = parse_command(text)
    assert command is not None and command.kind == kind and command.lang == lang


def test_keyword_must_be_the_whole_message() -> None:
    assert parse_command("how do I stop smoking?") is None
    assert parse_command("more about Kenya") is None


def test_lang_command_and_language_names() -> None:
    command = parse_command("LANG sw")
    assert command is not None and command.kind == "lang" and command.arg == "sw"
    lugha = parse_command("lugha Kiswahili")
    assert lugha is not None and language_from_arg(lugha.arg) == "sw"
    assert language_from_arg("中文") == "zh"
    assert language_from_arg("Yorùbá") == "yo"
    assert language_from_arg("amharic") == "am"
    assert language_from_arg("klingon") is None


def test_every_language_has_every_keyword_kind() -> None:
    for kind, by_lang in KEYWORDS.items():
        assert set(by_lang) == set(LANGUAGES), kind


@pytest.mark.parametrize("raw", [
    "+254712345678", "254712345678", "0712345678", "0712 345 678", "+254-712-345-678",
    "00254712345678", "tel:+254712345678", " +254 (0)712 345678 ".replace("(0)", ""),
])
def test_odd_phone_formats_become_e164(raw: str) -> None:
    assert normalize_number(raw, "KE") == "+254712345678"


def test_numbers_of_other_countries() -> None:
    assert normalize_number("251911000002") == "+251911000002"
    assert normalize_number("+86 138 0013 8000") == "+8613800138000"
    assert normalize_number("08031234567", "NG") == "+2348031234567"


@pytest.mark.parametrize("raw", ["", "hello", "12", "+" + "9" * 30, "x" * 100])
def test_garbage_numbers_are_rejected(raw: str) -> None:
    with pytest.raises(InvalidNumber):
        normalize_number(raw)


def test_sms_catalog_complete_in_all_languages() -> None:
    keys = {k for k in catalog("en") if k.startswith("sms.")}
    assert len(keys) >= 15
    for lang in LANGUAGES:
        assert keys <= set(catalog(lang)), lang
        for key in keys:
            text = t(key, lang, codes="en sw", name="X", limit=5)
            assert text.strip()
    assert t("sms.stop_confirm", "sw") != t("sms.stop_confirm", "en")

"""Every system message exists in every language, with the same placeholders."""

from __future__ import annotations

import string

from zhiyan.i18n import LANGUAGES, catalog, missing_keys, t


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_language_has_every_core_key() -> None:
    missing = {lang: [k for k in keys if k.startswith("core.")]
               for lang, keys in missing_keys().items()}
    assert {lang: keys for lang, keys in missing.items() if keys} == {}
    assert set(LANGUAGES) == {"zh", "en", "ms", "id", "th", "sw", "ha", "am", "yo"}


def test_placeholders_match_english() -> None:
    english = {k: v for k, v in catalog("en").items() if k.startswith("core.")}
    for lang in LANGUAGES:
        for key, text in english.items():
            assert _fields(catalog(lang)[key]) == _fields(text), (lang, key)


def test_messages_are_translated_not_copied() -> None:
    for lang in LANGUAGES:
        if lang != "en":
            assert t("core.dont_know", lang) != t("core.dont_know", "en")
            assert t("core.refusal", lang) != t("core.refusal", "en")


def test_unknown_language_falls_back_to_english() -> None:
    assert t("core.busy", "fr", seconds=3) == t("core.busy", "en", seconds=3)
    assert "3" in t("core.busy", "sw", seconds=3)

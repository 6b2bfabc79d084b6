"""Message catalogs: every system message (errors, refusals, help, "I don't know" …) in
every language zhiyan speaks.

Catalogs are TOML files `catalogs/<area>/<lang>.toml` (one area per part of zhiyan: core,
sms, web …), each a flat table of `key = "text with {placeholders}"`. Keys are used as
`area.key`. A key missing in a language falls back to English, never to the key itself,
and `zhiyan eval`/tests check that every language has every key.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

#: the languages zhiyan serves, in the order the interface lists them
LANGUAGES: dict[str, str] = {
    "zh": "中文",
    "en": "English",
    "ms": "Bahasa Melayu",
    "id": "Bahasa Indonesia",
    "th": "ไทย",
    "sw": "Kiswahili",
    "ha": "Hausa",
    "am": "አማርኛ",
    "yo": "Yorùbá",
}
FALLBACK = "en"


@cache
def catalog(lang: str) -> dict[str, str]:
    """All messages of one language, keyed `area.key`."""
    merged: dict[str, str] = {}
    root = resources.files("zhiyan.i18n") / "catalogs"
    for area in sorted(root.iterdir(), key=lambda p: p.name):
        if not area.is_dir():
            continue
        file = area / f"{lang}.toml"
        if file.is_file():
            for key, text in tomllib.loads(file.read_text(encoding="utf-8")).items():
                merged[f"{area.name}.{key}"] = str(text)
    return merged


def normalize_lang(lang: str | None) -> str:
    code = (lang or "").lower().replace("_", "-").split("-")[0]
    return code if code in LANGUAGES else FALLBACK


def t(key: str, lang: str | None, **values: object) -> str:
    """The message `key` (e.g. "core.dont_know") in `lang`, formatted with `values`."""
    code = normalize_lang(lang)
    text = catalog(code).get(key) or catalog(FALLBACK).get(key)
    if text is None:
        raise KeyError(f"no message '{key}' in any catalog")
    return text.format(**values) if values else text


def missing_keys() -> dict[str, list[str]]:
    """Per language, the keys English has that it lacks (for tests and `zhiyan eval`)."""
    reference = set(catalog(FALLBACK))
    return {lang: sorted(reference - set(catalog(lang))) for lang in LANGUAGES}

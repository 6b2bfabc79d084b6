"""Sessions per phone number: E.164 numbers, keywords, language, opt-out, MORE, history and
the rate limit and daily quota.

A session is keyed by the E.164 number, so the same person is the same session whichever
gateway or number format delivered the message.

Keywords are matched against the whole message only (so "how do I stop smoking" is a
question, not an opt-out), case- and accent-insensitively. English keywords work in every
language; each language adds its own:

======  =====================  ================  ===========  ========  ================
lang    STOP                   START             HELP         MORE      LANG
======  =====================  ================  ===========  ========  ================
en      STOP UNSUBSCRIBE       START UNSTOP      HELP INFO    MORE      LANG
        CANCEL END QUIT
zh      退订 停止 TD            开始 订阅         帮助          更多       语言
ms      BERHENTI               MULA              BANTUAN      LAGI      BAHASA
id      BERHENTI               MULAI             BANTUAN      LAGI      BAHASA
th      หยุด ยกเลิก               เริ่ม               ช่วย          ต่อ        ภาษา
sw      ACHA SITISHA           ANZA              MSAADA       ZAIDI     LUGHA
ha      TSAYA DAINA            FARA              TAIMAKO      KARI      HARSHE
am      አቁም                    ጀምር               እርዳታ         ተጨማሪ      ቋንቋ
yo      DURO (dúró)            BERE (bẹ̀rẹ̀)       IRANLOWO     SII       EDE (èdè)
======  =====================  ================  ===========  ========  ================

"TD" (退订) is the opt-out Chinese operators print on every bulk SMS. STOP and START are
honoured before anything else — before the rate limit, before MORE — and remembered.
"""

from __future__ import annotations

import sqlite3
import time
import unicodedata
from dataclasses import dataclass
from typing import Literal

import phonenumbers

from zhiyan.i18n import LANGUAGES

CommandKind = Literal["stop", "start", "help", "more", "lang"]

KEYWORDS: dict[CommandKind, dict[str, tuple[str, ...]]] = {
    "stop": {
        "en": ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"),
        "zh": ("退订", "停止", "TD"), "ms": ("BERHENTI",), "id": ("BERHENTI",),
        "th": ("หยุด", "ยกเลิก"), "sw": ("ACHA", "SITISHA"), "ha": ("TSAYA", "DAINA"),
        "am": ("አቁም",), "yo": ("DURO",),
    },
    "start": {
        "en": ("START", "UNSTOP"), "zh": ("开始", "订阅"), "ms": ("MULA",), "id": ("MULAI",),
        "th": ("เริ่ม",), "sw": ("ANZA",), "ha": ("FARA",), "am": ("ጀምር",), "yo": ("BERE",),
    },
    "help": {
        "en": ("HELP", "INFO"), "zh": ("帮助",), "ms": ("BANTUAN",), "id": ("BANTUAN",),
        "th": ("ช่วย",), "sw": ("MSAADA",), "ha": ("TAIMAKO",), "am": ("እርዳታ",),
        "yo": ("IRANLOWO",),
    },
    "more": {
        "en": ("MORE",), "zh": ("更多",), "ms": ("LAGI",), "id": ("LAGI",), "th": ("ต่อ",),
        "sw": ("ZAIDI",), "ha": ("KARI",), "am": ("ተጨማሪ",), "yo": ("SII",),
    },
    "lang": {
        "en": ("LANG", "LANGUAGE"), "zh": ("语言",), "ms": ("BAHASA",), "id": ("BAHASA",),
        "th": ("ภาษา",), "sw": ("LUGHA",), "ha": ("HARSHE",), "am": ("ቋንቋ",), "yo": ("EDE",),
    },
}


def _fold(text: str) -> str:
    """Upper case, accents dropped (Yorùbá tone marks), outer punctuation trimmed.

    Marks are dropped only for Latin letters: Thai and Ethiopic vowel signs are letters.
    """
    decomposed = unicodedata.normalize("NFD", text.strip())
    kept = []
    for char in decomposed:
        if unicodedata.combining(char) and kept and kept[-1].isascii():
            continue
        kept.append(char)
    folded = unicodedata.normalize("NFC", "".join(kept)).upper()
    return folded.strip(" \t\r\n.!?。！？።,;:'\"")


#: folded keyword -> (command, language it belongs to; None for English, valid everywhere)
_LOOKUP: dict[str, tuple[CommandKind, str | None]] = {}
for _kind, _by_lang in KEYWORDS.items():
    for _lang, _words in _by_lang.items():
        for _word in _words:
            _LOOKUP.setdefault(_fold(_word), (_kind, None if _lang == "en" else _lang))


@dataclass(frozen=True)
class Command:
    kind: CommandKind
    arg: str = ""
    #: the language the keyword was written in (a hint for the answer's language)
    lang: str | None = None


def parse_command(text: str) -> Command | None:
    """The keyword command a whole message is, or None for an ordinary question."""
    folded = _fold(text)
    if folded in _LOOKUP:
        kind, lang = _LOOKUP[folded]
        return Command(kind, lang=lang)
    head, _, arg = folded.partition(" ")
    if head in _LOOKUP and _LOOKUP[head][0] == "lang" and arg.strip():
        return Command("lang", arg.strip().lower(), _LOOKUP[head][1])
    return None


def language_from_arg(arg: str) -> str | None:
    """`LANG sw`, `LANG swahili`, `LANG Kiswahili`, `语言 中文` → a language code."""
    wanted = _fold(arg).lower()
    for code, name in LANGUAGES.items():
        if wanted in (code, _fold(name).lower()):
            return code
    aliases = {"english": "en", "chinese": "zh", "malay": "ms", "indonesian": "id",
               "thai": "th", "swahili": "sw", "hausa": "ha", "amharic": "am",
               "yoruba": "yo", "mandarin": "zh"}
    return aliases.get(wanted)


class InvalidNumber(ValueError):
    pass


def normalize_number(raw: str, default_region: str = "KE") -> str:
    """A phone number in E.164 (`+254712345678`), from the many forms gateways send:
    `254712345678`, `0712 345 678`, `+254-712-345-678`, `00254712345678`, `tel:+254…`.

    A number without a country code is read in `default_region`; digits only given with
    the country code but no `+` (Kannel's habit) are tried as international first.
    """
    text = raw.strip().removeprefix("tel:").strip()
    if not text or len(text) > 40:
        raise InvalidNumber(f"not a phone number: {raw[:40]!r}")
    candidates = []
    digits = "".join(c for c in text if c.isdigit())
    if text.startswith("+"):
        candidates.append((text, None))
    elif text.startswith("00"):
        candidates.append(("+" + digits[2:], None))
    else:
        if len(digits) > 10:
            candidates.append(("+" + digits, None))
        candidates.append((text, default_region))
    for number, region in candidates:
        try:
            parsed = phonenumbers.parse(number, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    raise InvalidNumber(f"not a phone number: {raw[:40]!r}")


@dataclass
class Session:
    msisdn: str
    lang: str | None = None
    opted_out: bool = False
    pending_more: str | None = None
    limited_until: float | None = None
    day: str | None = None
    day_count: int = 0


def utc_day(now: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(now))


def load(conn: sqlite3.Connection, msisdn: str) -> Session:
    row = conn.execute("SELECT * FROM sms_sessions WHERE msisdn = ?", (msisdn,)).fetchone()
    if row is None:
        return Session(msisdn)
    return Session(msisdn, row["lang"], bool(row["opted_out"]), row["pending_more"],
                   row["limited_until"], row["day"], row["day_count"])


def save(conn: sqlite3.Connection, session: Session, now: float) -> None:
    conn.execute(
        "INSERT INTO sms_sessions (msisdn, lang, opted_out, pending_more, limited_until, day,"
        " day_count, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (msisdn) DO UPDATE SET lang = excluded.lang,"
        " opted_out = excluded.opted_out, pending_more = excluded.pending_more,"
        " limited_until = excluded.limited_until, day = excluded.day,"
        " day_count = excluded.day_count, updated_at = excluded.updated_at",
        (session.msisdn, session.lang, int(session.opted_out), session.pending_more,
         session.limited_until, session.day, session.day_count, now),
    )


def answered_since(conn: sqlite3.Connection, msisdn: str, since: float) -> int:
    """Questions from this number answered by the assistant since `since` (rate limit)."""
    row = conn.execute(
        "SELECT count(*) FROM sms_inbound WHERE msisdn = ? AND state = 'answered'"
        " AND outcome = 'answer' AND received_at >= ?", (msisdn, since),
    ).fetchone()
    return int(row[0])


def remember(conn: sqlite3.Connection, msisdn: str, role: str, text: str, now: float) -> None:
    conn.execute("INSERT INTO sms_history (msisdn, role, text, at) VALUES (?, ?, ?, ?)",
                 (msisdn, role, text, now))

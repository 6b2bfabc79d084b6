"""GSM 03.38 versus UCS-2, segment counting and normalisation."""

from __future__ import annotations

from zhiyan.channels.sms import gsm


def test_plain_text_is_gsm7_and_160_fit_one_segment() -> None:
    info = gsm.segments("a" * 160)
    assert (info.encoding, info.units, info.segments) == ("GSM-7", 160, 1)
    assert gsm.segments("a" * 161).segments == 2
    assert gsm.segments("a" * 306).segments == 2
    assert gsm.segments("a" * 307).segments == 3


def test_extension_characters_count_two_and_are_never_split() -> None:
    info = gsm.segments("€" * 80)
    assert (info.encoding, info.units, info.segments) == ("GSM-7", 160, 1)
    assert gsm.segments("€" * 81).segments == 2
    text = "a" * 152 + "{" + "b" * 10
    parts = gsm.parts(text)
    assert parts[0] == "a" * 152 and parts[1].startswith("{")


def test_ucs2_limits_and_astral_characters_count_two() -> None:
    info = gsm.segments("知" * 70)
    assert (info.encoding, info.units, info.segments) == ("UCS-2", 70, 1)
    assert gsm.segments("知" * 71).segments == 2
    assert gsm.segments("知" * 134).segments == 2
    assert gsm.segments("知" * 135).segments == 3
    emoji = gsm.segments("😀" * 35)
    assert (emoji.units, emoji.segments) == (70, 1)
    parts = gsm.parts("a" * 66 + "😀" + "b" * 5)
    assert parts[0] == "a" * 66 and parts[1].startswith("😀")


def test_amharic_is_ucs2() -> None:
    assert gsm.encoding_of("ሰላም") == "UCS-2"


def test_normalisation_keeps_a_reply_in_gsm7() -> None:
    text = "It’s “fine” — really… ok"
    assert gsm.encoding_of(text) == "UCS-2"
    plain = gsm.normalize(text)
    assert plain == "It's \"fine\" - really... ok"
    assert gsm.encoding_of(plain) == "GSM-7"
    assert gsm.normalize("知言“好”") == '知言"好"'


def test_gsm_letters_outside_ascii_stay_gsm7() -> None:
    assert gsm.encoding_of("Héllo Ñandù ÄÖÜ ß £ ¥ è") == "GSM-7"

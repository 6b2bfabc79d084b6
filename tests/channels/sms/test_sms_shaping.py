"""Replies shaped to a segment budget, cut at sentence boundaries, with a MORE hint."""

from __future__ import annotations

from zhiyan.channels.sms import gsm
from zhiyan.channels.sms.shaping import shape


def test_short_reply_passes_unchanged() -> None:
    shaped = shape("Nairobi is the capital of Kenya.", "en", 2)
    assert shaped.text == "Nairobi is the capital of Kenya." and shaped.rest is None


def test_long_reply_cut_at_sentence_with_hint_and_rest() -> None:
    sentences = [f"Sentence number {i} says something useful." for i in range(20)]
    text = " ".join(sentences)
    shaped = shape(text, "en", 2)
    assert shaped.info.segments <= 2 and shaped.info.encoding == "GSM-7"
    assert shaped.text.endswith("useful. (reply MORE)")
    assert shaped.rest is not None and shaped.rest.startswith("Sentence number")
    head = shaped.text.removesuffix(" (reply MORE)")
    assert (head + " " + shaped.rest) == text


def test_hint_is_localized_and_budget_holds_for_ucs2() -> None:
    text = "知言是一个知识助手。" * 40
    shaped = shape(text, "zh", 2)
    assert shaped.info.encoding == "UCS-2" and shaped.info.segments <= 2
    assert shaped.text.endswith("。 （回复\"更多\"）")
    sw = shape("Hii ni sentensi ndefu sana. " * 30, "sw", 1)
    assert sw.info.segments == 1 and sw.text.endswith("(jibu ZAIDI)")


def test_smart_quotes_do_not_force_ucs2() -> None:
    shaped = shape("“Quoted” answer — with dashes… and ‘apostrophes’.", "en", 1)
    assert shaped.info.encoding == "GSM-7"


def test_text_without_sentence_ends_is_cut_at_a_word() -> None:
    shaped = shape("word " * 200, "en", 2)
    assert gsm.fits(shaped.text, 2) and shaped.rest
    assert shaped.text.endswith("word (reply MORE)")


def test_budget_one_segment() -> None:
    shaped = shape("Short one. " * 40, "en", 1)
    assert shaped.info.segments == 1


def test_a_localized_hint_never_forces_ucs2_on_a_gsm7_answer() -> None:
    shaped = shape("This answer is in English. " * 20, "am", 2)
    assert shaped.info.encoding == "GSM-7" and shaped.text.endswith("(reply MORE)")
    amharic = shape("ይህ መልስ ረጅም ነው። " * 20, "am", 2)
    assert amharic.text.endswith("(ተጨማሪ ብለው ይመልሱ)")

"""Idiom detection over free text."""

from __future__ import annotations

import time

from zhiyan.chengyu.detect import find_idioms


def test_finds_idioms_with_offsets_longest_first() -> None:
    text = "他这样做真是画蛇添足，一失足成千古恨啊。"
    found = find_idioms(text)
    assert [m.word for m in found] == ["画蛇添足", "一失足成千古恨"]
    for m in found:
        assert text[m.start:m.end] == m.word
    assert "多余" in found[0].idiom.explanation


def test_traditional_text_offsets_point_into_the_original() -> None:
    text = "這真是畫蛇添足。"
    [match] = find_idioms(text)
    assert match.word == "画蛇添足" and text[match.start:match.end] == "畫蛇添足"


def test_plain_text_and_short_text_have_none() -> None:
    assert find_idioms("今天天气很好，我们去公园散步吧。") == []
    assert find_idioms("好") == []
    assert find_idioms("hello world") == []


def test_fast_enough_for_every_message() -> None:
    find_idioms("预热")
    message = "他做事总是画蛇添足，又喜欢守株待兔，真是叶公好龙。" * 4
    started = time.perf_counter()
    for _ in range(200):
        find_idioms(message)
    assert (time.perf_counter() - started) / 200 < 0.01


def test_two_half_sayings_written_with_an_ascii_comma_or_none() -> None:
    for text in ("他百尺竿头更进一步了。", "兵马未动,粮草先行。", "百尺竿頭更進一步"):
        assert [m.word for m in find_idioms(text)] in (
            ["百尺竿头，更进一步"], ["兵马未动，粮草先行"]), text

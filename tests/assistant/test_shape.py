"""Replies shaped for their channel: plain text, length limits, sources kept."""

from __future__ import annotations

from zhiyan.assistant.shape import shape, to_plain


def test_markdown_becomes_plain_text() -> None:
    text = "# Title\n**Bold** and `code` and [a link](http://x.y)\n* item"
    assert to_plain(text) == "Title\nBold and code and a link (http://x.y)\n- item"


def test_a_blank_to_fill_is_not_taken_for_emphasis() -> None:
    assert to_plain("他写完又加了一段，真是____。选项：画蛇添足") == \
        "他写完又加了一段，真是____。选项：画蛇添足"
    assert to_plain("**粗体**、__也粗__ 和 _斜体_") == "粗体、也粗 和 斜体"


def test_limit_keeps_the_sources_and_marks_the_cut() -> None:
    answer = "Nairobi is the capital of Kenya. " * 20
    shaped = shape(answer, lang="en", markdown=False, max_chars=160,
                   sources=[(1, "Kenya")], notes=[])
    assert len(shaped) <= 160
    assert shaped.endswith("Sources: [1] Kenya")
    assert "(shortened)" in shaped


def test_no_limit_markdown_appends_sources_in_the_users_language() -> None:
    shaped = shape("Jibu [1]", lang="sw", markdown=True, max_chars=None,
                   sources=[(1, "Kenya")], notes=[])
    assert shaped == "Jibu [1]\n\n**Vyanzo:** [1] Kenya"

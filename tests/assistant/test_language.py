"""Language detection on short, texting-style messages in zhiyan's nine languages."""

from __future__ import annotations

import pytest

from zhiyan.assistant.language import UNDETERMINED, detect
from zhiyan.eval.lang import evaluate, load_set


@pytest.mark.parametrize("name", ["lang_sms", "lang_sms_heldout"])
def test_accuracy_targets(name: str) -> None:
    result = evaluate(load_set(name), baselines=False)
    zhiyan = result["zhiyan"]
    assert zhiyan["overall"] >= 0.95
    assert min(zhiyan["per_language"].values()) >= (0.85 if name == "lang_sms" else 0.8)


@pytest.mark.parametrize(("text", "lang"), [
    ("明天meeting取消了吗", "zh"),
    ("what does 画蛇添足 mean", "en"),
    ("ok ครับเดี๋ยวไป", "th"),
    ("ẹ kú àárọ̀", "yo"),
    ("ƙasar nan tana da ɗumi", "ha"),
    ("selam endet neh", "am"),
])
def test_scripts_letters_and_mixing(text: str, lang: str) -> None:
    assert detect(text).lang == lang


def test_no_letters_is_undetermined() -> None:
    assert detect("😀😀 123 !!").lang == UNDETERMINED
    assert detect("").lang == UNDETERMINED

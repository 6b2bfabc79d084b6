"""`zhiyan eval lang`: the labelled sets and the scoring."""

from __future__ import annotations

import pytest

from zhiyan.eval.lang import SETS, evaluate, load_set
from zhiyan.i18n import LANGUAGES


@pytest.mark.parametrize("name", SETS)
def test_sets_cover_every_language_with_short_texts(name: str) -> None:
    rows = load_set(name)
    assert {row["lang"] for row in rows} == set(LANGUAGES)
    for lang in LANGUAGES:
        assert sum(row["lang"] == lang for row in rows) >= 20, lang
    assert len({row["text"] for row in rows}) >= len(rows) - 1  # one text is truly both ms and id


def test_fresh_set_is_new_and_short() -> None:
    fresh = load_set("lang_sms_fresh")
    older = {row["text"] for name in ("lang_sms", "lang_sms_heldout") for row in load_set(name)}
    assert not older & {row["text"] for row in fresh}
    assert all(5 <= len(row["text"]) <= 60 for row in fresh)


def test_evaluate_counts_hits_and_misses() -> None:
    rows = [
        {"text": "can u help me with my homework", "lang": "en"},
        {"text": "nak pergi mana ni", "lang": "ms"},
        {"text": "nak pergi mana ni", "lang": "id"},  # the same text, the other label: a miss
    ]
    result = evaluate(rows, baselines=False)["zhiyan"]
    assert result["per_language"] == {"en": 1.0, "ms": 1.0, "id": 0.0}
    assert result["overall"] == pytest.approx(2 / 3)
    assert result["misses"] == [{"text": "nak pergi mana ni", "lang": "id", "found": "ms"}]

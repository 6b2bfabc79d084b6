"""A ChID-style development set built from the dictionary's own example sentences.

Each item blanks the idiom in its example sentence; like ChID, the six distractors are
three near-synonyms (nearest explanations by BM25, leaving out variants of the answer,
which would be equally right) and three idioms drawn at random. Deterministic per seed.
"""

from __future__ import annotations

import random
import re
from typing import Any

from zhiyan.chengyu.cloze import BLANK
from zhiyan.chengyu.dictionary import Idiom, get_dictionary
from zhiyan.chengyu.meaning import get_meaning_index

_VARIANT = re.compile(r"(?:同|亦作|也作|又作|见)“([^”]+)”")


def _variants(idiom: Idiom) -> set[str]:
    return set(_VARIANT.findall(idiom.explanation)) | {idiom.word}


def _sentence(idiom: Idiom) -> str | None:
    """The example without its ★source, if it uses the idiom once and has context."""
    if not idiom.example:
        return None
    text = idiom.example.split("★", 1)[0].strip()
    if text.count(idiom.word) != 1 or len(text) < len(idiom.word) + 10:
        return None
    return text.replace(idiom.word, BLANK)


def build(n: int = 300, seed: int = 0, near: int = 3,
          random_count: int = 3) -> list[dict[str, Any]]:
    dictionary = get_dictionary()
    index = get_meaning_index()
    rng = random.Random(seed)
    pool = [d for d in dictionary.with_examples if _sentence(d)]
    rng.shuffle(pool)
    items: list[dict[str, Any]] = []
    for idiom in pool:
        if len(items) >= n:
            break
        excluded = _variants(idiom)
        similar = []
        for other, _ in index.search(idiom.explanation, 20):
            if len(other.word) == 4 and other.word not in excluded and \
                    idiom.word not in _variants(other) and other.word not in similar:
                similar.append(other.word)
            if len(similar) == near:
                break
        if len(similar) < near:
            continue
        chosen = {idiom.word, *similar}
        others: list[str] = []
        while len(others) < random_count:
            other = rng.choice(dictionary.with_examples).word
            if other not in chosen:
                chosen.add(other)
                others.append(other)
        candidates = [idiom.word, *similar, *others]
        rng.shuffle(candidates)
        items.append({
            "id": f"dict-{len(items)}",
            "content": _sentence(idiom),
            "candidates": candidates,
            "answer": candidates.index(idiom.word),
        })
    return items

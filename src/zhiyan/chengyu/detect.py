"""Find the idioms used in a text, fast enough to run on every chat message.

One Aho-Corasick automaton over every idiom, in simplified and traditional script (built
once, a few seconds), scans a message in microseconds; leftmost-longest matching prefers
一失足成千古恨 over the 失足 inside it. Holding the traditional forms in the automaton,
rather than converting each message, keeps the per-message cost to the scan itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import ahocorasick_rs

from zhiyan.chengyu.dictionary import Idiom, get_dictionary

#: idioms shorter than this are common words (莫须有, 破天荒) more often than idioms
MIN_LENGTH = 4


@dataclass(frozen=True)
class Match:
    word: str  # the idiom's dictionary form (simplified)
    start: int  # offsets into the text as given
    end: int
    idiom: Idiom


@cache
def _automaton() -> tuple[ahocorasick_rs.AhoCorasick, list[str], list[str]]:
    """The automaton, each pattern, and the simplified idiom each pattern stands for."""
    import opencc

    words = [w for w in get_dictionary().by_word if len(w) >= MIN_LENGTH]
    # one conversion call for all words: per-call overhead dominates for 4 characters
    traditional = opencc.OpenCC("s2t").convert("\n".join(words)).split("\n")
    if len(traditional) != len(words):
        traditional = words
    patterns = dict(zip(words, words, strict=True))
    for simplified, trad in zip(words, traditional, strict=True):
        patterns.setdefault(trad, simplified)
        # a two-half saying is often written with an ASCII comma or none at all
        for form in (simplified, trad):
            if "，" in form:
                patterns.setdefault(form.replace("，", ","), simplified)
                patterns.setdefault(form.replace("，", ", "), simplified)
                patterns.setdefault(form.replace("，", ""), simplified)
    keys = sorted(patterns)
    longest = ahocorasick_rs.MatchKind.LeftmostLongest
    return (ahocorasick_rs.AhoCorasick(keys, matchkind=longest), keys,
            [patterns[k] for k in keys])


def find_idioms(text: str) -> list[Match]:
    """Every idiom in `text`, in order, non-overlapping."""
    if len(text) < MIN_LENGTH:
        return []
    automaton, _, words = _automaton()
    by_word = get_dictionary().by_word
    return [
        Match(words[index], start, end, by_word[words[index]])
        for index, start, end in automaton.find_matches_as_indexes(text)
    ]

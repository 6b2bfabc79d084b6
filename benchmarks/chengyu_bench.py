"""Idiom detection and lookup speed, against naive baselines measured in the same run.

    .venv/bin/python benchmarks/chengyu_bench.py [--messages 2000]

Detection (runs on every chat message): zhiyan's Aho-Corasick automaton against testing
every 3-to-13-character window of the message against the idiom set. Reverse lookup
(BM25 over explanations with postings) against scoring every explanation.
"""

from __future__ import annotations

import argparse
import random
import time

from zhiyan.chengyu.detect import find_idioms
from zhiyan.chengyu.dictionary import get_dictionary
from zhiyan.chengyu.meaning import get_meaning_index
from zhiyan.chengyu.skills import find_by_meaning


def messages(n: int, seed: int = 0) -> list[str]:
    """Chat-sized texts: the dictionary's example sentences, each holding an idiom."""
    rng = random.Random(seed)
    pool = [d.example.split("★")[0] for d in get_dictionary().with_examples]
    return [rng.choice(pool) + rng.choice(pool) for _ in range(n)]


def naive_detect(text: str, words: set[str]) -> list[str]:
    found = []
    for size in range(13, 3, -1):
        for i in range(len(text) - size + 1):
            if text[i:i + size] in words:
                found.append(text[i:i + size])
    return found


def timed(fn, items) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    for item in items:
        fn(item)
    return (time.perf_counter() - started) / len(items)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    texts = messages(args.messages)
    words = set(get_dictionary().by_word)
    find_idioms("预热一下自动机")  # builds the automaton before timing
    ours = timed(find_idioms, texts)
    base = timed(lambda t: naive_detect(t, words), texts)
    print(f"detect: {1e6 * ours:.0f} µs/message (Aho-Corasick) vs {1e6 * base:.0f} µs "
          f"(window set lookup): {base / ours:.1f}x")

    index = get_meaning_index()
    queries = ["形容做多余的事，反而坏事", "比喻口头上说爱好，实际上并不真爱好",
               "死守经验不知变通", "形容非常高兴", "比喻事后补救", "形容人很多很热闹"] * 5
    ours = timed(lambda q: find_by_meaning(q, 5), queries)

    def brute(q: str) -> list[tuple[float, int]]:
        from collections import Counter

        from zhiyan.chengyu.meaning import grams

        query = Counter(grams(q))
        return sorted(((index._score(query, i), i) for i in range(len(index.idioms))),
                      reverse=True)[:5]

    base = timed(brute, queries)
    print(f"reverse lookup: {1e3 * ours:.1f} ms/query (postings) vs {1e3 * base:.1f} ms "
          f"(score every explanation): {base / ours:.1f}x")


if __name__ == "__main__":
    main()

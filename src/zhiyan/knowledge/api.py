"""`/v1/knowledge/…`: documents (list, get, create, replace, delete, versions, rollback),
file upload and search. Reads are public (the chat page links citations to documents);
every write needs the admin token.

Endpoints that write are plain `def`: FastAPI runs them in a worker thread, so segmenting
and embedding never block the event loop.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field

from zhiyan.auth import require_admin
from zhiyan.knowledge.base import DocumentNotFound, KnowledgeBase, QueryError, knowledge_for
from zhiyan.knowledge.ingest import content_id, loader_for, supported_suffixes
from zhiyan.knowledge.ingest.run import IngestReport, ingest_file
from zhiyan.knowledge.types import Document, WriteResult

router = APIRouter(prefix="/v1/knowledge", tags=["knowledge"])


def get_kb(request: Request) -> KnowledgeBase:
    return knowledge_for(request.app)


KB = Annotated[KnowledgeBase, Depends(get_kb)]
Admin = Depends(require_admin)


class DocumentIn(BaseModel):
    id: str | None = Field(default=None, max_length=500)
    title: str = Field(min_length=1, max_length=500)
    text: str = Field(min_length=1)
    lang: str | None = Field(default=None, max_length=20)
    source: str | None = Field(default=None, max_length=500)

    def document(self, doc_id: str | None = None) -> Document:
        """The document; `doc_id`: the id in the URL, which a body's own id must not contradict
        (with no id at all, one is made from the title and text)."""
        if doc_id is not None and self.id is not None and self.id != doc_id:
            raise HTTPException(400, f"the body's id {self.id!r} is not the id in the URL "
                                f"{doc_id!r}; leave it out, or create '{self.id}' with POST")
        title = self.title.strip()
        return Document(id=doc_id or self.id or content_id(title, self.text), title=title,
                        text=self.text, lang=self.lang or "und", source=self.source or "api")


class RollbackIn(BaseModel):
    version: int = Field(ge=1)


def _document(kb: KnowledgeBase, doc_id: str, result: WriteResult | None = None
              ) -> dict[str, Any]:
    info = kb.get(doc_id)
    if info is None:
        raise HTTPException(404, f"no document '{doc_id}'")
    body = info.as_dict()
    if result is not None:
        body["status"] = result.status
    return body


def _write(action: Any) -> WriteResult:
    try:
        return action()
    except DocumentNotFound as exc:
        raise HTTPException(404, f"no document {exc.args[0]!r}") from None
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


@router.get("/documents")
def list_documents(
    kb: KB, q: str | None = None, lang: str | None = None, source: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50, offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    docs, total = kb.list(q, lang, source, limit, offset)
    return {"data": [d.as_dict() for d in docs], "total": total}


@router.post("/documents", status_code=201, dependencies=[Admin])
def create_document(kb: KB, body: DocumentIn) -> dict[str, Any]:
    doc = body.document()
    result = _write(lambda: kb.add(doc))
    return _document(kb, doc.id, result)


@router.get("/documents/{doc_id:path}/versions")
def document_versions(kb: KB, doc_id: str) -> dict[str, Any]:
    versions = kb.versions(doc_id)
    if not versions:
        raise HTTPException(404, f"no document '{doc_id}'")
    return {"data": [v.__dict__ for v in versions]}


@router.post("/documents/{doc_id:path}/rollback", dependencies=[Admin])
def rollback_document(kb: KB, doc_id: str, body: RollbackIn) -> dict[str, Any]:
    result = _write(lambda: kb.rollback(doc_id, body.version))
    return _document(kb, doc_id, result)


@router.get("/documents/{doc_id:path}")
def get_document(kb: KB, doc_id: str) -> dict[str, Any]:
    return _document(kb, doc_id)


@router.put("/documents/{doc_id:path}", dependencies=[Admin])
def replace_document(kb: KB, doc_id: str, body: DocumentIn) -> dict[str, Any]:
    if kb.get(doc_id, with_text=False) is None:
        raise HTTPException(404, f"no document '{doc_id}'")
    doc = body.document(doc_id)
    result = _write(lambda: kb.replace(doc))
    return _document(kb, doc_id, result)


@router.delete("/documents/{doc_id:path}", status_code=204, dependencies=[Admin])
def delete_document(kb: KB, doc_id: str) -> Response:
    _write(lambda: kb.delete(doc_id))
    return Response(status_code=204)


@router.post("/upload", dependencies=[Admin])
def upload(kb: KB, file: UploadFile) -> dict[str, Any]:
    """Ingest one file of any supported format. Refuses unknown types (415) and files over
    the size limit (413) before anything is stored."""
    name = Path(file.filename or "").name
    if not name or loader_for(name) is None:
        raise HTTPException(415, f"unsupported file type '{Path(name).suffix or name}'; "
                            f"supported: {', '.join(supported_suffixes())}")
    limit = kb.settings.max_upload_bytes
    with tempfile.TemporaryDirectory(prefix="zhiyan-upload-") as folder:
        path = Path(folder) / ("upload" + Path(name).suffix.lower())
        size = 0
        with path.open("wb") as out:
            while block := file.file.read(1 << 20):
                size += len(block)
                if size > limit:
                    raise HTTPException(413, f"'{name}' is larger than the {limit:,}-byte "
                                        "upload limit; use `zhiyan kb add` for large files")
                out.write(block)
        report = IngestReport()
        ingest_file(kb, path, report, name=name, resume=False)
    body = report.as_dict()
    body.pop("resumed")
    return body


@router.get("/search")
async def search(
    request: Request, q: str = "", k: Annotated[int, Query(ge=1, le=50)] = 5,
    lang: str | None = None, source: str | None = None,
) -> dict[str, Any]:
    kb = await asyncio.to_thread(knowledge_for, request.app)  # first use loads the model
    try:
        hits = await kb.search(q, k=k, lang=lang, source=source)
    except QueryError as exc:
        raise HTTPException(400, str(exc)) from None
    return {"data": [h.as_dict() for h in hits]}

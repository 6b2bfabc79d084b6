"""The /v1/knowledge API on a real server: public reads, admin-only writes, uploads refused
before anything is stored, versions and rollback, search."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import LiveServer
from zhiyan.config import Settings
from zhiyan.engine.base import Engine

TOKEN = "kb-admin-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def client(settings: Settings, shared_engine: Engine) -> Iterator[httpx.Client]:
    from zhiyan.app import create_app

    settings.extra["admin"] = {"token": TOKEN}
    settings.extra["knowledge"] = {"embeddings": False, "max_upload_bytes": 4096}
    with LiveServer(create_app(settings, shared_engine)) as server, httpx.Client(
        base_url=server.url, timeout=30
    ) as http:
        yield http


def test_documents_lifecycle(client: httpx.Client) -> None:
    doc = {"id": "mt-kenya", "title": "Mount Kenya", "text": "Mount Kenya is 5,199 m high.",
           "lang": "en", "source": "atlas"}
    assert client.post("/v1/knowledge/documents", json=doc).status_code == 401
    created = client.post("/v1/knowledge/documents", json=doc, headers=ADMIN)
    assert created.status_code == 201
    assert created.json()["version"] == 1 and created.json()["chunks"] == 1

    listing = client.get("/v1/knowledge/documents", params={"source": "atlas"}).json()
    assert listing["total"] == 1
    assert set(listing["data"][0]) == {"id", "title", "source", "lang", "version",
                                       "updated_at", "chunks"}
    assert client.get("/v1/knowledge/documents/mt-kenya").json()["text"] == doc["text"]

    changed = dict(doc, text="Mount Kenya is 5,199 m high; Batian is its summit.")
    replaced = client.put("/v1/knowledge/documents/mt-kenya", json=changed, headers=ADMIN)
    assert replaced.status_code == 200 and replaced.json()["version"] == 2
    hits = client.get("/v1/knowledge/search", params={"q": "Batian summit"}).json()["data"]
    assert hits[0]["doc_id"] == "mt-kenya" and hits[0]["version"] == 2
    assert set(hits[0]) >= {"doc_id", "title", "version", "chunk_id", "text", "score",
                            "source", "lang"}

    versions = client.get("/v1/knowledge/documents/mt-kenya/versions").json()["data"]
    assert [v["version"] for v in versions] == [1, 2]
    back = client.post("/v1/knowledge/documents/mt-kenya/rollback", json={"version": 1},
                       headers=ADMIN)
    assert back.json()["version"] == 3 and back.json()["text"] == doc["text"]

    assert client.delete("/v1/knowledge/documents/mt-kenya").status_code == 401
    assert client.delete("/v1/knowledge/documents/mt-kenya", headers=ADMIN).status_code == 204
    missing = client.get("/v1/knowledge/documents/mt-kenya")
    assert missing.status_code == 404 and "mt-kenya" in missing.json()["error"]["message"]
    assert client.delete("/v1/knowledge/documents/mt-kenya", headers=ADMIN).status_code == 404
    assert client.put("/v1/knowledge/documents/nope", json=doc, headers=ADMIN).status_code == 404


def test_bad_requests_get_clear_errors(client: httpx.Client) -> None:
    empty = client.get("/v1/knowledge/search", params={"q": "  "})
    assert empty.status_code == 400 and "empty" in empty.json()["error"]["message"]
    long = client.get("/v1/knowledge/search", params={"q": "字" * 3000})
    assert long.status_code == 400
    bad = client.post("/v1/knowledge/documents", json={"title": "t"}, headers=ADMIN)
    assert bad.status_code == 400
    newline = client.post("/v1/knowledge/documents",
                          json={"id": "a\nb", "title": "t", "text": "x"}, headers=ADMIN)
    assert newline.status_code == 400 and "control character" in newline.text
    assert client.get("/v1/knowledge/documents").json()["total"] == 0


def test_upload_reports_and_refuses_before_storing(client: httpx.Client) -> None:
    lines = b'{"id": "a1", "title": "A", "text": "alpha text"}\n{oops\n'
    ok = client.post("/v1/knowledge/upload", files={"file": ("batch.jsonl", lines)},
                     headers=ADMIN)
    assert ok.status_code == 200
    body = ok.json()
    assert body["added"] == ["a1"] and body["skipped"][0]["name"] == "batch.jsonl:2"
    again = client.post("/v1/knowledge/upload", files={"file": ("batch.jsonl", lines)},
                        headers=ADMIN)
    assert again.json()["unchanged"] == ["a1"]

    too_big = client.post("/v1/knowledge/upload",
                          files={"file": ("big.txt", b"x" * 5000)}, headers=ADMIN)
    assert too_big.status_code == 413 and "big.txt" in too_big.json()["error"]["message"]
    odd = client.post("/v1/knowledge/upload", files={"file": ("x.exe", b"MZ")}, headers=ADMIN)
    assert odd.status_code == 415 and ".txt" in odd.json()["error"]["message"]
    assert client.post("/v1/knowledge/upload", files={"file": ("a.txt", b"x")}).status_code == 401
    assert client.get("/v1/knowledge/documents").json()["total"] == 1


def test_documents_without_an_id_do_not_replace_each_other(client: httpx.Client) -> None:
    first = client.post("/v1/knowledge/documents", json={"title": "Notes", "text": "alpha"},
                        headers=ADMIN)
    second = client.post("/v1/knowledge/documents", json={"title": "Notes", "text": "beta"},
                         headers=ADMIN)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert first.json()["status"] == second.json()["status"] == "added"
    again = client.post("/v1/knowledge/documents", json={"title": "Notes", "text": "alpha"},
                        headers=ADMIN)
    assert again.json()["id"] == first.json()["id"] and again.json()["status"] == "unchanged"
    assert client.get("/v1/knowledge/documents").json()["total"] == 2


def test_replace_refuses_a_body_naming_another_document(client: httpx.Client) -> None:
    doc = {"id": "lamu", "title": "Lamu", "text": "Lamu has no cars."}
    assert client.post("/v1/knowledge/documents", json=doc, headers=ADMIN).status_code == 201
    other = client.put("/v1/knowledge/documents/lamu", json=dict(doc, id="malindi",
                                                                  text="changed"),
                       headers=ADMIN)
    assert other.status_code == 400 and "malindi" in other.json()["error"]["message"]
    assert client.get("/v1/knowledge/documents/lamu").json()["version"] == 1
    same = client.put("/v1/knowledge/documents/lamu", json=dict(doc, text="Lamu: donkeys."),
                      headers=ADMIN)
    assert same.status_code == 200 and same.json()["version"] == 2

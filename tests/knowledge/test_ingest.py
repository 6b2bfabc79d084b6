"""Every loader on real files, including a real ZIM archive written with libzim; bad files
are reported by name and the batch goes on; an ingest resumes where it stopped."""

from __future__ import annotations

import json
from pathlib import Path

from zhiyan.knowledge.base import KnowledgeBase
from zhiyan.knowledge.ingest.run import ingest_paths
from zhiyan.knowledge.settings import KnowledgeSettings


def _write_zim(path: Path) -> None:
    from libzim.writer import Creator, Hint, Item, StringProvider

    class Page(Item):
        def __init__(self, path: str, title: str, html: str) -> None:
            super().__init__()
            self.path, self.title, self.html = path, title, html

        def get_path(self) -> str:
            return self.path

        def get_title(self) -> str:
            return self.title

        def get_mimetype(self) -> str:
            return "text/html"

        def get_contentprovider(self) -> StringProvider:
            return StringProvider(self.html)

        def get_hints(self) -> dict[Hint, int]:
            return {Hint.FRONT_ARTICLE: True}

    with Creator(str(path)).config_indexing(False, "eng") as creator:
        creator.set_mainpath("A/Mombasa")
        creator.add_metadata("Language", "swa")
        creator.add_item(Page("A/Mombasa", "Mombasa",
                              "<html><body><h1>Mombasa</h1><p>Mombasa ni mji wa pwani wa "
                              "Kenya.</p><script>var x=1;</script></body></html>"))
        creator.add_item(Page("A/Kilwa", "Kilwa", "<p>Kilwa Kisiwani ni kisiwa cha Tanzania.</p>"))


def test_every_format_and_bad_files_skipped_by_name(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "notes.txt").write_text("Zanzibar spices\nClove farms cover Pemba island.\n")
    (src / "guide.md").write_text("# Lamu guide\n\nLamu old town has no cars, only donkeys.\n")
    (src / "page.html").write_text("<html><head><title>Dodoma</title><style>p{}</style></head>"
                                   "<body><p>Dodoma is the capital of Tanzania.</p></body></html>")
    (src / "docs.jsonl").write_text(
        json.dumps({"id": "arusha", "title": "Arusha", "text": "Arusha lies near Mount Meru.",
                    "lang": "en", "source": "atlas"}) + "\n{broken\n"
        + json.dumps({"title": "no text"}) + "\n")
    (src / "squad.json").write_text(json.dumps({"data": [{"title": "Kisumu", "paragraphs": [
        {"id": "P1", "context": "Kisumu is a port city on Lake Victoria.", "qas": []}]}]}))
    _write_zim(src / "sw.zim")
    (src / "broken.zim").write_bytes(b"not a zim file at all")
    (src / "binary.txt").write_bytes(b"\xff\xfe\x00bad")
    (src / "photo.png").write_bytes(b"\x89PNG")

    kb = KnowledgeBase.open(tmp_path / "kb.sqlite3", KnowledgeSettings(embeddings=False))
    report = ingest_paths(kb, [src, tmp_path / "missing.txt"])
    assert sorted(report.added) == ["P1", "arusha", "guide", "notes", "page", "sw/A/Kilwa",
                                    "sw/A/Mombasa"]
    skipped = {s["name"].split("/")[-1]: s["reason"] for s in report.skipped}
    assert set(skipped) == {"docs.jsonl:2", "docs.jsonl:3", "broken.zim", "binary.txt",
                            "photo.png", "missing.txt"}
    assert "unsupported file type" in skipped["photo.png"]
    assert "UTF-8" in skipped["binary.txt"]

    assert kb.get("page").title == "Dodoma"  # type: ignore[union-attr]
    assert "p{}" not in kb.get("page").text  # type: ignore[operator, union-attr]
    mombasa = kb.get("sw/A/Mombasa")
    assert mombasa is not None and mombasa.lang == "sw" and "var x" not in (mombasa.text or "")
    assert kb.get("arusha").source == "atlas"  # type: ignore[union-attr]
    assert kb.get("guide").title == "Lamu guide"  # type: ignore[union-attr]
    assert kb.search_sync("Lake Victoria port")[0].doc_id == "P1"
    assert kb.search_sync("kisiwa Tanzania")[0].doc_id == "sw/A/Kilwa"

    # A second run reads the finished files again and changes nothing.
    again = ingest_paths(kb, [src])
    assert again.added == [] and again.replaced == [] and again.resumed == 0
    assert sorted(again.unchanged) == sorted(report.added)
    # Without the resume mark, content hashes make it a no-op too.
    fresh = ingest_paths(kb, [src / "docs.jsonl"], resume=False)
    assert fresh.unchanged == ["arusha"] and fresh.added == []
    kb.close()


def test_changed_file_replaces_only_changed_documents(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    rows = [{"id": f"d{i}", "title": f"Doc {i}", "text": f"text number {i}"} for i in range(5)]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    kb = KnowledgeBase.open(tmp_path / "kb.sqlite3",
                            KnowledgeSettings(embeddings=False, batch_size=2))
    assert len(ingest_paths(kb, [path]).added) == 5
    rows[3]["text"] = "a brand new text for three"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    report = ingest_paths(kb, [path])
    assert report.replaced == ["d3"] and len(report.unchanged) == 4
    assert kb.search_sync("brand new")[0].version == 2
    kb.close()


def test_adding_a_file_again_restores_what_was_deleted_or_rolled_back(tmp_path: Path) -> None:
    # A finished file's progress mark must not stand in for its content: after a delete,
    # a rollback or an API replace, adding the same unchanged file brings its text back.
    notes, link = tmp_path / "notes.txt", tmp_path / "alias.txt"
    notes.write_text("Zanzibar spices\nClove farms cover Pemba island.\n")
    link.symlink_to(notes)
    kb = KnowledgeBase.open(tmp_path / "kb.sqlite3", KnowledgeSettings(embeddings=False))
    first = ingest_paths(kb, [notes, link])
    assert first.added == ["notes", "alias"] and first.resumed == 0

    kb.delete("notes")
    again = ingest_paths(kb, [notes])
    assert again.added == ["notes"] and again.resumed == 0
    assert kb.search_sync("Pemba clove")[0].doc_id in {"notes", "alias"}

    notes.write_text("Zanzibar spices\nNutmeg grows on Unguja too.\n")
    assert ingest_paths(kb, [notes]).replaced == ["notes"]
    kb.rollback("notes", 1)
    restored = ingest_paths(kb, [notes])
    assert restored.replaced == ["notes"]
    assert "Nutmeg" in (kb.get("notes").text or "")  # type: ignore[union-attr]
    assert ingest_paths(kb, [notes]).unchanged == ["notes"]
    kb.close()


def test_html_without_closing_head_keeps_its_body(tmp_path: Path) -> None:
    from zhiyan.knowledge.ingest.html import html_to_text

    # </head> is optional in HTML; the body must not be taken for hidden head content.
    title, text = html_to_text("<html><head><title>Mbeya</title><meta charset=utf-8>"
                               "<body><p>Mbeya lies in the southern highlands.</p>"
                               "<svg><title>icon</title></svg><style>p{}</style></body>")
    assert title == "Mbeya"
    assert text == "Mbeya lies in the southern highlands."
    title, text = html_to_text("<title>A &amp; B</title><h1>Heading</h1><p>x &lt; y</p>")
    assert title == "A & B" and text == "Heading\nx < y"


def test_gbk_and_big5_text_files_are_read(tmp_path: Path) -> None:
    gbk = "北京是中国的首都。\n故宫位于北京市中心，是明清两代的皇宫。"
    big5 = "臺灣的電腦產業在一九八零年代快速發展。\n宏碁創立於一九七六年。"
    (tmp_path / "gbk.txt").write_bytes(gbk.encode("gbk"))
    (tmp_path / "big5.txt").write_bytes(big5.encode("cp950"))  # Windows' Big5 has 碁
    (tmp_path / "bom.md").write_bytes("\ufeff# 标题\r\n\r\n第一行。\r\n".encode())
    kb = KnowledgeBase.open(tmp_path / "kb.sqlite3", KnowledgeSettings(embeddings=False))
    report = ingest_paths(kb, [tmp_path / "gbk.txt", tmp_path / "big5.txt", tmp_path / "bom.md"])
    assert report.skipped == [] and sorted(report.added) == ["big5", "bom", "gbk"]
    assert (kb.get("gbk").text or "").startswith("北京是中国的首都")  # type: ignore[union-attr]
    assert "宏碁創立於" in (kb.get("big5").text or "")  # type: ignore[union-attr]
    assert kb.get("bom").title == "标题"  # type: ignore[union-attr]
    assert kb.search_sync("宏碁创立")[0].doc_id == "big5"
    kb.close()



def test_files_of_the_same_name_in_different_folders_stay_apart(tmp_path: Path) -> None:
    # docs/a/index.md and docs/b/index.md are two documents; a file given by itself keeps
    # its plain name as id.
    docs = tmp_path / "docs"
    (docs / "a").mkdir(parents=True)
    (docs / "b").mkdir()
    (docs / "index.md").write_text("# Home\n\nThe start page.\n")
    (docs / "a" / "index.md").write_text("# Arusha\n\nArusha lies near Mount Meru.\n")
    (docs / "b" / "index.md").write_text("# Bukoba\n\nBukoba is on Lake Victoria.\n")
    (docs / ".git").mkdir()
    (docs / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (docs / ".hidden.txt").write_text("editor backup\n")
    kb = KnowledgeBase.open(tmp_path / "kb.sqlite3", KnowledgeSettings(embeddings=False))
    report = ingest_paths(kb, [docs])
    assert sorted(report.added) == ["a/index", "b/index", "index"]
    assert report.replaced == [] and report.skipped == []  # hidden files are not walked
    assert kb.search_sync("Mount Meru")[0].doc_id == "a/index"
    alone = ingest_paths(kb, [docs / "b" / "index.md"])
    assert alone.added == ["index"] or alone.replaced == ["index"]
    kb.close()


def test_lines_without_an_id_are_told_apart_by_content(tmp_path: Path) -> None:
    # Two different documents that share a title ("Introduction") are two documents, not
    # one replacing the other; the same line again is a no-op.
    path = tmp_path / "books.jsonl"
    path.write_text(json.dumps({"title": "Introduction", "text": "Book one begins here."}) + "\n"
                    + json.dumps({"title": "Introduction", "text": "Book two opens."}) + "\n"
                    + json.dumps({"text": "A line with neither id nor title."}) + "\n")
    kb = KnowledgeBase.open(tmp_path / "kb.sqlite3", KnowledgeSettings(embeddings=False))
    report = ingest_paths(kb, [path])
    assert len(report.added) == 3 and report.replaced == []
    assert {kb.get(i).version for i in report.added} == {1}  # type: ignore[union-attr]
    again = ingest_paths(kb, [path], resume=False)
    assert sorted(again.unchanged) == sorted(report.added)
    kb.close()

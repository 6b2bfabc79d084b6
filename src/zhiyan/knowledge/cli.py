"""`zhiyan kb …`: add files, list, show, delete, version history, rollback, search, ask."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from zhiyan.config import load_settings
from zhiyan.knowledge.base import DocumentNotFound, KnowledgeBase, QueryError
from zhiyan.knowledge.settings import KnowledgeSettings

kb_app = typer.Typer(help="The knowledge base: add, list, search, version and roll back.",
                     no_args_is_help=True)
console = Console()
err = Console(stderr=True)

ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help="TOML settings file")]


def open_kb(config: Path | None) -> KnowledgeBase:
    settings = load_settings(config)
    return KnowledgeBase.open(settings.storage.database,
                              settings.section("knowledge", KnowledgeSettings))


@kb_app.command("add")
def add(
    paths: Annotated[list[Path], typer.Argument(help="files or folders (.txt .md .html "
                                                     ".jsonl SQuAD .json .zim)")],
    config: ConfigOption = None,
    resume: Annotated[bool, typer.Option(help="continue an interrupted ingest")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Ingest files; unchanged documents are no-ops, bad files are reported and skipped."""
    from zhiyan.knowledge.ingest.run import ingest_paths

    kb = open_kb(config)
    try:
        report = ingest_paths(kb, paths, progress=True, resume=resume)
    finally:
        kb.close()
    if as_json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        console.print(f"added {len(report.added)}, replaced {len(report.replaced)}, "
                      f"unchanged {len(report.unchanged)}, skipped {len(report.skipped)}"
                      + (f", resumed past {report.resumed}" if report.resumed else ""))
        for skip in report.skipped:
            err.print(f"[yellow]skipped[/yellow] {skip['name']}: {skip['reason']}",
                      markup=True, highlight=False)
    if report.skipped:
        raise typer.Exit(1)


@kb_app.command("list")
def list_(
    q: Annotated[str | None, typer.Option(help="title or id contains")] = None,
    lang: Annotated[str | None, typer.Option()] = None,
    source: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
    offset: Annotated[int, typer.Option(min=0, help="skip this many (the next page)")] = 0,
    config: ConfigOption = None,
) -> None:
    """Documents, newest first."""
    kb = open_kb(config)
    docs, total = kb.list(q, lang, source, limit, offset)
    table = Table("id", "title", "lang", "source", "version", "chunks", "updated")
    for d in docs:
        table.add_row(d.id, d.title, d.lang, d.source, str(d.version), str(d.chunks),
                      d.updated_at)
    console.print(table)
    shown = f"{offset + 1}-{offset + len(docs)}" if offset and docs else str(len(docs))
    console.print(f"{shown} of {total}")


@kb_app.command("show")
def show(doc_id: str, config: ConfigOption = None) -> None:
    """One document with its text."""
    info = open_kb(config).get(doc_id)
    if info is None:
        err.print(f"[red]no document '{doc_id}'[/red]")
        raise typer.Exit(1)
    console.print(f"[bold]{info.title}[/bold]  ({info.id}, version {info.version}, "
                  f"{info.lang}, {info.source})", highlight=False)
    console.print(info.text or "", markup=False, highlight=False)


@kb_app.command("delete")
def delete(doc_id: str, config: ConfigOption = None) -> None:
    """Remove a document from retrieval (its versions stay for audit and rollback)."""
    try:
        result = open_kb(config).delete(doc_id)
    except DocumentNotFound:
        err.print(f"[red]no document '{doc_id}'[/red]")
        raise typer.Exit(1) from None
    console.print(f"deleted {doc_id} (recorded as version {result.version})")


@kb_app.command("versions")
def versions(doc_id: str, config: ConfigOption = None) -> None:
    """The version history of a document."""
    rows = open_kb(config).versions(doc_id)
    if not rows:
        err.print(f"[red]no document '{doc_id}'[/red]")
        raise typer.Exit(1)
    table = Table("version", "action", "title", "hash", "created", "current")
    for v in rows:
        table.add_row(str(v.version), v.action, v.title, v.content_hash[:12], v.created_at,
                      "*" if v.current else "")
    console.print(table)


@kb_app.command("rollback")
def rollback(doc_id: str, version: int, config: ConfigOption = None) -> None:
    """Make an old version current again (recorded as a new version)."""
    try:
        result = open_kb(config).rollback(doc_id, version)
    except DocumentNotFound:
        err.print(f"[red]no version {version} of '{doc_id}'[/red]")
        raise typer.Exit(1) from None
    console.print(f"{doc_id}: {result.status}, now version {result.version}")


@kb_app.command("search")
def search(
    query: str,
    k: Annotated[int, typer.Option("-k")] = 5,
    lang: Annotated[str | None, typer.Option()] = None,
    source: Annotated[str | None, typer.Option()] = None,
    config: ConfigOption = None,
) -> None:
    """Hybrid (BM25 + dense) search."""
    try:
        hits = open_kb(config).search_sync(query, k, lang, source)
    except QueryError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    for n, h in enumerate(hits, 1):
        console.print(f"[bold]{n}. {h.title}[/bold] ({h.doc_id} v{h.version}, "
                      f"score {h.score:.4f})", highlight=False)
        console.print("   " + h.text[:200].replace("\n", " "), markup=False, highlight=False)


@kb_app.command("ask")
def ask(
    question: str,
    config: ConfigOption = None,
    model: Annotated[str | None, typer.Option("--model", "-m")] = None,
    max_tokens: Annotated[int, typer.Option()] = 256,
) -> None:
    """A grounded answer with numbered citations (from the passages as the policy cleans
    them: a sentence planting instructions in a document is never shown or quoted)."""
    from zhiyan.assistant.policy import Policy, PolicySettings
    from zhiyan.cli import _build_engine, _settings
    from zhiyan.engine.errors import ModelError
    from zhiyan.knowledge.grounded import answer_stream

    settings = _settings(config, model)
    kb = open_kb(config)
    try:
        kb.check_query(question)  # an empty or oversized question loads no model
        engine = _build_engine(settings)
    except QueryError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    except ModelError as exc:
        err.print(f"[red]cannot start:[/red] {exc}")
        raise typer.Exit(1) from None
    policy = Policy(settings.section("policy", PolicySettings))

    def clean(text: str, doc_id: str) -> str:
        return policy.clean_document(text, doc_id=doc_id)

    async def run() -> None:
        try:
            async for event in answer_stream(engine, kb, question, max_tokens=max_tokens,
                                             clean=clean):
                if event.reply is not None:
                    console.print(event.reply.text, markup=False, highlight=False)
                    for c in event.reply.citations:
                        console.print(f"[{c.number}] {c.title} ({c.doc_id} v{c.version})",
                                      markup=False, highlight=False)
        finally:
            await engine.close()

    try:
        asyncio.run(run())
    except QueryError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None

"""`zhiyan eval continual`: does the knowledge base learn without forgetting?

1. Staged corpus: a SQuAD-format file's articles are ingested in N stages; after each
   stage every question of the stages so far is asked. Accuracy is retrieval: the gold
   passage is among the top k (default 3, the passages a grounded answer reads), so the
   matrix measures the knowledge base itself, not the model's reading. Reported: the
   matrix, final average accuracy and backward transfer
   BWT = mean over stages i < N of (acc[N][i] − acc[i][i]); 0 means nothing was forgotten.
2. Fact updates: fictional entities (not in any model's training data) get an original
   fact, then an update (a document replace). Edit success: the question now yields the new
   value and not the old one; generalization: paraphrased questions do too; locality: an
   unrelated fact of the same entity still comes back unchanged. Scored on the top
   retrieved passage by default, or on the model's grounded answer with `--answers`.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer

from zhiyan.knowledge.base import KnowledgeBase
from zhiyan.knowledge.embed import CachedEmbedder, E5Embedder, shared_e5
from zhiyan.knowledge.grounded import follow_up, relevant
from zhiyan.knowledge.segment import normalize
from zhiyan.knowledge.settings import KnowledgeSettings
from zhiyan.knowledge.store import SQLiteStore
from zhiyan.knowledge.types import Document, Hit

DEFAULT_CORPUS = Path("../shared/data/cmrc2018_trial.json")
DEFAULT_VECTOR_CACHE = Path("var/cache/e5-vectors.sqlite3")


def open_kb(path: Path, embeddings: bool, vector_cache: Path | None = None) -> KnowledgeBase:
    """A fresh knowledge base: BM25 only, or hybrid with e5 passage vectors kept in
    `vector_cache` across runs (the same 460 CMRC chunks are embedded once, not per run)."""
    if not embeddings:
        return KnowledgeBase.open(path, KnowledgeSettings(embeddings=False))
    settings = KnowledgeSettings()
    embedder: E5Embedder | CachedEmbedder = shared_e5(settings.embed_threads)
    if vector_cache is not None:
        embedder = CachedEmbedder(embedder, vector_cache)
    return KnowledgeBase(SQLiteStore(path, embed_model=embedder.model), embedder, settings)


def staged(path: Path, stages: int, limit: int | None) -> list[tuple[list[Document],
                                                                      list[dict[str, Any]]]]:
    from zhiyan.eval.qa import load_questions

    docs, questions = load_questions(path)
    order = {d.id: i for i, d in enumerate(docs)}
    if limit:
        questions = questions[:limit]
    size = -(-len(docs) // stages)
    out = []
    for s in range(stages):
        part = docs[s * size:(s + 1) * size]
        ids = {d.id for d in part}
        out.append((part, [q for q in questions if q["doc_id"] in ids]))
    assert sum(len(p) for p, _ in out) == len(order)
    return out


def search_after(kb: KnowledgeBase, question: str, previous: str | None, k: int) -> list[Hit]:
    """The top-k hits for `question` asked after `previous` in a conversation (alone when
    None): `follow_up` with the document the previous question finds."""
    hits = kb.search_sync(question, k)
    if previous:
        found = relevant(kb.search_sync(previous, 1), previous)
        hits = follow_up(question, hits, found[0].doc_id if found else None)
    return hits


def accuracy_matrix(kb: KnowledgeBase, stages: list[tuple[list[Document],
                                                          list[dict[str, Any]]]],
                    k: int, conversation: bool = False) -> list[list[float | None]]:
    """With `conversation`, each question is asked as a follow-up of the question before it
    about the same passage (CMRC lists them in order): its hits go through `follow_up`
    with the document that previous question finds, as in a chat."""
    matrix: list[list[float | None]] = []
    for i, (docs, _) in enumerate(stages):
        kb.add_many(docs)
        row: list[float | None] = []
        for j, (_, questions) in enumerate(stages):
            if j > i or not questions:
                row.append(None)
                continue
            right = 0
            previous: dict[str, str] = {}
            for q in questions:
                hits = search_after(kb, q["question"],
                                    previous.get(q["doc_id"]) if conversation else None, 2 * k)
                previous[q["doc_id"]] = q["question"]
                right += q["doc_id"] in list(dict.fromkeys(h.doc_id for h in hits))[:k]
            row.append(right / len(questions))
        matrix.append(row)
    return matrix


def bwt(matrix: list[list[float | None]]) -> float:
    last = matrix[-1]
    diffs = [last[i] - matrix[i][i] for i in range(len(matrix) - 1)  # type: ignore[operator]
             if last[i] is not None and matrix[i][i] is not None]
    return statistics.mean(diffs) if diffs else 0.0


def load_facts() -> list[dict[str, Any]]:
    text = (resources.files("zhiyan.eval") / "data" / "fact_updates.jsonl").read_text("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _contains(text: str, value: str) -> bool:
    return normalize(value).replace(" ", "") in normalize(text).replace(" ", "")


class Asker:
    """What a question yields: the top passage, or the model's grounded answer."""

    def __init__(self, kb: KnowledgeBase, engine: Any = None) -> None:
        self.kb, self.engine = kb, engine

    def __call__(self, question: str) -> str:
        if self.engine is None:
            hits = self.kb.search_sync(question, 1)
            return hits[0].text if hits else ""
        from zhiyan.knowledge.grounded import answer

        reply = asyncio.run(answer(self.engine, self.kb, question, max_tokens=48))
        return reply.text if reply.kind == "knowledge" else ""


def fact_updates(kb: KnowledgeBase, ask: Asker, facts: list[dict[str, Any]]) -> dict[str, Any]:
    def doc(f: dict[str, Any], value: str) -> Document:
        return Document(id=f"fact-{f['id']}", title=f["title"], lang=f["lang"],
                        source="fact-updates", text=f["template"].format(v=value))

    kb.add_many([doc(f, f["old"]) for f in facts])
    before = {f["id"]: (_contains(ask(f["question"]), f["old"]),
                        _contains(ask(f["neighbour"]["question"]), f["neighbour"]["answer"]))
              for f in facts}
    for f in facts:
        kb.replace(doc(f, f["new"]))
    edit, general, local, rows = [], [], [], []
    for f in facts:
        got = ask(f["question"])
        ok = _contains(got, f["new"]) and not _contains(got, f["old"])
        replies = [ask(p) for p in f["paraphrases"]]
        paraphrased = [_contains(a, f["new"]) and not _contains(a, f["old"]) for a in replies]
        neighbour = _contains(ask(f["neighbour"]["question"]), f["neighbour"]["answer"])
        edit.append(ok)
        general.extend(paraphrased)
        local.append(neighbour == before[f["id"]][1])
        rows.append({"id": f["id"], "before_old": before[f["id"]][0], "edit": ok,
                     "paraphrases": paraphrased, "neighbour_kept": neighbour,
                     "answer": got[:200], "paraphrase_answers": [a[:200] for a in replies]})
    return {"entities": len(facts),
            "known_before": statistics.mean(float(b[0]) for b in before.values()),
            "edit_success": statistics.mean(map(float, edit)),
            "generalization": statistics.mean(map(float, general)),
            "locality": statistics.mean(map(float, local)), "rows": rows}


def register(eval_app: typer.Typer) -> None:
    @eval_app.command("continual")
    def continual_command(
        file: Annotated[Path, typer.Argument(help="SQuAD-format corpus to stage")] = DEFAULT_CORPUS,
        stages: Annotated[int, typer.Option(help="ingest stages")] = 4,
        k: Annotated[int, typer.Option("-k", help="gold passage within the top k")] = 3,
        limit: Annotated[int | None, typer.Option(help="first N questions only")] = None,
        embeddings: Annotated[bool, typer.Option(help="hybrid retrieval (BM25 + e5 vectors) "
                                                      "for the staged corpus")] = False,
        vector_cache: Annotated[Path, typer.Option(help="passage vectors kept across runs")]
            = DEFAULT_VECTOR_CACHE,
        conversation: Annotated[bool, typer.Option(
            help="ask each question as a follow-up of the one before it about the same "
                 "passage, as in a chat")] = False,
        answers: Annotated[bool, typer.Option(help="score fact updates on the model's "
                                                   "grounded answer, not the top passage")] = False,
        facts_limit: Annotated[int | None, typer.Option(
            "--facts", help="first N fact-update entities only (answers cost seconds each)")]
            = None,
        model: Annotated[str | None, typer.Option("--model", "-m")] = None,
        config: Annotated[Path | None, typer.Option("--config", "-c")] = None,
        out: Annotated[Path, typer.Option(help="JSON results")] = Path("var/eval/continual.json"),
    ) -> None:
        """Accuracy matrix and backward transfer over staged ingests; fact-update edit
        success, generalization and locality."""
        result: dict[str, Any] = {"file": str(file), "stages": stages, "k": k,
                                  "embeddings": embeddings, "conversation": conversation}
        with tempfile.TemporaryDirectory(prefix="zhiyan-eval-continual-") as folder:
            kb = open_kb(Path(folder) / "staged.sqlite3", embeddings, vector_cache)
            matrix = accuracy_matrix(kb, staged(file, stages, limit), k, conversation)
            kb.close()
            kb = KnowledgeBase.open(Path(folder) / "facts.sqlite3",
                                    KnowledgeSettings(embeddings=False))
            engine = None
            if answers:
                from zhiyan.cli import _build_engine, _settings

                engine = _build_engine(_settings(config, model))
            facts = fact_updates(kb, Asker(kb, engine), load_facts()[:facts_limit])
            kb.close()
        final = [v for v in matrix[-1] if v is not None]
        result.update({"matrix": matrix, "final_average": statistics.mean(final),
                       "bwt": bwt(matrix), "facts": facts,
                       "scored_on": "grounded answer" if answers else "top retrieved passage"})
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, ensure_ascii=False, indent=1))

        typer.echo(f"\nstaged corpus {file} in {stages} stages "
                   f"({'hybrid' if embeddings else 'BM25'} retrieval"
                   f"{', follow-ups in a conversation' if conversation else ''}; "
                   f"accuracy = gold passage in the top {k})")
        typer.echo("after stage  " + " ".join(f"  S{j + 1:<4}" for j in range(stages)))
        for i, row in enumerate(matrix):
            cells = " ".join(f"{100 * v:6.1f}" if v is not None else "     -" for v in row)
            typer.echo(f"S{i + 1:<11} {cells}")
        typer.echo(f"final average accuracy {100 * result['final_average']:.1f}%   "
                   f"BWT {100 * result['bwt']:+.2f} points")
        typer.echo(f"\nfact updates ({facts['entities']} fictional entities, scored on the "
                   f"{result['scored_on']}):")
        typer.echo(f"  known before update  {100 * facts['known_before']:6.1f}%")
        typer.echo(f"  edit success         {100 * facts['edit_success']:6.1f}%")
        typer.echo(f"  generalization       {100 * facts['generalization']:6.1f}%")
        typer.echo(f"  locality             {100 * facts['locality']:6.1f}%")
        typer.echo(f"results: {out}")

"""`zhiyan eval qa FILE`: retrieval and grounded-answer quality on SQuAD-format data.

Every context goes into a fresh knowledge base; each question is searched (hit@1, hit@5: is
the gold context among the retrieved documents), also typed in Traditional characters, and
answered with citations by the configured model; EM and F1 follow the CMRC 2018 scorer
(characters for Chinese, words elsewhere, F1 from the longest common substring). The same
model answering without any passage is the baseline, measured in the same run.

Two answer paths can be measured: `grounded` is what `zhiyan kb ask` runs (a short cited
span); `chat` is the assistant's turn pipeline, what a chat, SMS or OpenAI-API user gets (a
sentence written by the model from the focused passages). A chat answer is longer than the
annotators' span by design, so F1 alone undersells it: gold recall (how much of the gold span
the answer contains) says whether the user got the fact.
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import string
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from zhiyan.assistant.turn import Assistant, Reply, Turn
from zhiyan.engine.base import ChatRequest, Engine, Message
from zhiyan.i18n import t
from zhiyan.knowledge.base import KnowledgeBase
from zhiyan.knowledge.grounded import answer_stream
from zhiyan.knowledge.ingest.squad import load_squad, paragraph_id
from zhiyan.knowledge.settings import KnowledgeSettings
from zhiyan.knowledge.types import Document

_PUNCT = set(string.punctuation) | set(
    "，。：？！；、“”‘’（）《》〈〉【】『』「」﹃﹄〔〕…—－～·￥％＃＠＆＊＋＝｜＜＞／＼")
_MARKER = re.compile(r"\s*\[\d{1,2}\]")


def _segments(text: str) -> list[str]:
    """CMRC 2018 mixed segmentation: each CJK character alone, other runs as words."""
    out: list[str] = []
    word = ""
    for ch in text.lower().strip():
        if ch in _PUNCT or ch.isspace() or re.match(r"[\u4e00-\u9fff]", ch):
            if word:
                out.append(word)
                word = ""
            if not ch.isspace() and ch not in _PUNCT:
                out.append(ch)
        else:
            word += ch
    if word:
        out.append(word)
    return out


def _lcs(a: list[str], b: list[str]) -> int:
    """Length of the longest common substring (what the CMRC scorer uses for F1)."""
    best = 0
    table = [0] * (len(b) + 1)
    for x in a:
        prev = 0
        for j, y in enumerate(b, 1):
            current = table[j]
            table[j] = prev + 1 if x == y else 0
            best = max(best, table[j])
            prev = current
    return best


def f1_score(prediction: str, golds: list[str]) -> float:
    best = 0.0
    pred = _segments(prediction)
    for gold in golds:
        ref = _segments(gold)
        common = _lcs(pred, ref)
        if common:
            p, r = common / len(pred), common / len(ref)
            best = max(best, 2 * p * r / (p + r))
    return best


def gold_recall(prediction: str, golds: list[str]) -> float:
    """The largest share of a gold answer found as one run in the prediction (1.0: the
    prediction contains it whole, however long the prediction is)."""
    pred = _segments(prediction)
    best = 0.0
    for gold in golds:
        ref = _segments(gold)
        if ref:
            best = max(best, _lcs(pred, ref) / len(ref))
    return best


def exact_match(prediction: str, golds: list[str]) -> float:
    pred = "".join(_segments(prediction))
    return float(any(pred == "".join(_segments(g)) for g in golds))


def load_questions(path: Path) -> tuple[list[Document], list[dict[str, Any]]]:
    docs, questions = [], []
    for article in load_squad(path):
        title = str(article.get("title") or "")
        for index, paragraph in enumerate(article.get("paragraphs", [])):
            doc_id = paragraph_id(article, index, paragraph)
            docs.append(Document(id=doc_id, title=title or doc_id, text=paragraph["context"],
                                 source=path.name))
            for qa in paragraph.get("qas", []):
                if str(qa.get("question", "")).strip():
                    questions.append({"id": qa.get("id"), "question": qa["question"],
                                      "answers": [a["text"] for a in qa.get("answers", [])],
                                      "doc_id": doc_id})
    return docs, questions


def retrieval(kb: KnowledgeBase, questions: list[dict[str, Any]],
              convert: Any = None) -> dict[str, float]:
    hit1 = hit5 = 0
    latencies = []
    for q in questions:
        text = convert(q["question"]) if convert else q["question"]
        started = time.perf_counter()
        hits = kb.search_sync(text, 10)
        latencies.append(time.perf_counter() - started)
        ranked = list(dict.fromkeys(h.doc_id for h in hits))
        hit1 += ranked[:1] == [q["doc_id"]]
        hit5 += q["doc_id"] in ranked[:5]
    n = max(len(questions), 1)
    return {"hit@1": hit1 / n, "hit@5": hit5 / n,
            "p50_ms": 1000 * statistics.median(latencies) if latencies else 0.0}


BASELINE_PROMPT = "用最短的词语回答问题，不要解释。" \
                  "Answer with the shortest phrase, no explanation."


#: the answer paths `--via` can measure; a row's keys for the chat path start with "chat_"
VIAS = ("grounded", "chat", "both")


async def _grounded(engine: Engine, kb: KnowledgeBase, question: str,
                    max_tokens: int) -> tuple[str, str, Reply]:
    """`kb ask`'s answer: the span without its markers ("" unless it answered)."""
    raw, reply = "", None
    async for event in answer_stream(engine, kb, question, lang="zh", max_tokens=max_tokens):
        raw += event.delta
        reply = event.reply or reply
    assert reply is not None
    prediction = _MARKER.sub("", reply.text).strip() if reply.kind == "knowledge" else ""
    return prediction, raw, reply


def chat_body(reply: Reply) -> str:
    """What a chat reply says, without its notes and sources line (a title in the sources
    line must not count as the answer) and without citation markers."""
    lang = reply.lang
    tails = (t("core.sources", lang), t("core.not_from_sources", lang),
             t("core.wrong_language", lang))
    head, _, last = reply.text.rpartition("\n\n")
    text = head if head and last.startswith(tails) else reply.text
    return _MARKER.sub("", text).strip()


async def _chat(assistant: Assistant, question: str, number: int,
                conversation: str | None = None) -> tuple[str, Reply]:
    """The turn pipeline's answer, as an OpenAI-API client without history gets it; or,
    with a `conversation` id, as an SMS user gets it who asked that conversation's earlier
    questions first (the assistant remembers them)."""
    if conversation is None:
        turn = Turn(text=question, user_id=f"eval-qa-{number}", channel="http", lang="zh")
    else:
        turn = Turn(text=question, user_id="eval-qa", conversation_id=conversation,
                    channel="sms", lang="zh")
    reply = await assistant.respond(turn)
    return chat_body(reply), reply


def _scores(prefix: str, prediction: str, golds: list[str], reply: Reply,
            seconds: float) -> dict[str, Any]:
    return {f"{prefix}prediction": prediction, f"{prefix}kind": reply.kind,
            f"{prefix}seconds": seconds, f"{prefix}cited": [c.doc_id for c in reply.citations],
            f"{prefix}em": exact_match(prediction, golds),
            f"{prefix}f1": f1_score(prediction, golds),
            f"{prefix}recall": gold_recall(prediction, golds)}


async def answers(engine: Engine, kb: KnowledgeBase, questions: list[dict[str, Any]],
                  baseline: bool, max_tokens: int = 48,
                  on_item: Any = None, via: str = "grounded",
                  assistant: Assistant | None = None,
                  conversation: bool = False) -> dict[str, Any]:
    """Every question answered by the chosen path(s), in turn, so machine noise hits
    each path alike; the baseline (no retrieval) after them. With `conversation`, the chat
    path asks each passage's questions as one conversation, in order."""
    rows = []
    for number, q in enumerate(questions):
        row: dict[str, Any] = {"id": q["id"], "question": q["question"], "gold": q["answers"],
                               "gold_doc": q["doc_id"]}
        if via in ("grounded", "both"):
            started = time.perf_counter()
            prediction, raw, reply = await _grounded(engine, kb, q["question"], max_tokens)
            row.update(_scores("", prediction, q["answers"], reply,
                               time.perf_counter() - started), raw=raw)
        if via in ("chat", "both"):
            assert assistant is not None
            started = time.perf_counter()
            prediction, reply = await _chat(assistant, q["question"], number,
                                            q["doc_id"] if conversation else None)
            row.update(_scores("chat_", prediction, q["answers"], reply,
                               time.perf_counter() - started))
        if baseline:
            started = time.perf_counter()
            plain = await engine.chat(ChatRequest(messages=[
                Message(role="system", content=BASELINE_PROMPT),
                Message(role="user", content=q["question"])],
                max_tokens=max_tokens, temperature=0.0, seed=0))
            row["baseline_prediction"] = plain.content.strip()
            row["baseline_seconds"] = time.perf_counter() - started
            row["baseline_em"] = exact_match(plain.content, q["answers"])
            row["baseline_f1"] = f1_score(plain.content, q["answers"])
            row["baseline_recall"] = gold_recall(plain.content, q["answers"])
        rows.append(row)
        if on_item:
            on_item(row)
    return {"rows": rows, **summarize(rows)}


def summarize(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Means per path: keys of the grounded path bare, the chat path's with "chat_"."""
    if not rows:
        return {}
    out: dict[str, float] = {}
    for prefix in ("", "chat_"):
        if f"{prefix}f1" not in rows[0]:
            continue
        for metric in ("em", "f1", "recall"):
            out[f"{prefix}{metric}"] = statistics.mean(r[f"{prefix}{metric}"] for r in rows)
        out[f"{prefix}contains"] = statistics.mean(
            float(r[f"{prefix}recall"] == 1.0) for r in rows)
        out[f"{prefix}p50_s"] = statistics.median(r[f"{prefix}seconds"] for r in rows)
        out[f"{prefix}mean_s"] = statistics.mean(r[f"{prefix}seconds"] for r in rows)
        out[f"{prefix}cited_gold"] = statistics.mean(
            float(r["gold_doc"] in r[f"{prefix}cited"]) for r in rows)
        out[f"{prefix}chars_p50"] = statistics.median(
            len(r[f"{prefix}prediction"]) for r in rows)
    if "baseline_f1" in rows[0]:
        for metric in ("em", "f1", "recall"):
            out[f"baseline_{metric}"] = statistics.mean(r[f"baseline_{metric}"] for r in rows)
        out["baseline_p50_s"] = statistics.median(r["baseline_seconds"] for r in rows)
    return out


def run(path: Path, limit: int | None, with_answers: bool, baseline: bool, embeddings: bool,
        model: str | None, config: Path | None, out: Path | None,
        offset: int = 0, via: str = "grounded", conversation: bool = False) -> dict[str, Any]:
    import opencc

    docs, questions = load_questions(path)
    questions = questions[offset:offset + limit if limit else None]
    result: dict[str, Any] = {"file": str(path), "documents": len(docs), "offset": offset,
                              "questions": len(questions), "embeddings": embeddings,
                              "via": via, "conversation": conversation}
    with tempfile.TemporaryDirectory(prefix="zhiyan-eval-qa-") as folder:
        kb = KnowledgeBase.open(Path(folder) / "kb.sqlite3",
                                KnowledgeSettings(embeddings=embeddings))
        started = time.perf_counter()
        kb.add_many(docs)
        result["ingest_s"] = time.perf_counter() - started
        result["simplified"] = retrieval(kb, questions)
        result["traditional"] = retrieval(kb, questions, opencc.OpenCC("s2t").convert)
        typer.echo(f"retrieval: simplified {result['simplified']}, "
                   f"traditional {result['traditional']}", err=True)
        if with_answers:
            from zhiyan.cli import _build_engine, _settings

            settings = _settings(config, model)
            engine = _build_engine(settings)
            result["model"] = engine.model_id
            rows_file = out.with_suffix(".rows.jsonl") if out else None
            if rows_file:
                rows_file.parent.mkdir(parents=True, exist_ok=True)
                rows_file.write_text("")

            def progress(row: dict[str, Any]) -> None:
                if rows_file:  # kept as it goes: a long run stopped early still counts
                    with rows_file.open("a") as fh:
                        fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                for prefix in ("", "chat_"):
                    if f"{prefix}f1" in row:
                        typer.echo(f"  {prefix}{row[f'{prefix}f1']:.2f} "
                                   f"{row[f'{prefix}seconds']:.1f}s {row['question']} -> "
                                   f"{row[f'{prefix}prediction']!r} "
                                   f"(gold {row['gold'][0]!r})", err=True)

            async def go() -> dict[str, Any]:
                assistant = None
                if via != "grounded":
                    assistant = Assistant(engine, settings, knowledge=kb)
                    await assistant.warm_up()
                try:
                    return await answers(engine, kb, questions, baseline, on_item=progress,
                                         via=via, assistant=assistant,
                                         conversation=conversation)
                finally:
                    await engine.close()

            scored = asyncio.run(go())
            result["answers"] = {k: v for k, v in scored.items() if k != "rows"}
            result["rows"] = scored["rows"]
        kb.close()
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, ensure_ascii=False, indent=1))
    return result


def print_table(result: dict[str, Any]) -> None:
    dense = "on" if result["embeddings"] else "off"
    first = result.get("offset", 0)
    typer.echo(f"\n{result['file']}: {result['questions']} questions (from #{first}) over "
               f"{result['documents']} passages (embeddings {dense}"
               f"{', chat as conversations' if result.get('conversation') else ''})")
    typer.echo(f"{'metric':<28}{'value':>10}")
    for script in ("simplified", "traditional"):
        r = result[script]
        typer.echo(f"{'hit@1 ' + script:<28}{100 * r['hit@1']:>9.1f}%")
        typer.echo(f"{'hit@5 ' + script:<28}{100 * r['hit@5']:>9.1f}%")
        typer.echo(f"{'search p50 ' + script:<28}{r['p50_ms']:>8.1f}ms")
    a = result.get("answers")
    if not a:
        return
    for prefix, path in (("", "grounded"), ("chat_", "chat")):
        if f"{prefix}f1" not in a:
            continue
        typer.echo(f"{'answer EM (' + path + ')':<28}{a[prefix + 'em']:>10.3f}")
        typer.echo(f"{'answer F1 (' + path + ')':<28}{a[prefix + 'f1']:>10.3f}")
        typer.echo(f"{'gold recall (' + path + ')':<28}{a[prefix + 'recall']:>10.3f}")
        typer.echo(f"{'contains gold (' + path + ')':<28}{100 * a[prefix + 'contains']:>9.1f}%")
        typer.echo(f"{'answer chars p50 (' + path + ')':<28}{a[prefix + 'chars_p50']:>10.0f}")
        typer.echo(f"{'answer p50 (' + path + ')':<28}{a[prefix + 'p50_s']:>9.2f}s")
        typer.echo(f"{'cites gold passage (' + path + ')':<28}"
                   f"{100 * a[prefix + 'cited_gold']:>9.1f}%")
    if "baseline_f1" in a:
        typer.echo(f"{'answer EM (no retrieval)':<28}{a['baseline_em']:>10.3f}")
        typer.echo(f"{'answer F1 (no retrieval)':<28}{a['baseline_f1']:>10.3f}")
        typer.echo(f"{'gold recall (no retrieval)':<28}{a['baseline_recall']:>10.3f}")
        typer.echo(f"{'answer p50 (no retrieval)':<28}{a['baseline_p50_s']:>9.2f}s")
        for prefix, path in (("", "grounded"), ("chat_", "chat")):
            if f"{prefix}f1" in a and a["baseline_f1"]:
                typer.echo(f"F1 {path} / no retrieval = {a[prefix + 'f1'] / a['baseline_f1']:.2f}")


def register(eval_app: typer.Typer) -> None:
    @eval_app.command("qa")
    def qa_command(
        file: Annotated[Path, typer.Argument(help="SQuAD-format JSON (e.g. CMRC 2018)")],
        limit: Annotated[int | None, typer.Option(help="N questions only")] = None,
        offset: Annotated[int, typer.Option(help="skip the first N questions (slices: "
                                                 "tune on one, report another)")] = 0,
        with_answers: Annotated[bool, typer.Option("--answers/--no-answers",
                                                   help="also answer with the model")] = True,
        baseline: Annotated[bool, typer.Option(help="also answer without retrieval")] = True,
        embeddings: Annotated[bool, typer.Option(help="dense vectors too (slow ingest)")] = False,
        via: Annotated[str, typer.Option(help="answer path: grounded (`kb ask`), chat (the "
                                              "assistant's turn pipeline) or both")] = "grounded",
        conversation: Annotated[bool, typer.Option(
            help="chat path: ask each passage's questions as one SMS conversation")] = False,
        model: Annotated[str | None, typer.Option("--model", "-m")] = None,
        config: Annotated[Path | None, typer.Option("--config", "-c")] = None,
        out: Annotated[Path, typer.Option(help="JSON results")] = Path("var/eval/qa.json"),
    ) -> None:
        """Retrieval hit@1/hit@5 (Simplified and Traditional questions), answer EM/F1, gold
        recall and latency, against the same model without retrieval."""
        if via not in VIAS:
            raise typer.BadParameter(f"--via must be one of {', '.join(VIAS)}")
        if conversation and via == "grounded":
            raise typer.BadParameter("--conversation needs --via chat or both")
        result = run(file, limit, with_answers, baseline, embeddings, model, config, out,
                     offset, via, conversation)
        print_table(result)
        typer.echo(f"results: {out}")

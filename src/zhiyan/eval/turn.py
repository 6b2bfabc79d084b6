"""`zhiyan eval turn`: scripted multi-turn conversations through the whole pipeline.

Each turn states what must hold: the reply's language (as labelled, and as detected in the
text itself), its kind, the documents it cites, the policy rule that fired, and words it
must or must not contain (memory across turns shows as a fact from an earlier turn). The
knowledge base is a fresh BM25 one holding the set's documents, one with an injected
instruction.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer

from zhiyan.assistant.language import detect
from zhiyan.assistant.turn import Assistant, Reply, Turn
from zhiyan.config import Settings, load_settings
from zhiyan.engine.base import Engine, Message

#: replies shorter than this are not language-checked (too little text to tell)
MIN_CHARS_FOR_LANG = 12


def load_script() -> dict[str, Any]:
    text = (resources.files("zhiyan.eval") / "data" / "turns.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def _knowledge(path: Path, documents: list[dict[str, str]]) -> Any:
    from zhiyan.knowledge.base import KnowledgeBase
    from zhiyan.knowledge.settings import KnowledgeSettings
    from zhiyan.knowledge.types import Document

    kb = KnowledgeBase.open(path, KnowledgeSettings(embeddings=False))
    kb.add_many([Document(id=d["id"], title=d["title"], text=d["text"], lang=d["lang"],
                          source="eval") for d in documents])
    return kb


def check(reply: Reply, expect: dict[str, Any]) -> dict[str, bool]:
    """Each expectation of one turn: met or not."""
    results: dict[str, bool] = {}
    if "lang" in expect:
        results["lang"] = reply.lang == expect["lang"]
    if "reply_lang" in expect and len(reply.text) >= MIN_CHARS_FOR_LANG:
        found = detect(reply.text.split("\n\n")[0]).lang
        results["reply_lang"] = found == expect["reply_lang"] or {found, expect["reply_lang"]} \
            == {"ms", "id"}
    if "kind" in expect:
        results["kind"] = reply.kind == expect["kind"]
    if "citations" in expect:
        cited = [c.doc_id for c in reply.citations]
        results["citations_present"] = bool(cited)
        results["citations_correct"] = bool(cited) and set(cited) <= set(expect["citations"])
    if "policy_rule" in expect:
        results["policy"] = (reply.policy_rule or "").startswith(expect["policy_rule"])
    if "contains" in expect:
        results["contains"] = expect["contains"].lower() in reply.text.lower()
    if "absent" in expect:
        results["absent"] = expect["absent"] not in reply.text
    return results


async def run_script(engine: Engine, settings: Settings, workdir: Path,
                     echo: Any = None) -> dict[str, Any]:
    script = load_script()
    kb = _knowledge(workdir / "kb.sqlite3", script["documents"])
    assistant = Assistant(engine, settings, workdir / "assistant.sqlite3", kb)
    passed: Counter[str] = Counter()
    total: Counter[str] = Counter()
    failures = []
    started = time.perf_counter()
    for n, conversation in enumerate(script["conversations"]):
        history = []
        for turn_spec in conversation["turns"]:
            channel = conversation["channel"]
            turn = Turn(text=turn_spec["text"], user_id=f"eval-{n}", channel=channel,
                        conversation_id=conversation["name"],
                        max_chars=300 if channel == "sms" else None,
                        markdown=channel != "sms", history=list(history))
            reply = await assistant.respond(turn)
            if channel == "http":
                history += [Message(role="user", content=turn.text),
                            Message(role="assistant", content=reply.text)]
            for name, ok in check(reply, turn_spec["expect"]).items():
                total[name] += 1
                passed[name] += ok
                if not ok:
                    failures.append({"conversation": conversation["name"], "check": name,
                                     "text": turn.text, "reply": reply.text[:200],
                                     "lang": reply.lang, "kind": reply.kind})
            if echo:
                echo(f"[{conversation['name']}] {turn.text} -> ({reply.lang}, {reply.kind}) "
                     f"{reply.text[:120]!r}")
    kb.close()
    return {"passed": dict(passed), "total": dict(total), "failures": failures,
            "seconds": time.perf_counter() - started}


def register(eval_app: typer.Typer) -> None:
    @eval_app.command("turn")
    def turn_command(
        config: Annotated[Path | None, typer.Option("--config", "-c")] = None,
        model: Annotated[str | None, typer.Option("--model", "-m")] = None,
        verbose: Annotated[bool, typer.Option(help="print every reply")] = False,
        max_tokens: Annotated[int, typer.Option(help="longest answer, in tokens")] = 96,
    ) -> None:
        """Scripted conversations: reply language, citations, policy decisions, memory."""
        from zhiyan.engine.factory import build_engine

        settings = load_settings(config)
        if model:
            settings.engine.model = model
        settings.engine.default_max_tokens = max_tokens
        engine = build_engine(settings.engine)

        async def main() -> dict[str, Any]:
            try:
                with tempfile.TemporaryDirectory() as tmp:
                    return await run_script(engine, settings, Path(tmp),
                                            typer.echo if verbose else None)
            finally:
                await engine.close()

        result = asyncio.run(main())
        typer.echo(f"model {settings.engine.model}: {result['seconds']:.0f} s")
        for name, count in result["total"].items():
            ok = result["passed"].get(name, 0)
            typer.echo(f"{name:20} {ok:3}/{count:<3} {100 * ok / count:5.1f}%")
        everything = sum(result["passed"].values()), sum(result["total"].values())
        typer.echo(f"{'all checks':20} {everything[0]:3}/{everything[1]:<3} "
                   f"{100 * everything[0] / everything[1]:5.1f}%")
        for failure in result["failures"]:
            typer.echo(f"  FAIL {failure['conversation']} {failure['check']}: "
                       f"{failure['text']!r} -> ({failure['lang']}, {failure['kind']}) "
                       f"{failure['reply']!r}")

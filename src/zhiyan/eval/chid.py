"""`zhiyan eval chid FILE`: idiom cloze accuracy (ChID / FewCLUE CHID JSONL).

Prints accuracy, items per second and the most confused pairs, and writes every item's
features to JSON, so `zhiyan eval chid-fit` can learn the solver's weights from a training
run and check them on a held-out run without running the model again. The baseline in the
same run is the language model alone (`lm_fill` only) on the same features.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer

from zhiyan.chengyu.cloze import FEATURES, ClozeItem, ClozeSolver, accuracy, fit, parse_item
from zhiyan.engine.base import Engine

LM_ONLY = {"lm_fill": 1.0}


def load_items(path: Path, limit: int | None = None) -> list[ClozeItem]:
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        items.append(parse_item(row["content"], row["candidates"], row.get("answer"),
                                row.get("id", n)))
        if limit is not None and len(items) >= limit:
            break
    return items


async def run(engine: Engine, items: list[ClozeItem],
              weights: dict[str, float] | None = None) -> dict[str, Any]:
    """Solve every item; return the figures and each item's features."""
    solver = ClozeSolver(engine, weights)
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    for item in items:
        result_started = time.perf_counter()
        features = await solver.features(item, every=True)
        rows.append({
            "id": item.id,
            "candidates": item.candidates,
            "answer": item.answer,
            "features": features,
            "seconds": time.perf_counter() - result_started,
        })
    elapsed = time.perf_counter() - started
    report = summarize(rows, solver.weights)
    report["items_per_second"] = len(items) / elapsed if elapsed else 0.0
    report["seconds_per_item"] = elapsed / len(items) if items else 0.0
    report["rows"] = rows
    return report


def summarize(rows: list[dict[str, Any]], weights: dict[str, float]) -> dict[str, Any]:
    labelled = [(r["features"], r["answer"]) for r in rows if r["answer"] is not None]
    confused: Counter[tuple[str, str]] = Counter()
    from zhiyan.chengyu.cloze import combine

    for r in rows:
        if r["answer"] is None:
            continue
        scores = combine(r["features"], weights)
        choice = max(range(len(scores)), key=scores.__getitem__)
        r["choice"] = choice
        if choice != r["answer"]:
            confused[(r["candidates"][r["answer"]], r["candidates"][choice])] += 1
    return {
        "items": len(rows),
        "weights": weights,
        "accuracy": accuracy(labelled, weights),
        "accuracy_lm_only": accuracy(labelled, LM_ONLY),
        "confused": [{"answer": a, "chosen": c, "count": n} for (a, c), n in
                     confused.most_common(10)],
    }


def _print(report: dict[str, Any]) -> None:
    typer.echo(f"items: {report['items']}")
    typer.echo(f"accuracy: {100 * report['accuracy']:.1f}%  "
               f"(language model alone: {100 * report['accuracy_lm_only']:.1f}%, "
               f"random 1/7: 14.3%)")
    if "items_per_second" in report:
        typer.echo(f"speed: {report['items_per_second']:.2f} items/s "
                   f"({report['seconds_per_item']:.2f} s/item)")
    typer.echo(f"weights: {report['weights']}")
    if report["confused"]:
        typer.echo("most confused (answer -> chosen):")
        for c in report["confused"]:
            typer.echo(f"  {c['answer']} -> {c['chosen']}  ×{c['count']}")


def register(eval_app: typer.Typer) -> None:
    @eval_app.command("chid")
    def chid_command(
        file: Annotated[Path, typer.Argument(help="JSONL: content, candidates, answer")],
        limit: Annotated[int | None, typer.Option(help="only the first N items")] = None,
        model: Annotated[str, typer.Option(help="default, lite, tiny or a .gguf path")] = "default",
        out: Annotated[Path | None, typer.Option(help="write the report JSON here")] = None,
        threads: Annotated[int, typer.Option(help="llama.cpp threads")] = 2,
    ) -> None:
        """Idiom cloze accuracy, speed and most confused pairs."""
        from zhiyan.config import EngineSettings
        from zhiyan.engine.factory import build_engine

        items = load_items(file, limit)
        # One slot: the candidates then share the slot's cached prefix one after another,
        # which on a CPU beats evaluating the same prefix in seven slots at once.
        engine = build_engine(EngineSettings(model=model, context_size=1024, parallel=1,
                                             threads=threads))

        async def go() -> dict[str, Any]:
            try:
                return await run(engine, items)
            finally:
                await engine.close()

        report = asyncio.run(go())
        _print(report)
        target = out or Path(f"chid-{file.stem}.json")
        target.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        typer.echo(f"report: {target}")

    @eval_app.command("chid-fit")
    def chid_fit_command(
        train: Annotated[Path, typer.Argument(help="report JSON of a run on training data")],
        heldout: Annotated[list[Path] | None, typer.Argument(help="reports to check on")] = None,
        features: Annotated[str, typer.Option(help="comma-separated features")] = ",".join(
            FEATURES),
    ) -> None:
        """Fit the solver's weights on one run's features; report held-out accuracy."""
        names = tuple(f.strip() for f in features.split(",") if f.strip())
        rows = _rows(train)
        weights = fit(rows, names)
        typer.echo(f"fitted on {train} ({len(rows)} items): {weights}")
        typer.echo(f"  train accuracy {100 * accuracy(rows, weights):.1f}% "
                   f"(lm only {100 * accuracy(rows, LM_ONLY):.1f}%)")
        for path in heldout or []:
            held = _rows(path)
            typer.echo(f"  {path}: {100 * accuracy(held, weights):.1f}% on {len(held)} items "
                       f"(lm only {100 * accuracy(held, LM_ONLY):.1f}%)")


def _rows(path: Path) -> list[tuple[dict[str, list[float]], int]]:
    report = json.loads(path.read_text(encoding="utf-8"))
    return [(r["features"], r["answer"]) for r in report["rows"] if r["answer"] is not None]

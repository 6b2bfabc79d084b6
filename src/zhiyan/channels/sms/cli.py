"""`zhiyan sms …`: run the worker on its own, look at the queue, and play feature phone."""

from __future__ import annotations

import asyncio
import signal
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.panel import Panel

from zhiyan.channels.sms import dialogue
from zhiyan.channels.sms.dialogue import Responder
from zhiyan.channels.sms.echo import EchoAssistant
from zhiyan.channels.sms.queue import Queue
from zhiyan.channels.sms.sessions import InvalidNumber, normalize_number, remember, save
from zhiyan.channels.sms.settings import SmsSettings
from zhiyan.config import Settings, load_settings

sms_app = typer.Typer(help="SMS and USSD: worker, queue status, a simulated feature phone.",
                      no_args_is_help=True)
console = Console()
err = Console(stderr=True)

ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help="TOML settings file")]
ModelOption = Annotated[str | None, typer.Option("--model", "-m",
                                                 help="default, lite, tiny or a .gguf path")]
EchoOption = Annotated[bool, typer.Option(
    "--echo", help="answer with an instant echo instead of the model (tests, benchmarks)")]


def _settings(config: Path | None, model: str | None) -> Settings:
    settings = load_settings(config)
    if model:
        settings.engine.model = model
    return settings


def _assistant(settings: Settings, echo: bool, echo_delay: float = 0.0) -> Responder:
    """The same assistant `zhiyan serve` builds (so the worker answers alike), or the echo."""
    if echo:
        return EchoAssistant(echo_delay)
    from zhiyan.app import create_app
    from zhiyan.engine.errors import ModelError
    from zhiyan.engine.factory import build_engine

    try:
        engine = build_engine(settings.engine)
    except ModelError as exc:
        err.print(f"[red]cannot start:[/red] {exc}")
        raise typer.Exit(1) from None
    assistant: Responder = create_app(settings, engine).state.assistant
    return assistant


@sms_app.command()
def worker(
    config: ConfigOption = None,
    model: ModelOption = None,
    echo: EchoOption = False,
    echo_delay: Annotated[float, typer.Option(help="seconds the echo waits (model time)")] = 0.0,
) -> None:
    """Process the SMS queue and send replies until SIGTERM or Ctrl-C.

    Use it with `[sms] worker_in_server = false`, or next to the server's own worker:
    leases keep any number of workers from answering a message twice.
    """
    from zhiyan.channels.sms.worker import Worker

    settings = _settings(config, model)
    sms = settings.section("sms", SmsSettings)
    assistant = _assistant(settings, echo, echo_delay)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        runner = Worker(settings.storage.database, assistant, sms)
        print(f"sms worker ready ({runner.owner})", flush=True)
        try:
            await runner.run(stop)
        finally:
            runner.close()

    asyncio.run(main())


@sms_app.command()
def status(config: ConfigOption = None) -> None:
    """Messages per state in the inbound queue and the outbox."""
    settings = _settings(config, None)
    queue = Queue(settings.storage.database)
    try:
        counts = queue.counts()
    finally:
        queue.close()
    if not counts:
        console.print("no SMS traffic yet")
    for key, value in sorted(counts.items()):
        console.print(f"{key:24} {value}")


@sms_app.command()
def simulate(
    number: Annotated[str, typer.Option(help="the phone number you text from")] = "+254700000001",
    config: ConfigOption = None,
    model: ModelOption = None,
    echo: EchoOption = False,
    db: Annotated[Path | None, typer.Option(
        help="session database (default: a throwaway one, so real sessions stay untouched)"
    )] = None,
) -> None:
    """A terminal feature phone: text zhiyan as if by SMS and see each reply's encoding,
    segment count and cost. Keywords work as on a phone: HELP, MORE, LANG sw, STOP, START."""
    settings = _settings(config, model)
    sms = settings.section("sms", SmsSettings)
    try:
        msisdn = normalize_number(number, sms.default_region)
    except InvalidNumber as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    assistant = _assistant(settings, echo)
    with tempfile.TemporaryDirectory() as scratch:
        queue = Queue(db or Path(scratch) / "simulate.sqlite3")
        try:
            asyncio.run(_simulate(queue, assistant, sms, msisdn))
        finally:
            queue.close()


async def _simulate(queue: Queue, assistant: Responder, sms: SmsSettings, msisdn: str) -> None:
    console.print(f"[bold]{msisdn}[/bold] texting zhiyan — budget {sms.segment_budget} "
                  f"segment(s), {sms.segment_cost:.2f} {sms.currency} each. Ctrl-D to hang up.")
    spent = 0.0
    while True:
        try:
            text = console.input("[bold]sms> [/bold]")
        except (EOFError, KeyboardInterrupt):
            console.print()
            break
        now = time.time()
        with queue.transaction() as conn:
            snapshot = dialogue.load_snapshot(conn, msisdn, now)
        decision = await dialogue.decide(snapshot, text, assistant, sms, now)
        with queue.transaction() as conn:
            save(conn, decision.session, now)
            for role, said in decision.remember:
                remember(conn, msisdn, role, said, now)
        if decision.reply is None:
            console.print(f"[dim](no reply: {decision.outcome})[/dim]")
            continue
        info = decision.reply.info
        cost = info.segments * sms.segment_cost
        spent += cost
        console.print(Panel(decision.reply.text, title="zhiyan", title_align="left",
                            subtitle=f"{info.encoding} · {info.units} units · "
                                     f"{info.segments} segment(s) · {cost:.2f} {sms.currency}"
                                     f" · total {spent:.2f}", subtitle_align="right"))

"""An instant stand-in for the assistant: it echoes the question back.

It has the `respond` interface of `zhiyan.assistant.turn.Assistant` and no model behind
it, so the SMS gateway can be measured and crash-tested on its own (the benchmark, the
SIGKILL fault-injection test) and `zhiyan sms simulate --echo` can show text craft without
loading a model. `delay` stands in for model time.
"""

from __future__ import annotations

import asyncio

from zhiyan.assistant.turn import Reply, Turn


class EchoAssistant:
    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay

    async def respond(self, turn: Turn) -> Reply:
        if self.delay:
            await asyncio.sleep(self.delay)
        return Reply(text=f"You said: {turn.text}", lang=turn.lang or "en", kind="answer")

"""The web chat on a slow link: first-load weight, and time to first token in a browser
against the same question sent with the `openai` client, in one run.

    .venv/bin/python benchmarks/web_bench.py --model default --rounds 5

One zhiyan server (uvicorn on 127.0.0.1) serves both. Chromium (Debian's, headless,
driven by Playwright) loads the chat page in a fresh context and the bytes of every
response are summed as transferred (compressed, headers included) and as decoded. Then
the same questions alternate between the browser (from pressing Enter to the first
streamed character painted into the page) and the `openai` client (from the call to the
first non-empty content delta), so machine noise hits both alike. Both hang up after the
first token (the server then frees the engine slot), so answer length does not matter.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from openai import OpenAI
from playwright.sync_api import Page, Response, sync_playwright

from zhiyan.app import create_app
from zhiyan.config import EngineSettings, Settings, StorageSettings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
BUDGET_BYTES = 100_000
QUESTIONS = [
    "Explain in a few sentences why the sky is blue.",
    "Give three tips for learning a new language.",
    "What is the difference between a lake and a sea?",
]

# Marks the moment the first streamed character is painted into the answer bubble.
WATCH_FIRST = """() => {
  window.__first = null;
  const list = document.getElementById('messages');
  new MutationObserver((_, observer) => {
    const answer = list.querySelector('.msg.assistant:not(.pending) .text');
    if (answer && answer.textContent.length && window.__first === null) {
      window.__first = performance.now();
      observer.disconnect();
    }
  }).observe(list, {childList: true, subtree: true, characterData: true, attributes: true});
}"""


class Server:
    def __init__(self, settings: Settings) -> None:
        self.app = create_app(settings)
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=0,
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def first_load(page: Page, url: str) -> tuple[int, int, int]:
    """(bytes transferred, bytes decoded, requests) for loading the chat page."""
    responses: list[Response] = []

    def seen(response: Response) -> None:
        responses.append(response)

    page.on("response", seen)
    page.goto(url + "/", wait_until="load")
    page.remove_listener("response", seen)
    sent = decoded = 0
    for response in responses:
        sizes = response.request.sizes()
        sent += sizes["responseBodySize"] + sizes["responseHeadersSize"]
        decoded += len(response.body())
    return sent, decoded, len(responses)


def browser_ttft(page: Page, url: str, question: str) -> float:
    page.goto(url + "/")  # a fresh conversation each time
    page.evaluate(WATCH_FIRST)
    page.fill("#text", question)
    started = page.evaluate("performance.now()")
    page.press("#text", "Enter")
    # polled from here (the page's CSP forbids the eval that wait_for_function uses); the
    # time itself is taken inside the page, so polling adds nothing to it
    first = None
    while first is None:
        time.sleep(0.02)
        first = page.evaluate("window.__first")
    page.goto("about:blank")  # hang up: the server frees the slot for the next request
    return float(first - started) / 1000


def openai_ttft(client: OpenAI, question: str) -> float:
    started = time.perf_counter()
    first = None
    stream = client.chat.completions.create(
        model="zhiyan", messages=[{"role": "user", "content": question}], stream=True)
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter() - started
            break
    stream.close()  # hang up, as the browser does
    assert first is not None, "no content streamed"
    return first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="zhiyan-web-bench-") as folder:
        settings = Settings(
            engine=EngineSettings(model=args.model, context_size=2048, parallel=2,
                                  default_max_tokens=args.max_tokens),
            storage=StorageSettings(data_dir=Path(folder)),
        )
        with Server(settings) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 360, "height": 740})
            sent, decoded, requests = first_load(context.new_page(), url)
            context.close()
            print(f"first load of /: {requests} requests, {sent:,} bytes transferred "
                  f"(compressed, with headers), {decoded:,} bytes decoded")
            print(f"  budget {BUDGET_BYTES:,} bytes: {sent / BUDGET_BYTES:.1%} used; "
                  f"compression ratio {decoded / sent:.2f}x")

            page = browser.new_page()
            client = OpenAI(base_url=url + "/v1", api_key="none", max_retries=0)
            browser_ttft(page, url, "Hello!")  # warm both paths once
            openai_ttft(client, "Hello!")
            web, api = [], []
            for round_ in range(args.rounds):
                question = QUESTIONS[round_ % len(QUESTIONS)]
                if round_ % 2:
                    api.append(openai_ttft(client, question))
                    web.append(browser_ttft(page, url, question))
                else:
                    web.append(browser_ttft(page, url, question))
                    api.append(openai_ttft(client, question))
            browser.close()
    web_median, api_median = statistics.median(web), statistics.median(api)
    print(f"time to first token, model {args.model}, {args.rounds} rounds (median):")
    print(f"  browser (Enter -> first character painted): {web_median * 1000:.0f} ms "
          f"[{', '.join(f'{w * 1000:.0f}' for w in web)}]")
    print(f"  openai client (call -> first content delta): {api_median * 1000:.0f} ms "
          f"[{', '.join(f'{a * 1000:.0f}' for a in api)}]")
    print(f"  ratio browser/openai: {web_median / api_median:.2f}")


if __name__ == "__main__":
    main()

"""Routing accuracy: the rules in zhiyan.assistant.router against the model's own routing,
held to the three route names by a GBNF grammar (router = "model"), on the same messages.

    .venv/bin/python benchmarks/assistant_routing.py [--model default]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from zhiyan.assistant import router
from zhiyan.config import EngineSettings
from zhiyan.engine.factory import build_engine

MESSAGES = [
    ("画蛇添足是什么意思", "idiom"), ("对牛弹琴", "idiom"), ("what does 守株待兔 mean", "idiom"),
    ("一石二鸟的出处是什么", "idiom"), ("maana ya 画龙点睛 ni nini", "idiom"),
    ("给我解释一下亡羊补牢", "idiom"), ("apa maksud 井底之蛙", "idiom"),
    ("what is the capital of kenya", "knowledge"), ("how can I prevent malaria", "knowledge"),
    ("北京有多少人口", "knowledge"), ("mji mkuu wa kenya ni nini", "knowledge"),
    ("bagaimana cara menanam jagung", "knowledge"), ("who wrote romeo and juliet", "knowledge"),
    ("光合作用是什么", "knowledge"), ("yaya ake kare kai daga zazzabin cizon sauro", "knowledge"),
    ("ราคาข้าววันนี้เท่าไหร่", "knowledge"), ("when did nigeria become independent", "knowledge"),
    ("hi", "smalltalk"), ("thanks!", "smalltalk"), ("你好", "smalltalk"),
    ("habari yako", "smalltalk"), ("sannu", "smalltalk"), ("terima kasih", "smalltalk"),
    ("good morning", "smalltalk"), ("สวัสดีครับ", "smalltalk"), ("谢谢你", "smalltalk"),
]


def by_rules(text: str) -> str:
    if router.find_idiom(text) is not None:
        return "idiom"
    return "smalltalk" if router.is_smalltalk(text) else "knowledge"


async def main(model: str) -> None:
    engine = build_engine(EngineSettings(model=model, context_size=2048, parallel=2))
    try:
        started = time.perf_counter()
        rules = sum(by_rules(text) == want for text, want in MESSAGES)
        rules_ms = 1000 * (time.perf_counter() - started) / len(MESSAGES)
        started = time.perf_counter()
        wrong = []
        for text, want in MESSAGES:
            got = await router.route_with_model(engine, text)
            if got != want:
                wrong.append((text, want, got))
        model_ms = 1000 * (time.perf_counter() - started) / len(MESSAGES)
    finally:
        await engine.close()
    n = len(MESSAGES)
    print(f"rules: {rules}/{n} = {100 * rules / n:.1f}%  ({rules_ms:.1f} ms/message)")
    print(f"model ({model}, grammar): {n - len(wrong)}/{n} = {100 * (n - len(wrong)) / n:.1f}%"
          f"  ({model_ms:.0f} ms/message)")
    print(f"model / rules accuracy = {(n - len(wrong)) / max(rules, 1):.3f}")
    for text, want, got in wrong:
        print(f"  model miss: {text!r}: {want} -> {got}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="default")
    asyncio.run(main(parser.parse_args().model))

"""Which languages the model writes well enough: a measurement for `weak_languages`.

The same four simple questions in each of zhiyan's nine languages, asked with the
assistant's own system prompt (which names the language to answer in) and no sources.
Per language: how many replies zhiyan's detector finds in that language; how many of those
are usable, i.e. neither a loop (most of the text repeats itself) nor, except for the
greeting, an echo of the question; and how many of the two questions with a checkable
answer (the capital of Kenya, seven plus five) are right. Greedy decoding, so a run is
repeatable.

    flock /tmp/zhiyan-cpu.lock .venv/bin/python benchmarks/weak_languages.py \
        [--model default] [--max-tokens 64] [--out replies.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from zhiyan.assistant.language import detect
from zhiyan.assistant.prompts import system_prompt
from zhiyan.config import EngineSettings
from zhiyan.engine.base import ChatRequest, Message
from zhiyan.engine.factory import build_engine

# per language: capital of Kenya, seven plus five, preventing malaria, a greeting
QUESTIONS: dict[str, tuple[str, str, str, str]] = {
    "zh": ("肯尼亚的首都是哪里", "七加五等于几", "怎么预防疟疾", "你好，最近怎么样"),
    "en": ("what is the capital of kenya", "what is seven plus five",
           "how can i prevent malaria", "hi how are you"),
    "ms": ("apakah ibu negara kenya", "tujuh tambah lima berapa",
           "macam mana nak elak malaria", "hai apa khabar"),
    "id": ("apa ibu kota kenya", "tujuh ditambah lima berapa",
           "bagaimana cara mencegah malaria", "halo apa kabar"),
    "th": ("เมืองหลวงของเคนยาคืออะไร", "เจ็ดบวกห้าเท่ากับเท่าไหร่",
           "ป้องกันมาลาเรียได้อย่างไร", "สวัสดี สบายดีไหม"),
    "sw": ("mji mkuu wa kenya ni upi", "saba jumlisha tano ni ngapi",
           "jinsi ya kuzuia malaria", "habari yako"),
    "ha": ("menene babban birnin kenya", "bakwai da biyar nawa ne",
           "yaya ake kare kai daga zazzabin cizon sauro", "sannu yaya kake"),
    "am": ("የኬንያ ዋና ከተማ ማን ናት", "ሰባት ሲደመር አምስት ስንት ነው",
           "ወባን እንዴት መከላከል እችላለሁ", "ሰላም እንዴት ነህ"),
    "yo": ("kini olu ilu kenya", "meje ati marun je melo",
           "bawo ni mo se le dena iba", "bawo ni se daadaa ni"),
}
# a right answer names Nairobi (in any script) and says twelve (as a number or a word)
NAIROBI = ("nairobi", "内罗毕", "奈洛比", "ไนโรบี", "ናይሮቢ")
TWELVE = ("12", "十二", "สิบสอง", "dua belas", "duabelas", "kumi na mbili", "sha biyu",
          "mejila", "méjìlá", "አስራ ሁለት", "twelve")


def echoes(question: str, reply: str) -> bool:
    """The reply repeats the whole question and adds less than the question's length."""
    def norm(text: str) -> str:
        return "".join(ch for ch in text.lower() if ch.isalnum())

    q, r = norm(question), norm(reply)
    return bool(q) and r.startswith(q) and len(r) < 2 * len(q)


def loops(reply: str, n: int = 4) -> bool:
    """At least half of the reply's character n-grams are repeats."""
    grams = [reply[i:i + n] for i in range(len(reply) - n + 1)]
    return len(grams) >= 20 and len(set(grams)) < len(grams) / 2


async def main(model: str, max_tokens: int, out: str | None) -> None:
    engine = build_engine(EngineSettings(model=model, context_size=2048, parallel=1))
    rows = []
    started = time.perf_counter()
    try:
        for lang, questions in QUESTIONS.items():
            for n, question in enumerate(questions):
                request = ChatRequest(
                    messages=[Message(role="system", content=system_prompt(lang, [])),
                              Message(role="user", content=question)],
                    max_tokens=max_tokens, temperature=0.0, seed=0)
                reply = (await engine.chat(request)).content.strip()
                found = detect(reply[:400]).lang
                right = None
                if n < 2:
                    wanted = NAIROBI if n == 0 else TWELVE
                    right = any(w in reply.lower() for w in wanted)
                rows.append({"lang": lang, "question": question, "reply": reply,
                             "reply_lang": found, "right": right,
                             # a greeting answered with the same greeting is fine
                             "usable": found == lang and not loops(reply)
                             and (n == 3 or not echoes(question, reply))})
    finally:
        await engine.close()
    elapsed = time.perf_counter() - started
    print(f"model {model}, {len(rows)} questions, {elapsed:.0f} s, max_tokens {max_tokens}")
    print("lang  in the language  usable  right (capital, 7+5)  reply languages found")
    for lang in QUESTIONS:
        mine = [r for r in rows if r["lang"] == lang]
        same = sum(r["reply_lang"] == lang for r in mine)
        usable = sum(r["usable"] for r in mine)
        right = sum(bool(r["right"]) for r in mine)
        found = ", ".join(r["reply_lang"] for r in mine)
        print(f"{lang:4}  {same}/{len(mine):<14} {usable}/{len(mine):<5} {right}/2{'':19} {found}")
    if out:
        with open(out, "w", encoding="utf-8") as f:
            json.dump(rows, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="default")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--out")
    args = parser.parse_args()
    asyncio.run(main(args.model, args.max_tokens, args.out))

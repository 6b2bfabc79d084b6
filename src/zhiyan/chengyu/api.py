"""HTTP API for idioms: `/v1/chengyu/...` (look up, explain, search, idiom of the day, judge,
chain game, cloze). Error bodies use the OpenAI shape like the rest of zhiyan; messages meant for
people come in the language the client asks for (`lang` field or Accept-Language)."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from zhiyan.chengyu.chain import ChainGame
from zhiyan.chengyu.cloze import ClozeInputError, ClozeSolver, parse_item
from zhiyan.chengyu.dictionary import Idiom, get_dictionary, has_chinese
from zhiyan.chengyu.skills import SkillInputError, explain, find_by_meaning, judge_usage
from zhiyan.i18n import normalize_lang, t

router = APIRouter(prefix="/v1/chengyu", tags=["chengyu"])


def _lang(request: Request, given: str | None) -> str:
    if given:
        return normalize_lang(given)
    header = request.headers.get("accept-language", "")
    return normalize_lang(header.split(",")[0].split(";")[0]) if header else "zh"


def _error(status: int, message: str, code: str, **extra: Any) -> JSONResponse:
    from zhiyan.app import error_body

    body = error_body(message, "not_found_error" if status == 404 else "invalid_request_error",
                      code)
    body.update(extra)
    return JSONResponse(body, status)


def _skill_error(exc: SkillInputError, lang: str) -> JSONResponse:
    return _error(400, exc.message(lang), exc.key)


class _Database:
    """One connection per app, opened on first use (the chain game is the only user)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.conn: sqlite3.Connection | None = None


def _conn(request: Request) -> sqlite3.Connection:
    from zhiyan.storage.db import open_database

    holder = getattr(request.app.state, "chengyu_db", None)
    if holder is None:
        holder = request.app.state.chengyu_db = _Database()
    with holder.lock:
        if holder.conn is None:
            holder.conn = open_database(request.app.state.settings.storage.database)
    return holder.conn


@router.get("/idioms/{word}")
def get_idiom(word: str, request: Request, lang: str | None = None) -> Any:
    lang = _lang(request, lang)
    if not word.strip():
        return _error(400, t("chengyu.empty_input", lang), "empty_input")
    dictionary = get_dictionary()
    idiom = dictionary.lookup(word)
    if idiom is None:
        closest = [d.to_dict() for d in dictionary.closest(word, 5)]
        if not closest and not has_chinese(word):
            return _error(400, t("chengyu.not_chinese", lang, text=word[:40]), "not_chinese")
        message = (t("chengyu.unknown_with_suggestions", lang, word=word,
                     suggestions="、".join(d["word"] for d in closest))  # type: ignore[misc]
                   if closest else t("chengyu.unknown", lang, word=word))
        return _error(404, message, "unknown_idiom", closest=closest)
    return idiom.to_dict()


@router.get("/explain/{word}")
async def explain_idiom(word: str, request: Request, lang: str | None = None,
                        translate: bool = True) -> Any:
    """An idiom explained for people: meaning (translated by the model into `lang` unless
    `translate` is false), origin, example and pinyin, and the same as plain `text`."""
    lang = _lang(request, lang)
    engine = request.app.state.engine if translate and lang != "zh" else None
    try:
        explained = await explain(word, lang, engine)
    except SkillInputError as exc:
        return _skill_error(exc, lang)
    if not explained.known:
        return _error(404, explained.render(), "unknown_idiom",
                      closest=explained.suggestions)
    return {**explained.to_dict(), "text": explained.render()}


@router.get("/search")
def search(request: Request, q: str = Query(min_length=1, max_length=200), k: int = 10,
           lang: str | None = None) -> Any:
    """Exact form or traditional, pinyin (tones optional), initials, near-miss spelling,
    then meaning. Each result says how it matched."""
    lang = _lang(request, lang)
    k = max(1, min(k, 50))
    if not q.strip():
        return _error(400, t("chengyu.empty_input", lang), "empty_input")
    dictionary = get_dictionary()
    results: dict[str, dict[str, Any]] = {}

    def add(idioms: list[Idiom], how: str, scores: list[float] | None = None) -> None:
        for i, idiom in enumerate(idioms):
            if idiom.word not in results and len(results) < k:
                entry = {**idiom.to_dict(), "match": how}
                if scores:
                    entry["score"] = round(scores[i], 3)
                results[idiom.word] = entry

    exact = dictionary.lookup(q)
    if exact:
        add([exact], "word" if has_chinese(q) else "pinyin")
    if has_chinese(q):
        add(dictionary.fuzzy(q, k), "fuzzy")
        try:
            pairs = find_by_meaning(q, k)
        except SkillInputError as exc:
            return _skill_error(exc, lang)
        add([p[0] for p in pairs], "meaning", [p[1] for p in pairs])
    else:
        add(dictionary.by_pinyin(q), "pinyin")
        add(dictionary.by_abbreviation(q), "initials")
        if not results:
            return _error(400, t("chengyu.not_chinese", lang, text=q[:40]), "not_chinese")
    return {"query": q, "results": list(results.values())}


@router.get("/today")
def today(request: Request, date: dt.date | None = None, lang: str | None = None) -> Any:
    lang = _lang(request, lang)
    day = date or dt.date.today()
    idiom = get_dictionary().idiom_of_the_day(day)
    return {"date": day.isoformat(), "title": t("chengyu.today", lang), **idiom.to_dict()}


class JudgeRequest(BaseModel):
    sentence: str = Field(max_length=2000)
    word: str = Field(max_length=50)
    lang: str | None = None
    use_model: bool = True


@router.post("/judge")
async def judge(body: JudgeRequest, request: Request) -> Any:
    lang = _lang(request, body.lang)
    engine = request.app.state.engine if body.use_model else None
    try:
        verdict = await judge_usage(body.sentence, body.word, engine, lang)
    except SkillInputError as exc:
        return _skill_error(exc, lang)
    return verdict.__dict__


class ChainRequest(BaseModel):
    conversation_id: str = Field(min_length=1, max_length=200)
    action: Literal["play", "respond", "start", "state"] = "play"
    word: str | None = Field(default=None, max_length=50)
    homophone: bool = False
    #: after a valid move by the user, let the assistant answer in the same call
    reply: bool = True
    lang: str | None = None


@router.post("/chain")
def chain(body: ChainRequest, request: Request) -> Any:
    lang = _lang(request, body.lang)
    if body.action == "play" and not (body.word or "").strip():
        return _error(400, t("chengyu.empty_input", lang), "empty_input")
    conn = _conn(request)
    holder = request.app.state.chengyu_db
    with holder.lock:  # one connection: one transaction at a time
        game = ChainGame(conn, body.conversation_id)
        moves = []
        if body.action == "start":
            game.start(body.homophone)
        elif body.action == "respond":
            moves.append(game.respond())
        elif body.action == "play" and body.word:
            move = game.play(body.word)
            moves.append(move)
            if move.valid and body.reply:
                moves.append(game.respond())
        state = game.state()
    return {"moves": [m.to_dict(lang) for m in moves], "state": state}


class ClozeRequest(BaseModel):
    content: Any = None
    candidates: Any = None
    lang: str | None = None


@router.post("/cloze")
async def cloze(body: ClozeRequest, request: Request) -> Any:
    lang = _lang(request, body.lang)
    try:
        item = parse_item(body.content, body.candidates)
    except ClozeInputError as exc:
        return _error(400, exc.message(lang), "bad_cloze")
    result = await ClozeSolver(request.app.state.engine).solve(item)
    return {
        "choice": result.choice,
        "answer": item.candidates[result.choice],
        "scores": [round(s, 4) for s in result.scores],
        "used_model": result.used_model,
    }

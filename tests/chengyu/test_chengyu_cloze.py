"""The cloze solver: input checks, weight fitting, and solving with real engines."""

from __future__ import annotations

import json
import math
import random

import pytest

from tests.conftest import SHARED_DATA
from zhiyan.chengyu.cloze import (
    SHORTLIST,
    ClozeInputError,
    ClozeSolver,
    accuracy,
    choose_for_blank,
    combine,
    dense_features,
    fit,
    knowledge_features,
    parse_item,
)
from zhiyan.chengyu.dataset import build
from zhiyan.engine.base import Engine


def test_parse_item_says_what_is_wrong() -> None:
    ok = parse_item("再加就是#idiom#了", [" 画蛇添足", "守株待兔"], 0, 7)
    assert ok.candidates == ["画蛇添足", "守株待兔"] and ok.id == "7"
    assert ok.before == "再加就是" and ok.after == "了"
    cases = [
        (("", ["a", "b"]), "non-empty"),
        (("两个#idiom##idiom#", ["画蛇添足", "守株待兔"]), "exactly one"),
        (("#idiom#", "画蛇添足,守株待兔"), "must be a list"),
        (("#idiom#", ["画蛇添足"]), "2 to 20"),
        (("#idiom#", ["画蛇添足", ""]), "candidate 1"),
        (("#idiom#", ["画蛇添足", "x" * 30]), "not an idiom"),
        (("#idiom#", ["画蛇添足", "画蛇添足"]), "must not repeat"),
        (("#idiom#", ["画蛇添足", "畫蛇添足"]), "must not repeat"),  # one idiom, two scripts
        (("#idiom#", ["画蛇添足", "hello"]), "candidate 1 is not an idiom"),
    ]
    for args, reason in cases:
        with pytest.raises(ClozeInputError, match=reason):
            parse_item(*args)
    with pytest.raises(ClozeInputError, match="answer"):
        parse_item("#idiom#", ["画蛇添足", "守株待兔"], 5)


def test_meaning_feature_prefers_the_idiom_whose_explanation_fits() -> None:
    item = parse_item("他总是死守着老经验，不知变通，真是#idiom#。", ["守株待兔", "画蛇添足"])
    scores = knowledge_features(item)
    assert scores[0] > scores[1]


def test_dense_meaning_feature_prefers_the_idiom_whose_explanation_fits() -> None:
    item = parse_item("文章已经很完整了，再加一段就是#idiom#，多此一举，反而坏事。",
                      ["守株待兔", "画蛇添足"])
    scores = dense_features(item)
    assert len(scores) == 2 and scores[1] > scores[0]


class _LengthEngine(Engine):
    """Scores text by its length (-1 per character), so expected features are exact."""

    model_id = "length"
    context_size = 4096

    def __init__(self, pieces: bool) -> None:
        self.prompts: list[str] = []
        if pieces:
            self.score_pieces = self._pieces  # type: ignore[method-assign]

    def chat_stream(self, request):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    async def count_tokens(self, messages):  # type: ignore[no-untyped-def]
        return 0

    async def score_choices(self, prompt: str, choices: list[str]) -> list[float]:
        self.prompts.append(prompt)
        return [-float(len(c)) for c in choices]

    async def _pieces(self, prompt: str, choices: list[list[str]],
                      given: int = 0) -> list[list[float]]:
        self.prompts.append(prompt)
        return [[-float(len(p)) for p in c[given:]] for c in choices]


class _TableEngine(_LengthEngine):
    """Scores each piece from a table and records what was forced, and what was given."""

    def __init__(self, table: dict[str, float]) -> None:
        super().__init__(pieces=True)
        self.table = table
        self.calls: list[tuple[list[list[str]], int]] = []

    async def _pieces(self, prompt: str, choices: list[list[str]],
                      given: int = 0) -> list[list[float]]:
        self.calls.append((choices, given))
        return [[self.table[p] if i == 0 else self.table[c[0] + p]
                 for i, p in enumerate(c) if i >= given] for c in choices]


@pytest.mark.anyio
@pytest.mark.parametrize("pieces", [True, False])
async def test_lm_features_come_from_one_decode_split_at_the_suffix_lengths(pieces: bool) -> None:
    engine = _LengthEngine(pieces)
    solver = ClozeSolver(engine, prefix_chars=5, suffix_chars=3)
    item = parse_item("一二三四五六七#idiom#甲乙", ["画蛇添足", "一石二鸟"])
    got = await solver.features(item, ("lm_idiom", "lm_fill", "lm_fill@1", "lm_fill@6"))
    # the suffix is only two characters long: lm_fill (3) and lm_fill@6 score both
    assert got == {"lm_idiom": [-4.0, -4.0], "lm_fill": [-6.0, -6.0],
                   "lm_fill@1": [-5.0, -5.0], "lm_fill@6": [-6.0, -6.0]}
    assert set(engine.prompts) == {"文章：三四五六七"}  # only prefix_chars of the text before
    if pieces:
        assert len(engine.prompts) == 1  # one call scores every candidate and every cut


@pytest.mark.anyio
async def test_shortlist_scores_the_text_after_the_blank_only_for_the_best_idioms() -> None:
    # idiom alone: 甲 > 乙 > 丙 > 丁; with the text after the blank 乙 fits best, and 丙
    # would fit better still but is not on the two-candidate shortlist
    table = {"甲甲甲甲": -1.0, "乙乙乙乙": -2.0, "丙丙丙丙": -3.0, "丁丁丁丁": -9.0,
             "甲甲甲甲之后": -10.0, "乙乙乙乙之后": -1.0, "丙丙丙丙之后": 0.5}
    engine = _TableEngine(table)
    solver = ClozeSolver(engine, {"lm_fill": 1.0}, suffix_chars=2, shortlist=2,
                         shortlist_weights={"lm_idiom": 1.0}, confident=1.0)
    item = parse_item("前文#idiom#之后。", ["丁丁丁丁", "丙丙丙丙", "乙乙乙乙", "甲甲甲甲"])
    result = await solver.solve(item)
    assert result.choice == 2 and result.shortlist == [3, 2]
    # one pass of idioms for all four, then the text after only for the two, idioms given
    assert engine.calls == [([["丁丁丁丁"], ["丙丙丙丙"], ["乙乙乙乙"], ["甲甲甲甲"]], 0),
                            ([["甲甲甲甲", "之后"], ["乙乙乙乙", "之后"]], 1)]
    assert result.features["lm_fill"][2:] == [-2.0 + -1.0, -1.0 + -10.0]
    assert all(math.isnan(v) for v in result.features["lm_fill"][:2])
    # the shortlist ranks above the rest, which keep their first-step order
    assert result.scores[2] > result.scores[3] > result.scores[1] > result.scores[0]

    # a first step this sure (甲 has 0.67 of the softmax) decides alone: no second pass
    sure = await ClozeSolver(engine, {"lm_fill": 1.0}, suffix_chars=2, shortlist=2,
                             shortlist_weights={"lm_idiom": 1.0}, confident=0.6).solve(item)
    assert sure.choice == 3 and sure.shortlist == [] and len(engine.calls) == 3
    assert "lm_fill" not in sure.features and sure.scores == [-8.0, -2.0, -1.0, 0.0]

    # shortlist 0: every candidate's text after the blank in one forced decode, as before
    whole = await ClozeSolver(engine, {"lm_fill": 1.0}, suffix_chars=2, shortlist=0).solve(
        parse_item("前文#idiom#之后。", ["丙丙丙丙", "乙乙乙乙", "甲甲甲甲"]))
    assert whole.choice == 0 and engine.calls[-1][1] == 0 and len(engine.calls) == 4


def test_fit_learns_which_feature_carries_the_answer() -> None:
    rng = random.Random(0)
    rows = []
    for _ in range(60):
        answer = rng.randrange(4)
        good = [rng.gauss(0, 1) + (3 if i == answer else 0) for i in range(4)]
        noise = [rng.gauss(0, 1) for _ in range(4)]
        rows.append(({"lm_fill": good, "meaning": noise}, answer))
    weights = fit(rows, ("lm_fill", "meaning"))
    assert weights["lm_fill"] > 5 * abs(weights["meaning"])
    assert accuracy(rows, weights) > 0.85
    assert combine({"lm_fill": [1.0, 3.0]}, {"lm_fill": 2.0}) == [-4.0, 0.0]


def test_dictionary_dev_set_is_chid_shaped_and_reproducible() -> None:
    items = build(20, seed=1)
    assert items == build(20, seed=1) and len(items) == 20
    for item in items:
        parsed = parse_item(item["content"], item["candidates"], item["answer"])
        assert len(parsed.candidates) == 7
        assert parsed.candidates[item["answer"]] not in item["content"]


@pytest.mark.anyio
async def test_solver_answers_even_when_the_model_cannot_score(tiny_engine: Engine) -> None:
    """The tiny test model's byte-level tokens for Chinese make llama.cpp's token grammar
    fail; the solver must then decide from idiom knowledge instead of failing."""
    lines = (SHARED_DATA / "chid_fewclue_dev.jsonl").read_text(encoding="utf-8").splitlines()
    row = json.loads(lines[0])
    result = await ClozeSolver(tiny_engine).solve(parse_item(row["content"], row["candidates"]))
    assert 0 <= result.choice < 7 and len(result.scores) == 7
    if not result.used_model:
        assert set(result.features) == {"meaning", "meaning_e5"}
    # a blank at the very start of a passage still works (llama.cpp refuses empty prompts)
    choice = await choose_for_blank("#idiom#，反而不好。", ["画蛇添足", "守株待兔"], tiny_engine)
    assert choice in (0, 1)


@pytest.mark.slow
@pytest.mark.anyio
async def test_default_model_with_knowledge_solves_a_clear_blank(default_engine: Engine) -> None:
    """The full path with the fitted weights. (Its accuracy is measured by `zhiyan eval chid`:
    about 73% held out, so a single hard case here would fail by design about 1 time in 4.)"""
    content = "文章已经写得很完整了，你再加一段结尾就是#idiom#，反而把好文章弄坏了。"
    candidates = ["画蛇添足", "守株待兔", "叶公好龙", "亡羊补牢"]
    result = await ClozeSolver(default_engine).solve(parse_item(content, candidates))
    assert result.used_model and result.choice == 0
    assert {"lm_idiom", "meaning", "meaning_e5"} <= set(result.features)
    # the first step decided alone, or the answer made the shortlist
    assert result.shortlist == [] or (len(result.shortlist) == SHORTLIST
                                      and 0 in result.shortlist)

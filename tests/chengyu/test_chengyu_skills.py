"""Idiom skills: explain, reverse lookup, judge usage; real tiny engine for the model paths."""

from __future__ import annotations

import pytest

from zhiyan.chengyu.skills import SkillInputError, explain, find_by_meaning, judge_usage
from zhiyan.engine.base import Engine


def test_reverse_lookup_ranks_the_described_idiom_first() -> None:
    assert find_by_meaning("形容做多余的事，反而坏事")[0][0].word == "画蛇添足"
    assert find_by_meaning("比喻口头上说爱好某事物，实际上并不真爱好", 3)[0][0].word == "叶公好龙"
    ranked = find_by_meaning("死守狭隘经验，不知变通", 5)
    assert "守株待兔" in [i.word for i, _ in ranked]
    scores = [s for _, s in ranked]
    assert scores == sorted(scores, reverse=True)


def test_reverse_lookup_folds_variants_into_the_main_form() -> None:
    words = [i.word for i, _ in find_by_meaning("做了多余的事，非但无益，反而不合适", 10)]
    assert "画蛇添足" in words and "画蛇著足" not in words


@pytest.mark.anyio
async def test_explain_in_chinese_and_with_a_note_elsewhere() -> None:
    zh = await explain("畫蛇添足", "zh")
    assert zh.known and zh.word == "画蛇添足" and zh.translated
    assert "战国策" in zh.origin and zh.example and "例句" in zh.render()
    en = await explain("hua she tian zu", "en")
    assert en.word == "画蛇添足" and not en.translated
    assert en.note == "(The dictionary text is shown in Chinese.)"
    assert "Meaning:" in en.render()


@pytest.mark.anyio
async def test_unknown_idiom_gets_closest_matches_not_an_error() -> None:
    result = await explain("画蛇添脚", "en")
    assert not result.known and result.suggestions[0] == "画蛇添足"
    assert "画蛇添足" in result.render() and "Did you mean" in result.render()


@pytest.mark.anyio
async def test_non_chinese_input_is_refused_in_the_users_language() -> None:
    with pytest.raises(SkillInputError) as caught:
        await explain("hello world", "sw")
    assert "Kichina" in caught.value.message("sw")
    assert "Chinese" in caught.value.message("en")
    with pytest.raises(SkillInputError):
        find_by_meaning("something about doing too much")
    with pytest.raises(SkillInputError):
        await judge_usage("I painted a snake", "画蛇添足")


@pytest.mark.anyio
async def test_judge_catches_misspelling_and_absence_without_a_model() -> None:
    wrong = await judge_usage("他这样做真是画蛇添脚。", "画蛇添足")
    assert not wrong.correct and "画蛇添脚" in wrong.reason and "画蛇添足" in wrong.reason
    absent = await judge_usage("今天天气很好。", "画蛇添足")
    assert not absent.correct and absent.checked_by == "dictionary"
    unknown = await judge_usage("今天天气很好。", "天气很好")
    assert not unknown.correct
    fine = await judge_usage("文章已经写得很好了，再加这段就是画蛇添足。", "画蛇添足", lang="en")
    assert fine.correct and "only the form" in fine.reason


@pytest.mark.anyio
async def test_judge_and_translation_go_through_the_engine(tiny_engine: Engine) -> None:
    verdict = await judge_usage("文章已经写得很好了，再加这段就是画蛇添足。", "画蛇添足",
                                tiny_engine)
    assert verdict.checked_by == "model" and verdict.meaning in verdict.reason
    explained = await explain("画蛇添足", "en", tiny_engine)
    assert explained.translated and explained.meaning and explained.note is None
    assert explained.meaning_zh.startswith("画蛇时")


@pytest.mark.anyio
async def test_empty_input_says_so_not_that_it_lacks_chinese() -> None:
    for empty in ("", "   "):
        with pytest.raises(SkillInputError) as caught:
            await explain(empty, "en")
        assert caught.value.key == "empty_input"


@pytest.mark.anyio
async def test_misspelt_pinyin_gets_closest_matches_not_a_refusal() -> None:
    result = await explain("hua she tian zhu", "en")  # one syllable wrong
    assert not result.known and result.suggestions[0] == "画蛇添足"
    assert (await explain("ren ji han zi", "zh")).suggestions[0] == "人迹罕至"


@pytest.mark.anyio
async def test_judge_finds_a_saying_written_without_its_comma() -> None:
    verdict = await judge_usage("他在原有成绩上百尺竿头更进一步。", "百尺竿头，更进一步")
    assert verdict.correct and verdict.checked_by == "dictionary"


@pytest.mark.anyio
async def test_judge_takes_the_idiom_in_pinyin_like_explain_does() -> None:
    verdict = await judge_usage("文章已经写得很好了，再加这段就是画蛇添足。", "hua she tian zu")
    assert verdict.correct and verdict.word == "画蛇添足"
    with pytest.raises(SkillInputError):
        await judge_usage("文章已经写得很好了。", "snake legs")

"""`zhiyan idiom …` in process (typer's runner); the tiny model where one is needed."""

from __future__ import annotations

from typer.testing import CliRunner

from zhiyan.chengyu.cli import idiom_app

runner = CliRunner()


def test_show_translates_the_meaning_with_a_model() -> None:
    plain = runner.invoke(idiom_app, ["show", "lv jian bu xian", "--lang", "en"])
    assert plain.exit_code == 0 and "屡见不鲜" in plain.output
    assert "(The dictionary text is shown in Chinese.)" in plain.output
    translated = runner.invoke(idiom_app, ["show", "畫蛇添足", "--lang", "en",
                                           "--model", "tiny"])
    assert translated.exit_code == 0, translated.output
    assert "画蛇添足 (huà shé tiān zú)" in translated.output
    assert "shown in Chinese" not in translated.output


def test_show_refuses_empty_and_non_chinese_input_clearly() -> None:
    empty = runner.invoke(idiom_app, ["show", " ", "--lang", "en"])
    assert empty.exit_code == 2 and "Please send an idiom" in empty.output
    english = runner.invoke(idiom_app, ["show", "good morning", "--lang", "en"])
    assert english.exit_code == 2 and "no Chinese characters" in english.output


def test_origin_none_is_not_shown() -> None:
    shown = runner.invoke(idiom_app, ["show", "袭人故智"])
    assert shown.exit_code == 0 and "出处" not in shown.output


def test_find_and_search_say_so_when_nothing_matches() -> None:
    nothing = runner.invoke(idiom_app, ["find", "嗯嗯嗯"])
    assert nothing.exit_code == 1 and "没有找到" in nothing.output
    unknown = runner.invoke(idiom_app, ["search", "qqqqqq", "--lang", "en"])
    assert unknown.exit_code == 1 and "not in the idiom dictionary" in unknown.output
    found = runner.invoke(idiom_app, ["search", "hstz"])
    assert found.exit_code == 0 and found.output.startswith("画蛇添足\t")

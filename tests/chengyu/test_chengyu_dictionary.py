"""The idiom dictionary on the real packaged data."""

from __future__ import annotations

import datetime as dt

from zhiyan.chengyu.dictionary import get_dictionary, repair_quotes


def test_loads_the_whole_xinhua_set() -> None:
    assert len(get_dictionary()) > 30_000


def test_repair_puts_back_opening_quotes_after_titles_and_markers() -> None:
    assert repair_quotes("三国·蜀·诸葛亮《出师表》不求闻达于诸候。”") == \
        "三国·蜀·诸葛亮《出师表》“不求闻达于诸候。”"
    assert repair_quotes("明·罗贯中《三国演义》第十回当日接了书信。”") == \
        "明·罗贯中《三国演义》第十回“当日接了书信。”"
    assert repair_quotes("形容数量极多。亦作漫天漫地”。") == "形容数量极多。亦作“漫天漫地”。"
    assert repair_quotes("梵语的译音，意译为无间”，即痛苦") == "梵语的译音，意译为“无间”，即痛苦"
    # already balanced text and text without quotes are left alone
    assert repair_quotes("他说“好”。") == "他说“好”。"
    assert repair_quotes("没有引号。") == "没有引号。"


def test_loaded_entries_are_repaired() -> None:
    d = get_dictionary()
    assert d.get("画蛇添足").derivation.startswith("《战国策·齐策二》“蛇固无足")  # type: ignore[union-attr]
    unbalanced = [i.word for i in d.idioms
                  if i.explanation.count("”") > i.explanation.count("“")]
    assert len(unbalanced) < len(d) * 0.001


def test_lookup_by_form_traditional_and_pinyin() -> None:
    d = get_dictionary()
    idiom = d.lookup("画蛇添足")
    assert idiom is not None and idiom.pinyin == "huà shé tiān zú"
    assert "多余" in idiom.explanation and idiom.example and "画蛇添足" in idiom.example
    assert d.lookup("畫蛇添足") is idiom
    assert d.lookup("huà shé tiān zú") is idiom
    assert d.lookup("hua she tian zu") is idiom
    assert d.lookup("HuaSheTianZu") is idiom
    assert d.lookup("不是成语的东西") is None
    assert d.lookup("   ") is None


def test_fuzzy_finds_one_character_off() -> None:
    d = get_dictionary()
    assert d.fuzzy("画蛇添脚")[0].word == "画蛇添足"  # one wrong
    assert "画蛇添足" in [i.word for i in d.fuzzy("画蛇足")]  # one missing
    assert "画蛇添足" in [i.word for i in d.fuzzy("画蛇添了足")]  # one extra
    assert len(d.fuzzy("画蛇添脚", k=2)) <= 2


def test_closest_always_suggests_something_for_garbled_chinese() -> None:
    suggestions = get_dictionary().closest("蛇足添画画", 5)
    assert suggestions and all("蛇" in s.word or "画" in s.word or "足" in s.word
                               for s in suggestions)


def test_idiom_of_the_day_is_stable_per_date_and_changes() -> None:
    d = get_dictionary()
    day = dt.date(2026, 1, 1)
    assert d.idiom_of_the_day(day) == d.idiom_of_the_day(day)
    week = {d.idiom_of_the_day(day + dt.timedelta(days=n)).word for n in range(7)}
    assert len(week) >= 6
    assert d.idiom_of_the_day(day).example


def test_syllables_line_up_with_characters() -> None:
    assert get_dictionary().get("叶公好龙").syllables == ["ye", "gong", "hao", "long"]  # type: ignore[union-attr]

"""The idiom dictionary on the real packaged data."""

from __future__ import annotations

import datetime as dt
import re

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


def test_pinyin_with_u_umlaut_typed_as_v_u_or_with_tones() -> None:
    d = get_dictionary()
    idiom = d.get("屡见不鲜")
    assert idiom is not None and idiom.pinyin == "lǚ jiàn bù xiān"
    for typed in ("lǚ jiàn bù xiān", "lv jian bu xian", "lü jian bu xian", "LV JIAN BU XIAN",
                  "lu:jianbuxian", "lü3 jian4 bu4 xian1", "lu jian bu xian"):
        assert d.lookup(typed) is idiom, typed
    # lǚ and lù are different sounds: the homophone chain must not join them
    assert idiom.syllables[0] == "lv"
    assert d.get("路见不平").syllables[0] == "lu"  # type: ignore[union-attr]


def test_pinyin_stray_characters_of_the_data_are_mended() -> None:
    d = get_dictionary()
    assert d.get("蔽聪塞明").pinyin == "bì cōng sè míng"  # type: ignore[union-attr]  # was ɡ
    assert d.get("抓耳搔腮").pinyin == "zhuā ěr sāo sāi"  # type: ignore[union-attr]  # was ?
    assert d.get("足尺加二").pinyin == "zú chǐ jiā èr"  # type: ignore[union-attr]
    assert d.lookup("bi cong se ming") is d.get("蔽聪塞明")
    assert d.get("袭人故智") in d.by_abbreviation("xrgz")
    assert all(re.fullmatch(r"[a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ\s,，、]+", i.pinyin.lower())
               for i in d.idioms), "pinyin holds characters that are not pinyin"
    # sayings in two halves line up too (the comma has no syllable)
    assert d.get("八仙过海，各显神通").syllables[-1] == "tong"  # type: ignore[union-attr]


def test_no_origin_is_empty_not_the_word_none() -> None:
    d = get_dictionary()
    assert d.get("袭人故智").derivation == ""  # type: ignore[union-attr]  # the data says 无
    assert not [i.word for i in d.idioms if i.derivation == "无"]


def test_sentence_closing_quotes_open_after_the_speaker_or_commentator() -> None:
    assert repair_quotes("唐铉说此话以后再说。请到那边入座。”★姚雪垠《李自成》") == \
        "唐铉说“此话以后再说。请到那边入座。”★姚雪垠《李自成》"
    assert repair_quotes("李逵听了，说道我去瓮中捉鳖，手到拿来。”") == \
        "李逵听了，说道“我去瓮中捉鳖，手到拿来。”"
    assert repair_quotes("《汉书》“权轻重不失黍絫。”颜师古注引应劭曰十黍为絫，十絫为一铢。”") == \
        "《汉书》“权轻重不失黍絫。”颜师古注引应劭曰“十黍为絫，十絫为一铢。”"
    assert repair_quotes("形容感情很好。亦作腐索御马。”") == "形容感情很好。亦作“腐索御马。”"
    # inner quotes stay inside the outer one
    assert repair_quotes("宋江说道却是苦也！正是‘福无双至，祸不单行。’”") == \
        "宋江说道“却是苦也！正是‘福无双至，祸不单行。’”"
    # nothing can open it: the stray mark goes, rather than an empty “”
    assert repair_quotes("多用来衬托国家的残破和心境的凄凉。”") == \
        "多用来衬托国家的残破和心境的凄凉。"
    # a title followed by punctuation: the quote opens after the punctuation
    assert repair_quotes("清·赵翼《瓯北诗话》；然以杜韩与之比较。”") == \
        "清·赵翼《瓯北诗话》；“然以杜韩与之比较。”"


def test_quoted_idioms_in_examples_open_before_the_idiom() -> None:
    idioms = {"美如冠玉", "以子之矛，攻子之盾", "欲壑难填"}
    assert repair_quotes("自说已经百余岁了，看去却美如冠玉”，象二十左右一样。", idioms) == \
        "自说已经百余岁了，看去却“美如冠玉”，象二十左右一样。"
    assert repair_quotes("能以子之矛，攻子之盾”。", idioms) == "能“以子之矛，攻子之盾”。"
    d = get_dictionary()
    assert "看去却“美如冠玉”" in d.get("美如冠玉").example  # type: ignore[operator]
    assert "只是“亦步亦趋”" in d.get("亦步亦趋").example  # type: ignore[operator]


def test_repaired_quotes_are_never_empty_or_open_on_punctuation() -> None:
    for idiom in get_dictionary().idioms:
        for text in (idiom.explanation, idiom.derivation, idiom.example or ""):
            assert "“”" not in text, idiom.word
            assert not re.search(r"“[，。、；？！]", text), idiom.word


def test_words_the_scrape_garbled_are_put_right() -> None:
    d = get_dictionary()
    for word, pinyin in (("人迹罕至", "ren ji han zhi"), ("沧海横流", "cang hai heng liu"),
                         ("宁为鸡口，不为牛后", "ning wei ji kou bu wei niu hou")):
        idiom = d.lookup(word)
        assert idiom is not None and idiom.word == word, word
        assert d.lookup(pinyin) is idiom
    assert "人急至" not in d and "人迹罕至" in d.get("人迹罕至").example  # type: ignore[operator]
    # every word has as many characters as its pinyin has syllables, bar a few
    # entries whose pinyin itself is short or unspaced
    assert sum(1 for i in d.by_word.values() if not i.syllables) < 40


def test_pinyin_one_syllable_off_is_suggested() -> None:
    d = get_dictionary()
    assert [i.word for i in d.closest("hua she tian zhu")] == ["画蛇添足"]  # wrong
    assert "画蛇添足" in [i.word for i in d.fuzzy_pinyin("hua she tian")]  # missing
    assert "画蛇添足" in [i.word for i in d.fuzzy_pinyin("hua she tian zu le")]  # extra
    assert "屡见不鲜" in [i.word for i in d.fuzzy_pinyin("lv jian bu xin")]
    for not_pinyin in ("hello world", "I love you so much", "apa khabar saya baik"):
        assert d.closest(not_pinyin) == [], not_pinyin


def test_two_half_sayings_found_with_any_comma_or_none() -> None:
    d = get_dictionary()
    saying = d.get("百尺竿头，更进一步")
    assert saying is not None
    for typed in ("百尺竿头更进一步", "百尺竿头, 更进一步", "百尺竿頭，更進一步"):
        assert d.lookup(typed) is saying, typed

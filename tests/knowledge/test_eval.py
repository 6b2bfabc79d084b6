"""The knowledge evaluations' scoring and the fact-update suite, without a model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zhiyan.eval.continual import Asker, accuracy_matrix, bwt, fact_updates, load_facts, staged
from zhiyan.eval.qa import exact_match, f1_score, load_questions, retrieval
from zhiyan.knowledge.base import KnowledgeBase
from zhiyan.knowledge.settings import KnowledgeSettings

CMRC = Path(__file__).resolve().parents[3] / "shared" / "data" / "cmrc2018_trial.json"


def test_cmrc_style_scores() -> None:
    assert exact_match("踢爆。", ["踢爆"]) == 1.0
    assert f1_score("4分钟内不得进行配对", ["4分钟"]) == 2 * (3 / 10) * 1 / (3 / 10 + 1)
    assert f1_score("in 1963", ["1963"]) == 2 * 0.5 * 1 / 1.5
    assert f1_score("", ["x"]) == 0.0


def test_bwt_is_zero_when_nothing_is_forgotten() -> None:
    assert bwt([[1.0, None], [1.0, 0.9]]) == 0.0
    assert bwt([[0.8, None, None], [0.7, 0.9, None], [0.6, 0.9, 1.0]]) == pytest.approx(-0.1)


def test_fact_updates_apply_to_every_paraphrase_and_leave_neighbours(tmp_path: Path) -> None:
    kb = KnowledgeBase.open(tmp_path / "kb.sqlite3", KnowledgeSettings(embeddings=False))
    facts = load_facts()
    assert len(facts) >= 20
    result = fact_updates(kb, Asker(kb), facts)
    assert result["known_before"] == 1.0
    assert result["edit_success"] == 1.0 and result["generalization"] == 1.0
    assert result["locality"] == 1.0
    kb.close()


def test_staged_retrieval_on_cmrc_sample(tmp_path: Path) -> None:
    docs, questions = load_questions(CMRC)
    assert len(docs) == 256 and len(questions) == 1000
    sample = tmp_path / "sample.json"
    sample.write_text(json.dumps({"data": json.loads(CMRC.read_text())["data"][:24]}))
    kb = KnowledgeBase.open(tmp_path / "kb.sqlite3", KnowledgeSettings(embeddings=False))
    matrix = accuracy_matrix(kb, staged(sample, 2, None), 3)
    assert matrix[0][1] is None and all(v is not None and v > 0.9 for v in matrix[1])
    assert retrieval(kb, load_questions(sample)[1])["hit@5"] >= 0.95
    kb.close()
    # asked as follow-ups in a conversation: never worse on this sample
    kb = KnowledgeBase.open(tmp_path / "kb2.sqlite3", KnowledgeSettings(embeddings=False))
    chat = accuracy_matrix(kb, staged(sample, 2, None), 3, conversation=True)
    assert all(c >= m for c, m in zip(chat[1], matrix[1], strict=True))  # type: ignore[operator]
    kb.close()

"""The scripted turn set is well formed and its checks judge replies as intended."""

from __future__ import annotations

from zhiyan.assistant.turn import Citation, Reply
from zhiyan.eval.turn import check, load_script

KNOWN = {"lang", "reply_lang", "kind", "citations", "policy_rule", "contains", "absent"}


def test_script_is_well_formed() -> None:
    script = load_script()
    doc_ids = {d["id"] for d in script["documents"]}
    assert len(script["conversations"]) >= 10
    for conversation in script["conversations"]:
        for turn in conversation["turns"]:
            assert set(turn["expect"]) <= KNOWN, turn
            for cited in turn["expect"].get("citations", []):
                assert cited in doc_ids or cited.startswith("chengyu:")


def test_checks() -> None:
    reply = Reply("Nairobi ni mji mkuu wa Kenya [1]", "sw",
                  [Citation(1, "kenya-sw", "Kenya")], kind="knowledge")
    assert all(check(reply, {"lang": "sw", "reply_lang": "sw", "kind": "knowledge",
                             "citations": ["kenya-sw"], "contains": "nairobi"}).values())
    wrong = check(reply, {"citations": ["kenya"], "kind": "refusal", "absent": "Nairobi"})
    assert wrong == {"citations_present": True, "citations_correct": False, "kind": False,
                     "absent": False}

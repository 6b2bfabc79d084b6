"""/v1/chengyu over a real server on 127.0.0.1 (tiny engine for the model paths)."""

from __future__ import annotations

import httpx

from tests.conftest import LiveServer


def test_idiom_lookup_and_unknown_with_closest(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url, timeout=60) as client:
        found = client.get("/v1/chengyu/idioms/畫蛇添足")
        assert found.status_code == 200
        body = found.json()
        assert body["word"] == "画蛇添足" and body["pinyin"] == "huà shé tiān zú"
        assert body["derivation"].startswith("《战国策·齐策二》“")
        missing = client.get("/v1/chengyu/idioms/画蛇添脚", headers={"Accept-Language": "en"})
        assert missing.status_code == 404
        error = missing.json()
        assert error["error"]["type"] == "not_found_error"
        assert error["closest"][0]["word"] == "画蛇添足"
        assert "Did you mean" in error["error"]["message"]
        english = client.get("/v1/chengyu/idioms/hello", headers={"Accept-Language": "th-TH"})
        assert english.status_code == 400 and "ภาษาจีน" in english.json()["error"]["message"]


def test_search_by_pinyin_meaning_and_refusal(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url, timeout=60) as client:
        by_pinyin = client.get("/v1/chengyu/search", params={"q": "ye gong hao long"}).json()
        assert by_pinyin["results"][0]["word"] == "叶公好龙"
        assert by_pinyin["results"][0]["match"] == "pinyin"
        by_meaning = client.get("/v1/chengyu/search",
                                params={"q": "形容做多余的事，反而坏事"}).json()
        assert by_meaning["results"][0]["word"] == "画蛇添足"
        assert by_meaning["results"][0]["match"] == "meaning"
        refused = client.get("/v1/chengyu/search", params={"q": "what a nice day", "lang": "ms"})
        assert refused.status_code == 400
        assert "bahasa Cina" in refused.json()["error"]["message"]


def test_today_is_stable(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url, timeout=60) as client:
        a = client.get("/v1/chengyu/today", params={"date": "2026-03-01"}).json()
        b = client.get("/v1/chengyu/today", params={"date": "2026-03-01", "lang": "en"}).json()
        assert a["word"] == b["word"] and a["example"] and b["title"] == "Idiom of the day"


def test_judge_and_chain_game(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url, timeout=120) as client:
        verdict = client.post("/v1/chengyu/judge", json={
            "sentence": "他这样做真是画蛇添脚。", "word": "画蛇添足", "lang": "en"}).json()
        assert verdict["correct"] is False and "misspelling" in verdict["reason"]
        judged = client.post("/v1/chengyu/judge", json={
            "sentence": "文章已经很好了，再加这段就是画蛇添足。", "word": "画蛇添足"}).json()
        assert judged["checked_by"] == "model"
        refused = client.post("/v1/chengyu/judge", json={
            "sentence": "nice", "word": "snake", "lang": "en"})
        assert refused.status_code == 400 and "Chinese" in refused.json()["error"]["message"]

        start = client.post("/v1/chengyu/chain", json={"conversation_id": "g1",
                                                       "action": "start"})
        assert start.json()["state"]["moves"] == []
        played = client.post("/v1/chengyu/chain", json={"conversation_id": "g1",
                                                        "word": "一心一意"}).json()
        user, assistant = played["moves"]
        assert user["valid"] and assistant["player"] == "assistant"
        assert assistant["word"].startswith("意")
        bad = client.post("/v1/chengyu/chain", json={"conversation_id": "g1",
                                                     "word": "画蛇添足", "lang": "en"}).json()
        assert not bad["moves"][0]["valid"] and bad["moves"][0]["reason"] == "chain_wrong_start"
        assert len(bad["state"]["moves"]) == 2


def test_cloze_solves_and_rejects_malformed_candidates(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url, timeout=120) as client:
        content = "文章已经写得很好了，你再加一段就是#idiom#，反而不好。"
        ok = client.post("/v1/chengyu/cloze", json={
            "content": content, "candidates": ["画蛇添足", "守株待兔", "叶公好龙"]})
        assert ok.status_code == 200
        assert ok.json()["answer"] in {"画蛇添足", "守株待兔", "叶公好龙"}
        assert len(ok.json()["scores"]) == 3 and isinstance(ok.json()["used_model"], bool)
        for candidates, reason in [
            ("画蛇添足", "must be a list"),
            (["画蛇添足"], "2 to 20"),
            (["画蛇添足", 3], "candidate 2 is empty"),
            (["画蛇添足", "画蛇添足"], "repeated"),
        ]:
            bad = client.post("/v1/chengyu/cloze", json={"content": content,
                                                         "candidates": candidates,
                                                         "lang": "en"})
            assert bad.status_code == 400, candidates
            assert reason in bad.json()["error"]["message"]
        no_blank = client.post("/v1/chengyu/cloze", json={
            "content": "没有空格", "candidates": ["画蛇添足", "守株待兔"]})
        assert no_blank.status_code == 400 and "#idiom#" in no_blank.json()["error"]["message"]
        # the reason in the user's language, not English inside a Chinese sentence
        assert "现在有0个" in no_blank.json()["error"]["message"]


def test_chain_without_a_word_is_refused_in_the_users_language(
        live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url, timeout=60) as client:
        for word in (None, "", "  "):
            refused = client.post("/v1/chengyu/chain", json={
                "conversation_id": "e1", "word": word, "lang": "en"})
            assert refused.status_code == 400, word
            assert refused.json()["error"]["message"] == \
                "Please send an idiom or a sentence in Chinese."
        state = client.post("/v1/chengyu/chain", json={"conversation_id": "e1",
                                                       "action": "state"}).json()
        assert state["state"]["moves"] == []


def test_unknown_pinyin_gets_closest_matches(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url, timeout=60) as client:
        found = client.get("/v1/chengyu/idioms/lv jian bu xian")
        assert found.status_code == 200 and found.json()["word"] == "屡见不鲜"
        near = client.get("/v1/chengyu/idioms/hua she tian zhu")
        assert near.status_code == 404 and near.json()["closest"][0]["word"] == "画蛇添足"
        for blank in (client.get("/v1/chengyu/idioms/%20", params={"lang": "en"}),
                      client.get("/v1/chengyu/search", params={"q": "  ", "lang": "en"})):
            assert blank.status_code == 400
            assert blank.json()["error"]["code"] == "empty_input"


def test_explain_in_the_users_language(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url, timeout=120) as client:
        zh = client.get("/v1/chengyu/explain/畫蛇添足").json()
        assert zh["word"] == "画蛇添足" and zh["translated"] and "释义" in zh["text"]
        en = client.get("/v1/chengyu/explain/hua she tian zu",
                        headers={"Accept-Language": "en"}).json()
        assert en["translated"] and en["meaning"] and en["meaning_zh"].startswith("画蛇时")
        assert "Meaning:" in en["text"]
        untranslated = client.get("/v1/chengyu/explain/画蛇添足",
                                  params={"lang": "sw", "translate": "false"}).json()
        assert not untranslated["translated"] and untranslated["note"]
        unknown = client.get("/v1/chengyu/explain/画蛇添脚", params={"lang": "en"})
        assert unknown.status_code == 404 and unknown.json()["closest"][0] == "画蛇添足"
        refused = client.get("/v1/chengyu/explain/hello", params={"lang": "ms"})
        assert refused.status_code == 400 and "bahasa Cina" in refused.json()["error"]["message"]

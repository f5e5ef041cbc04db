"""The agent desk's knowledge search over HTTP and the desk's WebSocket, against a real redis-server
and the real app: words in English or Chinese find articles (the live matcher's ranking, with the
desk's card fields); only desk roles may search (401 without a login, 403 for QA); an article opened
during the agent's call is recorded on it and marked used like a pushed card; the knowledge report
(admins and supervisors) counts it, and the voice bot's questions, from the call records."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from fastapi.testclient import TestClient

from hotline.assist.matcher import Matcher
from hotline.assist.registry import KnowledgeRegistry
from hotline.center.acd import Acd
from hotline.center.agents import AgentDirectory, AgentState
from hotline.center.assist_service import AssistService
from hotline.center.bus import CallEvent
from hotline.center.call_events import CallEvents
from hotline.center.records import CallRecord
from hotline.center.store import SqliteCallStore
from hotline.web.app import AppState, create_app
from tests.support.staff import add_staff
from tests.web.test_desk_protocol import login, until

REPO = Path(__file__).resolve().parents[2]
STAFF = {"alice": ["agent"], "bob": ["agent"], "quinn": ["qa"], "sam": ["supervisor"], "ada": ["admin"]}


class Sink:
    def __init__(self) -> None:
        self.events: list[CallEvent] = []

    def publish(self, event: CallEvent) -> None:
        self.events.append(event)


def build(tmp_path: Path, redis_url: str) -> tuple[Any, AgentDirectory, SqliteCallStore, AssistService]:
    client, events_client = aioredis.from_url(redis_url), aioredis.from_url(redis_url)
    agents = AgentDirectory(client)
    shutil.copytree(REPO / "config" / "knowledge", tmp_path / "knowledge")
    knowledge: KnowledgeRegistry[Matcher] = KnowledgeRegistry(tmp_path / "knowledge", Matcher)
    assert knowledge.scan()
    store = SqliteCallStore(tmp_path / "calls.db")
    assist = AssistService(knowledge, store, Sink())  # type: ignore[arg-type]

    async def listening() -> bool:
        return True

    app = create_app(AppState(store, client, "127.0.0.1:5060", listening, "whisper", "base", tmp_path,
                              agents=agents, acd=Acd(client, agents), call_events=CallEvents(events_client),
                              knowledge=knowledge, assist=assist))
    return app, agents, store, assist


def test_search_finds_articles_by_words_in_english_and_chinese(tmp_path: Path, redis_url: str) -> None:
    app, agents, _, assist = build(tmp_path, redis_url)
    with TestClient(app) as client:
        assert client.portal is not None
        client.portal.call(add_staff, agents, STAFF)
        alice = login(client, "alice")
        r = client.get("/api/agent/knowledge/search", params={"q": "box crushed"}, headers=alice)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["language"] == "en" and body["kb_version"] == 1
        best = body["results"][0]
        assert best["article"] == "damaged-item" and best["title"] == "Parcel arrived damaged" and best["rank"] == 0
        assert best["script"] and best["steps"] and "crushed" in best["matched"]
        scores = [a["score"] for a in body["results"]]
        assert scores == sorted(scores, reverse=True) and len(scores) <= 8
        # Chinese words: searched in Chinese (auto), the card in Chinese
        zh = client.get("/api/agent/knowledge/search", params={"q": "我要退款"}, headers=alice).json()
        assert zh["language"] == "zh" and zh["results"][0]["article"] == "return-parcel"
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh["results"][0]["title"] + zh["results"][0]["script"])
        forced = client.get("/api/agent/knowledge/search", params={"q": "change address", "lang": "en", "limit": 2},
                            headers=alice).json()
        assert forced["results"][0]["article"] == "change-address" and len(forced["results"]) <= 2
        # small talk shares no word with any article: nothing found
        assert client.get("/api/agent/knowledge/search", params={"q": "hello"}, headers=alice).json()["results"] == []
        assert client.get("/api/agent/knowledge/search", params={"q": ""}, headers=alice).status_code == 422
        # who may search: desk roles; not anonymous, not QA
        assert client.get("/api/agent/knowledge/search", params={"q": "refund"},
                          headers={"accept": "application/json"}).status_code == 401
        assert client.get("/api/agent/knowledge/search", params={"q": "refund"},
                          headers=login(client, "quinn")).status_code == 403
        assert client.get("/api/agent/knowledge/search", params={"q": "refund"},
                          headers=login(client, "sam")).status_code == 200
    assist.close()


def bot_entry(article: str | None, resolved: str | None, outcome: str) -> dict[str, Any]:
    return {"node": "questions", "language": "en", "question": "how do I get my money back", "article": article,
            "score": 0.8, "resolved": resolved, "outcome": outcome, "at": time.time()}


def test_an_article_found_during_a_call_is_marked_used_and_the_report_counts_it(tmp_path: Path,
                                                                                 redis_url: str) -> None:
    app, agents, store, assist = build(tmp_path, redis_url)
    store.save(CallRecord("s1", "sip-s1", "sip:+15550100@x", "sip:hotline@x", agent="alice",
                          bot=[bot_entry("return-parcel", "no", "agent")],
                          variables={"bot.question": "how do I get my money back", "bot.article": "return-parcel"}))
    store.save(CallRecord("s2", "sip-s2", "sip:+15550101@x", "sip:hotline@x",
                          bot=[bot_entry("return-parcel", "yes", "resolved"), bot_entry(None, None, "no_match")]))
    with TestClient(app) as client:
        assert client.portal is not None
        client.portal.call(add_staff, agents, STAFF)
        client.portal.call(agents.set_state, "alice", AgentState.ON_CALL, "s1")
        with client.websocket_connect("/ws/agent", headers=login(client, "alice")) as desk:
            assert until(desk, "hello")["call"] == "s1"
            # the desk shows the bot's question with the call's context
            context = client.get("/api/agent/calls/s1/context", headers=login(client, "alice")).json()
            assert context["call"]["bot"][0]["question"] == "how do I get my money back"
            desk.send_json({"type": "assist_search", "call": "s1", "article": "return-parcel", "language": "en",
                            "rank": 0})
            saved = until(desk, "assist_search_saved")
            assert saved == {"type": "assist_search_saved", "call": "s1", "n": 0, "article": "return-parcel"}
            desk.send_json({"type": "assist_feedback", "call": "s1", "n": 0, "verdict": "used"})
            until(desk, "assist_feedback_saved", n=0, verdict="used")
            # not her call, or no such article: refused, nothing recorded
            desk.send_json({"type": "assist_search", "call": "s2", "article": "return-parcel"})
            assert "during your call" in until(desk, "error")["detail"]
            desk.send_json({"type": "assist_search", "call": "s1", "article": "no-such-article"})
            assert "no article" in until(desk, "error")["detail"]
        assist.flush()
        (entry,) = store.get("s1")["assist"]["suggestions"]  # type: ignore[index]
        assert (entry["source"], entry["feedback"], entry["feedback_by"], entry["rank"]) == ("search", "used", "alice", 0)

        assert client.get("/api/knowledge/report", headers=login(client, "alice")).status_code == 403
        report = client.get("/api/knowledge/report", headers=login(client, "sam")).json()
        assert (report["searched"], report["search_used"], report["suggested"]) == (1, 1, 0)
        bot = report["bot"]
        assert (bot["calls"], bot["questions"], bot["matched"], bot["no_match"], bot["resolved"], bot["transferred"],
                bot["self_served"]) == (2, 3, 2, 1, 1, 1, 1)
        assert bot["match_rate"] == round(2 / 3, 4) and bot["self_service_rate"] == round(1 / 3, 4)
        row = next(r for r in report["articles"] if r["id"] == "return-parcel")
        assert (row["searched"], row["search_used"], row["bot"]["offered"], row["bot"]["self_served"]) == (1, 1, 2, 1)
        assert row["bot"]["self_service_rate"] == 0.5
        assert "return-parcel" not in report["never_suggested"]
    assist.close()

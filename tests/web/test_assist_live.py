"""Live suggestions through a real redis-server: a worker's caller transcript events go into the
stream, the assist service matches them and puts suggestion events back on it, the watcher of the
call (the desk) receives them, and the call record keeps every card and the agent's verdict. The
knowledge API edits, validates and reports on the same data."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from hotline.assist.matcher import Matcher
from hotline.assist.registry import KnowledgeRegistry
from hotline.center.agents import AgentDirectory
from hotline.center.assist_service import AssistService
from hotline.center.bus import AgentConnected, CallEnded, TranscriptFinal
from hotline.center.call_events import CallEvents
from hotline.center.events import EventPublisher
from hotline.center.keys import EVENTS_STREAM
from hotline.center.records import CallRecord
from hotline.center.redis_server import EmbeddedRedis
from hotline.center.store import SqliteCallStore
from hotline.web.app import AppState, create_app
from tests.support.staff import add_staff, bearer

REPO = Path(__file__).resolve().parents[2]


class Live:
    def __init__(self, tmp: Path, client: aioredis.Redis, reader: aioredis.Redis) -> None:
        shutil.copytree(REPO / "config" / "knowledge", tmp / "knowledge")
        self.client = client
        self.store = SqliteCallStore(tmp / "calls.db")
        self.registry: KnowledgeRegistry[Matcher] = KnowledgeRegistry(tmp / "knowledge", Matcher)
        assert self.registry.scan()
        self.worker = EventPublisher(client)  # what a worker publishes
        self.events = CallEvents(reader)  # a blocking XREAD gets its own connection pool, as in the server
        self.app_side = self.events.publisher(client)  # as in the app: cards reach the desk in-process
        self.assist = AssistService(self.registry, self.store, self.app_side)
        self.events.listen(self.assist.on_event)
        self.desk: list[dict[str, Any]] = []

    def call(self, call_id: str) -> None:
        self.store.save(CallRecord(call_id, f"sip-{call_id}", "sip:+15550100@x", "sip:hotline@x"))
        self.events.watch(call_id, lambda event: self.desk.append(event.as_message()))

    def caller_says(self, call_id: str, text: str, language: str = "en") -> None:
        self.worker.publish(TranscriptFinal(call_id=call_id, speaker="caller", text=text, start_ms=0, end_ms=900,
                                            language=language))

    async def cards(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            cards = [e for e in self.desk if e["type"] == "assist.suggestion"]
            if len(cards) >= count:
                return cards
            await asyncio.sleep(0.02)
        raise AssertionError(f"expected {count} cards, desk got {[e['type'] for e in self.desk]}")


@pytest.fixture
async def live(tmp_path: Path, _tools_present: None) -> AsyncIterator[Live]:
    server = EmbeddedRedis(tmp_path)
    await server.start()
    client, reader_client = aioredis.from_url(server.url), aioredis.from_url(server.url)
    setup = Live(tmp_path, client, reader_client)
    reader = asyncio.create_task(setup.events.run())
    await asyncio.sleep(0.2)  # the reader starts at the stream's end
    yield setup
    reader.cancel()
    setup.assist.close()
    await setup.worker.aclose()
    await setup.app_side.aclose()
    await client.aclose()
    await reader_client.aclose()
    await server.stop()


async def test_caller_words_reach_the_desk_as_a_card_and_the_record_keeps_it(live: Live) -> None:
    live.call("c1")
    live.caller_says("c1", "my parcel arrived damaged and the box was crushed")  # no agent yet: IVR speech
    await asyncio.sleep(0.3)
    assert [e for e in live.desk if e["type"] == "assist.suggestion"] == []
    live.worker.publish(AgentConnected(call_id="c1", agent="alice"))
    live.caller_says("c1", "hello yes hi")  # nothing fits: nothing is pushed
    live.caller_says("c1", "my parcel arrived damaged and the box was crushed")
    live.caller_says("c1", "it was crushed and broken, the box is damaged")  # same article: not pushed twice
    live.caller_says("c1", "我的包裹坏了", language="zh")
    cards = await live.cards(2)
    assert [(c["n"], c["article"]) for c in cards] == [(0, "damaged-item"), (1, "damaged-item")]
    assert cards[0]["title"] == "Parcel arrived damaged" and cards[0]["steps"][0].startswith("Ask what is damaged")
    assert cards[1]["title"] == "包裹破损" and cards[1]["language"] == "zh"  # the caller's language
    assert 0 < cards[0]["confidence"] <= 1 and cards[0]["transcript_ts"] > 0
    await live.app_side.stream.flush()
    await asyncio.sleep(0.3)  # the reader has seen the stream's copies by now: they are not delivered again
    assert len([e for e in live.desk if e["type"] == "assist.suggestion"]) == 2
    on_stream = [f for _, f in await live.client.xrange(EVENTS_STREAM) if f[b"type"] == b"assist.suggestion"]
    assert len(on_stream) == 2  # other nodes and tests still see them

    assert live.assist.feedback("c1", 0, "used", "alice") is None
    assert live.assist.feedback("c1", 1, "not_relevant", "alice") is None
    assert live.assist.feedback("c1", 7, "used", "alice") == "no suggestion 7 on this call"
    assert "verdict must be one of" in (live.assist.feedback("c1", 0, "great", "alice") or "")
    live.worker.publish(CallEnded(call_id="c1", reason="hangup", path=[], dtmf_count=0))
    live.assist.flush()
    # the worker saves its copy of the record at the end: the app's assist field survives it
    live.store.save(CallRecord("c1", "sip-c1", "sip:+15550100@x", "sip:hotline@x", status="completed"))
    assist = live.store.get("c1")["assist"]  # type: ignore[index]
    assert assist["utterances"] == 4
    assert [(s["n"], s["article"], s["feedback"]) for s in assist["suggestions"]] == [
        (0, "damaged-item", "used"), (1, "damaged-item", "not_relevant")]
    assert assist["suggestions"][0]["feedback_by"] == "alice"


async def test_knowledge_api_edits_reload_the_matcher_and_report_usage(live: Live, tmp_path: Path) -> None:
    live.call("c2")
    live.worker.publish(AgentConnected(call_id="c2", agent="bob"))
    live.caller_says("c2", "the courier was really rude and threw my parcel over the fence")
    (card,) = await live.cards(1)
    assert card["article"] == "complaint-courier"
    live.assist.feedback("c2", 0, "used", "bob")
    live.assist.flush()

    async def listening() -> bool:
        return True

    app = create_app(AppState(live.store, live.client, "127.0.0.1:5060", listening, "whisper", "base",
                              tmp_path, knowledge=live.registry, assist=live.assist))
    await add_staff(AgentDirectory(live.client))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        # an agent reads and tries the knowledge base but cannot change it; an admin can
        http.headers.update(await bearer(http, "alice"))
        assert (await http.get("/api/knowledge")).status_code == 200
        assert (await http.put("/api/knowledge/lost-key", json={"title": "t", "script": "s"})).status_code == 403
        assert (await http.delete("/api/knowledge/damaged-item")).status_code == 403
        http.headers.update(await bearer(http, "ada"))
        status = (await http.get("/api/knowledge")).json()
        assert status["ok"] and status["version"] == 1 and "damaged-item" in {a["id"] for a in status["items"]}
        report = (await http.get("/api/knowledge/report")).json()
        assert report["calls"] == 1 and report["utterances"] == 1 and report["match_rate"] == 1.0
        assert report["articles"][0]["id"] == "complaint-courier" and report["articles"][0]["used"] == 1
        assert "damaged-item" in report["never_suggested"]
        bad = await http.get("/api/knowledge/report", params={"since": "yesterday"})
        assert bad.status_code == 422 and "bad time" in bad.json()["detail"]

        # a new article through the API: validated, written, in service at once
        r = await http.put("/api/knowledge/lost-key", json={"title": "Locker code does not work",
                                                            "tags": ["locker code", "locker will not open"],
                                                            "script": "Let me send you a new code."})
        assert r.status_code == 200 and r.json()["created"] is True and r.json()["file"] == "articles.yaml"
        assert (await http.get("/api/knowledge")).json()["version"] == 2
        tried = (await http.get("/api/knowledge/suggest", params={"text": "the locker will not open, the code is wrong"})).json()
        assert tried["suggestion"] == "lost-key"
        r = await http.put("/api/knowledge/lost-key", json={"title": "", "script": "x"})
        assert r.status_code == 422 and r.json()["detail"] == ["title must not be empty"]
        r = await http.put("/api/knowledge/lost-key", json={"id": "other", "title": "t", "script": "s"})
        assert r.status_code == 422
        assert (await http.delete("/api/knowledge/lost-key")).status_code == 200
        assert (await http.get("/api/knowledge/lost-key")).status_code == 404
        page = await http.get("/admin/knowledge")
        assert page.status_code == 200 and 'id="usage"' in page.text

    # a broken file written by hand is rejected with its line; the matcher in service stays
    (tmp_path / "knowledge" / "broken.yaml").write_text("- id: x\n  titel: typo\n", encoding="utf-8")
    assert not live.registry.scan()
    assert live.registry.errors[0].endswith("broken.yaml:2: unknown field 'titel'")
    live.caller_says("c2", "my parcel arrived damaged and the box was crushed")
    cards = await live.cards(2)
    assert cards[1]["article"] == "damaged-item"

"""The HTTP API against a real redis-server and a real SQLite store."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from hotline.center.agents import AgentDirectory
from hotline.center.bus import CallEnded, CallStarted, DtmfReceived
from hotline.center.events import EventPublisher, redis_client
from hotline.center.keys import EVENTS_STREAM, WORKERS_KEY
from hotline.center.records import CallRecord, Segment
from hotline.center.redis_server import EmbeddedRedis
from hotline.center.store import SqliteCallStore
from hotline.web.app import AppState, create_app
from tests.support.staff import add_staff, bearer


@pytest.fixture
async def api(tmp_path: Path, redis_server: EmbeddedRedis) -> AsyncIterator[tuple[httpx.AsyncClient, SqliteCallStore,
                                                                                   aioredis.Redis]]:
    store = SqliteCallStore(tmp_path / "calls.db")
    client = aioredis.from_url(redis_server.url)
    listening = {"value": True}

    async def sip_listening() -> bool:
        return listening["value"]

    app = create_app(AppState(store, client, "127.0.0.1:5060", sip_listening, "whisper", "whisper-base",
                              tmp_path))
    await add_staff(AgentDirectory(client))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        http.headers.update(await bearer(http, "ada"))  # an admin: these tests are about the API, not roles
        yield http, store, client
    await client.aclose()


async def test_health_reports_workers_engine_and_redis(api) -> None:  # type: ignore[no-untyped-def]
    http, _, client = api
    body = (await http.get("/api/health")).json()
    assert body["status"] == "degraded" and body["sip"]["workers"] == []  # no worker has reported yet
    publisher = EventPublisher(client)
    publisher.heartbeat("w1", {"sip": "127.0.0.1:5070", "max_calls": 4, "asr_engine": "vosk",
                               "asr_model": "/m/ko", "calls": 1})
    await publisher.aclose()
    body = (await http.get("/api/health")).json()
    assert body["status"] == "ok" and body["redis"] == {"ok": True}
    assert body["asr"] == {"engine": "vosk", "model": "/m/ko"}
    assert body["sip"]["listening"] is True and body["sip"]["capacity"] == 4
    assert json.loads(await client.hget(WORKERS_KEY, "w1"))["calls"] == 1


async def test_health_when_redis_goes_away(api, redis_server: EmbeddedRedis) -> None:  # type: ignore[no-untyped-def]
    http, store, _ = api
    await redis_server.stop()
    response = await http.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded" and body["redis"]["ok"] is False and body["redis"]["error"]
    # records do not depend on Redis; staff sessions do: a precise 503, not a crash or a login page
    store.save(CallRecord(id="c9", sip_call_id="s", from_uri="a", to_uri="b"))
    assert store.get("c9") is not None
    response = await http.get("/api/calls/c9")
    assert response.status_code == 503 and "Redis" in response.json()["detail"]


async def test_publisher_survives_redis_outage(redis_server: EmbeddedRedis) -> None:
    client = redis_client(redis_server.url, timeout=0.5)
    publisher = EventPublisher(client)
    publisher.publish(CallStarted(call_id="c1", worker="w1", flow="main"))
    await publisher.flush()
    await redis_server.stop()
    publisher.publish(CallEnded(call_id="c1", reason="hangup", path=[], dtmf_count=0))  # never raises nor blocks
    await publisher.flush()
    assert publisher.published == 1 and publisher.failed == 1
    await redis_server.start()  # back again: events flow
    publisher.publish(CallEnded(call_id="c2", reason="hangup", path=[], dtmf_count=0))
    await publisher.aclose()
    assert publisher.published == 2
    assert [f[b"call_id"] for _, f in await client.xrange(EVENTS_STREAM)] == [b"c1", b"c2"]
    await client.aclose()


async def test_publisher_does_not_block_on_a_hung_redis(redis_server: EmbeddedRedis) -> None:
    import os
    import signal

    client = redis_client(redis_server.url, timeout=0.3)
    publisher = EventPublisher(client, queue_size=3)
    assert redis_server.child.proc is not None
    os.kill(redis_server.child.proc.pid, signal.SIGSTOP)
    try:
        for i in range(10):
            publisher.publish(DtmfReceived(call_id=f"c{i}", method="info", offset_ms=0))  # returns at once although Redis does not answer
        assert publisher.dropped >= 6
    finally:
        os.kill(redis_server.child.proc.pid, signal.SIGCONT)
    await publisher.aclose()
    await client.aclose()


async def test_calls_list_and_detail(api) -> None:  # type: ignore[no-untyped-def]
    http, store, _ = api
    for i in range(3):
        rec = CallRecord(id=f"c{i}", sip_call_id=f"s{i}", from_uri="sip:x", to_uri="sip:h", started_at=1000.0 + i)
        rec.transcript.append(Segment("caller", f"hello {i}", 0, 500, "whisper"))
        store.save(rec)
    listed = (await http.get("/api/calls", params={"limit": 2})).json()
    assert [c["id"] for c in listed] == ["c2", "c1"]
    detail = (await http.get("/api/calls/c0")).json()
    assert detail["transcript"][0]["text"] == "hello 0" and detail["dtmf_count"] == 0


async def test_bad_requests_get_precise_errors(api) -> None:  # type: ignore[no-untyped-def]
    http, _, _ = api
    missing = await http.get("/api/calls/nope")
    assert missing.status_code == 404 and missing.json() == {"detail": "no call with id 'nope'"}
    for bad in ("0", "5000", "ten"):
        response = await http.get("/api/calls", params={"limit": bad})
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", "limit"]


async def test_openapi_docs_served(api) -> None:  # type: ignore[no-untyped-def]
    http, _, _ = api
    docs = await http.get("/docs")
    assert docs.status_code == 200
    # Swagger UI's files come from this server, not from a CDN (hotline runs offline)
    assert "/static/docs/swagger-ui-bundle.js" in docs.text and "cdn." not in docs.text and "https://" not in docs.text
    for asset in ("/static/docs/swagger-ui-bundle.js", "/static/docs/swagger-ui.css", "/static/docs/redoc.standalone.js"):
        r = await http.get(asset)
        assert r.status_code == 200 and len(r.content) > 100_000, asset
    redoc = await http.get("/redoc")
    assert redoc.status_code == 200 and "/static/docs/redoc.standalone.js" in redoc.text and "fonts.googleapis" not in redoc.text
    spec = (await http.get("/openapi.json")).json()
    assert {"/api/health", "/api/calls", "/api/calls/{call_id}"} <= set(spec["paths"])

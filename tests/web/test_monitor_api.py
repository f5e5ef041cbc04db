"""The supervisor's listen / whisper / barge API against a real redis-server, with the worker played
by the test: the offer reaches the worker holding the call (with the supervisor and the mode), its
answer comes back; mode changes and leaving are typed requests on the worker's control list."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI

from hotline.center.desk_control import parse
from hotline.center.keys import LIVE_CALLS_KEY, control_key, webrtc_answer_key, webrtc_offers_key
from hotline.center.redis_server import EmbeddedRedis
from tests.support.staff import add_staff, bearer
from tests.web.test_access_matrix import build_app


@pytest.fixture
async def app_and_redis(tmp_path: Path, _tools_present: None) -> AsyncIterator[tuple[FastAPI, aioredis.Redis]]:
    server = EmbeddedRedis(tmp_path)
    await server.start()
    app, agents, clients = build_app(tmp_path, server.url)
    await add_staff(agents)
    worker = aioredis.from_url(server.url)
    yield app, worker
    for client in [*clients, worker]:
        await client.aclose()
    await server.stop()


async def test_join_change_mode_and_leave(app_and_redis: tuple[FastAPI, aioredis.Redis]) -> None:
    app, worker = app_and_redis
    await worker.hset(LIVE_CALLS_KEY, "c1", "w1")
    offers: list[dict[str, Any]] = []

    async def answer_one(error: bool = False) -> None:
        _, raw = await worker.blpop([webrtc_offers_key("w1")], timeout=5)
        offer = json.loads(raw)
        offers.append(offer)
        body = {"error": "the call is over"} if error else {"sdp": "v=0 answer", "type": "answer"}
        await worker.rpush(webrtc_answer_key(offer["id"]), json.dumps(body))

    async def control() -> list[Any]:
        raws = await worker.lrange(control_key("w1"), 0, -1)
        await worker.delete(control_key("w1"))
        return [parse(r) for r in raws]

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        sam, alice = await bearer(http, "sam"), await bearer(http, "alice")
        url = "/api/supervisor/calls/c1"
        assert (await http.post(f"{url}/monitor", json={"sdp": "v=0 offer"}, headers=alice)).status_code == 403
        assert (await http.post(f"{url}/monitor", json={"sdp": "v=0 offer"})).status_code == 401
        worker_task = asyncio.create_task(answer_one())
        r = await http.post(f"{url}/monitor", json={"sdp": "v=0 offer", "mode": "whisper"}, headers=sam)
        await worker_task
        assert r.status_code == 200 and r.json() == {"call": "c1", "mode": "whisper", "sdp": "v=0 answer"}, r.text
        [offer] = offers
        assert (offer["bridge"], offer["monitor"], offer["caller"], offer["sdp"]) == ("c1", "whisper", "sam", "v=0 offer")

        r = await http.post(f"{url}/mode", json={"mode": "barge"}, headers=sam)
        assert r.status_code == 200 and r.json()["mode"] == "barge"
        assert (await http.post(f"{url}/mode", json={"mode": "shout"}, headers=sam)).status_code == 422
        assert (await http.delete(f"{url}/monitor", headers=sam)).status_code == 200
        requests = await control()
        assert [(q.op, q.call, q.by, q.mode) for q in requests] == [("monitor_mode", "c1", "sam", "barge"),
                                                                   ("unmonitor", "c1", "sam", "")]
        # the worker refuses (the call ended meanwhile): the supervisor is told why
        worker_task = asyncio.create_task(answer_one(error=True))
        r = await http.post(f"{url}/monitor", json={"sdp": "v=0 offer", "mode": "listen"}, headers=sam)
        await worker_task
        assert r.status_code == 409 and "over" in r.json()["detail"], r.text
        # not a live call
        for method, path, body in (("POST", "monitor", {"sdp": "v=0", "mode": "listen"}),
                                   ("POST", "mode", {"mode": "listen"}), ("DELETE", "monitor", None)):
            r = await http.request(method, f"/api/supervisor/calls/nope/{path}", json=body, headers=sam)
            assert r.status_code == 404, (method, path, r.text)
        assert await control() == []
        # each join, change and leave is in the audit log
        audit = (await http.get("/api/audit", params={"action": "call."}, headers=await bearer(http, "ada"))).json()
        actions = [(e["actor"], e["action"], e["target"]) for e in audit]
        assert ("sam", "call.monitor", "c1") in actions and ("sam", "call.monitor_mode", "c1") in actions
        assert ("sam", "call.unmonitor", "c1") in actions

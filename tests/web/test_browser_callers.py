"""Browser callers carry an identity of their own, against a real redis-server and a stand-in
media worker that answers the offers it is handed: a number they type (``sip:+15550100@webrtc``),
a customer id signed by the embedding site (``customer:ID@webrtc``; a bad signature is refused
before any worker hears of the call), or an anonymous URI never shared with another caller. The
desk's caller context keys on that URI, so one browser caller's history is not shown for another."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from hotline.center.acd import Acd
from hotline.center.agents import AgentDirectory
from hotline.center.call_events import CallEvents
from hotline.center.keys import WORKERS_KEY, webrtc_answer_key, webrtc_offers_key
from hotline.center.records import CallRecord
from hotline.center.redis_server import EmbeddedRedis
from hotline.center.store import SqliteCallStore
from hotline.center.tickets import SqliteTicketStore
from hotline.center.webrtc_signalling import anonymous_caller
from hotline.ivr.lookups.customers import phone_key
from hotline.web.app import AppState, create_app
from hotline.web.softphone import customer_signature, normalise_phone
from tests.support.staff import add_staff, bearer

SECRET = "shop-signing-key"
SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"


class Setup:
    def __init__(self, http: httpx.AsyncClient, store: SqliteCallStore, offers: list[dict[str, Any]]) -> None:
        self.http, self.store, self.offers = http, store, offers

    async def call(self, **identity: str) -> httpx.Response:
        return await self.http.post("/api/webrtc/calls", json={"sdp": SDP, "type": "offer", **identity})


async def _worker(client: aioredis.Redis, offers: list[dict[str, Any]]) -> None:
    """A media worker's intake, reduced to the signalling: every offer is answered with a call id."""
    while True:
        item = await client.blpop([webrtc_offers_key("w1")], timeout=1)
        if item is None:
            continue
        offer = json.loads(item[1])
        offers.append(offer)
        await client.rpush(webrtc_answer_key(offer["id"]), json.dumps(
            {"sdp": "v=0 answer", "type": "answer", "call": f"webrtc-{len(offers)}", "worker": "w1"}))


@pytest.fixture
async def setup(tmp_path: Path, redis_server: EmbeddedRedis) -> AsyncIterator[Setup]:
    client, events = aioredis.from_url(redis_server.url), aioredis.from_url(redis_server.url)
    agents = AgentDirectory(client)
    await add_staff(agents)
    await client.hset(WORKERS_KEY, "w1", json.dumps({"calls": 0, "webrtc_calls": 0, "ts": time.time() + 3600}))
    store = SqliteCallStore(tmp_path / "calls.db")
    offers: list[dict[str, Any]] = []
    worker = asyncio.create_task(_worker(aioredis.from_url(redis_server.url), offers))

    async def listening() -> bool:
        return True

    async def crm(caller: str) -> dict[str, str]:
        return {}

    app = create_app(AppState(store, client, "127.0.0.1:5060", listening, "whisper", "base", tmp_path,
                              tickets=SqliteTicketStore(tmp_path / "tickets.db"), agents=agents,
                              acd=Acd(client, agents), call_events=CallEvents(events), crm=crm,
                              caller_signing_secret=SECRET))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        yield Setup(http, store, offers)
    worker.cancel()
    await asyncio.gather(worker, return_exceptions=True)
    await client.aclose()
    await events.aclose()


def test_phone_numbers_are_read_e164_ish() -> None:
    assert normalise_phone("+1 (555) 010-0") == "+15550100"
    assert normalise_phone("0044 161 555 0123") == "+441615550123"
    assert normalise_phone("07700 900123") == "07700900123"  # as dialled locally
    for bad in ("", "12345", "+0441615550123", "call me", "+1555010012345678", "5550100; DROP"):
        with pytest.raises(ValueError, match="6 to 15 digits"):
            normalise_phone(bad)


def test_anonymous_callers_never_share_an_identity_nor_match_a_number() -> None:
    callers = {anonymous_caller() for _ in range(200)}
    assert len(callers) == 200
    for caller in callers:
        assert caller.startswith("anonymous-") and caller.endswith("@webrtc")
        assert phone_key(caller) == ""  # no digits: a CRM matching numbers finds no one


async def test_each_browser_caller_gets_the_identity_it_proved(setup: Setup) -> None:
    r = await setup.call(phone="+1 555 0100 123")
    assert r.status_code == 200, r.text
    assert r.json()["caller"] == "sip:+15550100123@webrtc" and r.json()["call"] == "webrtc-1"
    assert setup.offers[-1]["caller"] == "sip:+15550100123@webrtc"  # what the worker's leg is called

    signed = await setup.call(customer="C-1001", sig=customer_signature(SECRET, "C-1001"))
    assert signed.status_code == 200, signed.text
    assert signed.json()["caller"] == setup.offers[-1]["caller"] == "customer:C-1001@webrtc"
    # the embedding site may send the signature in capitals
    upper = await setup.call(customer="C-1001", sig=customer_signature(SECRET, "C-1001").upper())
    assert upper.status_code == 200

    offered = len(setup.offers)
    forged = await setup.call(customer="C-1002", sig=customer_signature(SECRET, "C-1001"))
    assert forged.status_code == 403 and "signature is not valid" in forged.json()["detail"]
    unsigned = await setup.call(customer="C-1002")
    assert unsigned.status_code == 403
    other_key = await setup.call(customer="C-1002", sig=customer_signature("guessed", "C-1002"))
    assert other_key.status_code == 403
    bad_id = await setup.call(customer="C 1002; x", sig=customer_signature(SECRET, "C 1002; x"))
    assert bad_id.status_code == 422 and "customer id" in bad_id.json()["detail"]
    bad_number = await setup.call(phone="call me maybe")
    assert bad_number.status_code == 422 and "6 to 15 digits" in bad_number.json()["detail"]
    assert len(setup.offers) == offered  # refused before any worker heard of them

    first, second = (await setup.call()).json()["caller"], (await setup.call()).json()["caller"]
    assert first.startswith("anonymous-") and second.startswith("anonymous-") and first != second
    # a caller URI the browser makes up itself is not taken: the old free-text field is ignored
    claimed = await setup.http.post("/api/webrtc/calls", json={"sdp": SDP, "caller": "sip:+155501000@x"})
    assert claimed.json()["caller"].startswith("anonymous-")


async def test_without_a_signing_secret_customer_ids_are_refused(tmp_path: Path, redis_server: EmbeddedRedis) -> None:
    client = aioredis.from_url(redis_server.url)

    async def listening() -> bool:
        return True

    app = create_app(AppState(SqliteCallStore(tmp_path / "calls.db"), client, "127.0.0.1:5060", listening,
                              "whisper", "base", tmp_path))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        r = await http.post("/api/webrtc/calls", json={"sdp": SDP, "customer": "C-1", "sig": "00"})
        assert r.status_code == 403 and "no caller_signing_secret" in r.json()["detail"]
    await client.aclose()


async def test_one_browser_caller_s_history_is_not_shown_for_another(setup: Setup) -> None:
    anna = (await setup.call(phone="+15550100777")).json()["caller"]
    ben = (await setup.call(customer="C-2002", sig=customer_signature(SECRET, "C-2002"))).json()["caller"]
    strangers = [(await setup.call()).json()["caller"] for _ in range(2)]
    assert len({anna, ben, *strangers}) == 4
    now = time.time()
    for n, (call_id, caller) in enumerate([("anna-1", anna), ("ben-1", ben), ("anon-1", strangers[0]),
                                           ("anna-2", anna), ("ben-2", ben), ("anon-2", strangers[1])]):
        setup.store.save(CallRecord(call_id, f"webrtc-{call_id}", caller, "hotline", channel="webrtc",
                                    started_at=now - 600 + 60 * n, status="completed"))
    http = setup.http
    http.headers.update(await bearer(http, "alice"))

    async def history(call_id: str) -> list[str]:
        r = await http.get(f"/api/agent/calls/{call_id}/context")
        assert r.status_code == 200, r.text
        assert r.json()["call"]["from_uri"] == setup.store.get(call_id)["from_uri"]  # type: ignore[index]
        return [c["id"] for c in r.json()["previous_calls"]]

    assert await history("anna-2") == ["anna-1"]
    assert await history("ben-2") == ["ben-1"]
    assert await history("anon-2") == []  # the earlier anonymous caller was someone else

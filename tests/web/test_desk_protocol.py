"""The desk's WebSocket protocol against a real redis-server and the real app: rings that say who
is calling (the demo CRM), decline, ring timeout (not responding), the offers in the call's record,
status chosen during a call, not-ready reasons, a wrap-up that needs a disposition, bad messages,
and the caller's context (open tickets of every open status, previous calls with their wrap-up)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import redis.asyncio as aioredis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from hotline.center import acd as acd_module
from hotline.center.acd import Acd
from hotline.center.agents import AgentDirectory
from hotline.center.call_events import CallEvents
from hotline.center.records import CallRecord
from hotline.center.store import SqliteCallStore
from hotline.center.tickets import SqliteTicketStore
from hotline.ivr.lookups.customers import CustomerDirectory
from hotline.web.app import AppState, create_app
from tests.support.staff import add_staff, password_of

REPO = Path(__file__).resolve().parents[2]
PRIYA = "sip:+441615550123@127.0.0.1"  # the demo CRM's platinum customer Priya Shah
RING_TIMEOUT_S = 0.5


@dataclass
class Desk:
    app: FastAPI
    agents: AgentDirectory
    acd: Acd
    store: SqliteCallStore
    tickets: SqliteTicketStore
    redis: aioredis.Redis


def build(tmp_path: Path, redis_url: str) -> Desk:
    client, events_client = aioredis.from_url(redis_url), aioredis.from_url(redis_url)
    agents = AgentDirectory(client)
    customers = CustomerDirectory.from_file(REPO / "config" / "customers.yaml")

    async def crm(caller: str) -> dict[str, Any]:
        return await customers.lookup("customer", {"caller": caller})

    async def listening() -> bool:
        return True

    store, tickets = SqliteCallStore(tmp_path / "calls.db"), SqliteTicketStore(tmp_path / "tickets.db")
    acd = Acd(client, agents, ring_timeout_s=RING_TIMEOUT_S)
    app = create_app(AppState(store, client, "127.0.0.1:5060", listening, "whisper", "base", tmp_path,
                              tickets=tickets, agents=agents, acd=acd, call_events=CallEvents(events_client),
                              crm=crm))
    return Desk(app, agents, acd, store, tickets, client)


def receive(ws: WebSocketTestSession, timeout_s: float = 5.0) -> dict[str, Any]:
    """The desk's next message; a test that waits for one that never comes fails instead of hanging."""
    async def next_message() -> Any:
        with anyio.fail_after(timeout_s):
            return await ws._send_rx.receive()  # TestClient's receive has no timeout of its own

    message = ws.portal.call(next_message)
    assert "text" in message, message
    return json.loads(message["text"])  # type: ignore[no-any-return]


def until(ws: WebSocketTestSession, kind: str, **fields: Any) -> dict[str, Any]:
    """Read the desk's messages up to the first of `kind` with `fields`."""
    seen = []
    for _ in range(30):
        message = receive(ws)
        if message["type"] == kind and all(message.get(k) == v for k, v in fields.items()):
            return message
        seen.append(message)
    raise AssertionError(f"no {kind} {fields} in {seen}")


def login(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/auth/token", json={"username": username, "password": password_of(username)})
    assert r.status_code == 200, r.text
    return {"authorization": f"Bearer {r.json()['token']}"}


def save_call(desk: Desk, call: str, caller: str = PRIYA, **fields: Any) -> None:
    desk.store.save(CallRecord(id=call, sip_call_id=f"sip-{call}", from_uri=caller, to_uri="sip:hotline@test",
                               **fields))


def offers_of(desk: Desk, call: str, count: int) -> list[dict[str, Any]]:
    """The call record's offers once `count` are there (written just after the desk hears the outcome)."""
    deadline = time.monotonic() + 3.0
    while True:
        offers: list[dict[str, Any]] = (desk.store.get(call) or {}).get("offers") or []
        if len(offers) >= count or time.monotonic() > deadline:
            return offers
        time.sleep(0.05)


STAFF = {"alice": ["agent"], "bob": ["agent"], "ada": ["admin"]}


def test_ring_decline_timeout_and_the_offers_in_the_record(tmp_path: Path, redis_url: str) -> None:
    desk = build(tmp_path, redis_url)
    with TestClient(desk.app) as client:
        portal = client.portal
        assert portal is not None
        portal.call(add_staff, desk.agents, STAFF)
        with client.websocket_connect("/ws/agent", headers=login(client, "alice")) as alice, \
                client.websocket_connect("/ws/agent", headers=login(client, "bob")) as bob:
            hello = until(alice, "hello")
            assert hello["not_ready_reasons"][:2] == ["break", "lunch"] and hello["ring_timeout_s"] == RING_TIMEOUT_S
            until(bob, "hello")
            alice.send_json({"type": "state", "state": "available"})
            until(alice, "state", state="available")
            time.sleep(0.01)
            bob.send_json({"type": "state", "state": "available"})
            until(bob, "state", state="available")

            save_call(desk, "c1")
            portal.call(acd_module.enqueue, desk.redis, "c1", "w1", "address", "general", 1,
                        {"caller": PRIYA, "lang": "en", "transfer_reason": "change_address"})
            portal.call(desk.acd.step)
            ring = until(alice, "ring", call="c1")  # alice: the longest idle
            assert {k: ring[k] for k in ("caller", "caller_name", "vip", "reason", "language", "ring_timeout_s")} == {
                "caller": PRIYA, "caller_name": "Priya Shah", "vip": "platinum", "reason": "change of address",
                "language": "en", "ring_timeout_s": RING_TIMEOUT_S}
            assert ring["queue"] == "address" and ring["context"]["transfer_reason"] == "change_address"

            # available clicked while ringing: the ring stays
            alice.send_json({"type": "state", "state": "available"})
            assert until(alice, "state")["state"] == "ringing"
            # a decline withdraws the offer and rings bob at once (no ACD step in between)
            alice.send_json({"type": "decline", "call": "c1"})
            assert until(alice, "ring_cancelled")["reason"] == "declined"
            assert until(alice, "state")["state"] == "available"
            assert until(bob, "ring", call="c1")["caller_name"] == "Priya Shah"
            alice.send_json({"type": "decline", "call": "c1"})  # not hers any more
            assert "no longer ringing" in until(alice, "error")["detail"]

            # bob does not answer: not responding, and the call is not offered back to alice (she declined it)
            time.sleep(RING_TIMEOUT_S + 0.1)
            portal.call(desk.acd.step)
            assert until(bob, "ring_cancelled")["reason"] == "timeout"
            assert until(bob, "state")["state"] == "not_responding"
            assert portal.call(desk.redis.get, acd_module.call_key("c1")) is not None  # still waiting
            assert json.loads(portal.call(desk.redis.get, acd_module.call_key("c1")))["ringing"] == ""
            # bob is back: he chooses available and gets the call again (nobody else may take it)
            bob.send_json({"type": "state", "state": "available"})
            until(bob, "state", state="available")
            portal.call(desk.acd.step)
            until(bob, "ring", call="c1")
            # the caller hangs up while it rings
            portal.call(acd_module.cancel, desk.redis, "c1", "abandoned")
            portal.call(desk.acd.step)
            assert until(bob, "ring_cancelled")["reason"] == "abandoned"
            assert until(bob, "state")["state"] == "available"

        offers_of(desk, "c1", 3)
        record = client.get("/api/calls/c1", headers=login(client, "ada")).json()
        assert [(o["agent"], o["outcome"]) for o in record["offers"]] == [
            ("alice", "declined"), ("bob", "timeout"), ("bob", "abandoned")]
        assert record["offers"][1]["ring_s"] >= RING_TIMEOUT_S


def test_status_during_a_call_wrapup_and_bad_messages(tmp_path: Path, redis_url: str) -> None:
    desk = build(tmp_path, redis_url)
    with TestClient(desk.app) as client:
        portal = client.portal
        assert portal is not None
        portal.call(add_staff, desk.agents, STAFF)
        save_call(desk, "c2")
        with client.websocket_connect("/ws/agent", headers=login(client, "alice")) as alice:
            until(alice, "hello")
            # a malformed message gets an error; the desk stays connected
            alice.send_text("{not json")
            assert until(alice, "error")["detail"].startswith("send a JSON object")
            alice.send_json(["state", "away"])
            until(alice, "error")
            alice.send_bytes(b"\xff\x00")
            until(alice, "error")
            alice.send_json({"type": "dance"})
            assert "unknown message type" in until(alice, "error")["detail"]
            alice.send_json({"type": "state", "state": "on_call"})
            assert "state must be one of" in until(alice, "error")["detail"]
            alice.send_json({"type": "state", "state": "away", "reason": "nap"})
            assert "reason must be one of" in until(alice, "error")["detail"]
            alice.send_json({"type": "state", "state": "away", "reason": "lunch"})
            assert until(alice, "state", state="away")["reason"] == "lunch"
            # away while ringing: away at once, and the offer counts as declined
            alice.send_json({"type": "state", "state": "available"})
            until(alice, "state", state="available")
            save_call(desk, "c3")
            portal.call(acd_module.enqueue, desk.redis, "c3", "w1", "general", "", 0, {"caller": PRIYA})
            portal.call(desk.acd.step)
            until(alice, "ring", call="c3")
            alice.send_json({"type": "state", "state": "away", "reason": "meeting"})
            assert until(alice, "state")["state"] == "away"
            assert until(alice, "ring_cancelled")["reason"] == "declined"
            assert portal.call(desk.agents.presence, "alice").reason == "meeting"
            assert [o["outcome"] for o in offers_of(desk, "c3", 1)] == ["declined"]

            portal.call(desk.agents.set_state, "alice", "on_call", "c2")  # as after an answer
            until(alice, "state", state="on_call")
            alice.send_json({"type": "state", "state": "away", "reason": "break"})
            state = until(alice, "state")
            assert (state["state"], state["next_state"], state["reason"]) == ("on_call", "away", "break")
            alice.send_json({"type": "ended", "call": "c2"})
            state = until(alice, "state")
            assert (state["state"], state["next_state"]) == ("wrap_up", "away")

            # no disposition (or an unknown one): refused, still in wrap-up
            alice.send_json({"type": "wrapup", "call": "c2", "notes": "moved"})
            assert until(alice, "error")["detail"].startswith("choose a disposition")
            alice.send_json({"type": "wrapup", "call": "c2", "disposition": "great", "notes": "moved"})
            assert until(alice, "error")["detail"].startswith("choose a disposition")
            assert portal.call(desk.agents.presence, "alice").state == "wrap_up"
            assert desk.store.get("c2")["wrapup"] is None  # type: ignore[index]

            alice.send_json({"type": "wrapup", "call": "c2", "disposition": "follow_up", "notes": "address moved"})
            assert until(alice, "wrapup_saved") == {"type": "wrapup_saved", "call": "c2"}
            state = until(alice, "state")
            assert (state["state"], state["reason"], state["next_state"]) == ("away", "break", "")
        assert desk.store.get("c2")["wrapup"] == {  # type: ignore[index]
            "agent": "alice", "disposition": "follow_up", "notes": "address moved"}


def test_caller_context(tmp_path: Path, redis_url: str) -> None:
    desk = build(tmp_path, redis_url)
    with TestClient(desk.app) as client:
        assert client.portal is not None
        client.portal.call(add_staff, desk.agents, STAFF)
        save_call(desk, "old", started_at=time.time() - 3600, agent="bob",
                  wrapup={"agent": "bob", "disposition": "follow_up", "notes": "call back about the address"})
        save_call(desk, "now")
        save_call(desk, "stranger-1", caller="webrtc")
        save_call(desk, "stranger-2", caller="webrtc", wrapup={"agent": "bob", "disposition": "resolved", "notes": "x"})
        working = desk.tickets.create("address_change", caller=PRIYA, call_id="old")
        desk.tickets.update(working.ref, "bob", status="in_progress")
        done = desk.tickets.create("damage", caller=PRIYA, call_id="old")
        desk.tickets.update(done.ref, "bob", status="resolved")
        desk.tickets.create("missing", caller="sip:+449999999@x", call_id="x")  # someone else's
        headers = login(client, "alice")

        context = client.get("/api/agent/calls/now/context", headers=headers).json()
        assert (context["caller_name"], context["vip"]) == ("Priya Shah", "platinum")
        assert [t["ref"] for t in context["tickets"]] == [working.ref]
        assert [(c["id"], c["disposition"], c["notes"]) for c in context["previous_calls"]] == [
            ("old", "follow_up", "call back about the address")]
        # a browser caller with no identity of their own: nobody else's history
        anonymous = client.get("/api/agent/calls/stranger-1/context", headers=headers).json()
        assert anonymous["previous_calls"] == [] and anonymous["tickets"] == [] and anonymous["caller_name"] == ""
        assert client.get("/api/agent/calls/nope/context", headers=headers).status_code == 404

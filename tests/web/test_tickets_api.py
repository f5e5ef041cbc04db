"""Tickets over HTTP and the overdue reminder, against a real redis-server and a real SQLite store:
created from the API or a desk (the history names the logged-in user), worked through their statuses with a history, filtered,
and reminded to the assignee's desk channel once their SLA time passes."""

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

from hotline.center.agents import Agent, AgentDirectory, hash_password
from hotline.center.redis_server import EmbeddedRedis
from hotline.center.store import SqliteCallStore
from hotline.center.ticket_reminders import TicketReminders
from hotline.center.tickets import SqliteTicketStore
from hotline.web.app import AppState, create_app
from tests.support.staff import bearer


class Setup:
    def __init__(self, http: httpx.AsyncClient, tickets: SqliteTicketStore, agents: AgentDirectory,
                 client: aioredis.Redis) -> None:
        self.http, self.tickets, self.agents, self.redis = http, tickets, agents, client


@pytest.fixture
async def setup(tmp_path: Path, _tools_present: None) -> AsyncIterator[Setup]:
    server = EmbeddedRedis(tmp_path)
    await server.start()
    client = aioredis.from_url(server.url)
    agents = AgentDirectory(client)
    await agents.seed([Agent("alice", "Alice", ["general"], hash_password("alice-pass")),
                       Agent("bob", "Bob", ["general"], hash_password("bob-pass-12"))])
    tickets = SqliteTicketStore(tmp_path / "tickets.db")

    async def listening() -> bool:
        return True

    app = create_app(AppState(SqliteCallStore(tmp_path / "calls.db"), client, "127.0.0.1:5060", listening,
                              "whisper", "base", tmp_path, tickets=tickets, agents=agents))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        yield Setup(http, tickets, agents, client)
    await client.aclose()
    await server.stop()


async def test_tickets_are_created_worked_and_filtered_over_the_api(setup: Setup) -> None:
    http = setup.http
    alice = await bearer(http, "alice", "alice-pass")
    http.headers.update(await bearer(http, "bob", "bob-pass-12"))  # bob works the ticket below
    r = await http.post("/api/tickets", headers=alice, json={
        "type": "damage", "priority": "high", "caller": "+15550100", "parcel_number": "PX990312",
        "description": "box crushed", "call_id": "c1"})
    assert r.status_code == 201
    ticket = r.json()
    assert ticket["history"][0]["by"] == "alice" and ticket["status"] == "open"
    assert ticket["due_at"] == pytest.approx(ticket["created_at"] + 24 * 3600)  # the high priority's SLA
    ref = ticket["ref"]
    bad = await http.post("/api/tickets", json={"type": "complaint"})
    assert bad.status_code == 422 and "ticket type must be one of" in bad.json()["detail"]
    # a token in the URL is not a login; a made-up bearer token is not either
    assert (await http.post("/api/tickets", params={"token": "nope"}, json={"type": "other"},
                            headers={"authorization": ""})).status_code == 401
    assert (await http.post("/api/tickets", json={"type": "other"},
                            headers={"authorization": "Bearer nope"})).status_code == 401

    r = await http.patch(f"/api/tickets/{ref}", json={"status": "in_progress", "assignee": "bob", "note": "photos asked"})
    assert r.status_code == 200 and r.json()["assignee"] == "bob"
    r = await http.patch(f"/api/tickets/{ref}", json={"status": "resolved"})
    r = await http.patch(f"/api/tickets/{ref}", json={"status": "waiting"})
    assert r.status_code == 422 and r.json()["detail"].startswith("a resolved ticket cannot become waiting")
    assert (await http.patch("/api/tickets/999999", json={"status": "closed"})).status_code == 404
    history = (await http.get(f"/api/tickets/{ref}")).json()["history"]
    assert [h.get("status") for h in history if "status" in h] == ["open", "in_progress", "resolved"]
    assert any(h.get("note") == "photos asked" and h["by"] == "bob" for h in history)  # the logged-in user

    await http.post("/api/tickets", json={"type": "callback", "priority": "low"})
    assert [t["ref"] for t in (await http.get("/api/tickets", params={"assignee": "bob"})).json()] == [ref]
    assert [t["type"] for t in (await http.get("/api/tickets", params={"open_only": "true"})).json()] == ["callback"]
    page = await http.get("/tickets")
    assert page.status_code == 200 and 'id="f-overdue"' in page.text


async def test_an_overdue_ticket_is_reminded_to_its_assignee_once(setup: Setup) -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    reminders = TicketReminders(setup.tickets, setup.agents, setup.redis,
                                lambda event: events.append((event.type, event.data())), every_s=0.2)
    pubsub = setup.redis.pubsub()
    await pubsub.subscribe("hotline:agent:alice", "hotline:agent:bob")
    late = setup.tickets.create("damage", assignee="alice", due_at=time.time() + 0.5, description="crushed")
    setup.tickets.create("damage", due_at=time.time() + 3600)
    task = asyncio.create_task(reminders.run())
    got: list[tuple[str, dict[str, Any]]] = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not got:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
        if message is not None:
            got.append((message["channel"].decode(), json.loads(message["data"])))
    await asyncio.sleep(0.6)  # further checks must not remind again
    task.cancel()
    await pubsub.aclose()  # type: ignore[no-untyped-call]
    assert got and got[0][0] == "hotline:agent:alice"
    assert got[0][1]["type"] == "ticket_overdue" and got[0][1]["ticket"]["ref"] == late.ref
    assert [(k, d["ref"], d["notified"]) for k, d in events] == [("ticket.overdue", late.ref, ["alice"])]
    assert reminders.sent == 1

    # unassigned: every agent with an open desk
    await setup.agents.set_state("bob", "available")
    setup.tickets.create("missing", due_at=time.time() - 1)
    await reminders.check()
    assert events[-1][1]["notified"] == ["bob"]


async def test_an_assignee_must_be_an_agent(setup: Setup) -> None:
    http = setup.http
    await setup.agents.seed([Agent("quinn", "Quinn", [], hash_password("quinn-pass-1"), ["qa"])])
    http.headers.update(await bearer(http, "alice", "alice-pass"))
    assert (await http.get("/api/tickets/assignees")).json() == [{"username": "alice", "name": "Alice"},
                                                                 {"username": "bob", "name": "Bob"}]
    typo = await http.post("/api/tickets", json={"type": "damage", "assignee": "bobb", "description": "crushed"})
    assert typo.status_code == 422
    assert typo.json()["detail"] == "assignee 'bobb' is no user: assign to an agent (alice, bob) or leave it empty"
    qa = await http.post("/api/tickets", json={"type": "damage", "assignee": "quinn"})
    assert qa.status_code == 422 and "'quinn' is not an agent" in qa.json()["detail"]
    assert (await http.get("/api/tickets")).json() == []  # nothing was created
    made = await http.post("/api/tickets", json={"type": "damage", "assignee": "bob"})
    assert made.status_code == 201 and made.json()["assignee"] == "bob"
    ref = made.json()["ref"]
    moved = await http.patch(f"/api/tickets/{ref}", json={"assignee": "alcie"})
    assert moved.status_code == 422 and "'alcie' is no user" in moved.json()["detail"]
    assert (await http.get(f"/api/tickets/{ref}")).json()["assignee"] == "bob"  # unchanged
    # one assigned before the check (by a flow, say) stays until changed, and does not block other changes
    legacy = setup.tickets.create("callback", assignee="night-desk")
    kept = await http.patch(f"/api/tickets/{legacy.ref}", json={"assignee": "night-desk", "status": "in_progress"})
    assert kept.status_code == 200 and kept.json()["status"] == "in_progress"
    unassigned = await http.patch(f"/api/tickets/{ref}", json={"assignee": ""})
    assert unassigned.status_code == 200 and unassigned.json()["assignee"] == ""

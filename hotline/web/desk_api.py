"""The agent desk's server side: the desk WebSocket (presence, ringing, live call events), the
caller's context, and answering a queued call with the desk's WebRTC softphone. Who may use them is
decided in `hotline.web.access`; the WebSocket's user is the session's."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect

from hotline.center import desk_control
from hotline.center.acd import Acd
from hotline.center.agents import READY_STATES, AgentDirectory, AgentState
from hotline.center.assist_service import AssistService
from hotline.center.bus import CallEvent
from hotline.center.call_events import CallEvents
from hotline.center.desk_control import DeskRequest
from hotline.center.keys import LIVE_CALLS_KEY, agent_channel
from hotline.center.store import CallStore
from hotline.center.tickets import TicketStore
from hotline.center.webrtc_signalling import SignallingError, request_call
from hotline.web.access import Access, Principal

log = logging.getLogger(__name__)
SESSION_CHECK_S = 5.0
DISPOSITIONS = ("resolved", "follow_up", "ticket_created", "transferred", "no_answer", "other")


CustomerLookup = Callable[[str], Awaitable[dict[str, Any]]]


def desk_router(client: aioredis.Redis, agents: AgentDirectory, acd: Acd, events: CallEvents, store: CallStore,
                tickets: TicketStore | None, access: Access, crm: CustomerLookup | None = None,
                assist: AssistService | None = None) -> APIRouter:
    router = APIRouter(tags=["agents"])

    @router.get("/api/agent/calls/{call_id}/context")
    async def call_context(call_id: str) -> dict[str, Any]:
        """What the desk shows about a caller: the call so far, previous calls, open tickets."""
        record = store.get(call_id)
        if record is None:
            raise HTTPException(status_code=404, detail="no such call")
        caller = record.get("from_uri", "")
        previous = [c for c in store.recent(200) if c.get("from_uri") == caller and c["id"] != call_id][:10]
        open_tickets = [t.to_dict() for t in (tickets.list("open", 200) if tickets else []) if t.caller == caller]
        customer: dict[str, Any] = {}
        if crm is not None:
            try:
                customer = await asyncio.wait_for(crm(caller), 3.0)
            except Exception as exc:  # noqa: BLE001 (the desk works without CRM fields; it says why)
                customer = {"error": type(exc).__name__}
        return {"call": record, "customer": customer, "previous_calls": [
            {"id": c["id"], "started_at": c["started_at"], "outcome": c.get("outcome"), "agent": c.get("agent"),
             "path_end": (c.get("ivr_path") or [""])[-1]} for c in previous], "tickets": open_tickets}

    @router.websocket("/ws/agent")
    async def desk_socket(ws: WebSocket) -> None:
        principal: Principal = ws.state.principal  # set by the access check (role agent)
        agent = principal.agent
        await ws.accept()
        me = agent.username
        outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue(1000)
        unwatch: list[Callable[[], None]] = []

        def on_call_event(event: CallEvent) -> None:
            with contextlib.suppress(asyncio.QueueFull):
                outbox.put_nowait({"type": "call_event", "event": event.as_message()})

        pubsub = client.pubsub()
        await pubsub.subscribe(agent_channel(me))

        async def forward_agent_channel() -> None:
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is not None and message.get("type") == "message":
                    outbox.put_nowait(json.loads(message["data"]))

        async def send_loop() -> None:
            while True:
                await ws.send_json(await outbox.get())

        async def session_watch() -> None:
            """Logging out (here, everywhere, or revoked by an admin) closes the desk too."""
            while True:
                await asyncio.sleep(SESSION_CHECK_S)
                with contextlib.suppress(aioredis.RedisError, OSError):
                    if not await access.auth.sessions.alive(principal.session):
                        await ws.close(code=4401, reason="your session ended: log in again")
                        return

        tasks = [asyncio.create_task(forward_agent_channel()), asyncio.create_task(send_loop()),
                 asyncio.create_task(session_watch())]
        presence = await agents.reconnected(me)
        outbox.put_nowait({"type": "hello", "agent": agent.public(), "state": presence.state, "call": presence.call})
        try:
            while True:
                message = await ws.receive_json()
                kind = message.get("type")
                if kind == "state" and message.get("state") in READY_STATES:
                    await agents.set_state(me, str(message["state"]))
                elif kind == "answer":
                    reply = await _answer(me, str(message.get("call", "")), str(message.get("sdp", "")))
                    if "sdp" in reply:
                        unwatch.append(events.watch(str(message["call"]), on_call_event))
                    outbox.put_nowait({"type": "answered", **reply})
                elif kind == "wrapup":
                    call = str(message.get("call", ""))
                    disposition = str(message.get("disposition", "other"))
                    if disposition not in DISPOSITIONS:
                        outbox.put_nowait({"type": "error", "detail": f"disposition must be one of {DISPOSITIONS}"})
                        continue
                    wrapup = {"agent": me, "disposition": disposition, "notes": str(message.get("notes", ""))[:4000]}
                    await asyncio.to_thread(store.annotate, call, "wrapup", wrapup)  # SQLite off the app's loop
                    await agents.set_state(me, AgentState.AVAILABLE)
                elif kind in ("hold", "resume", "transfer"):
                    call = str(message.get("call", ""))
                    worker = await client.hget(LIVE_CALLS_KEY, call)
                    if worker is None:
                        outbox.put_nowait({"type": "error", "detail": "the call is over"})
                        continue
                    target_agent = str(message.get("agent", "")) if kind == "transfer" else ""
                    if target_agent and await agents.get(target_agent) is None:
                        outbox.put_nowait({"type": "error", "detail": f"no agent {target_agent!r}"})
                        continue
                    request = DeskRequest(op=kind, call=call, by=me, queue=str(message.get("queue") or "general"),
                                          skill=str(message.get("skill", "")), agent=target_agent)
                    await desk_control.send(client, worker.decode() if isinstance(worker, bytes) else str(worker),
                                            request)
                elif kind == "assist_feedback":
                    call, verdict = str(message.get("call", "")), str(message.get("verdict", ""))
                    n = message.get("n")
                    if assist is None:
                        error: str | None = "knowledge suggestions are not enabled"
                    elif not isinstance(n, int):
                        error = "n must be the card number"
                    else:
                        error = assist.feedback(call, n, verdict, me)
                    outbox.put_nowait({"type": "error", "detail": error} if error else
                                      {"type": "assist_feedback_saved", "call": call, "n": n, "verdict": verdict})
                elif kind == "ended":
                    await agents.set_state(me, AgentState.WRAP_UP, str(message.get("call", "")))
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            for stop in unwatch:
                stop()
            for task in tasks:
                task.cancel()
            with contextlib.suppress(Exception):
                await pubsub.unsubscribe()
                await pubsub.aclose()
            with contextlib.suppress(Exception):
                await agents.disconnected(me)

    async def _answer(agent: str, call: str, sdp: str) -> dict[str, Any]:
        entry = await acd.answer(call, agent)
        if entry is None:
            return {"error": "this call is no longer ringing for you", "call": call}
        try:
            answer = await request_call(client, str(entry["worker"]), sdp, agent, bridge=call)
        except SignallingError as exc:
            await agents.set_state(agent, AgentState.AVAILABLE)
            return {"error": str(exc), "call": call}
        await agents.set_state(agent, AgentState.ON_CALL, call)
        return {"call": call, "sdp": answer["sdp"]}

    return router


"""The agent desk's server side: the desk WebSocket (presence, ringing, live call events), the
caller's context, answering a queued call with the desk's WebRTC softphone, and recording the
knowledge articles the agent finds with the desk's search during a call (`assist_search`; the search
itself is `GET /api/agent/knowledge/search` in `hotline.web.knowledge_api`). Who may use them is
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
from hotline.center.acd import Acd, vip_level
from hotline.center.agents import BUSY_STATES, NOT_READY_REASONS, AgentDirectory, AgentError, AgentState
from hotline.center.assist_service import AssistService
from hotline.center.bus import CallEvent
from hotline.center.call_events import CallEvents
from hotline.center.desk_control import DeskRequest
from hotline.center.keys import LIVE_CALLS_KEY, agent_channel
from hotline.center.nodes import NodeDirectory
from hotline.center.store import CallStore
from hotline.center.tickets import TicketFilter, TicketStore
from hotline.center.webrtc_signalling import SignallingError, request_call
from hotline.web.access import Access, Principal

log = logging.getLogger(__name__)
SESSION_CHECK_S = 5.0
RING_LOOKUP_S = 1.0  # a ring waits this long at most for the CRM's name of the caller
CONTEXT_LOOKUP_S = 3.0
DISPOSITIONS = ("resolved", "follow_up", "ticket_created", "transferred", "no_answer", "other")
DESK_OPS: dict[str, desk_control.Op] = {"hold": "hold", "resume": "resume", "transfer": "transfer"}
# callers with no identity of their own (the browser page's default): no history is theirs
ANONYMOUS = ("", "webrtc", "anonymous", "unknown")


CustomerLookup = Callable[[str], Awaitable[dict[str, Any]]]


def identified(caller: str) -> bool:
    """Whether a caller's number or URI names someone (whose previous calls and tickets are theirs)."""
    return caller.split(":", 1)[-1].split("@", 1)[0].strip().lower() not in ANONYMOUS


def customer_facts(customer: dict[str, Any]) -> dict[str, str]:
    """The CRM's name, VIP level and language of a lookup's answer ("" where it does not say)."""
    if not customer or customer.get("found") == "no" or "error" in customer:
        return {"caller_name": "", "vip": "", "language": ""}
    return {"caller_name": str(customer.get("name") or ""), "vip": vip_level(customer.get("vip")),
            "language": str(customer.get("preferred_language") or customer.get("language") or "")}


def desk_router(client: aioredis.Redis, agents: AgentDirectory, acd: Acd, events: CallEvents, store: CallStore,
                tickets: TicketStore | None, access: Access, crm: CustomerLookup | None = None,
                assist: AssistService | None = None, nodes: NodeDirectory | None = None) -> APIRouter:
    router = APIRouter(tags=["agents"])
    if acd.store is None:
        acd.keep_offers_in(store)  # each offer and its outcome goes into the call's record

    async def lookup(caller: str, timeout_s: float) -> dict[str, Any]:
        if crm is None or not identified(caller):
            return {}
        try:
            return await asyncio.wait_for(crm(caller), timeout_s)
        except Exception as exc:  # noqa: BLE001 (the desk works without CRM fields; it says why)
            return {"error": type(exc).__name__}

    def history(caller: str, call_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The caller's previous calls and open tickets (SQLite: run off the app's loop)."""
        if not identified(caller):
            return [], []
        previous = [c for c in store.recent(200) if c.get("from_uri") == caller and c["id"] != call_id][:10]
        calls = []
        for c in previous:
            wrapup = c.get("wrapup") or {}
            calls.append({"id": c["id"], "started_at": c["started_at"], "outcome": c.get("outcome"),
                          "agent": c.get("agent"), "path_end": (c.get("ivr_path") or [""])[-1],
                          "duration_s": c.get("duration_s"), "disposition": wrapup.get("disposition", ""),
                          "notes": wrapup.get("notes", "")})
        found = tickets.list(None, 200, filters=TicketFilter(caller=caller, open_only=True)) if tickets else []
        return calls, [t.to_dict() for t in found]

    @router.get("/api/agent/calls/{call_id}/context")
    async def call_context(call_id: str) -> dict[str, Any]:
        """What the desk shows about a caller: the call so far, the CRM's fields (name and VIP level
        at the top), previous calls with their wrap-up, and tickets not yet resolved or closed."""
        record = await asyncio.to_thread(store.get, call_id)
        if record is None:
            raise HTTPException(status_code=404, detail="no such call")
        caller = str(record.get("from_uri", ""))
        customer = await lookup(caller, CONTEXT_LOOKUP_S)
        previous, open_tickets = await asyncio.to_thread(history, caller, call_id)
        return {"call": record, "customer": customer, "caller": caller, **customer_facts(customer),
                "previous_calls": previous, "tickets": open_tickets}

    async def with_customer(ring: dict[str, Any]) -> dict[str, Any]:
        """A ring from the ACD, with the CRM's name and VIP level of the caller where the call's
        variables did not have them."""
        if ring.get("caller_name") and ring.get("vip"):
            return ring
        facts = customer_facts(await lookup(str(ring.get("caller", "")), RING_LOOKUP_S))
        return {**ring, **{k: ring.get(k) or v for k, v in facts.items()}}

    @router.websocket("/ws/agent")
    async def desk_socket(ws: WebSocket) -> None:
        principal: Principal = ws.state.principal  # set by the access check (role agent)
        agent = principal.agent
        await ws.accept()
        me = agent.username
        outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue(1000)
        unwatch: list[Callable[[], None]] = []

        def send(message: dict[str, Any]) -> None:
            with contextlib.suppress(asyncio.QueueFull):  # a desk that reads nothing loses messages, not the server
                outbox.put_nowait(message)

        def on_call_event(event: CallEvent) -> None:
            send({"type": "call_event", "event": event.as_message()})

        pubsub = client.pubsub()
        await pubsub.subscribe(agent_channel(me))

        async def forward_agent_channel() -> None:
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is None or message.get("type") != "message":
                    continue
                try:
                    data = json.loads(message["data"])
                except ValueError:
                    log.warning("desk: unreadable message on the agent channel", extra={"agent": me})
                    continue
                if isinstance(data, dict):
                    send(await with_customer(data) if data.get("type") == "ring" else data)

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

        async def handle(message: dict[str, Any]) -> None:
            kind = message.get("type") if isinstance(message.get("type"), str) else ""
            call = str(message.get("call") or "")
            if kind == "state":
                await choose_state(str(message.get("state", "")), str(message.get("reason") or ""))
            elif kind == "answer":
                reply = await _answer(me, call, str(message.get("sdp", "")))
                if "sdp" in reply:
                    unwatch.append(events.watch(call, on_call_event))
                send({"type": "answered", **reply})
            elif kind == "decline":
                if not await acd.decline(call, me):
                    send({"type": "error", "detail": "this call is no longer ringing for you", "call": call})
            elif kind == "wrapup":
                await wrapup(call, message)
            elif kind in DESK_OPS:
                await desk_request(DESK_OPS[kind], call, message)
            elif kind == "assist_feedback":
                verdict, n = str(message.get("verdict", "")), message.get("n")
                if assist is None:
                    error: str | None = "knowledge suggestions are not enabled"
                elif not isinstance(n, int):
                    error = "n must be the card number"
                else:
                    error = assist.feedback(call, n, verdict, me)
                send({"type": "error", "detail": error} if error else
                     {"type": "assist_feedback_saved", "call": call, "n": n, "verdict": verdict})
            elif kind == "assist_search":
                await search_opened(call, message)
            elif kind == "ended":
                await agents.wrap_up(me, call)
            else:
                send({"type": "error", "detail": f"unknown message type {str(kind)[:40]!r}"})

        async def search_opened(call: str, message: dict[str, Any]) -> None:
            """An article found with the desk's search, opened during the agent's call: recorded on the
            call as a card (`AssistService.record_search`); its number comes back for "used"."""
            article, language = str(message.get("article") or ""), str(message.get("language") or "en")[:8]
            rank = message.get("rank")
            if assist is None:
                send({"type": "error", "detail": "knowledge suggestions are not enabled"})
                return
            if not call or (await agents.presence(me)).call != call:
                send({"type": "error", "detail": "open a found article during your call to record it", "call": call})
                return
            n = await asyncio.wrap_future(assist.record_search(call, article, language, me,
                                                               rank if isinstance(rank, int) else None))
            if n is None:
                send({"type": "error", "detail": f"no article {article[:80]!r} or no such call", "call": call})
                return
            send({"type": "assist_search_saved", "call": call, "n": n, "article": article})

        async def choose_state(state: str, reason: str) -> None:
            """A status button: during a call it is for after the call (the `state` message says so)."""
            before = await agents.presence(me)
            try:
                await agents.choose(me, state, reason)
            except AgentError as exc:
                send({"type": "error", "detail": str(exc)})
                return
            if before.state == AgentState.RINGING and state == AgentState.AWAY:
                await acd.decline(before.call, me)  # away while ringing: the call goes to the next agent

        async def wrapup(call: str, message: dict[str, Any]) -> None:
            disposition = str(message.get("disposition") or "")
            if not call:
                send({"type": "error", "detail": "wrapup needs the call"})
                return
            if disposition not in DISPOSITIONS:
                send({"type": "error", "call": call,
                      "detail": f"choose a disposition (one of {', '.join(DISPOSITIONS)})"})
                return
            notes = message.get("notes")
            record = {"agent": me, "disposition": disposition, "notes": str(notes if notes is not None else "")[:4000]}
            await asyncio.to_thread(store.annotate, call, "wrapup", record)  # SQLite off the app's loop
            send({"type": "wrapup_saved", "call": call})
            if (await agents.presence(me)).state in BUSY_STATES:
                await agents.after_call(me)

        async def desk_request(kind: desk_control.Op, call: str, message: dict[str, Any]) -> None:
            worker = await client.hget(LIVE_CALLS_KEY, call)
            if worker is None:
                send({"type": "error", "detail": "the call is over"})
                return
            target_agent = str(message.get("agent") or "") if kind == "transfer" else ""
            if target_agent and await agents.get(target_agent) is None:
                send({"type": "error", "detail": f"no agent {target_agent!r}"})
                return
            request = DeskRequest(op=kind, call=call, by=me, queue=str(message.get("queue") or "general"),
                                  skill=str(message.get("skill") or ""), agent=target_agent)
            await desk_control.send(client, worker.decode() if isinstance(worker, bytes) else str(worker), request)

        tasks = [asyncio.create_task(forward_agent_channel()), asyncio.create_task(send_loop()),
                 asyncio.create_task(session_watch())]
        presence = await agents.reconnected(me)
        if nodes is not None:  # if this node dies, whoever cleans up after it sets her offline
            await nodes.desk_opened(me)
        send({"type": "hello", "agent": agent.public(), "state": presence.state, "call": presence.call,
              "reason": presence.reason, "next_state": presence.next_state,
              "not_ready_reasons": list(NOT_READY_REASONS), "dispositions": list(DISPOSITIONS),
              "ring_timeout_s": acd.ring_timeout_s})
        try:
            while True:
                frame = await ws.receive()
                if frame["type"] == "websocket.disconnect":
                    break
                try:
                    message = json.loads(frame.get("text") or frame.get("bytes") or b"")
                except ValueError:  # UnicodeDecodeError included
                    message = None
                if not isinstance(message, dict):
                    send({"type": "error", "detail": "send a JSON object with a \"type\""})
                    continue
                try:
                    await handle(message)
                except Exception:  # noqa: BLE001 (one message failing must not close the agent's desk)
                    log.exception("desk: message not handled", extra={"agent": me, "type": str(message.get("type"))})
                    send({"type": "error", "detail": "the server could not do that just now: try again"})
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
                if nodes is not None:
                    await nodes.desk_closed(me)

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


"""Automatic call distribution: queued callers meet available agents with the right skill.

Workers put requests on a Redis list (enqueue, cancel); the ACD loop in the app server keeps the
waiting calls in Redis (a sorted set: higher priority first, then the longest waiting), rings the
longest-idle available agent with the queue's skill and hands an answering agent to the caller's
worker. An offer the agent declines goes to the next agent at once (never back to her for that
call); one unanswered for the ring timeout sets the agent not-responding and goes to the next agent
at once. Every offer and its outcome is appended to the call's record (`offers`). All queue state
is in Redis, so a server restart keeps queues and presence.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import redis.asyncio as aioredis

from hotline.center.agents import AgentDirectory, AgentState
from hotline.center.keys import ACD_LOCK_KEY, agent_channel
from hotline.center.keys import ACD_REQUESTS_KEY as REQUESTS_KEY
from hotline.center.keys import ACD_STATS_KEY as STATS_KEY
from hotline.center.keys import ACD_WAITING_KEY as WAITING_KEY
from hotline.center.keys import acd_call_key as call_key
from hotline.center.store import CallStore
from hotline.system import metrics
from hotline.system.loops import supervised

log = logging.getLogger(__name__)

# what an offer came to (an offer's `outcome` in the record, a `ring_cancelled` message's `reason`)
ANSWERED, DECLINED, TIMEOUT, ABANDONED = "answered", "declined", "timeout", "abandoned"
LOCK_TTL_S = 10.0  # the cluster-wide ACD lock expires if its holder dies
WITHDRAWN = "withdrawn"  # the ringing desk went away or left the ringing state on its own
# the call's variables that say why the caller wants an agent, first found wins
REASON_KEYS = ("transfer_reason", "problem", "choice")
REASON_WORDS = {"change_address": "change of address", "address": "change of address", "damage": "damaged parcel",
                "missing": "missing parcel", "not_received": "parcel not received", "tracking": "parcel tracking",
                "track": "parcel tracking", "redelivery": "redelivery", "problem": "parcel problem",
                "hours": "opening hours"}
NO_VIP = ("", "none", "no", "false", "0")


def score(priority: int, enqueued_at: float) -> float:
    return -priority * 1e10 + enqueued_at


def reason_in_words(context: Mapping[str, Any]) -> str:
    """Why the caller wants an agent, for people ("change of address"); "" if the call does not say."""
    for key in REASON_KEYS:
        value = str(context.get(key) or "").strip()
        if value:
            return REASON_WORDS.get(value, value.replace("_", " "))
    return ""


def vip_level(value: Any) -> str:
    """A CRM's VIP level, "" for none."""
    level = str(value or "").strip()
    return "" if level.lower() in NO_VIP else level


def ring_message(call: str, data: Mapping[str, Any], now: float, ring_timeout_s: float) -> dict[str, Any]:
    """The desk's `ring`: the call, and who is calling and why, in words the agent reads at a glance.
    The CRM's name and VIP level come from the call's variables here; the desk adds a lookup's."""
    context: Mapping[str, Any] = data.get("context") or {}
    return {"type": "ring", "call": call, "queue": data["queue"], "skill": data["skill"], "context": context,
            "waited_s": round(now - float(data["at"]), 1), "caller": str(context.get("caller", "")),
            "caller_name": str(context.get("crm.name") or context.get("customer.name") or ""),
            "reason": reason_in_words(context), "language": str(context.get("lang") or context.get("language") or ""),
            "vip": vip_level(context.get("crm.vip") or context.get("customer.vip")),
            "ring_timeout_s": ring_timeout_s}


async def enqueue(client: aioredis.Redis, call: str, worker: str, queue: str, skill: str, priority: int,
                  context: dict[str, str], agent: str = "") -> None:
    """Worker side: ask for an agent (with `agent`: that agent only, e.g. a transfer from the desk)."""
    await client.rpush(REQUESTS_KEY, json.dumps({"op": "enqueue", "call": call, "worker": worker, "queue": queue,
                                                 "skill": skill, "priority": priority, "context": context,
                                                 "agent": agent, "at": time.time()}))


async def cancel(client: aioredis.Redis, call: str, reason: str) -> None:
    """Worker side: the caller hung up (abandoned) or waited too long (overflow)."""
    await client.rpush(REQUESTS_KEY, json.dumps({"op": "cancel", "call": call, "reason": reason}))


async def position(client: aioredis.Redis, call: str) -> int | None:
    rank = await client.zrank(WAITING_KEY, call)
    return rank + 1 if isinstance(rank, int) else None


class Acd:
    """The ACD loop (`run`) and what desks do to an offer (`answer`, `decline`). One lock orders
    them, so that an answer or a decline never races the loop's ring timeout: an asyncio lock in
    this process, and a Redis lock (:data:`ACD_LOCK_KEY`, expiring) across the cluster, since every
    node runs the loop and any node's desk may answer. A node that dies holding it delays the others
    by at most LOCK_TTL_S."""

    def __init__(self, client: aioredis.Redis, agents: AgentDirectory, ring_timeout_s: float = 15.0,
                 store: CallStore | None = None) -> None:
        self.redis = client
        self.agents = agents
        self.ring_timeout_s = ring_timeout_s
        self.store = store
        self._local = asyncio.Lock()
        self._offers: list[tuple[str, dict[str, Any]]] = []  # (call, offer with its outcome) to write
        self._write_lock = asyncio.Lock()  # offers reach a record in the order they ended

    def keep_offers_in(self, store: CallStore) -> None:
        """Append each offer and its outcome to the call's record in `store` (`offers`)."""
        self.store = store

    @contextlib.asynccontextmanager
    async def _ordered(self) -> AsyncIterator[None]:
        async with self._local, self.redis.lock(ACD_LOCK_KEY, timeout=LOCK_TTL_S, blocking_timeout=LOCK_TTL_S):
            yield

    async def run(self) -> None:
        await supervised(self.step, name="acd", every_s=0.2)

    async def step(self) -> None:
        async with self._ordered():
            while True:
                raw = await self.redis.lpop(REQUESTS_KEY)
                if raw is None or isinstance(raw, list):
                    break
                try:
                    request = json.loads(raw)
                    op, call = request.get("op"), str(request["call"])
                except (ValueError, KeyError, TypeError, AttributeError):
                    log.warning("acd: malformed request dropped")
                    continue
                if op == "enqueue":
                    await self._enqueue(request)
                elif op == "cancel":
                    await self._cancel(call, str(request.get("reason", ABANDONED)))
            await self._match()
        await self._write_offers()

    async def _enqueue(self, request: dict[str, Any]) -> None:
        call = str(request["call"])
        data = {**request, "ringing": "", "ring_at": 0.0, "tried": [], "declined": []}
        await self.redis.set(call_key(call), json.dumps(data))
        await self.redis.zadd(WAITING_KEY, {call: score(int(request.get("priority", 0)), float(request["at"]))})
        log.info("acd: call queued", extra={"call": call, "queue": request.get("queue"), "skill": request.get("skill")})

    async def _load(self, call: str) -> dict[str, Any] | None:
        raw = await self.redis.get(call_key(call))
        return json.loads(raw) if raw else None

    def _offer_ended(self, call: str, data: dict[str, Any], outcome: str, now: float) -> None:
        ring_at = float(data["ring_at"])
        self._offers.append((call, {"agent": data["ringing"], "at": round(ring_at, 3), "outcome": outcome,
                                    "ring_s": round(max(0.0, now - ring_at), 1), "queue": data.get("queue", "")}))

    async def _write_offers(self) -> None:
        async with self._write_lock:
            offers, self._offers = self._offers, []
            if self.store is None:
                return
            for call, offer in offers:
                try:  # SQLite: off the app's loop
                    found = await asyncio.to_thread(self.store.append, call, "$.offers", offer)
                except Exception:  # noqa: BLE001 (a record write must not stop the ACD)
                    log.exception("acd: offer not written to the record", extra={"call": call})
                    continue
                if not found:
                    log.warning("acd: no record for the offer", extra={"call": call, "outcome": offer["outcome"]})

    async def _cancel(self, call: str, reason: str) -> None:
        data = await self._load(call)
        await self.redis.zrem(WAITING_KEY, call)
        await self.redis.delete(call_key(call))
        if data is None:
            return
        now = time.time()
        if data.get("ringing"):
            self._offer_ended(call, data, reason, now)
            await self._unring(data["ringing"], call, reason, AgentState.AVAILABLE)
        await self.redis.hincrby(STATS_KEY, reason, 1)
        metrics.acd_wait_seconds().labels(str(data.get("queue", "")), reason).observe(max(0.0, now - float(data["at"])))
        log.info("acd: call left the queue", extra={"call": call, "reason": reason,
                                                    "waited_s": round(now - float(data["at"]), 1)})

    async def _unring(self, agent: str, call: str, reason: str, then: str) -> None:
        """The offer to `agent` is over: her desk is told why, and a ringing agent goes to `then`."""
        await self.redis.publish(agent_channel(agent), json.dumps({"type": "ring_cancelled", "call": call,
                                                                   "reason": reason}))
        presence = await self.agents.presence(agent)
        if presence.state == AgentState.RINGING and presence.call == call:
            await self.agents.set_state(agent, then)

    async def _match(self) -> None:
        waiting = [c.decode() if isinstance(c, bytes) else str(c) for c in await self.redis.zrange(WAITING_KEY, 0, -1)]
        if not waiting:
            return
        agents = {a.username: a for a in await self.agents.all()}
        presence = await self.agents.all_presence()
        now = time.time()
        for call in waiting:
            data = await self._load(call)
            if data is None:
                await self.redis.zrem(WAITING_KEY, call)
                continue
            data.setdefault("declined", [])  # queued before declines existed
            if data["ringing"]:
                rung = presence.get(data["ringing"])
                if rung is not None and rung.state == AgentState.RINGING and rung.call == call:
                    if now - float(data["ring_at"]) < self.ring_timeout_s:
                        continue
                    outcome, then = TIMEOUT, AgentState.NOT_RESPONDING
                else:  # her desk went away, or she left the ringing state some other way
                    outcome, then = WITHDRAWN, AgentState.AVAILABLE
                missed = data["ringing"]
                self._offer_ended(call, data, outcome, now)
                data["tried"].append(missed)
                data["ringing"] = ""
                await self.redis.set(call_key(call), json.dumps(data))
                await self._unring(missed, call, outcome, then)
                await self.redis.hincrby(STATS_KEY, f"ring_{outcome}", 1)
                presence = await self.agents.all_presence()
                log.info("acd: offer not taken", extra={"call": call, "agent": missed, "outcome": outcome})
            candidates = [(p.since, name) for name, p in presence.items()
                          if p.state == AgentState.AVAILABLE and name in agents and agents[name].has_skill(data["skill"])
                          and data.get("agent") in (None, "", name) and name not in data["declined"]]
            fresh = [c for c in candidates if c[1] not in data["tried"]]
            if not fresh and candidates:
                data["tried"] = []  # everyone eligible missed it once (and is available again): start again
                fresh = candidates
            if not fresh:
                await self.redis.set(call_key(call), json.dumps(data))
                continue
            _, agent = min(fresh)  # longest idle
            data["ringing"], data["ring_at"] = agent, now
            await self.redis.set(call_key(call), json.dumps(data))
            presence[agent] = await self.agents.set_state(agent, AgentState.RINGING, call)
            await self.redis.publish(agent_channel(agent), json.dumps(ring_message(call, data, now,
                                                                                   self.ring_timeout_s)))
            log.info("acd: ringing agent", extra={"call": call, "agent": agent})

    async def answer(self, call: str, agent: str) -> dict[str, Any] | None:
        """The agent took the call: returns the call's queue entry (with its worker), or None if it
        is not ringing this agent any more."""
        async with self._ordered():
            data = await self._load(call)
            if data is None or data.get("ringing") != agent:
                return None
            now = time.time()
            self._offer_ended(call, data, ANSWERED, now)
            await self.redis.zrem(WAITING_KEY, call)
            await self.redis.delete(call_key(call))
            await self.redis.hincrby(STATS_KEY, "answered", 1)
            await self.redis.hincrbyfloat(STATS_KEY, "wait_s_total", now - float(data["at"]))
            metrics.acd_wait_seconds().labels(str(data.get("queue", "")), ANSWERED).observe(
                max(0.0, now - float(data["at"])))
            await self.redis.publish(agent_channel(agent), json.dumps({"type": "ring_cancelled", "call": call,
                                                                       "reason": ANSWERED}))
        await self._write_offers()
        return data

    async def decline(self, call: str, agent: str) -> bool:
        """The agent turned the offer down: she stays available, and the call goes to the next
        eligible agent at once (never back to her). False if the call is not ringing her."""
        async with self._ordered():
            data = await self._load(call)
            if data is None or data.get("ringing") != agent:
                return False
            self._offer_ended(call, data, DECLINED, time.time())
            data.setdefault("declined", []).append(agent)
            data["ringing"] = ""
            await self.redis.set(call_key(call), json.dumps(data))
            await self._unring(agent, call, DECLINED, AgentState.AVAILABLE)
            await self.redis.hincrby(STATS_KEY, "ring_declined", 1)
            log.info("acd: offer declined", extra={"call": call, "agent": agent})
            await self._match()
        await self._write_offers()
        return True

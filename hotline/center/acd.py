"""Automatic call distribution: queued callers meet available agents with the right skill.

Workers put requests on a Redis list (enqueue, cancel); the ACD loop in the app server keeps the
waiting calls in Redis (a sorted set: higher priority first, then the longest waiting), rings the
longest-idle available agent with the queue's skill, moves on to the next agent after the ring
timeout, and hands an answering agent to the caller's worker. All state is in Redis, so a server
restart keeps queues and presence.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import redis.asyncio as aioredis

from hotline.center.agents import AgentDirectory, AgentState
from hotline.center.keys import ACD_REQUESTS_KEY as REQUESTS_KEY
from hotline.center.keys import ACD_STATS_KEY as STATS_KEY
from hotline.center.keys import ACD_WAITING_KEY as WAITING_KEY
from hotline.center.keys import acd_call_key as call_key
from hotline.center.keys import agent_channel
from hotline.system.loops import supervised

log = logging.getLogger(__name__)


def score(priority: int, enqueued_at: float) -> float:
    return -priority * 1e10 + enqueued_at


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
    def __init__(self, client: aioredis.Redis, agents: AgentDirectory, ring_timeout_s: float = 15.0) -> None:
        self.redis = client
        self.agents = agents
        self.ring_timeout_s = ring_timeout_s

    async def run(self) -> None:
        await supervised(self.step, name="acd", every_s=0.2)

    async def step(self) -> None:
        while True:
            raw = await self.redis.lpop(REQUESTS_KEY)
            if raw is None or isinstance(raw, list):
                break
            request = json.loads(raw)
            if request.get("op") == "enqueue":
                await self._enqueue(request)
            elif request.get("op") == "cancel":
                await self._cancel(str(request["call"]), str(request.get("reason", "abandoned")))
        await self._match()

    async def _enqueue(self, request: dict[str, Any]) -> None:
        call = str(request["call"])
        data = {**request, "ringing": "", "ring_at": 0.0, "tried": []}
        await self.redis.set(call_key(call), json.dumps(data))
        await self.redis.zadd(WAITING_KEY, {call: score(int(request.get("priority", 0)), float(request["at"]))})
        log.info("acd: call queued", extra={"call": call, "queue": request.get("queue"), "skill": request.get("skill")})

    async def _load(self, call: str) -> dict[str, Any] | None:
        raw = await self.redis.get(call_key(call))
        return json.loads(raw) if raw else None

    async def _cancel(self, call: str, reason: str) -> None:
        data = await self._load(call)
        await self.redis.zrem(WAITING_KEY, call)
        await self.redis.delete(call_key(call))
        if data is None:
            return
        if data.get("ringing"):
            await self._unring(data["ringing"], call)
        await self.redis.hincrby(STATS_KEY, reason, 1)
        log.info("acd: call left the queue", extra={"call": call, "reason": reason,
                                                    "waited_s": round(time.time() - float(data["at"]), 1)})

    async def _unring(self, agent: str, call: str) -> None:
        presence = await self.agents.presence(agent)
        if presence.state == AgentState.RINGING and presence.call == call:
            await self.agents.set_state(agent, AgentState.AVAILABLE)
        await self.redis.publish(agent_channel(agent), json.dumps({"type": "ring_cancelled", "call": call}))

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
            if data["ringing"]:
                if now - float(data["ring_at"]) < self.ring_timeout_s:
                    continue
                missed = data["ringing"]  # ring timeout: try the next agent
                data["tried"].append(missed)
                data["ringing"] = ""
                await self._unring(missed, call)
                presence = await self.agents.all_presence()
                log.info("acd: ring timed out", extra={"call": call, "agent": missed})
            candidates = [(p.since, name) for name, p in presence.items()
                          if p.state == AgentState.AVAILABLE and name in agents and agents[name].has_skill(data["skill"])
                          and data.get("agent") in (None, "", name)]
            fresh = [c for c in candidates if c[1] not in data["tried"]]
            if not fresh and candidates:
                data["tried"] = []  # everyone missed it once: start again
                fresh = candidates
            if not fresh:
                await self.redis.set(call_key(call), json.dumps(data))
                continue
            _, agent = min(fresh)  # longest idle
            data["ringing"], data["ring_at"] = agent, now
            await self.redis.set(call_key(call), json.dumps(data))
            presence[agent] = await self.agents.set_state(agent, AgentState.RINGING, call)
            await self.redis.publish(agent_channel(agent), json.dumps({
                "type": "ring", "call": call, "queue": data["queue"], "skill": data["skill"],
                "context": data.get("context", {}), "waited_s": round(now - float(data["at"]), 1)}))
            log.info("acd: ringing agent", extra={"call": call, "agent": agent})

    async def answer(self, call: str, agent: str) -> dict[str, Any] | None:
        """The agent took the call: returns the call's queue entry (with its worker), or None if it
        is not ringing this agent any more."""
        data = await self._load(call)
        if data is None or data.get("ringing") != agent:
            return None
        await self.redis.zrem(WAITING_KEY, call)
        await self.redis.delete(call_key(call))
        await self.redis.hincrby(STATS_KEY, "answered", 1)
        await self.redis.hincrbyfloat(STATS_KEY, "wait_s_total", time.time() - float(data["at"]))
        return data

"""The caller's side of the ACD, used by a call session in a worker: join a queue, learn the
position, leave it (abandoned or overflow), and what the caller hears while waiting."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from hotline.center import acd
from hotline.center.agents import AgentState
from hotline.center.keys import AGENTS_KEY, PRESENCE_KEY
from hotline.ivr.actions import Transfer


@dataclass(frozen=True)
class QueueConfig:
    max_wait_s: float = 120.0  # then the flow's on_unavailable path (voicemail, callback)
    announce_every_s: float = 20.0
    average_handle_s: float = 180.0  # for the estimated wait announced


def queue_announcement(language: str, place: int, wait_s: float) -> str:
    minutes = max(1, round(wait_s / 60))
    if language.startswith("zh"):
        return f"您前面还有 {place - 1} 位客户，预计等待约 {minutes} 分钟。请不要挂机。"
    ahead = "You are next in line" if place == 1 else f"You are number {place} in the queue"
    unit = "minute" if minutes == 1 else "minutes"
    return f"{ahead}. The expected wait is about {minutes} {unit}. Please stay on the line."


class QueueDirectory:
    def __init__(self, client: aioredis.Redis, configs: Mapping[str, Mapping[str, Any]]) -> None:
        self.redis = client
        self._configs = {name: QueueConfig(**dict(spec)) for name, spec in configs.items()}

    def config(self, queue: str) -> QueueConfig:
        return self._configs.get(queue) or self._configs.get("default") or QueueConfig()

    async def enqueue(self, call: str, worker: str, action: Transfer, context: dict[str, str],
                      agent: str = "") -> None:
        await acd.enqueue(self.redis, call, worker, action.queue, action.skill, action.priority, context, agent)

    async def cancel(self, call: str, reason: str) -> None:
        try:
            await acd.cancel(self.redis, call, reason)
        except (aioredis.RedisError, OSError):
            pass  # the ACD drops entries whose caller is gone when it cannot reach them

    async def staffed(self, skill: str) -> bool:
        """Is any agent with `skill` at work (not offline, not away)? If not, a caller is not queued."""
        try:
            agents = await self.redis.hgetall(AGENTS_KEY)
            presence = await self.redis.hgetall(PRESENCE_KEY)
        except (aioredis.RedisError, OSError):
            return False
        for name, raw in agents.items():
            skills = json.loads(raw).get("skills", [])
            state = json.loads(presence[name])["state"] if name in presence else AgentState.OFFLINE
            if (not skill or skill in skills) and state in (AgentState.AVAILABLE, AgentState.RINGING, AgentState.ON_CALL, AgentState.WRAP_UP):
                return True
        return False

    async def position(self, call: str) -> int | None:
        try:
            return await acd.position(self.redis, call)
        except (aioredis.RedisError, OSError):
            return None

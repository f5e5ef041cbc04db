"""Publishing call events to Redis (a capped stream) without ever blocking or losing a call.

If Redis is unreachable, events are counted as dropped and the call goes on: the durable record
lives in the call store, not in Redis.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import redis.asyncio as aioredis

log = logging.getLogger(__name__)

EVENTS_STREAM = "hotline:events"
WORKERS_KEY = "hotline:workers"
LIVE_CALLS_KEY = "hotline:calls:live"


class EventPublisher:
    def __init__(self, client: aioredis.Redis, maxlen: int = 100_000) -> None:
        self._redis = client
        self._maxlen = maxlen
        self.published = 0
        self.failed = 0

    async def publish(self, event_type: str, call_id: str, **data: Any) -> None:
        fields = {
            "type": event_type,
            "call_id": call_id,
            "ts": f"{time.time():.3f}",
            "data": json.dumps(data, ensure_ascii=False),
        }
        try:
            await self._redis.xadd(EVENTS_STREAM, fields, maxlen=self._maxlen, approximate=True)
            self.published += 1
        except (aioredis.RedisError, OSError) as exc:
            self.failed += 1
            log.warning("event not published", extra={"event_type": event_type, "error": type(exc).__name__})

    async def set_live(self, call_id: str, worker: str, live: bool) -> None:
        try:
            if live:
                await self._redis.hset(LIVE_CALLS_KEY, call_id, worker)
            else:
                await self._redis.hdel(LIVE_CALLS_KEY, call_id)
        except (aioredis.RedisError, OSError):
            self.failed += 1

    async def heartbeat(self, worker: str, info: dict[str, Any]) -> None:
        try:
            await self._redis.hset(WORKERS_KEY, worker, json.dumps({**info, "ts": time.time()}))
        except (aioredis.RedisError, OSError):
            self.failed += 1

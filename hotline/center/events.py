"""Publishing call events to Redis (a capped stream) without ever blocking or losing a call.

`publish` only queues (bounded; when full the oldest event is dropped and counted); one sender
task writes to Redis. A slow, hung or absent Redis therefore never stalls a call: the durable
record lives in the call store, not in Redis.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import redis.asyncio as aioredis

from hotline.center.bus import CallEvent, encode
from hotline.center.keys import EVENTS_STREAM, LIVE_CALLS_KEY, WORKERS_KEY
from hotline.system import metrics

log = logging.getLogger(__name__)


def redis_client(url: str, timeout: float = 2.0) -> aioredis.Redis:
    """A client whose commands fail after `timeout` instead of hanging on a stuck server."""
    return aioredis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)


class EventPublisher:
    def __init__(self, client: aioredis.Redis, maxlen: int = 100_000, queue_size: int = 10_000,
                 origin: str = "") -> None:
        self._redis = client
        self.origin = origin  # see hotline.center.call_events.CallEvents.publisher
        self._maxlen = maxlen
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(queue_size)
        self._sender: asyncio.Task[None] | None = None
        self.published = 0
        self.failed = 0
        self.dropped = 0
        self._warned = False
        self._sending = False

    def _put(self, op: str, payload: Any) -> None:
        if self._sender is None:
            self._sender = asyncio.get_running_loop().create_task(self._send_loop(), name="event-publisher")
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
            metrics.events_dropped().inc()
        self._queue.put_nowait((op, payload))

    def publish(self, event: CallEvent) -> None:
        self._put("xadd", encode(event, self.origin))

    def set_live(self, call_id: str, worker: str, live: bool) -> None:
        self._put("live", (call_id, worker, live))

    def heartbeat(self, worker: str, info: dict[str, Any]) -> None:
        self._put("beat", (worker, json.dumps({**info, "ts": time.time()})))

    async def _send(self, op: str, payload: Any) -> None:
        if op == "xadd":
            await self._redis.xadd(EVENTS_STREAM, payload, maxlen=self._maxlen, approximate=True)
        elif op == "live":
            call_id, worker, live = payload
            if live:
                await self._redis.hset(LIVE_CALLS_KEY, call_id, worker)
            else:
                await self._redis.hdel(LIVE_CALLS_KEY, call_id)
        else:
            await self._redis.hset(WORKERS_KEY, payload[0], payload[1])

    async def _send_loop(self) -> None:
        while True:
            op, payload = await self._queue.get()
            self._sending = True
            try:
                await self._send(op, payload)
                self.published += 1
                if self._warned:
                    log.info("redis reachable again", extra={"failed": self.failed})
                    self._warned = False
            except (TimeoutError, aioredis.RedisError, OSError) as exc:
                self.failed += 1
                if not self._warned:  # once per outage, not once per event
                    log.warning("redis unreachable, events dropped until it is back",
                                extra={"error": type(exc).__name__})
                    self._warned = True
            finally:
                self._sending = False

    async def flush(self, timeout: float = 3.0) -> None:
        """Give queued events a chance to go out (at shutdown)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while (not self._queue.empty() or self._sending) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)

    async def aclose(self) -> None:
        await self.flush()
        if self._sender is not None:
            # a command cut short can leave redis-py waiting on its connection: give up after a second
            # rather than hang the shutdown
            self._sender.cancel()
            await asyncio.wait({self._sender}, timeout=1.0)

"""The node's call events (`hotline:events`), read once by the app and fanned out in-process to
the desk's WebSockets, the knowledge suggestions and whoever else watches a call."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis

from hotline.center.keys import EVENTS_STREAM

log = logging.getLogger(__name__)


class CallEvents:
    """Reads the event stream once and hands each call's events to whoever watches that call.

    Give it a client of its own: it blocks in XREAD, and a blocked connection must never be
    shared with commands that expect a prompt reply.
    """

    def __init__(self, client: aioredis.Redis) -> None:
        self.redis = client
        self.watchers: dict[str, set[Callable[[dict[str, Any]], None]]] = {}
        self.listeners: list[Callable[[dict[str, Any]], None]] = []  # every call's events

    def listen(self, callback: Callable[[dict[str, Any]], None]) -> None:
        self.listeners.append(callback)

    def watch(self, call: str, callback: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
        self.watchers.setdefault(call, set()).add(callback)
        return lambda: self.watchers.get(call, set()).discard(callback)

    async def run(self) -> None:
        last = "$"
        while True:
            try:
                batches: Any = await self.redis.xread({EVENTS_STREAM: last}, block=1000, count=200)
            except (aioredis.RedisError, OSError):
                await asyncio.sleep(1.0)
                continue
            for _stream, entries in batches or []:
                for entry_id, fields in entries:
                    last = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
                    decoded = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
                               for k, v in fields.items()}
                    call = decoded.get("call_id", "")
                    event = {"type": decoded.get("type"), "call_id": call, "ts": float(decoded.get("ts", 0)),
                             **json.loads(decoded.get("data", "{}"))}
                    for callback in [*self.listeners, *self.watchers.get(call, ())]:
                        try:
                            callback(event)
                        except Exception:  # noqa: BLE001 (one consumer's bug must not stop the others)
                            log.exception("call event consumer failed", extra={"event": event.get("type")})

"""The node's call events (`hotline:events`), read once by the app and fanned out in-process to
the desk's WebSockets, the knowledge suggestions and whoever else watches a call."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis

from hotline.center.bus import CallEvent, EventDecodeError, decode
from hotline.center.events import EventPublisher
from hotline.center.keys import EVENTS_STREAM
from hotline.system.loops import supervised

log = logging.getLogger(__name__)


class CallEvents:
    """Reads the event stream once and hands each call's events to whoever watches that call.

    Give it a client of its own: it blocks in XREAD, and a blocked connection must never be
    shared with commands that expect a prompt reply.
    """

    def __init__(self, client: aioredis.Redis) -> None:
        self.redis = client
        self.origin = uuid.uuid4().hex[:12]  # this process, on the entries its own producers add
        self.watchers: dict[str, set[Callable[[CallEvent], None]]] = {}
        self.listeners: list[Callable[[CallEvent], None]] = []  # every call's events
        self.undecodable = 0
        self._last = "$"  # the stream's end when reading starts: events from now on

    def listen(self, callback: Callable[[CallEvent], None]) -> None:
        self.listeners.append(callback)

    def watch(self, call: str, callback: Callable[[CallEvent], None]) -> Callable[[], None]:
        self.watchers.setdefault(call, set()).add(callback)
        return lambda: self.watchers.get(call, set()).discard(callback)

    def publisher(self, stream: aioredis.Redis) -> HereFirstPublisher:
        """For a producer in this process (the assist service): its events reach this process's
        consumers at once, not after a round trip through Redis, and the stream (other nodes,
        tests, the record of what happened) just after; this reader skips them there."""
        return HereFirstPublisher(self, EventPublisher(stream, origin=self.origin))

    def deliver(self, event: CallEvent) -> None:
        for callback in [*self.listeners, *self.watchers.get(event.call_id, ())]:
            try:
                callback(event)
            except Exception:  # noqa: BLE001 (one consumer's bug must not stop the others)
                log.exception("call event consumer failed", extra={"event": event.type})

    async def run(self) -> None:
        await supervised(self.read, name="call-events")

    async def read(self) -> None:
        """Deliver the next batch of events (waits up to a second for one)."""
        batches: Any = await self.redis.xread({EVENTS_STREAM: self._last}, block=1000, count=200)
        for _stream, entries in batches or []:
            for entry_id, fields in entries:
                self._last = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
                decoded = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
                           for k, v in fields.items()}
                if decoded.get("origin") == self.origin:
                    continue  # delivered in-process when it was published
                try:
                    event = decode(decoded)
                except EventDecodeError:
                    self.undecodable += 1
                    log.warning("call event not understood", exc_info=True, extra={"event": decoded.get("type", "")})
                    continue
                self.deliver(event)


class HereFirstPublisher:
    def __init__(self, events: CallEvents, stream: EventPublisher) -> None:
        self.events, self.stream = events, stream

    def publish(self, event: CallEvent) -> None:
        self.events.deliver(event)
        self.stream.publish(event)

    async def aclose(self) -> None:
        await self.stream.aclose()

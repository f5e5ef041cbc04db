"""The desk's requests to the worker holding a call (hold, resume, transfer) and a supervisor's on
a call they listen to (another mode, leaving), on a Redis list of their own per worker
(`keys.control_key`), typed at both ends.

The app pushes a `DeskRequest`; the worker's `DeskRequests` loop pops them and hands each to the
call. A request that does not parse is logged and counted, never fatal: the loop goes on. Requests
expire with the list (`TTL_S`): an agent's hold from a minute ago is not carried out late.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Literal, get_args

import redis.asyncio as aioredis

from hotline.center.keys import control_key
from hotline.center.monitor import MODES as MONITOR_MODES
from hotline.system.loops import supervised

log = logging.getLogger(__name__)

TTL_S = 30
Op = Literal["hold", "resume", "transfer", "monitor_mode", "unmonitor"]
OPS: tuple[str, ...] = get_args(Op)


@dataclass(frozen=True, kw_only=True)
class DeskRequest:
    op: Op
    call: str
    by: str  # the agent (or, for monitor_mode and unmonitor, the supervisor) asking
    queue: str = "general"  # transfer: to this queue...
    skill: str = ""
    agent: str = ""  # ...or to this agent
    mode: str = ""  # monitor_mode: listen, whisper or barge


class BadRequest(ValueError):
    pass


def parse(raw: bytes | str) -> DeskRequest:
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise BadRequest(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadRequest("not an object")
    op = data.get("op")
    if op not in OPS:
        raise BadRequest(f"op must be one of {OPS}")
    if not data.get("call"):
        raise BadRequest("no call")
    mode = str(data.get("mode") or "")
    if op == "monitor_mode" and mode not in MONITOR_MODES:
        raise BadRequest(f"mode must be one of {MONITOR_MODES}")
    return DeskRequest(op=op, call=str(data["call"]), by=str(data.get("by", "")),
                       queue=str(data.get("queue") or "general"), skill=str(data.get("skill", "")),
                       agent=str(data.get("agent", "")), mode=mode)


async def send(client: aioredis.Redis, worker: str, request: DeskRequest) -> None:
    """App side: ask the worker holding a call to act on it."""
    await client.rpush(control_key(worker), json.dumps(asdict(request)))
    await client.expire(control_key(worker), TTL_S)


class DeskRequests:
    """Worker side: pops this worker's requests and hands each to `handle`."""

    def __init__(self, client: aioredis.Redis, worker: str, handle: Callable[[DeskRequest], None]) -> None:
        self.client, self.worker, self.handle = client, worker, handle
        self.rejected = 0

    async def run(self) -> None:
        await supervised(self.take, name="desk-requests")

    async def take(self) -> None:
        """Carry out the next request (waits up to a second for one)."""
        item = await self.client.blpop([control_key(self.worker)], timeout=1)
        if item is None:
            return
        try:
            request = parse(item[1])
        except BadRequest as exc:
            self.rejected += 1
            log.warning("desk request refused", extra={"worker": self.worker, "error": str(exc)})
            return
        self.handle(request)

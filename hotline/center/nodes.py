"""The cluster's nodes as Redis sees them: who is up, which media workers are live, who drains.

A node is one `hotline serve` (supervisor, app, media workers, edge) with a name (`node:` setting,
the host name by default). Worker ids carry it (``<node>-w1``), and so do call records (``node``).
Each node beats into :data:`NODES_KEY` every second; its workers beat into ``hotline:workers``
every two seconds. A worker whose beat is older than :data:`STALE_S` is not live: the edges stop
dispatching to it, browsers are not sent to it. A node silent for :data:`DEAD_S` is dead: the first
live node to notice cleans up after it (:meth:`NodeDirectory.reap`): its workers and live-call
entries leave Redis, its live calls become ``interrupted`` in the shared store, the agents whose
desks it served go offline. A node never cleans up another live node's state, only its own when
it starts (:meth:`NodeDirectory.starting`).

Drain (``hotline node drain NODE``) marks a node in :data:`DRAINING_KEY`: its workers stay up and
its calls finish, but the edges and the browser call page send nothing new there.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from hotline.center.keys import DRAINING_KEY, LIVE_CALLS_KEY, NODES_KEY, WORKERS_KEY, node_desks_key

log = logging.getLogger(__name__)

STALE_S = 6.0  # a worker beats every 2 s: three beats missed and it is not live
DEAD_S = 15.0  # a node beats every second


def worker_id(node: str, index: int) -> str:
    """The cluster-wide id of a node's `index`-th (0-based) media worker."""
    return f"{node}-w{index + 1}"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _loads(raw: Any) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Reaped:
    """What was cleaned up after a node (its own at start-up, or a dead one's)."""

    node: str
    workers: int
    live_calls: list[str]
    desks: list[str]


class NodeDirectory:
    def __init__(self, client: aioredis.Redis, node: str) -> None:
        self.redis = client
        self.node = node

    async def beat(self, info: dict[str, Any]) -> None:
        await self.redis.hset(NODES_KEY, self.node, json.dumps({**info, "node": self.node, "ts": time.time()}))

    async def draining(self) -> set[str]:
        return {_text(k) for k in await self.redis.hkeys(DRAINING_KEY)}

    async def nodes(self) -> dict[str, dict[str, Any]]:
        """Every node that ever beat and was not reaped: name -> its beat, with `draining` and `up`."""
        raw = await self.redis.hgetall(NODES_KEY)
        draining = await self.draining()
        now, out = time.time(), {}
        for key, value in raw.items():
            info = _loads(value)
            name = _text(key)
            out[name] = {**info, "draining": name in draining, "up": now - float(info.get("ts", 0)) < DEAD_S}
        return out

    async def workers(self) -> dict[str, dict[str, Any]]:
        """Every worker's latest beat, with `live` (beat within STALE_S) and `node`."""
        raw = await self.redis.hgetall(WORKERS_KEY)
        now, out = time.time(), {}
        for key, value in raw.items():
            info = _loads(value)
            wid = _text(key)
            info.setdefault("node", wid.rpartition("-w")[0])
            out[wid] = {**info, "live": now - float(info.get("ts", 0)) < STALE_S}
        return out

    async def live_workers(self, include_draining: bool = False) -> dict[str, dict[str, Any]]:
        """The workers that take new calls: live, listening, on a node not draining."""
        draining = set() if include_draining else await self.draining()
        return {wid: info for wid, info in (await self.workers()).items()
                if info["live"] and info.get("listening", True) and info["node"] not in draining}

    async def drain(self, node: str, on: bool = True) -> None:
        if on:
            await self.redis.hset(DRAINING_KEY, node, json.dumps({"at": time.time()}))
        else:
            await self.redis.hdel(DRAINING_KEY, node)

    async def desk_opened(self, username: str) -> None:
        await self.redis.hincrby(node_desks_key(self.node), username, 1)

    async def desk_closed(self, username: str) -> None:
        if await self.redis.hincrby(node_desks_key(self.node), username, -1) <= 0:
            await self.redis.hdel(node_desks_key(self.node), username)

    async def _clean(self, node: str, mark_interrupted: Callable[[str], Awaitable[int]]) -> Reaped:
        # with this node's: the beats of workers named before nodes existed ("w1"), which nobody owns
        workers = [wid for wid, info in (await self.workers()).items() if info["node"] in (node, "")]
        if workers:
            await self.redis.hdel(WORKERS_KEY, *workers)
        owned = set(workers)
        live = {_text(k): _text(v) for k, v in (await self.redis.hgetall(LIVE_CALLS_KEY)).items()}
        calls = sorted(c for c, w in live.items() if w in owned or w.rpartition("-w")[0] == node)
        if calls:
            await self.redis.hdel(LIVE_CALLS_KEY, *calls)
        desks = sorted(_text(k) for k in await self.redis.hkeys(node_desks_key(node)))
        await self.redis.delete(node_desks_key(node))
        marked = await mark_interrupted(node)
        if workers or calls or marked:
            log.warning("node state cleaned up", extra={"node": node, "workers": len(workers),
                                                        "live_calls": len(calls), "interrupted": marked})
        return Reaped(node, len(workers), calls, desks)

    async def starting(self, mark_interrupted: Callable[[str], Awaitable[int]]) -> Reaped:
        """This node starts: what a previous run of it left (workers, live calls, desks) is cleared."""
        return await self._clean(self.node, mark_interrupted)

    async def reap(self, mark_interrupted: Callable[[str], Awaitable[int]]) -> list[Reaped]:
        """Clean up after every other node that stopped beating DEAD_S ago (one node does it:
        whoever deletes the node's entry first)."""
        done = []
        for name, info in (await self.nodes()).items():
            if name == self.node or info["up"]:
                continue
            if await self.redis.hdel(NODES_KEY, name):  # atomic: only one reaper wins
                done.append(await self._clean(name, mark_interrupted))
        return done

    async def leave(self) -> None:
        """A clean stop: the node leaves the list (its workers unregistered themselves)."""
        await self.redis.hdel(NODES_KEY, self.node)

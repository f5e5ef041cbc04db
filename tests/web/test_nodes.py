"""The cluster's nodes in a real Redis: live workers (late beats and draining nodes left out), a node
cleaning up only its own state at start-up, a dead node reaped once by another, the dispatcher
list the node loop hands its edge, `hotline node status`'s view, and when a recording is fetched
from another node."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from fastapi import HTTPException

from hotline.center.agents import AgentDirectory
from hotline.center.keys import LIVE_CALLS_KEY, NODES_KEY, WORKERS_KEY
from hotline.center.node_cli import cluster_status
from hotline.center.node_loop import NodeLoop, destinations
from hotline.center.nodes import DEAD_S, STALE_S, NodeDirectory, worker_id
from hotline.web.cluster_files import ensure_local


async def beat(redis: aioredis.Redis, wid: str, port: int, age_s: float = 0.0) -> None:
    await redis.hset(WORKERS_KEY, wid, json.dumps({"sip": f"127.0.0.{2 if wid.startswith('a') else 3}:{port}",
                                                   "listening": True, "calls": 0, "max_calls": 4,
                                                   "node": wid.rpartition("-w")[0], "ts": time.time() - age_s}))


class Marks:
    """The call store's part: which nodes' live calls were marked interrupted."""

    def __init__(self) -> None:
        self.nodes: list[str] = []

    async def __call__(self, node: str) -> int:
        self.nodes.append(node)
        return 1


async def test_live_workers_leave_out_late_beats_and_draining_nodes(redis: aioredis.Redis) -> None:
    a, b = NodeDirectory(redis, "a"), NodeDirectory(redis, "b")
    assert worker_id("a", 0) == "a-w1"
    await beat(redis, "a-w1", 5071)
    await beat(redis, "a-w2", 5072, age_s=STALE_S + 1)  # three beats missed
    await beat(redis, "b-w1", 5071)
    assert sorted(await a.live_workers()) == ["a-w1", "b-w1"]
    assert destinations(await a.live_workers()) == [("a-w1", "127.0.0.2", 5071), ("b-w1", "127.0.0.3", 5071)]
    await b.drain("a")
    assert sorted(await b.live_workers()) == ["b-w1"]
    assert sorted(await b.live_workers(include_draining=True)) == ["a-w1", "b-w1"]
    await b.drain("a", on=False)
    assert sorted(await b.live_workers()) == ["a-w1", "b-w1"]


async def test_a_node_starting_cleans_up_only_its_own(redis: aioredis.Redis) -> None:
    a, b = NodeDirectory(redis, "a"), NodeDirectory(redis, "b")
    for wid in ("a-w1", "b-w1"):
        await beat(redis, wid, 5071)
    await redis.hset(LIVE_CALLS_KEY, mapping={"call-on-a": "a-w1", "call-on-b": "b-w1"})
    await a.desk_opened("ann")
    await b.desk_opened("bo")
    marks = Marks()
    left = await a.starting(marks)
    assert left.workers == 1 and left.live_calls == ["call-on-a"] and left.desks == ["ann"]
    assert marks.nodes == ["a"]
    assert sorted(k.decode() for k in await redis.hkeys(WORKERS_KEY)) == ["b-w1"]
    assert sorted(k.decode() for k in await redis.hkeys(LIVE_CALLS_KEY)) == ["call-on-b"]


async def test_a_dead_node_is_reaped_once_by_a_live_one(redis: aioredis.Redis) -> None:
    a, b, c = NodeDirectory(redis, "a"), NodeDirectory(redis, "b"), NodeDirectory(redis, "c")
    await a.beat({"http": "127.0.0.2:8080"})
    await b.beat({"http": "127.0.0.3:8080"})
    await beat(redis, "a-w1", 5071)
    await redis.hset(LIVE_CALLS_KEY, "call-on-a", "a-w1")
    await a.desk_opened("ann")
    marks = Marks()
    assert await b.reap(marks) == []  # a is up: nothing to do
    stale = json.loads(await redis.hget(NODES_KEY, "a"))
    await redis.hset(NODES_KEY, "a", json.dumps({**stale, "ts": time.time() - DEAD_S - 1}))
    assert not (await b.nodes())["a"]["up"]
    reaped = await b.reap(marks)
    assert [(r.node, r.live_calls, r.desks) for r in reaped] == [("a", ["call-on-a"], ["ann"])]
    assert await c.reap(marks) == []  # already done by b
    assert marks.nodes == ["a"] and await redis.hlen(LIVE_CALLS_KEY) == 0 and "a" not in await b.nodes()


class Edge:
    def __init__(self) -> None:
        self.lists: list[list[tuple[str, str, int]]] = []

    async def set_workers(self, workers: list[tuple[str, str, int]], force: bool = False) -> bool:
        changed = force or not self.lists or self.lists[-1] != workers
        if changed:
            self.lists.append(workers)
        return changed


async def test_node_loop_beats_and_gives_its_edge_every_node_s_live_workers(redis: aioredis.Redis) -> None:
    b = NodeDirectory(redis, "b")
    edge = Edge()
    store: Any = None  # reaping is not reached in two steps
    loop = NodeLoop(b, edge, store, AgentDirectory(redis), {"http": "127.0.0.3:8080"})
    await beat(redis, "a-w1", 5071)
    await beat(redis, "b-w1", 5071)
    await loop.step()
    assert edge.lists == [[("a-w1", "127.0.0.2", 5071), ("b-w1", "127.0.0.3", 5071)]]
    await loop.step()
    assert len(edge.lists) == 1  # nothing changed: no reload
    info = json.loads(await redis.hget(WORKERS_KEY, "b-w1"))
    await redis.hset(WORKERS_KEY, "b-w1", json.dumps({**info, "pid": 4242}))  # b-w1 restarted
    await loop.step()
    assert len(edge.lists) == 2  # the same list, reloaded: the edge's count of b-w1's calls is reset
    await b.drain("a")
    await loop.step()
    assert edge.lists[-1] == [("b-w1", "127.0.0.3", 5071)]
    status = await cluster_status(b)
    assert status["b"]["up"] and status["b"]["http"] == "127.0.0.3:8080"
    assert status["a"]["draining"] and not status["a"]["up"] and list(status["a"]["workers"]) == ["a-w1"]


async def test_a_recording_on_another_node_is_fetched_only_from_a_live_node_and_inside_the_cache(
        redis: aioredis.Redis, tmp_path: Path) -> None:
    here = NodeDirectory(redis, "a")
    record = {"id": "c1", "node": "b", "recordings": {"caller": "recordings/c1.caller.wav"}}
    await ensure_local(None, tmp_path, record, "caller")  # no cluster: nothing to fetch
    await ensure_local(here, tmp_path, {**record, "node": "a"}, "caller")  # its own call: nothing either
    with pytest.raises(HTTPException) as down:
        await ensure_local(here, tmp_path, record, "caller")  # b never beat
    assert down.value.status_code == 503 and "'b'" in down.value.detail
    with pytest.raises(HTTPException) as outside:
        await ensure_local(here, tmp_path, {**record, "recordings": {"caller": "../../elsewhere.wav"}}, "caller")
    assert outside.value.status_code == 404 and not (tmp_path.parent / "elsewhere.wav").exists()

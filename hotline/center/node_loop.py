"""A node's part in the cluster, every second: its beat, its edge's dispatcher list from the live
workers of every node (draining nodes left out), and clean-up after nodes that died."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from hotline.center.agents import AgentDirectory
from hotline.center.nodes import NodeDirectory, Reaped
from hotline.center.store import CallStore
from hotline.system.loops import supervised

log = logging.getLogger(__name__)


class Dispatcher(Protocol):
    async def set_workers(self, workers: list[tuple[str, str, int]], force: bool = False) -> bool: ...


def destinations(workers: dict[str, dict[str, Any]]) -> list[tuple[str, str, int]]:
    """(worker id, host, port) of each worker beat that names its SIP address."""
    out = []
    for wid, info in workers.items():
        host, _, port = str(info.get("sip", "")).rpartition(":")
        if host and port.isdigit():
            out.append((wid, host, int(port)))
    return sorted(out)


def interrupter(store: CallStore) -> Callable[[str], Awaitable[int]]:
    """Marks a node's live calls interrupted in the call store, off the event loop."""

    async def mark(node: str) -> int:
        return await asyncio.to_thread(store.mark_interrupted, None, node)

    return mark


async def desks_gone(agents: AgentDirectory, reaped: Reaped) -> None:
    """The agents whose desks a node served are offline (their state is kept for a reconnect)."""
    for username in reaped.desks:
        await agents.disconnected(username)


class NodeLoop:
    def __init__(self, nodes: NodeDirectory, edge: Dispatcher, store: CallStore, agents: AgentDirectory,
                 info: dict[str, Any], every_s: float = 1.0) -> None:
        self.nodes, self.edge, self.store, self.agents = nodes, edge, store, agents
        self.info = info
        self.every_s = every_s
        self._ticks = 0
        self._runs: dict[str, Any] = {}  # worker id -> the pid of its run last seen

    async def run(self) -> None:
        await supervised(self.step, name="node", every_s=self.every_s)

    async def step(self) -> None:
        await self.nodes.beat(self.info)
        live = await self.nodes.live_workers()
        runs = {wid: info.get("pid") for wid, info in live.items()}
        # a worker that restarted lost its calls, but the edge still counts them against it: a reload
        # starts every count again from zero (an undercount only costs a 486 and the next worker)
        restarted = sorted(w for w, pid in runs.items() if w in self._runs and self._runs[w] != pid)
        self._runs = runs
        if await self.edge.set_workers(destinations(live), force=bool(restarted)):
            log.info("dispatcher list reloaded", extra={"node": self.nodes.node, "restarted": restarted})
        self._ticks += 1
        if self._ticks % 5 == 0:
            for reaped in await self.nodes.reap(interrupter(self.store)):
                await desks_gone(self.agents, reaped)
                log.warning("dead node cleaned up", extra={"node": reaped.node, "workers": reaped.workers,
                                                           "live_calls": len(reaped.live_calls)})

"""``GET /metrics``: Prometheus text format, from every hotline process (see :mod:`hotline.system.metrics`),
and the SIP edge's decisions (scanners dropped, floods banned... read from Kamailio when scraped).

Queue depth and agents by state are read from Redis when scraped, so they are right whichever
node changed them. Scrapes are allowed from the addresses in the ``metrics_allow`` setting
(loopback by default: run Prometheus on the host, or put the address of its host there).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Mapping

import redis.asyncio as aioredis
from fastapi import APIRouter, HTTPException, Request, Response

from hotline.center.agents import AgentDirectory, AgentState
from hotline.center.keys import ACD_WAITING_KEY, acd_call_key
from hotline.system import metrics
from hotline.web.access import client_address

log = logging.getLogger(__name__)


async def sample_redis(client: aioredis.Redis, agents: AgentDirectory) -> None:
    """Set the gauges that describe shared state: calls waiting per queue, agents per state."""
    waiting: Counter[str] = Counter()
    for raw in await client.zrange(ACD_WAITING_KEY, 0, -1):
        call = raw.decode() if isinstance(raw, bytes) else str(raw)
        entry = await client.get(acd_call_key(call))
        queue = str(json.loads(entry).get("queue", "")) if entry else ""
        waiting[queue or "default"] += 1
    gauge = metrics.acd_waiting()
    for queue in {"default", *waiting}:
        gauge.labels(queue).set(waiting[queue])
    states = Counter(p.state for p in (await agents.all_presence()).values())
    by_state = metrics.agents_by_state()
    for state in AgentState:
        by_state.labels(str(state)).set(states.get(state, 0))


EdgeStats = Callable[[], Awaitable[Mapping[str, int]]]


def metrics_router(client: aioredis.Redis, agents: AgentDirectory, allow: Collection[str],
                   edge: EdgeStats | None = None) -> APIRouter:
    router = APIRouter(tags=["metrics"])

    @router.get("/metrics", response_class=Response)
    async def scrape(request: Request) -> Response:
        """Prometheus text format: calls, ACD, agents, recognition, assist, workers, events."""
        if client_address(request) not in allow:
            raise HTTPException(status_code=403, detail="metrics are served to the addresses in metrics_allow")
        try:
            await sample_redis(client, agents)
        except (aioredis.RedisError, OSError) as exc:  # the process metrics are still worth a scrape
            log.warning("metrics: redis unavailable, shared gauges not refreshed", extra={"error": str(exc)})
        body, content_type = metrics.exposition(await edge() if edge is not None else None)
        return Response(body, media_type=content_type)

    return router

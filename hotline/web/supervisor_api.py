"""The supervisor's live wallboard over HTTP (supervisors and admins): `GET /api/supervisor/live` is
the whole board at this moment (`hotline.center.wallboard.snapshot`), and `/supervisor` the page
that polls it every second (`?wall=1`: the large-screen mode).

Polling rather than a WebSocket: the board is a snapshot of state that lives in Redis and the
store and is written by several processes (the ACD loop, the desks, the workers); one GET reads it
all, goes through the same access check and cookie as every other route, needs no reconnection
logic after a server restart, and costs a handful of Redis reads. The page ticks the clocks
between polls from the server's `now`, so a wait grows every second whatever the poll does.

Today's figures (a read of today's records and the overdue tickets) are computed at most every
`TODAY_TTL_S` and shared by every supervisor watching. The settings (`queues`, `wallboard`) are the
ones the supervisor process runs with: it writes them to `DATA/run/settings.json` for its workers
before it makes the app; without that file (an app made in a test) the defaults apply."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from fastapi import APIRouter, HTTPException

from hotline.center.agents import AgentDirectory
from hotline.center.keys import ACD_WAITING_KEY, LIVE_CALLS_KEY, acd_call_key
from hotline.center.settings import Settings
from hotline.center.store import CallStore
from hotline.center.tickets import TicketFilter, TicketStore
from hotline.center.wallboard import (
    LiveCall,
    Waiting,
    WallboardConfig,
    flow_queue_skills,
    parse_waiting,
    snapshot,
    ticket_summary,
    today_start,
)
from hotline.ivr.registry import FlowRegistry
from hotline.web.access import ADMIN, SUPERVISOR
from hotline.web.pages import add_page

log = logging.getLogger(__name__)

TODAY_TTL_S = 2.0
MAX_OVERDUE = 1000  # counted; the board lists the first few
RUN_SETTINGS = Path("run") / "settings.json"  # under the data directory (hotline.center.supervisor)

# the access rules of these routes (as in `hotline.web.access.RULES`)
SUPERVISOR_RULES: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/supervisor"): frozenset({SUPERVISOR, ADMIN}),
    ("GET", "/api/supervisor/live"): frozenset({SUPERVISOR, ADMIN}),
}


@dataclass(frozen=True)
class BoardSettings:
    queues: Mapping[str, Any]
    config: WallboardConfig


def board_settings(data_dir: Path) -> BoardSettings:
    """The `queues` and `wallboard` settings the server runs with (defaults without its run file)."""
    defaults = Settings()
    path = data_dir / RUN_SETTINGS
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        return BoardSettings(defaults.queues, WallboardConfig.from_mapping(defaults.wallboard))
    except (OSError, ValueError):
        log.warning("wallboard: the run's settings are unreadable; defaults apply", extra={"path": str(path)})
        return BoardSettings(defaults.queues, WallboardConfig.from_mapping(defaults.wallboard))
    queues = raw.get("queues") if isinstance(raw.get("queues"), dict) else defaults.queues
    try:
        config = WallboardConfig.from_mapping(raw.get("wallboard") or {})
    except ValueError:
        log.warning("wallboard: bad wallboard settings; defaults apply", extra={"path": str(path)})
        config = WallboardConfig()
    return BoardSettings(queues, config)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Board:
    """Reads what the board shows (Redis, the store, the tickets) and keeps today's part briefly."""

    def __init__(self, client: aioredis.Redis, agents: AgentDirectory, store: CallStore,
                 tickets: TicketStore | None, flows: FlowRegistry | None, data_dir: Path) -> None:
        self.redis, self.agents, self.store, self.tickets, self.flows = client, agents, store, tickets, flows
        self.data_dir = data_dir
        self._settings: BoardSettings | None = None
        self._today: tuple[float, float, list[dict[str, Any]], list[dict[str, Any]], int] | None = None
        self._today_lock = asyncio.Lock()

    @property
    def settings(self) -> BoardSettings:
        if self._settings is None:  # read on first use: the supervisor writes the file before the app runs
            self._settings = board_settings(self.data_dir)
        return self._settings

    async def _waiting(self) -> list[Waiting]:
        calls = [_text(c) for c in await self.redis.zrange(ACD_WAITING_KEY, 0, -1)]
        if not calls:
            return []
        raw = await self.redis.mget([acd_call_key(c) for c in calls])
        return [w for c, r in zip(calls, raw, strict=True) if (w := parse_waiting(c, r)) is not None]

    def _read_live(self, ids: list[str]) -> list[LiveCall]:
        out = []
        for call_id in ids:
            record = self.store.get(call_id)
            if record is not None and record.get("status") == "live":
                out.append(LiveCall.from_record(record))
        return out

    def _read_today(self, since: float, now: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
        today = self.store.between(since, now + 1.0)
        overdue: list[dict[str, Any]] = []
        if self.tickets is not None:
            found = self.tickets.list(None, MAX_OVERDUE, filters=TicketFilter(overdue=True))
            overdue = [ticket_summary(t.to_dict()) for t in sorted(found, key=lambda t: t.due_at or 0.0)]
        return today, overdue, len(overdue)

    async def _today_figures(self, now: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
        async with self._today_lock:  # supervisors polling together share one read
            since = today_start(now)
            cached = self._today
            if cached is None or cached[0] != since or now - cached[1] >= TODAY_TTL_S:
                today, overdue, count = await asyncio.to_thread(self._read_today, since, now)
                cached = self._today = (since, now, today, overdue, count)
            return cached[2], cached[3], cached[4]

    async def live(self) -> dict[str, Any]:
        now = time.time()
        accounts = await self.agents.all()
        presence = await self.agents.all_presence()
        waiting = await self._waiting()
        live_ids = sorted(_text(c) for c in await self.redis.hkeys(LIVE_CALLS_KEY))
        live = await asyncio.to_thread(self._read_live, live_ids) if live_ids else []
        today, overdue, overdue_count = await self._today_figures(now)
        skills = flow_queue_skills(self.flows.flowset() if self.flows is not None else None)
        settings = self.settings
        return snapshot(now=time.time(), agents=accounts, presence=presence, waiting=waiting, live=live,
                        today=today, overdue=overdue, overdue_count=overdue_count, queues_config=settings.queues,
                        queue_skills=skills, config=settings.config)


def supervisor_router(client: aioredis.Redis, agents: AgentDirectory, store: CallStore,
                      tickets: TicketStore | None, flows: FlowRegistry | None, data_dir: Path) -> APIRouter:
    router = APIRouter(tags=["supervisor"])
    board = Board(client, agents, store, tickets, flows, data_dir)

    @router.get("/api/supervisor/live")
    async def live() -> dict[str, Any]:
        """The wallboard now: `agents` (state, time in state, current call and its duration, queue,
        skills), `queues` (waiting, longest wait, agents available, today's offered, answered,
        abandoned and service level against `config`'s target), `ivr` (live calls in the IVR and
        their node), `alerts`, `totals`, and the server's `now` (epoch seconds) to tick clocks from.
        Definitions: `hotline.center.wallboard`."""
        try:
            return await board.live()
        except (aioredis.RedisError, OSError) as exc:
            log.warning("wallboard: Redis unavailable", extra={"error": type(exc).__name__})
            raise HTTPException(status_code=503, detail="live state unavailable (Redis)") from exc

    add_page(router, "/supervisor", "supervisor.html")
    return router

"""Agents' presence over time: every state change also goes to a Redis stream (capped), so reports
can tell how long each agent was available, on calls, in wrap-up or away, and their occupancy.

The stream's ids are millisecond times, so a period is one ``XRANGE``. :func:`times_in_state` turns
the changes into seconds per agent and state within ``[since, until)``, each agent starting in the
state of its last change before ``since`` (read from a day before; older history is not needed for
a state that lasts under a day).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import redis.asyncio as aioredis

from hotline.center.keys import PRESENCE_LOG_KEY

LOG_MAX = 500_000  # state changes kept (about 90 days of 200 agents changing state 30 times a day)
LOOKBACK_S = 86400.0
HANDLING = ("ringing", "on_call", "wrap_up")  # the time occupancy counts as working on calls
READY = ("available",)


@dataclass(frozen=True)
class Change:
    agent: str
    state: str
    at: float


async def log_change(client: aioredis.Redis, agent: str, state: str, at: float) -> None:
    await client.xadd(PRESENCE_LOG_KEY, {"agent": agent, "state": state, "at": f"{at:.3f}"},
                      maxlen=LOG_MAX, approximate=True)


async def changes_between(client: aioredis.Redis, since: float, until: float) -> list[Change]:
    """The state changes from a day before ``since`` to ``until``, oldest first."""
    start, end = int((since - LOOKBACK_S) * 1000), int(until * 1000)
    out = []
    for _id, fields in await client.xrange(PRESENCE_LOG_KEY, min=str(max(start, 0)), max=str(end)) or []:
        if not fields:
            continue
        data = {(k.decode() if isinstance(k, bytes) else str(k)): (v.decode() if isinstance(v, bytes) else str(v))
                for k, v in fields.items()}
        try:
            out.append(Change(data["agent"], data["state"], float(data["at"])))
        except (KeyError, ValueError):
            continue  # not one of ours
    return sorted(out, key=lambda c: c.at)


def times_in_state(changes: Iterable[Change], since: float, until: float,
                   now: float | None = None) -> dict[str, dict[str, float]]:
    """Seconds per agent and state within ``[since, min(until, now))``."""
    end = min(until, time.time() if now is None else now)
    per: dict[str, list[Change]] = defaultdict(list)
    for change in changes:
        per[change.agent].append(change)
    out: dict[str, dict[str, float]] = {}
    for agent, seq in per.items():
        seq.sort(key=lambda c: c.at)
        totals: dict[str, float] = defaultdict(float)
        for change, following in zip(seq, [*seq[1:], None], strict=True):
            start = max(change.at, since)
            stop = min(following.at if following is not None else end, end)
            if stop > start:
                totals[change.state] += stop - start
        out[agent] = {state: round(seconds, 1) for state, seconds in totals.items()}
    return out


def occupancy(seconds: Mapping[str, float]) -> float | None:
    """Time handling calls / (that + time available): None without either."""
    handling = sum(seconds.get(s, 0.0) for s in HANDLING)
    ready = sum(seconds.get(s, 0.0) for s in READY)
    return round(handling / (handling + ready), 4) if handling + ready else None

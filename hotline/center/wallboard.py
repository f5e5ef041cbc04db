"""The live wallboard: pure functions from what the center holds right now to the supervisor's
snapshot (`snapshot`): the agent grid, per-queue figures, the calls in the IVR and the alerts.

Inputs, as the HTTP layer reads them: the accounts and their presence (Redis), the ACD's waiting
calls (`hotline:acd:waiting` and each call's `acd_call_key` entry: `at`, `queue`, `skill`,
`ringing`), the records of the live calls (`hotline:calls:live` and the store), today's call
records and the overdue tickets.

Definitions:
- an agent's *time in state* runs from the presence's `since`; the *call duration* of an agent on
  a call from the answer (the answered queue entry of the call's record: `at` + `waited_s`; the
  presence's `since` when the record does not say), of a ringing agent from the ring;
- a queue's *waiting* are its calls in the ACD (ringing an agent or not), the *longest wait* runs
  from the oldest one's `at`; *agents available* are the available agents with one of the queue's
  skills (the skills of the flows' transfer nodes to that queue and of its waiting calls; every
  available agent when none is known);
- *today* is since local midnight; offered, answered, abandoned and answered within the target are
  the reports' (`hotline.center.reports.acd_tables`), and so is the *service level* (answered within
  the target / offered), except that a caller still waiting counts only once they have waited past
  the target (before that they may yet be answered in time);
- *in the IVR*: live calls that are neither waiting in a queue nor with an agent, at the last node
  of their `ivr_path`;
- alerts: a queue's service level below the goal, an agent's call longer than `long_call_s`,
  overdue tickets, a caller waiting longer than the queue's `max_wait_s`.

Nothing here names a caller (no numbers, no transcripts): the board is for a shared screen.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

from hotline.center import reports
from hotline.center.agents import Agent, AgentState, Presence
from hotline.center.queueing import QueueConfig
from hotline.ivr.model import FlowSet
from hotline.ivr.nodes.transfer import TransferNode

# the grid's order: who needs attention first is not the point; rows stay put while states change
BUSY = frozenset({AgentState.RINGING, AgentState.ON_CALL, AgentState.WRAP_UP})
MAX_TICKETS_LISTED = 5


@dataclass(frozen=True)
class WallboardConfig:
    """The `wallboard` settings: the service-level target (answered within `service_target_s`) and
    goal (a share, 0-1), and how long an agent's call may run before it is an alert."""

    service_target_s: float = reports.SERVICE_TARGET_S
    service_level_goal: float = 0.8
    long_call_s: float = 900.0

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None) -> WallboardConfig:
        """Raises ValueError for an unknown key or a value out of range."""
        raw = dict(raw or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"unknown keys in 'wallboard': {', '.join(unknown)}")
        values: dict[str, float] = {}
        for key, value in raw.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"wallboard.{key} must be a number")
            values[key] = float(value)
        config = cls(**values)
        if config.service_target_s <= 0 or config.long_call_s <= 0:
            raise ValueError("wallboard: service_target_s and long_call_s must be above 0")
        if not 0.0 <= config.service_level_goal <= 1.0:
            raise ValueError("wallboard.service_level_goal is a share between 0 and 1 (0.8 = 80%)")
        return config

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class Waiting:
    """A call in the ACD (`acd_call_key` entry)."""

    call: str
    queue: str
    skill: str
    at: float
    ringing: str = ""  # the agent being rung, "" for none
    priority: int = 0


def parse_waiting(call: str, raw: str | bytes | None) -> Waiting | None:
    """An ACD entry as stored (JSON), None when it is gone or unreadable."""
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        return Waiting(call, str(data.get("queue") or ""), str(data.get("skill") or ""), float(data["at"]),
                       str(data.get("ringing") or ""), int(data.get("priority") or 0))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


@dataclass(frozen=True)
class LiveCall:
    """What the board needs of a live call's record."""

    id: str
    started_at: float
    channel: str = "sip"
    flow: str = ""
    node: str = ""  # the last node of its IVR path
    agent: str = ""  # who took it
    queue: str = ""  # its last queue entry's queue
    queue_result: str = ""  # that entry's result ("" while waiting)
    answered_at: float | None = None  # when the last answered queue entry was answered

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> LiveCall:
        path = [str(n) for n in record.get("ivr_path") or []]
        entries = reports.queue_entries(record)
        last = entries[-1] if entries else {}
        answered_at = None
        for e in entries:
            if e.get("result") == "answered" and e.get("at") is not None:
                answered_at = float(e["at"]) + float(e.get("waited_s") or 0.0)
        return cls(str(record["id"]), float(record["started_at"]), str(record.get("channel") or "sip"),
                   str(record.get("flow") or ""), path[-1] if path else "", str(record.get("agent") or ""),
                   str(last.get("queue") or ""), str(last.get("result") or ""), answered_at)


def today_start(now: float) -> float:
    """Local midnight before `now` (epoch seconds)."""
    local = datetime.fromtimestamp(now).astimezone()
    return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def queue_max_wait(queues: Mapping[str, Any], name: str) -> float:
    """The queue's `max_wait_s`, as the workers read the `queues` setting (its own, else default)."""
    spec = queues.get(name) or queues.get("default") or {}
    try:
        return QueueConfig(**dict(spec)).max_wait_s
    except TypeError:
        return QueueConfig().max_wait_s


def flow_queue_skills(flowset: FlowSet | None) -> dict[str, set[str]]:
    """queue -> the skills the flows' transfer nodes ask for it."""
    out: dict[str, set[str]] = {}
    for flow in (flowset.flows.values() if flowset is not None else ()):
        for node in flow.nodes.values():
            if isinstance(node, TransferNode) and node.queue:
                out.setdefault(node.queue, set()).add(node.skill)
    return out


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(max(0.0, value), 1)


def agent_rows(agents: Sequence[Agent], presence: Mapping[str, Presence], calls: Mapping[str, LiveCall],
               waiting: Mapping[str, Waiting], now: float) -> list[dict[str, Any]]:
    """The grid: accounts with the agent role, or with a presence other than offline; logged-in
    agents first, each group by user name."""
    rows = []
    for agent in agents:
        known = agent.username in presence
        p = presence[agent.username] if known else Presence(state=AgentState.OFFLINE, since=now)
        if not agent.has_role("agent") and p.state == AgentState.OFFLINE:
            continue
        call_id = p.call if p.state in BUSY else ""
        live = calls.get(call_id) if call_id else None
        queue, call_since = "", None
        if p.state == AgentState.RINGING:
            entry = waiting.get(call_id)
            queue, call_since = (entry.queue if entry else ""), p.since
        elif p.state == AgentState.ON_CALL:
            call_since = live.answered_at if live is not None and live.answered_at is not None else p.since
        if live is not None and not queue:
            queue = live.queue
        rows.append({"username": agent.username, "name": agent.name, "skills": list(agent.skills),
                     "state": str(p.state), "since": p.since if known else None,
                     "in_state_s": _seconds(now - p.since) if known else None,
                     "reason": p.reason, "next_state": p.next_state, "call": call_id,
                     "call_since": call_since, "call_s": _seconds(now - call_since) if call_since else None,
                     "queue": queue, "monitor": p.state == AgentState.ON_CALL and bool(call_id)})
    rows.sort(key=lambda r: (r["state"] == AgentState.OFFLINE, r["username"]))
    return rows


def _today_by_queue(today: Sequence[Mapping[str, Any]], target_s: float) -> dict[str, dict[str, Any]]:
    table = reports.acd_tables(today, None, target_s)["acd"]
    return {str(r["queue"]): r for r in table.rows}


def queue_rows(names: Iterable[str], skills: Mapping[str, set[str]], waiting: Sequence[Waiting],
               agents: Sequence[Agent], presence: Mapping[str, Presence], today: Sequence[Mapping[str, Any]],
               queues_config: Mapping[str, Any], config: WallboardConfig, now: float) -> list[dict[str, Any]]:
    """One row per queue: the configured ones, the flows', and any with a waiting call or a call today."""
    by_queue = _today_by_queue(today, config.service_target_s)
    known = {**{n: set[str]() for n in names}, **{q: set(s) for q, s in skills.items()}}
    for w in waiting:
        known.setdefault(w.queue, set()).add(w.skill)
    for name in by_queue:
        known.setdefault(name, set())
    accounts = {a.username: a for a in agents}
    rows = []
    for name in sorted(known):
        queue_skills = sorted(known[name])
        mine = sorted((w for w in waiting if w.queue == name), key=lambda w: w.at)

        def able(username: str, skill_list: list[str] = queue_skills) -> bool:
            agent = accounts.get(username)
            return agent is not None and (not skill_list or any(agent.has_skill(s) for s in skill_list))

        available = sum(1 for u, p in presence.items() if p.state == AgentState.AVAILABLE and able(u))
        busy = sum(1 for u, p in presence.items() if p.state in BUSY and able(u))
        max_wait = queue_max_wait(queues_config, name)
        today_row = by_queue.get(name, {})
        offered = int(today_row.get("offered", 0))
        in_target = int(today_row.get("answered_in_target", 0))
        still_waiting = int(today_row.get("waiting", 0))
        missed_waiting = sum(1 for w in mine if now - w.at > config.service_target_s)
        counted = offered - still_waiting + missed_waiting
        level = reports.rate(in_target, counted)
        longest = _seconds(now - mine[0].at) if mine else None
        rows.append({
            "queue": name, "skills": queue_skills, "waiting": len(mine),
            "ringing": sum(1 for w in mine if w.ringing), "oldest_at": mine[0].at if mine else None,
            "longest_wait_s": longest, "max_wait_s": max_wait,
            "over_max_wait": sum(1 for w in mine if now - w.at > max_wait),
            "agents_available": available, "agents_busy": busy,
            "offered_today": offered, "answered_today": int(today_row.get("answered", 0)),
            "answered_in_target_today": in_target, "abandoned_today": int(today_row.get("abandoned", 0)),
            "service_level_calls": counted, "service_level": level,
            "at_risk": level is not None and level < config.service_level_goal})
    return rows


def ivr_rows(live: Sequence[LiveCall], waiting_ids: Iterable[str], agent_calls: Iterable[str],
             now: float) -> list[dict[str, Any]]:
    """The live calls in the IVR (not queued, not with an agent), longest first."""
    skip = set(waiting_ids) | set(agent_calls)
    rows = [{"call": c.id, "started_at": c.started_at, "duration_s": _seconds(now - c.started_at),
             "node": c.node, "flow": c.flow, "channel": c.channel}
            for c in live if c.id not in skip and not c.agent and c.queue_result != "answered"
            and not (c.queue and c.queue_result == "")]
    return sorted(rows, key=lambda r: r["started_at"])


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def alerts(queues: Sequence[Mapping[str, Any]], agents: Sequence[Mapping[str, Any]], waiting: Sequence[Waiting],
           overdue: Sequence[Mapping[str, Any]], overdue_count: int, queues_config: Mapping[str, Any],
           config: WallboardConfig, now: float) -> list[dict[str, Any]]:
    """What needs a supervisor now, the most urgent first."""
    out: list[dict[str, Any]] = []
    for w in sorted(waiting, key=lambda w: w.at):
        limit = queue_max_wait(queues_config, w.queue)
        if now - w.at > limit:
            out.append({"kind": "max_wait", "severity": "critical", "queue": w.queue, "call": w.call,
                        "text": f"{w.queue}: a caller has waited {_clock(now - w.at)}, over the maximum "
                                f"{_clock(limit)}"})
    for q in queues:
        if q["at_risk"]:
            out.append({"kind": "service_level", "severity": "warning", "queue": q["queue"],
                        "text": f"{q['queue']}: service level {q['service_level'] * 100:.0f}% today, goal "
                                f"{config.service_level_goal * 100:.0f}% within {config.service_target_s:g} s"})
    for a in agents:
        if a["state"] == AgentState.ON_CALL and a["call_s"] is not None and a["call_s"] > config.long_call_s:
            out.append({"kind": "long_call", "severity": "warning", "agent": a["username"], "call": a["call"],
                        "text": f"{a['name']} has been on a call for {_clock(a['call_s'])} (over "
                                f"{_clock(config.long_call_s)})"})
    if overdue_count:
        out.append({"kind": "overdue_tickets", "severity": "warning", "count": overdue_count,
                    "tickets": list(overdue[:MAX_TICKETS_LISTED]),
                    "text": f"{overdue_count} overdue ticket{'s' if overdue_count != 1 else ''}"})
    return out


def ticket_summary(ticket: Mapping[str, Any]) -> dict[str, Any]:
    """What the board shows of an overdue ticket (no caller, no description)."""
    return {k: ticket.get(k) for k in ("ref", "type", "priority", "status", "due_at", "queue", "assignee")}


def snapshot(*, now: float, agents: Sequence[Agent], presence: Mapping[str, Presence], waiting: Sequence[Waiting],
             live: Sequence[LiveCall], today: Sequence[Mapping[str, Any]], overdue: Sequence[Mapping[str, Any]],
             overdue_count: int, queues_config: Mapping[str, Any], queue_skills: Mapping[str, set[str]],
             config: WallboardConfig) -> dict[str, Any]:
    """The whole board at `now` (JSON-ready)."""
    calls = {c.id: c for c in live}
    by_call = {w.call: w for w in waiting}
    grid = agent_rows(agents, presence, calls, by_call, now)
    names = [n for n in queues_config if n != "default"]
    queue_table = queue_rows(names, queue_skills, waiting, agents, presence, today, queues_config, config, now)
    ivr = ivr_rows(live, by_call, [r["call"] for r in grid if r["call"]], now)
    states: dict[str, int] = {}
    for r in grid:
        states[r["state"]] = states.get(r["state"], 0) + 1
    in_target = sum(q["answered_in_target_today"] for q in queue_table)
    oldest = min((w.at for w in waiting), default=None)
    totals = {"waiting": len(waiting), "longest_wait_s": _seconds(now - oldest) if oldest is not None else None,
              "oldest_at": oldest, "in_ivr": len(ivr), "agents": states,
              "offered_today": sum(q["offered_today"] for q in queue_table),
              "answered_today": sum(q["answered_today"] for q in queue_table),
              "abandoned_today": sum(q["abandoned_today"] for q in queue_table), "answered_in_target_today": in_target,
              "service_level": reports.rate(in_target, sum(q["service_level_calls"] for q in queue_table))}
    return {"now": now, "config": config.to_dict(), "agents": grid, "queues": queue_table, "ivr": ivr,
            "totals": totals, "overdue_tickets": overdue_count,
            "alerts": alerts(queue_table, grid, waiting, overdue, overdue_count, queues_config, config, now)}

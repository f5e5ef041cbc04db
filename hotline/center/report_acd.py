"""The ACD and agent tables of the reports, from the calls' queue entries, offers, holds and
wrap-ups (the definitions are in :mod:`hotline.center.reports`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hotline.center.presence_log import occupancy
from hotline.center.report_table import Table, mean, rate
from hotline.center.report_table import cols as _cols
from hotline.center.report_table import total as _total


def queue_entries(record: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [e for e in record.get("transfers") or [] if isinstance(e, Mapping) and e.get("queue")]


@dataclass
class Leg:
    """One answered queue entry: an agent's part of a call."""

    queue: str
    agent: str
    waited_s: float
    talk_s: float | None
    hold_s: float | None
    wrap_s: float | None
    transferred: bool  # the agent passed the caller on


def _hold_between(record: Mapping[str, Any], start: float, end: float) -> float | None:
    holds = record.get("holds")
    if not isinstance(holds, list):
        return None  # not recorded for this call
    total = 0.0
    for h in holds:
        if not isinstance(h, Mapping) or h.get("at") is None:
            continue
        a = max(start, float(h["at"]))
        b = min(end, float(h.get("until") or end))
        total += max(0.0, b - a)
    return total


def _wrap(record: Mapping[str, Any], ended_at: float | None) -> float | None:
    wrapup = record.get("wrapup")
    if not isinstance(wrapup, Mapping) or wrapup.get("at") is None or ended_at is None:
        return None
    return max(0.0, float(wrapup["at"]) - ended_at)


def legs(record: Mapping[str, Any]) -> list[Leg]:
    """The answered queue entries of a call with their talk, hold and wrap-up times (the wrap-up is
    the last agent's)."""
    entries = queue_entries(record)
    ended = record.get("ended_at")
    out: list[Leg] = []
    for i, e in enumerate(entries):
        if e.get("result") != "answered":
            continue
        answer = float(e.get("at") or record["started_at"]) + float(e.get("waited_s") or 0.0)
        nxt = entries[i + 1] if i + 1 < len(entries) else None
        end = float(nxt["at"]) if nxt is not None and nxt.get("at") is not None else ended
        talk = hold = None
        if end is not None:
            span = max(0.0, float(end) - answer)
            hold = _hold_between(record, answer, float(end))
            talk = span - (hold or 0.0)
        wrap = _wrap(record, float(ended) if ended is not None else None) if nxt is None else None
        out.append(Leg(str(e["queue"]), str(e.get("agent") or record.get("agent") or ""),
                       float(e.get("waited_s") or 0.0), talk, hold, wrap, nxt is not None))
    return out


def _blank_acd(queue: str) -> dict[str, Any]:
    return {"queue": queue, "offered": 0, "answered": 0, "abandoned": 0, "overflow": 0, "waiting": 0,
            "no_agents": 0, "answered_in_target": 0, "transfers": 0, "declined": 0, "ring_timeout": 0,
            "_wait": [], "_talk": [], "_hold": [], "_wrap": [], "_handle": []}


def _blank_agent(agent: str) -> dict[str, Any]:
    return {"agent": agent, "calls": 0, "offers": 0, "declined": 0, "ring_timeout": 0, "transfers": 0,
            "_talk": [], "_hold": [], "_wrap": [], "_handle": [], "_qa": []}


def _handle(leg: Leg) -> float | None:
    if leg.talk_s is None:
        return None
    return leg.talk_s + (leg.hold_s or 0.0) + (leg.wrap_s or 0.0)


def _times(row: dict[str, Any], leg: Leg) -> None:
    for key, value in (("_talk", leg.talk_s), ("_hold", leg.hold_s), ("_wrap", leg.wrap_s), ("_handle", _handle(leg))):
        if value is not None:
            row[key].append(value)


def _finish_times(row: dict[str, Any]) -> None:
    for key in ("talk", "hold", "wrap", "handle"):
        values = row.pop(f"_{key}")
        row[f"{key}_s"] = _total(values) if values else None
        row[f"avg_{key}_s"] = mean(values)


def acd_tables(records: Sequence[Mapping[str, Any]], queue: str | None, target_s: float,
               presence: Mapping[str, Mapping[str, float]] | None = None) -> dict[str, Table]:
    """The ``acd`` and ``agents`` tables; ``presence``: seconds per agent and state in the period
    (:func:`hotline.center.presence_log.times_in_state`), for occupancy and time available / away."""
    queues: dict[str, dict[str, Any]] = {}
    agents: dict[str, dict[str, Any]] = {}
    for r in records:
        for e in queue_entries(r):
            name = str(e["queue"])
            if queue and name != queue:
                continue
            row = queues.setdefault(name, _blank_acd(name))
            result = str(e.get("result") or "")
            if result == "no_agents":
                row["no_agents"] += 1
                continue
            row["offered"] += 1
            if result in ("answered", "abandoned", "overflow"):
                row[result] += 1
            else:
                row["waiting"] += 1
            if result == "answered":
                waited = float(e.get("waited_s") or 0.0)
                row["_wait"].append(waited)
                row["answered_in_target"] += int(waited <= target_s)
        for leg in legs(r):
            if queue and leg.queue != queue:
                continue
            row = queues.setdefault(leg.queue, _blank_acd(leg.queue))
            _times(row, leg)
            row["transfers"] += int(leg.transferred)
            person = agents.setdefault(leg.agent, _blank_agent(leg.agent))
            person["calls"] += 1
            person["transfers"] += int(leg.transferred)
            _times(person, leg)
        for offer in r.get("offers") or []:
            if not isinstance(offer, Mapping) or (queue and offer.get("queue") != queue):
                continue
            outcome = str(offer.get("outcome") or "")
            key = {"declined": "declined", "timeout": "ring_timeout"}.get(outcome)
            if offer.get("queue"):
                row = queues.setdefault(str(offer["queue"]), _blank_acd(str(offer["queue"])))
                if key:
                    row[key] += 1
            if offer.get("agent"):
                person = agents.setdefault(str(offer["agent"]), _blank_agent(str(offer["agent"])))
                person["offers"] += 1
                if key:
                    person[key] += 1
        for review in r.get("qa") or []:
            if isinstance(review, Mapping) and r.get("agent") and review.get("percent") is not None:
                agents.setdefault(str(r["agent"]), _blank_agent(str(r["agent"])))["_qa"].append(float(review["percent"]))
    acd_rows = []
    for name in sorted(queues):
        row = queues[name]
        waits = row.pop("_wait")
        row["asa_s"] = mean(waits)
        row["service_level"] = rate(row["answered_in_target"], row["offered"])
        row["abandon_rate"] = rate(row["abandoned"], row["offered"])
        _finish_times(row)
        acd_rows.append(row)
    if not queue:  # an agent who took no call in the period still worked (or waited) in it
        for name in presence or {}:
            agents.setdefault(name, _blank_agent(name))
    agent_rows = []
    for name in sorted(agents):
        row = agents[name]
        _finish_times(row)
        qa = row.pop("_qa")
        row["qa_percent"] = mean(qa)
        seconds = (presence or {}).get(name)
        row["occupancy"] = occupancy(seconds) if seconds else None
        row["available_s"] = seconds.get("available", 0.0) if seconds else None
        row["away_s"] = round(sum(seconds.get(st, 0.0) for st in ("away", "not_responding")), 1) if seconds else None
        agent_rows.append(row)
    times = [("talk_s", "Talk (s)"), ("avg_talk_s", "Avg talk (s)"), ("hold_s", "Hold (s)"), ("wrap_s", "Wrap-up (s)"),
             ("avg_handle_s", "Avg handle (s)")]
    return {
        "acd": Table("ACD queues", _cols(("queue", "Queue"), ("offered", "Offered"), ("answered", "Answered"),
                                         ("abandoned", "Abandoned"), ("overflow", "Overflow"), ("waiting", "Waiting"),
                                         ("no_agents", "Refused: no agents"), ("asa_s", "ASA (s)"),
                                         ("answered_in_target", f"Answered within {target_s:g} s"),
                                         ("service_level", "Service level"), ("abandon_rate", "Abandon rate"),
                                         *times, ("transfers", "Transfers"), ("declined", "Offers declined"),
                                         ("ring_timeout", "Offers not answered")), acd_rows,
                     f"Service level = answered within {target_s:g} s / offered. Hold and wrap-up are shown where "
                     "the records hold them (empty otherwise); handle = talk + hold + wrap-up."),
        "agents": Table("Agents", _cols(("agent", "Agent"), ("calls", "Calls"), *times, ("handle_s", "Handle (s)"),
                                        ("transfers", "Transfers"), ("offers", "Offers"), ("declined", "Declined"),
                                        ("ring_timeout", "Not answered"), ("qa_percent", "QA %"),
                                        ("occupancy", "Occupancy"), ("available_s", "Available (s)"),
                                        ("away_s", "Away (s)")), agent_rows,
                        "Occupancy = time ringing, on calls and in wrap-up / (that + time available), from the "
                        "agents' presence changes (empty where none were logged in the period); away includes "
                        "not responding."),
    }

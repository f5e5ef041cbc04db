"""Reports over a period: pure functions from call records (dicts, as `CallStore.between` gives them),
tickets and the knowledge usage report to tables. Every table has named columns and rows of plain
values, so the page draws it and the CSV export writes it from the same data.

What is counted, per table (the period is the calls *started* in ``[since, until)``; with a queue
filter only the calls that entered that queue, and the tickets of that queue):

- ``calls_by_hour`` (hour of day 0-23 in the viewer's time zone), ``calls_by_day`` and
  ``calls_by_channel`` (sip / webrtc): calls started, with how many an agent answered.
- ``ivr_containment``: each finished call in one class. ``transferred``: it asked for a person (an
  entry in ``transfers``: an ACD queue or a SIP address), whatever came of it; ``voicemail``: it left
  a message (a ``voicemail-*`` recording) without a transfer; ``self_served``: the flow ran to its
  end (``outcome`` ``flow_end``) or the caller hung up after telling the bot an answer helped;
  ``abandoned``: the caller hung up in the IVR otherwise; ``failed``: no input, no match, a flow
  loop, or the worker stopped. Live calls are left out. Containment = self_served / finished calls.
- ``ivr_nodes``: per node, the finished calls that went through it, the calls abandoned there (the
  last node of an abandoned call) and the calls that asked for a person there (the last node of a
  transferred call).
- ``acd``: per queue, from the calls' queue entries (``transfers`` with a ``queue``): ``offered``
  (entries that queued: not ``no_agents``), answered, abandoned, overflow (waited the maximum),
  waiting (not over yet), ``no_agents`` (refused: nobody staffed); ``asa_s`` the mean wait of the
  answered; ``service_level``: answered within the target / offered; talk: from the answer to the
  next queue entry of the call (a desk transfer) or its end, less hold; ``hold_s`` from the record's
  ``holds`` and ``wrap_s`` from the wrap-up's ``at`` where these are recorded (else None);
  ``handle_s`` = talk + hold + wrap (what is recorded); ``transfers``: answered entries the agent
  passed on to a queue or an agent; ring outcomes from ``offers`` (declined, timeout).
- ``agents``: per agent, the same from the entries they answered, and their offers.
- ``knowledge`` / ``knowledge_articles``: `hotline.assist.report.usage_report` as tables.
- ``tickets``: per type, the tickets opened in the period: resolved (resolved or closed now), SLA met
  (resolved no later than due), SLA missed, overdue now (open past due), open.
- ``qa``: per agent, the reviews of the period's calls: count, mean / min / max percent.

Rates are None where their denominator is 0; times are seconds. The tables and their helpers are
in :mod:`hotline.center.report_table`, the ACD and agent tables in :mod:`hotline.center.report_acd`.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from hotline.center.report_acd import acd_tables as acd_tables
from hotline.center.report_acd import queue_entries as queue_entries
from hotline.center.report_table import NOT_RECORDED, mean
from hotline.center.report_table import Table as Table
from hotline.center.report_table import cols as _cols
from hotline.center.report_table import rate as rate
from hotline.center.report_table import select as select

SERVICE_TARGET_S = 20.0
CHANNELS = ("sip", "webrtc")
HANGUP_OUTCOMES = frozenset({"caller_hangup", "hangup"})
FAILED_OUTCOMES = frozenset({"no_input", "no_match", "flow_loop"})
CONTAINMENT = ("self_served", "transferred", "voicemail", "abandoned", "failed")
TICKET_DONE = frozenset({"resolved", "closed"})


# --- volume -------------------------------------------------------------------------------------------

def _local(t: float, tz_offset_s: int) -> datetime:
    return datetime.fromtimestamp(t, UTC) + timedelta(seconds=tz_offset_s)


def answered_by_agent(record: Mapping[str, Any]) -> bool:
    return bool(record.get("agent")) or any(e.get("result") == "answered" for e in queue_entries(record))


def volume_tables(records: Sequence[Mapping[str, Any]], tz_offset_s: int) -> dict[str, Table]:
    hours: list[dict[str, Any]] = [{"hour": h, "calls": 0, **{c: 0 for c in CHANNELS}, "answered": 0}
                                   for h in range(24)]
    days: dict[str, dict[str, Any]] = {}
    channels: dict[str, dict[str, Any]] = {c: {"channel": c, "calls": 0, "answered": 0} for c in CHANNELS}
    for r in records:
        when = _local(float(r["started_at"]), tz_offset_s)
        channel = str(r.get("channel") or "sip")
        answered = int(answered_by_agent(r))
        row = hours[when.hour]
        day = days.setdefault(when.date().isoformat(), {"day": when.date().isoformat(), "calls": 0,
                                                         **{c: 0 for c in CHANNELS}, "answered": 0})
        for target in (row, day):
            target["calls"] += 1
            target["answered"] += answered
            target[channel] = target.get(channel, 0) + 1
        per = channels.setdefault(channel, {"channel": channel, "calls": 0, "answered": 0})
        per["calls"] += 1
        per["answered"] += answered
    total = len(records)
    for per in channels.values():
        per["share"] = rate(per["calls"], total)
    split = [*((c, c) for c in CHANNELS), ("answered", "Answered by an agent")]
    return {
        "calls_by_hour": Table("Calls by hour of day", _cols(("hour", "Hour"), ("calls", "Calls"), *split),
                               hours),
        "calls_by_day": Table("Calls by day", _cols(("day", "Day"), ("calls", "Calls"), *split),
                              [days[d] for d in sorted(days)]),
        "calls_by_channel": Table("Calls by channel", _cols(("channel", "Channel"), ("calls", "Calls"),
                                                            ("share", "Share"), ("answered", "Answered by an agent")),
                                  list(channels.values())),
    }


# --- the IVR ------------------------------------------------------------------------------------------

def finished(record: Mapping[str, Any]) -> bool:
    return record.get("status") != "live"


def left_voicemail(record: Mapping[str, Any]) -> bool:
    return any(str(k).startswith("voicemail") for k in record.get("recordings") or {})


def bot_helped(record: Mapping[str, Any]) -> bool:
    return any(isinstance(e, Mapping) and e.get("resolved") == "yes" for e in record.get("bot") or [])


def containment_class(record: Mapping[str, Any]) -> str:
    """How a finished call left the IVR: one of `CONTAINMENT` (definitions in the module's notes)."""
    if record.get("transfers"):
        return "transferred"
    if left_voicemail(record):
        return "voicemail"
    outcome = str(record.get("outcome") or "")
    if record.get("status") == "interrupted" or outcome in FAILED_OUTCOMES:
        return "failed"
    if outcome == "flow_end" or (outcome in HANGUP_OUTCOMES and bot_helped(record)):
        return "self_served"
    if outcome in HANGUP_OUTCOMES or not outcome:
        return "abandoned"
    return "failed"


def ivr_tables(records: Sequence[Mapping[str, Any]]) -> dict[str, Table]:
    done = [r for r in records if finished(r)]
    counts = dict.fromkeys(CONTAINMENT, 0)
    nodes: dict[str, dict[str, Any]] = {}
    for r in done:
        kind = containment_class(r)
        counts[kind] += 1
        path = [str(n) for n in r.get("ivr_path") or []]
        for node in dict.fromkeys(path):
            nodes.setdefault(node, {"node": node, "calls": 0, "abandoned": 0, "to_person": 0})["calls"] += 1
        if path and kind in ("abandoned", "transferred"):
            nodes[path[-1]]["abandoned" if kind == "abandoned" else "to_person"] += 1
    total = len(done)
    labels = {"self_served": "Self-served", "transferred": "Transferred to a person", "voicemail": "Voicemail",
              "abandoned": "Abandoned in the IVR", "failed": "Failed (no input, no match, error)"}
    rows = [{"class": k, "label": labels[k], "calls": counts[k], "share": rate(counts[k], total)} for k in CONTAINMENT]
    rows.append({"class": "total", "label": "Finished calls", "calls": total, "share": rate(total, total)})
    node_rows = sorted(nodes.values(), key=lambda n: (-(n["abandoned"] + n["to_person"]), -n["calls"], n["node"]))
    for n in node_rows:
        n["drop_rate"] = rate(n["abandoned"], n["calls"])
    return {
        "ivr_containment": Table("IVR containment", _cols(("label", "Outcome"), ("calls", "Calls"),
                                                          ("share", "Share")), rows,
                                 "Containment rate = self-served / finished calls; live calls are left out."),
        "ivr_nodes": Table("IVR nodes: where callers hang up or ask for a person",
                           _cols(("node", "Node"), ("calls", "Calls through it"), ("abandoned", "Hung up here"),
                                 ("to_person", "Asked for a person here"), ("drop_rate", "Hang-up rate")),
                           node_rows),
    }


# --- knowledge, tickets, QA ---------------------------------------------------------------------------

def knowledge_tables(usage: Mapping[str, Any] | None) -> dict[str, Table]:
    """`usage_report`'s figures as a summary table and an article table."""
    usage = usage or {}
    bot: Mapping[str, Any] = usage.get("bot") or {}
    summary = [
        {"metric": "desk_calls", "label": "Agent calls with suggestions", "value": usage.get("calls")},
        {"metric": "utterances", "label": "Caller utterances heard", "value": usage.get("utterances")},
        {"metric": "suggested", "label": "Cards suggested", "value": usage.get("suggested")},
        {"metric": "match_rate", "label": "Match rate (cards / utterances)", "value": usage.get("match_rate")},
        {"metric": "used", "label": "Cards marked used", "value": usage.get("used")},
        {"metric": "used_rate", "label": "Used rate (used / used + not relevant)", "value": usage.get("used_rate")},
        {"metric": "bot_questions", "label": "Questions to the voice bot", "value": bot.get("questions")},
        {"metric": "bot_match_rate", "label": "Bot match rate", "value": bot.get("match_rate")},
        {"metric": "bot_self_served", "label": "Bot self-served", "value": bot.get("self_served")},
        {"metric": "bot_self_service_rate", "label": "Bot self-service rate", "value": bot.get("self_service_rate")},
    ]
    articles = []
    for a in usage.get("articles") or []:
        per_bot: Mapping[str, Any] = a.get("bot") or {}
        articles.append({"id": a.get("id"), "title": a.get("title"), "suggested": a.get("suggested"),
                         "used": a.get("used"), "not_relevant": a.get("not_relevant"), "used_rate": a.get("used_rate"),
                         "searched": a.get("searched"), "bot_offered": per_bot.get("offered"),
                         "bot_self_served": per_bot.get("self_served")})
    return {
        "knowledge": Table("Knowledge", _cols(("label", "Figure"), ("value", "Value")), summary,
                           "From the knowledge usage report (hotline.assist.report)."),
        "knowledge_articles": Table("Knowledge articles", _cols(
            ("id", "Article"), ("title", "Title"), ("suggested", "Suggested"), ("used", "Used"),
            ("not_relevant", "Not relevant"), ("used_rate", "Used rate"), ("searched", "Found by search"),
            ("bot_offered", "Read by the bot"), ("bot_self_served", "Bot self-served")), articles),
    }


def _resolved_at(ticket: Mapping[str, Any]) -> float | None:
    """When the ticket last reached resolved / closed (None: it is not resolved now)."""
    if ticket.get("status") not in TICKET_DONE:
        return None
    at = None
    for h in ticket.get("history") or []:
        if isinstance(h, Mapping) and h.get("status") in TICKET_DONE and at is None:
            at = float(h.get("at") or 0.0)
        elif isinstance(h, Mapping) and h.get("status") and h.get("status") not in TICKET_DONE:
            at = None  # reopened
    return at if at is not None else float(ticket.get("updated_at") or ticket.get("created_at") or 0.0)


def tickets_table(tickets: Iterable[Mapping[str, Any]], since: float, until: float, queue: str | None,
                  now: float) -> Table:
    per: dict[str, dict[str, Any]] = {}
    for t in tickets:
        created = float(t.get("created_at") or 0.0)
        if not since <= created < until or (queue and t.get("queue") != queue):
            continue
        for key in (str(t.get("type") or "other"), "total"):
            row = per.setdefault(key, {"type": key, "opened": 0, "resolved": 0, "sla_met": 0, "sla_missed": 0,
                                       "overdue": 0, "open": 0, "_hours": []})
            row["opened"] += 1
            done = _resolved_at(t)
            due = t.get("due_at")
            if done is not None:
                row["resolved"] += 1
                row["_hours"].append((done - created) / 3600.0)
                if due is None or done <= float(due):
                    row["sla_met"] += 1
                else:
                    row["sla_missed"] += 1
            elif due is not None and float(due) <= now:
                row["overdue"] += 1
            else:
                row["open"] += 1
    rows = [per[k] for k in sorted(per) if k != "total"] + ([per["total"]] if "total" in per else [])
    for row in rows:
        hours = row.pop("_hours")
        row["avg_resolve_h"] = round(sum(hours) / len(hours), 2) if hours else None
        row["sla_rate"] = rate(row["sla_met"], row["resolved"])
    return Table("Tickets opened in the period", _cols(
        ("type", "Type"), ("opened", "Opened"), ("resolved", "Resolved"), ("sla_met", "SLA met"),
        ("sla_missed", "SLA missed"), ("sla_rate", "SLA met rate"), ("overdue", "Overdue now"), ("open", "Open"),
        ("avg_resolve_h", "Avg time to resolve (h)")), rows,
        "Resolved = resolved or closed now; SLA met = resolved no later than due.")


def qa_table(records: Sequence[Mapping[str, Any]]) -> Table:
    per: dict[str, list[float]] = defaultdict(list)
    for r in records:
        for review in r.get("qa") or []:
            if isinstance(review, Mapping) and review.get("percent") is not None:
                per[str(r.get("agent") or "(no agent)")].append(float(review["percent"]))
    everyone = [p for ps in per.values() for p in ps]
    rows = [{"agent": a, "reviews": len(ps), "avg_percent": mean(ps), "min_percent": min(ps), "max_percent": max(ps)}
            for a, ps in sorted(per.items())]
    if everyone:
        rows.append({"agent": "total", "reviews": len(everyone), "avg_percent": mean(everyone),
                     "min_percent": min(everyone), "max_percent": max(everyone)})
    return Table("QA scores", _cols(("agent", "Agent"), ("reviews", "Reviews"), ("avg_percent", "Avg %"),
                                    ("min_percent", "Min %"), ("max_percent", "Max %")), rows,
                 "Reviews of the period's calls, by the agent who took the call.")


# --- the whole report ---------------------------------------------------------------------------------

TABLES = ("calls_by_hour", "calls_by_day", "calls_by_channel", "ivr_containment", "ivr_nodes", "acd", "agents",
          "knowledge", "knowledge_articles", "tickets", "qa")


def build(records: Iterable[Mapping[str, Any]], *, since: float, until: float, queue: str | None = None,
          target_s: float = SERVICE_TARGET_S, tz_offset_s: int = 0, knowledge: Mapping[str, Any] | None = None,
          tickets: Iterable[Mapping[str, Any]] | None = None, now: float | None = None,
          presence: Mapping[str, Mapping[str, float]] | None = None) -> dict[str, Table]:
    """Every table of the report. `records` are the calls started in the period (others are left
    out here too); `knowledge` is `usage_report` over the same calls; `tickets` are ticket dicts
    (`Ticket.to_dict()`), None when there is no ticket store; `presence` is seconds per agent and
    state in the period (`hotline.center.presence_log`), None where no presence log is at hand."""
    calls = [r for r in select(records, queue) if since <= float(r.get("started_at") or 0.0) < until]
    tables: dict[str, Table] = {}
    tables.update(volume_tables(calls, tz_offset_s))
    tables.update(ivr_tables(calls))
    tables.update(acd_tables(calls, queue, target_s, presence))
    tables.update(knowledge_tables(knowledge))
    tables["tickets"] = tickets_table(tickets or [], since, until, queue, time.time() if now is None else now)
    if tickets is None:
        tables["tickets"].note = "No ticket store on this node."
    tables["qa"] = qa_table(calls)
    return tables


def not_available(tables: Mapping[str, Table]) -> dict[str, str]:
    """The figures the period's records cannot give, and why."""
    missing = dict(NOT_RECORDED)
    if not any(r.get("occupancy") is not None or r.get("available_s") is not None for r in tables["agents"].rows):
        missing["agents.occupancy"] = "no agent presence changes in the period (logged since this version)"
    served = [r for r in tables["acd"].rows if r["answered"]]
    if served and all(r["hold_s"] is None for r in served):
        missing["acd.hold_s"] = "hold times are not in these calls' records (`holds`)"
    if served and all(r["wrap_s"] is None for r in served):
        missing["acd.wrap_s"] = "wrap-up times are not in these calls' records (the wrap-up's `at`)"
    return missing


def summary(tables: Mapping[str, Table]) -> dict[str, Any]:
    """The headline figures (the page's tiles)."""
    calls = sum(r["calls"] for r in tables["calls_by_channel"].rows)
    contained = {r["class"]: r for r in tables["ivr_containment"].rows}
    acd = tables["acd"].rows
    offered = sum(r["offered"] for r in acd)
    in_target = sum(r["answered_in_target"] for r in acd)
    waits = [(r["asa_s"], r["answered"]) for r in acd if r["asa_s"] is not None]
    answered = sum(n for _, n in waits)
    return {"calls": calls, "containment_rate": contained["self_served"]["share"],
            "offered": offered, "answered": sum(r["answered"] for r in acd),
            "abandoned": sum(r["abandoned"] for r in acd), "service_level": rate(in_target, offered),
            "asa_s": round(sum(a * n for a, n in waits) / answered, 1) if answered else None}

"""The wallboard's figures as pure functions: a scripted floor (five agents in every state, four
calls in two queues, one in the IVR, today's records, overdue tickets) gives the grid, the queues,
the IVR calls, the alerts and the totals the definitions in `hotline.center.wallboard` say."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hotline.center.agents import Agent, Presence
from hotline.center.settings import Settings, SettingsError
from hotline.center.wallboard import (
    LiveCall,
    Waiting,
    WallboardConfig,
    flow_queue_skills,
    parse_waiting,
    queue_max_wait,
    snapshot,
    ticket_summary,
    today_start,
)
from hotline.ivr.registry import FlowRegistry

REPO = Path(__file__).resolve().parents[2]
NOW = 1_800_000_000.0
QUEUES = {"default": {"max_wait_s": 120}, "billing": {"max_wait_s": 60}}


def record(cid: str, started: float, status: str = "completed", **kw: Any) -> dict[str, Any]:
    return {"id": cid, "started_at": started, "status": status, "channel": "sip", "flow": "main",
            "ivr_path": ["welcome", "menu"], "transfers": [], "offers": [], "agent": "", **kw}


def entry(queue: str, at: float, result: str | None = None, waited: float | None = None,
          agent: str = "") -> dict[str, Any]:
    e: dict[str, Any] = {"queue": queue, "skill": "general" if queue == "general" else "address_change", "at": at}
    if result is not None:
        e.update(result=result, waited_s=waited, agent=agent)
    return e


def floor() -> dict[str, Any]:
    agents = [Agent("ann", "Ann", ["general"]), Agent("bo", "Bo", ["general", "address_change"]),
              Agent("cy", "Cy", ["address_change"]), Agent("dee", "Dee", ["general"]),
              Agent("eve", "Eve", ["general"]), Agent("sam", "Sam Lead", [], roles=["supervisor"])]
    presence = {"ann": Presence("available", NOW - 50.0),
                "bo": Presence("on_call", NOW - 990.0, call="c1", next_state="away", reason="lunch"),
                "cy": Presence("ringing", NOW - 3.0, call="c2"), "dee": Presence("away", NOW - 600.0, reason="lunch"),
                "sam": Presence("offline", NOW - 5000.0)}  # eve never logged in
    waiting = [Waiting("c2", "address", "address_change", NOW - 8.0, ringing="cy"),
               Waiting("c3", "general", "general", NOW - 30.0), Waiting("c4", "general", "general", NOW - 130.0)]
    live_records = [
        record("c1", NOW - 1100.0, "live", agent="bo", ivr_path=["welcome", "menu", "agent"],
               transfers=[entry("general", NOW - 1000.0, "answered", 10.0, "bo")]),
        record("c2", NOW - 20.0, "live", ivr_path=["welcome", "menu", "address"], transfers=[entry("address", NOW - 8.0)]),
        record("c3", NOW - 40.0, "live", ivr_path=["welcome", "menu", "agent"], transfers=[entry("general", NOW - 30.0)]),
        record("c4", NOW - 140.0, "live", ivr_path=["welcome", "menu", "agent"],
               transfers=[entry("general", NOW - 130.0)]),
        record("c5", NOW - 25.0, "live", ivr_path=["welcome", "language", "menu"]),
        # back in the IVR after nobody could take it (the flow's voicemail)
        record("c6", NOW - 90.0, "live", ivr_path=["welcome", "menu", "agent", "leave_message"],
               transfers=[entry("general", NOW - 80.0, "no_agents", 0.0)]),
    ]
    today = [
        record("r1", NOW - 5000.0, transfers=[entry("general", NOW - 4990.0, "answered", 12.0, "ann")]),
        record("r2", NOW - 4000.0, transfers=[entry("general", NOW - 3990.0, "answered", 30.0, "bo")]),
        record("r3", NOW - 3000.0, transfers=[entry("general", NOW - 2990.0, "abandoned", 40.0)]),
        record("r4", NOW - 2000.0, transfers=[entry("general", NOW - 1990.0, "answered", 5.0, "ann")]),
        *live_records,
    ]
    overdue = [{"ref": "100001", "type": "damage", "priority": "high", "status": "open", "due_at": NOW - 60.0,
                "queue": "general", "assignee": "", "caller": "+15550100", "description": "secret"},
               {"ref": "100002", "type": "other", "priority": "low", "status": "waiting", "due_at": NOW - 30.0,
                "queue": "", "assignee": "ann", "caller": "+15550101", "description": "secret"}]
    return {"now": NOW, "agents": agents, "presence": presence, "waiting": waiting,
            "live": [LiveCall.from_record(r) for r in live_records], "today": today,
            "overdue": [ticket_summary(t) for t in overdue], "overdue_count": 2, "queues_config": QUEUES,
            "queue_skills": {"general": {"general"}, "address": {"address_change"}},
            "config": WallboardConfig(long_call_s=900.0)}


def test_config_defaults_overrides_and_errors() -> None:
    assert WallboardConfig.from_mapping(None) == WallboardConfig(20.0, 0.8, 900.0)
    assert WallboardConfig.from_mapping({"service_target_s": 30, "long_call_s": 600}).long_call_s == 600.0
    for bad in ({"target": 20}, {"service_target_s": "20"}, {"service_level_goal": 80}, {"long_call_s": 0},
                {"service_target_s": True}, {"long_call_s": float("nan")}):
        with pytest.raises(ValueError):
            WallboardConfig.from_mapping(bad)
    assert WallboardConfig.from_mapping(Settings().wallboard) == WallboardConfig()
    with pytest.raises(SettingsError, match="service_level_goal"):
        Settings(wallboard={"service_level_goal": 1.5})


def test_acd_entries_and_records_are_read() -> None:
    raw = json.dumps({"call": "c9", "queue": "general", "skill": "general", "at": NOW, "ringing": "ann",
                      "priority": 2, "context": {"caller": "+1555"}})
    assert parse_waiting("c9", raw) == Waiting("c9", "general", "general", NOW, "ann", 2)
    assert parse_waiting("c9", None) is None and parse_waiting("c9", b"{not json") is None
    assert parse_waiting("c9", json.dumps({"queue": "general"})) is None  # no `at`
    call = LiveCall.from_record(record("c1", NOW - 100.0, "live", agent="bo", ivr_path=["welcome", "agent"],
                                       transfers=[entry("general", NOW - 90.0, "answered", 6.0, "bo")]))
    assert (call.node, call.queue, call.queue_result, call.answered_at) == ("agent", "general", "answered", NOW - 84.0)
    assert LiveCall.from_record(record("c2", NOW, "live", ivr_path=[])).node == ""


def test_queue_settings_and_the_flows_queues(tmp_path: Path) -> None:
    assert queue_max_wait(QUEUES, "billing") == 60.0 and queue_max_wait(QUEUES, "general") == 120.0
    assert queue_max_wait({}, "general") == 120.0 and queue_max_wait({"general": {"bad": 1}}, "general") == 120.0
    flows = FlowRegistry(REPO / "flows", tmp_path / "state")
    flows.scan()
    assert flow_queue_skills(flows.flowset()) == {"general": {"general"}, "address": {"address_change"}}
    assert flow_queue_skills(None) == {}


def test_today_starts_at_local_midnight() -> None:
    start = today_start(NOW)
    assert 0 <= NOW - start < 86400 and today_start(start) == start and today_start(start - 1) < start


def test_the_agent_grid() -> None:
    board = snapshot(**floor())
    rows = {r["username"]: r for r in board["agents"]}
    assert [r["username"] for r in board["agents"]] == ["ann", "bo", "cy", "dee", "eve"]  # the supervisor is not an agent
    assert rows["ann"]["state"] == "available" and rows["ann"]["in_state_s"] == 50.0 and rows["ann"]["call"] == ""
    bo = rows["bo"]
    assert (bo["state"], bo["call"], bo["queue"], bo["monitor"]) == ("on_call", "c1", "general", True)
    assert bo["call_since"] == NOW - 990.0 and bo["call_s"] == 990.0  # from the answer: at + waited
    assert (bo["next_state"], bo["reason"], bo["skills"]) == ("away", "lunch", ["general", "address_change"])
    cy = rows["cy"]
    assert (cy["state"], cy["call"], cy["queue"], cy["call_s"], cy["monitor"]) == ("ringing", "c2", "address", 3.0,
                                                                                    False)
    assert rows["dee"]["reason"] == "lunch" and rows["dee"]["in_state_s"] == 600.0
    assert rows["eve"]["state"] == "offline" and rows["eve"]["since"] is None and rows["eve"]["in_state_s"] is None
    assert board["totals"]["agents"] == {"available": 1, "on_call": 1, "ringing": 1, "away": 1, "offline": 1}


def test_the_queues() -> None:
    board = snapshot(**floor())
    queues = {q["queue"]: q for q in board["queues"]}
    assert list(queues) == ["address", "billing", "general"]
    general = queues["general"]
    assert (general["waiting"], general["ringing"], general["longest_wait_s"], general["oldest_at"]) == (
        2, 0, 130.0, NOW - 130.0)
    assert general["max_wait_s"] == 120.0 and general["over_max_wait"] == 1
    assert (general["agents_available"], general["agents_busy"]) == (1, 1)  # ann; bo on a call (cy lacks the skill)
    # today: r1-r4, c1, c3, c4 and c6 (refused: not offered); answered within 20 s: r1, r4 and c1; c3 and
    # c4 have waited past the target (counted as missed)
    assert (general["offered_today"], general["answered_today"], general["abandoned_today"]) == (7, 4, 1)
    assert general["answered_in_target_today"] == 3 and general["service_level_calls"] == 7
    assert general["service_level"] == round(3 / 7, 4) and general["at_risk"]
    address = queues["address"]
    assert (address["waiting"], address["ringing"], address["longest_wait_s"]) == (1, 1, 8.0)
    assert (address["agents_available"], address["agents_busy"], address["skills"]) == (0, 2, ["address_change"])
    # offered and still waiting (8 s, within the target): no service level yet, not at risk
    assert address["offered_today"] == 1 and address["service_level"] is None and not address["at_risk"]
    billing = queues["billing"]
    assert (billing["waiting"], billing["longest_wait_s"], billing["max_wait_s"], billing["service_level"]) == (
        0, None, 60.0, None)
    assert billing["agents_available"] == 1  # no skill known: every available agent (ann; dee is away)


def test_ivr_alerts_and_totals() -> None:
    board = snapshot(**floor())
    assert [(c["call"], c["node"], c["duration_s"]) for c in board["ivr"]] == [("c6", "leave_message", 90.0),
                                                                              ("c5", "menu", 25.0)]
    kinds = [(a["kind"], a.get("queue") or a.get("agent") or a.get("count")) for a in board["alerts"]]
    assert kinds == [("max_wait", "general"), ("service_level", "general"), ("long_call", "bo"),
                     ("overdue_tickets", 2)]
    texts = [a["text"] for a in board["alerts"]]
    assert texts[0] == "general: a caller has waited 2:10, over the maximum 2:00"
    assert texts[1] == "general: service level 43% today, goal 80% within 20 s"
    assert texts[2] == "Bo has been on a call for 16:30 (over 15:00)"
    assert texts[3] == "2 overdue tickets"
    assert [t["ref"] for t in board["alerts"][3]["tickets"]] == ["100001", "100002"]
    assert "+1555" not in json.dumps(board) and "secret" not in json.dumps(board)  # no caller on the board
    totals = board["totals"]
    assert (totals["waiting"], totals["longest_wait_s"], totals["in_ivr"]) == (3, 130.0, 2)
    assert (totals["offered_today"], totals["answered_today"], totals["abandoned_today"]) == (8, 4, 1)
    assert totals["service_level"] == round(3 / 7, 4)
    assert board["config"] == {"service_target_s": 20.0, "service_level_goal": 0.8, "long_call_s": 900.0}


def test_a_quiet_floor() -> None:
    board = snapshot(now=NOW, agents=[], presence={}, waiting=[], live=[], today=[], overdue=[], overdue_count=0,
                     queues_config={"default": {}}, queue_skills={}, config=WallboardConfig())
    assert board["agents"] == board["queues"] == board["ivr"] == board["alerts"] == []
    assert board["totals"]["longest_wait_s"] is None and board["totals"]["service_level"] is None

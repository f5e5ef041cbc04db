"""The reports' figures from a scripted mix of call records (self-served by the flow and by the bot,
transferred and answered, answered then passed on by the agent, abandoned in the queue, refused for
want of agents, voicemail, hung up in the IVR, no input, still live), each figure checked against
what the test counts itself; and the tickets and QA tables."""

from __future__ import annotations

from typing import Any

import pytest

from hotline.assist.report import usage_report
from hotline.center import reports
from tests.support.report_calls import SINCE, UNTIL, T, call, mix


@pytest.fixture
def tables() -> dict[str, reports.Table]:
    return reports.build(mix(), since=SINCE, until=UNTIL, tz_offset_s=0, knowledge=None, tickets=[], now=T)


def rows_by(table: reports.Table, key: str) -> dict[Any, dict[str, Any]]:
    return {r[key]: r for r in table.rows}


def test_volume_by_hour_day_and_channel(tables: dict[str, reports.Table]) -> None:
    hours = rows_by(tables["calls_by_hour"], "hour")
    assert len(hours) == 24
    # 09:00 self and answered; 10:00 passed and the bot call (next day); 11:00 the other six
    assert (hours[9]["calls"], hours[10]["calls"], hours[11]["calls"]) == (2, 2, 6)
    assert (hours[10]["sip"], hours[10]["webrtc"]) == (1, 1)
    assert sum(h["calls"] for h in hours.values()) == 10
    days = rows_by(tables["calls_by_day"], "day")
    assert {d: r["calls"] for d, r in days.items()} == {"2026-11-20": 9, "2026-11-21": 1}
    channels = rows_by(tables["calls_by_channel"], "channel")
    assert (channels["sip"]["calls"], channels["webrtc"]["calls"]) == (9, 1)
    assert channels["sip"]["share"] == 0.9
    assert channels["sip"]["answered"] == 2  # answered and passed


def test_hours_follow_the_viewers_time_zone() -> None:
    shifted = reports.build(mix(), since=SINCE, until=UNTIL, tz_offset_s=3600 * 8, tickets=[], now=T)
    hours = rows_by(shifted["calls_by_hour"], "hour")
    assert (hours[17]["calls"], hours[18]["calls"], hours[19]["calls"]) == (2, 2, 6)


def test_ivr_containment_and_nodes(tables: dict[str, reports.Table]) -> None:
    kinds = {r["class"]: r["calls"] for r in tables["ivr_containment"].rows}
    assert kinds == {"self_served": 2, "transferred": 4, "voicemail": 1, "abandoned": 1, "failed": 1, "total": 9}
    assert rows_by(tables["ivr_containment"], "class")["self_served"]["share"] == round(2 / 9, 4)
    nodes = rows_by(tables["ivr_nodes"], "node")
    assert nodes["welcome"]["calls"] == 9 and nodes["menu"]["calls"] == 8
    assert nodes["menu"]["abandoned"] == 1 and nodes["menu"]["to_person"] == 0
    assert nodes["agent"]["to_person"] == 3  # answered, passed, queue-abandoned
    assert nodes["voicemail"]["to_person"] == 1  # no-agents: its last node
    assert nodes["menu"]["drop_rate"] == round(1 / 8, 4)


def test_acd_queues(tables: dict[str, reports.Table]) -> None:
    acd = rows_by(tables["acd"], "queue")
    general, billing = acd["general"], acd["billing"]
    assert (general["offered"], general["answered"], general["abandoned"], general["waiting"],
            general["no_agents"]) == (4, 2, 1, 1, 1)
    assert general["asa_s"] == 21.0  # (12 + 30) / 2
    assert general["answered_in_target"] == 1 and general["service_level"] == 0.25
    assert general["abandon_rate"] == 0.25
    # answered: 622 -> 700 less 10 s hold = 68 s; passed: 3640 -> 3700 (the transfer) = 60 s
    assert general["talk_s"] == 128.0 and general["avg_talk_s"] == 64.0
    assert general["hold_s"] == 10.0  # only "answered" records holds
    assert general["wrap_s"] == 30.0
    assert general["handle_s"] == 68.0 + 10.0 + 30.0 + 60.0
    assert general["transfers"] == 1 and general["declined"] == 1 and general["ring_timeout"] == 0
    assert (billing["offered"], billing["answered"], billing["asa_s"], billing["service_level"]) == (1, 1, 5.0, 1.0)
    assert billing["talk_s"] == 195.0 and billing["ring_timeout"] == 1  # 3705 -> 3900
    summary = reports.summary(tables)
    assert summary["offered"] == 5 and summary["answered"] == 3 and summary["abandoned"] == 1
    assert summary["service_level"] == 0.4 and summary["asa_s"] == round(47 / 3, 1)
    assert summary["calls"] == 10 and summary["containment_rate"] == round(2 / 9, 4)


def test_agents(tables: dict[str, reports.Table]) -> None:
    agents = rows_by(tables["agents"], "agent")
    assert set(agents) == {"alice", "bob", "carol", "dave"}
    alice, bob, carol, dave = (agents[n] for n in ("alice", "bob", "carol", "dave"))
    assert (alice["calls"], alice["talk_s"], alice["hold_s"], alice["wrap_s"], alice["handle_s"]) == (1, 68.0, 10.0,
                                                                                                      30.0, 108.0)
    assert (bob["calls"], bob["talk_s"], bob["transfers"], bob["offers"], bob["declined"]) == (1, 60.0, 1, 2, 1)
    assert (carol["calls"], carol["talk_s"], carol["qa_percent"]) == (1, 195.0, 60.0)
    assert (dave["calls"], dave["offers"], dave["ring_timeout"]) == (0, 1, 1)
    assert alice["qa_percent"] == 85.0
    assert alice["occupancy"] is None and alice["available_s"] is None  # not recorded
    assert "agents.occupancy" in reports.not_available(tables)


def test_queue_filter_keeps_that_queues_calls() -> None:
    billing = reports.build(mix(), since=SINCE, until=UNTIL, queue="billing", tickets=[], now=T)
    assert sum(r["calls"] for r in billing["calls_by_channel"].rows) == 1
    assert [r["queue"] for r in billing["acd"].rows] == ["billing"]
    assert [r["agent"] for r in billing["agents"].rows] == ["carol", "dave"]


def test_hold_and_wrap_not_recorded_are_none() -> None:
    plain = [call("a", T, agent="x", transfers=[{"queue": "q", "at": T + 1, "result": "answered", "agent": "x",
                                                 "waited_s": 1.0}])]
    t = reports.build(plain, since=SINCE, until=UNTIL, tickets=[], now=T)
    row = t["acd"].rows[0]
    assert row["talk_s"] == 58.0 and row["hold_s"] is None and row["wrap_s"] is None and row["handle_s"] == 58.0
    missing = reports.not_available(t)
    assert "acd.hold_s" in missing and "acd.wrap_s" in missing


def test_knowledge_tables_from_the_usage_report() -> None:
    records = mix() + [call("desk", T + 100.0, agent="alice",
                            assist={"utterances": 4, "suggestions": [{"article": "track", "feedback": "used"},
                                                                     {"article": "refund", "feedback": "not_relevant"}]})]
    usage = usage_report(records, None)
    t = reports.build(records, since=SINCE, until=UNTIL, knowledge=usage, tickets=[], now=T)
    figures = {r["metric"]: r["value"] for r in t["knowledge"].rows}
    assert figures["suggested"] == 2 and figures["match_rate"] == 0.5 and figures["used_rate"] == 0.5
    assert figures["bot_questions"] == 1 and figures["bot_self_served"] == 1
    articles = rows_by(t["knowledge_articles"], "id")
    assert articles["track"]["used"] == 1 and articles["track"]["bot_offered"] == 1


def ticket(ref: str, type_: str, created: float, status: str, due: float | None, done: float | None = None,
           queue: str = "") -> dict[str, Any]:
    history = [{"at": created, "status": "open", "by": "ivr"}]
    if done is not None:
        history.append({"at": done, "status": status, "by": "alice"})
    return {"ref": ref, "type": type_, "created_at": created, "status": status, "due_at": due, "history": history,
            "queue": queue, "updated_at": done or created}


def test_tickets() -> None:
    now = T + 10 * 3600.0
    tickets = [ticket("1", "damage", T, "resolved", T + 3600.0, T + 1800.0),  # in time
               ticket("2", "damage", T, "closed", T + 3600.0, T + 7200.0),  # late
               ticket("3", "missing", T, "open", T + 3600.0),  # overdue now
               ticket("4", "missing", T, "in_progress", T + 86400.0, queue="billing"),  # open, not due
               ticket("5", "missing", SINCE - 1.0, "open", T)]  # opened before the period
    table = reports.tickets_table(tickets, SINCE, UNTIL, None, now)
    rows = rows_by(table, "type")
    assert (rows["damage"]["opened"], rows["damage"]["resolved"], rows["damage"]["sla_met"],
            rows["damage"]["sla_missed"]) == (2, 2, 1, 1)
    assert rows["damage"]["avg_resolve_h"] == 1.25
    assert (rows["missing"]["opened"], rows["missing"]["overdue"], rows["missing"]["open"]) == (2, 1, 1)
    assert (rows["total"]["opened"], rows["total"]["resolved"], rows["total"]["overdue"]) == (4, 2, 1)
    assert table.rows[-1]["type"] == "total"
    billing = reports.tickets_table(tickets, SINCE, UNTIL, "billing", now)
    assert rows_by(billing, "type")["total"]["opened"] == 1


def test_qa_scores(tables: dict[str, reports.Table]) -> None:
    qa = rows_by(tables["qa"], "agent")
    assert (qa["alice"]["reviews"], qa["alice"]["avg_percent"], qa["alice"]["min_percent"]) == (2, 85.0, 80.0)
    assert (qa["total"]["reviews"], qa["total"]["avg_percent"]) == (3, round(230 / 3, 1))


def test_csv_rows_are_the_table(tables: dict[str, reports.Table]) -> None:
    rows = tables["acd"].csv_rows()
    assert rows[0][:3] == ["Queue", "Offered", "Answered"]
    assert rows[1][:3] == ["billing", 1, 1] and rows[2][:3] == ["general", 4, 2]
    assert [c.key for c in tables["acd"].columns][:3] == ["queue", "offered", "answered"]
    assert set(tables) == set(reports.TABLES)

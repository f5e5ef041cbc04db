"""Agents' presence over time: changes logged to a real Redis stream by the agent directory, then
turned into seconds per state within a period, occupancy, and the reports' agent rows."""

from __future__ import annotations

import time

import redis.asyncio as aioredis

from hotline.center import reports
from hotline.center.agents import Agent, AgentDirectory, AgentState, hash_password
from hotline.center.presence_log import Change, changes_between, occupancy, times_in_state


def test_seconds_in_each_state_are_clipped_to_the_period() -> None:
    changes = [Change("ann", "available", 900.0),  # before the period: she starts it available
               Change("ann", "on_call", 1100.0), Change("ann", "wrap_up", 1400.0),
               Change("ann", "available", 1460.0), Change("ann", "away", 1700.0),
               Change("bo", "on_call", 1500.0)]
    found = times_in_state(changes, since=1000.0, until=2000.0, now=1900.0)  # `now` ends the open states
    assert found["ann"] == {"available": 100.0 + 240.0, "on_call": 300.0, "wrap_up": 60.0, "away": 200.0}
    assert found["bo"] == {"on_call": 400.0}
    assert occupancy(found["ann"]) == round(360.0 / 700.0, 4)
    assert occupancy({"away": 50.0}) is None and occupancy({"on_call": 10.0}) == 1.0


def test_report_agents_get_occupancy_and_idle_agents_appear() -> None:
    presence = {"ann": {"available": 600.0, "on_call": 300.0, "wrap_up": 60.0, "away": 100.0, "not_responding": 20.0},
                "cy": {"available": 3600.0}}
    tables = reports.build([], since=0.0, until=10_000.0, presence=presence, now=10_000.0)
    rows = {r["agent"]: r for r in tables["agents"].rows}
    assert rows["ann"]["occupancy"] == 0.375 and rows["ann"]["available_s"] == 600.0 and rows["ann"]["away_s"] == 120.0
    assert rows["cy"]["calls"] == 0 and rows["cy"]["occupancy"] == 0.0 and rows["cy"]["available_s"] == 3600.0
    assert "agents.occupancy" not in reports.not_available(tables)
    assert "agents.occupancy" in reports.not_available(reports.build([], since=0.0, until=1.0, now=1.0))


async def test_the_directory_logs_every_change_to_the_stream(redis: aioredis.Redis) -> None:
    agents = AgentDirectory(redis)
    await agents.seed([Agent("ann", "Ann", ["general"], hash_password("pw-ann-1"))])
    now = time.time()
    await agents.set_state("ann", AgentState.AVAILABLE, since=now - 30)
    await agents.set_state("ann", AgentState.ON_CALL, "c1", since=now - 20)
    await agents.set_state("ann", AgentState.WRAP_UP, "c1", since=now - 5)
    changes = await changes_between(redis, now - 60, now + 1)
    assert [(c.agent, c.state) for c in changes] == [("ann", "available"), ("ann", "on_call"), ("ann", "wrap_up")]
    seconds = times_in_state(changes, now - 60, now + 1, now=now)
    assert seconds["ann"] == {"available": 10.0, "on_call": 15.0, "wrap_up": 5.0}

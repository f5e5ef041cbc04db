"""ACD routing against a real redis-server: skills, longest idle, priority, ring timeout,
abandonment and overflow, with 3 agents and 6 callers in 2 queues; declines, not-responding agents,
the offers kept in the call's record, and status changes during a call."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from hotline.center import acd
from hotline.center.acd import Acd
from hotline.center.agents import Agent, AgentDirectory, AgentError, hash_password, verify_password
from hotline.center.keys import agent_channel
from hotline.center.queueing import QueueDirectory, queue_announcement
from hotline.center.records import CallRecord
from hotline.center.store import SqliteCallStore


async def staff(redis: aioredis.Redis) -> AgentDirectory:
    agents = AgentDirectory(redis)
    await agents.seed([Agent("ann", "Ann", ["general"], hash_password("pw-ann-1")),
                       Agent("bo", "Bo", ["general", "address_change"], hash_password("pw-bo-12")),
                       Agent("cy", "Cy", ["address_change"], hash_password("pw-cy-12"))])
    return agents


async def ringing(redis: aioredis.Redis) -> dict[str, str]:
    """call -> agent being rung."""
    out = {}
    for call in await redis.zrange(acd.WAITING_KEY, 0, -1):
        data = json.loads(await redis.get(acd.call_key(call.decode())))
        if data["ringing"]:
            out[call.decode()] = data["ringing"]
    return out


async def test_passwords_are_hashed_and_checked(redis: aioredis.Redis) -> None:
    agents = await staff(redis)
    stored = json.loads(await redis.hget("hotline:agents", "ann"))
    assert "pw-ann-1" not in json.dumps(stored) and verify_password("pw-ann-1", stored["password_hash"])
    assert not verify_password("nope", stored["password_hash"])
    assert (await agents.get("ann")).has_role("agent")  # type: ignore[union-attr]


async def test_six_callers_two_queues_three_agents(redis: aioredis.Redis) -> None:
    agents = await staff(redis)
    router = Acd(redis, agents, ring_timeout_s=0.3)
    for name in ("cy", "ann", "bo"):  # idle order: cy longest, then ann, then bo
        await agents.set_state(name, "available")
        time.sleep(0.01)
    queues = QueueDirectory(redis, {})
    for i, (queue, skill) in enumerate([("general", "general"), ("address", "address_change"), ("general", "general"),
                                        ("address", "address_change"), ("general", "general"),
                                        ("general", "general")]):
        await acd.enqueue(redis, f"c{i}", "w1", queue, skill, 0, {"caller": f"+4400{i}"})
        time.sleep(0.01)
    await router.step()
    rung = await ringing(redis)
    # c0 (general) -> ann (longest idle with the skill; cy lacks it); c1 (address) -> cy; c2 -> bo
    assert rung == {"c0": "ann", "c1": "cy", "c2": "bo"}
    assert (await agents.presence("ann")).state == "ringing"
    assert await queues.position("c5") == 6

    # ann answers c0; cy and bo let c1 and c2 ring out: both are not responding, nobody else is free
    assert (await router.answer("c0", "ann"))["worker"] == "w1"  # type: ignore[index]
    assert await router.answer("c0", "bo") is None  # not ringing bo
    await agents.set_state("ann", "on_call", "c0")
    time.sleep(0.35)
    await router.step()
    assert await ringing(redis) == {}
    assert {(await agents.presence(a)).state for a in ("cy", "bo")} == {"not_responding"}
    await agents.choose("cy", "available")  # back at her desk
    await router.step()
    assert await ringing(redis) == {"c1": "cy"}  # everyone with the skill tried once: ring cy again
    await agents.choose("bo", "available")
    await router.step()
    assert await ringing(redis) == {"c1": "cy", "c2": "bo"}
    assert (await agents.presence("cy")).state == "ringing"

    # c3 (address) hangs up while waiting: abandoned and counted
    await acd.cancel(redis, "c3", "abandoned")
    # c5 waited too long: overflow (the flow's voicemail)
    await queues.cancel("c5", "overflow")
    await router.step()
    waiting = [c.decode() for c in await redis.zrange(acd.WAITING_KEY, 0, -1)]
    assert waiting == ["c1", "c2", "c4"]
    stats = {k.decode(): v.decode() for k, v in (await redis.hgetall(acd.STATS_KEY)).items()}
    assert stats["abandoned"] == "1" and stats["overflow"] == "1" and stats["answered"] == "1"

    # bo takes c2, cy takes c1; ann comes back and gets c4 (general): everyone had the right skill
    for call, agent in (("c2", "bo"), ("c1", "cy")):
        assert await router.answer(call, agent) is not None
        await agents.set_state(agent, "on_call", call)
    await agents.set_state("ann", "available")
    await router.step()
    assert await ringing(redis) == {"c4": "ann"}


async def test_priority_goes_first(redis: aioredis.Redis) -> None:
    agents = await staff(redis)
    router = Acd(redis, agents)
    await acd.enqueue(redis, "low", "w1", "general", "general", 0, {})
    await acd.enqueue(redis, "vip", "w1", "general", "general", 5, {})
    await router.step()
    assert [c.decode() for c in await redis.zrange(acd.WAITING_KEY, 0, -1)] == ["vip", "low"]
    await agents.set_state("ann", "available")
    await router.step()
    assert await ringing(redis) == {"vip": "ann"}


async def test_staffing_and_announcements(redis: aioredis.Redis) -> None:
    agents = await staff(redis)
    queues = QueueDirectory(redis, {"general": {"max_wait_s": 30}})
    assert queues.config("general").max_wait_s == 30 and queues.config("other").max_wait_s == 120
    assert not await queues.staffed("general")  # nobody logged in: callers are not queued
    await agents.set_state("cy", "available")
    assert not await queues.staffed("general") and await queues.staffed("address_change")
    await agents.set_state("ann", "away")
    assert not await queues.staffed("general")
    assert queue_announcement("en", 1, 100) == ("You are next in line. The expected wait is about 2 minutes. "
                                                "Please stay on the line.")
    assert "3 in the queue" in queue_announcement("en", 3, 30) and "1 minute." in queue_announcement("en", 3, 30)
    assert queue_announcement("zh", 2, 240).startswith("您前面还有 1 位客户")


class Desks:
    """What the agents' desks get on their channels (ring, ring_cancelled, state)."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.pubsub = redis.pubsub()

    async def start(self, *agents: str) -> Desks:
        await self.pubsub.subscribe(*(agent_channel(a) for a in agents))
        return self

    async def drain(self) -> list[tuple[str, dict[str, Any]]]:
        out = []
        while (m := await self.pubsub.get_message(timeout=0.2)) is not None:
            if m["type"] == "message":
                out.append((m["channel"].decode().rsplit(":", 1)[-1], json.loads(m["data"])))
        return out


def record(store: SqliteCallStore, call: str, caller: str = "+441615550123") -> None:
    store.save(CallRecord(id=call, sip_call_id=f"sip-{call}", from_uri=caller, to_uri="sip:hotline@test"))


async def test_decline_timeout_and_abandon_go_to_the_next_agent_at_once_and_into_the_record(
        redis: aioredis.Redis, tmp_path: Path) -> None:
    agents = await staff(redis)
    store = SqliteCallStore(tmp_path / "calls.db")
    router = Acd(redis, agents, ring_timeout_s=0.3, store=store)
    for name in ("ann", "bo", "cy"):  # idle order: ann, bo, cy
        await agents.set_state(name, "available")
        time.sleep(0.01)
    desks = await Desks(redis).start("ann", "bo", "cy")
    record(store, "c1")
    await acd.enqueue(redis, "c1", "w1", "address", "", 1, {"caller": "+441615550123", "lang": "zh",
                                                            "transfer_reason": "change_address"})
    await router.step()
    messages = await desks.drain()
    ring = next(m for who, m in messages if who == "ann" and m["type"] == "ring")
    assert {k: ring[k] for k in ("call", "caller", "reason", "language", "vip", "caller_name", "ring_timeout_s")} == {
        "call": "c1", "caller": "+441615550123", "reason": "change of address", "language": "zh", "vip": "",
        "caller_name": "", "ring_timeout_s": 0.3}

    # ann declines: bo rings at once (no step), ann is available and told why
    assert not await router.decline("c1", "bo")  # not ringing bo
    assert await router.decline("c1", "ann")
    assert await ringing(redis) == {"c1": "bo"}
    assert (await agents.presence("ann")).state == "available"
    messages = await desks.drain()
    assert ("ann", {"type": "ring_cancelled", "call": "c1", "reason": "declined"}) in messages
    assert any(who == "bo" and m["type"] == "ring" for who, m in messages)

    # bo lets it ring out: not responding, and cy rings in the same step (never ann again)
    time.sleep(0.35)
    await router.step()
    assert await ringing(redis) == {"c1": "cy"}
    assert (await agents.presence("bo")).state == "not_responding"
    messages = await desks.drain()
    assert ("bo", {"type": "ring_cancelled", "call": "c1", "reason": "timeout"}) in messages
    assert any(who == "bo" and m["type"] == "state" and m["state"] == "not_responding" for who, m in messages)

    # cy lets it ring out too: bo is not responding, ann declined it: nobody is rung
    time.sleep(0.35)
    await router.step()
    assert await ringing(redis) == {} and (await agents.presence("cy")).state == "not_responding"
    await agents.choose("cy", "available")
    await router.step()
    assert await ringing(redis) == {"c1": "cy"}  # only she is eligible: rung again
    await acd.cancel(redis, "c1", "abandoned")
    await router.step()
    assert (await agents.presence("cy")).state == "available"
    assert ("cy", {"type": "ring_cancelled", "call": "c1", "reason": "abandoned"}) in await desks.drain()

    offers = store.get("c1")["offers"]  # type: ignore[index]
    assert [(o["agent"], o["outcome"]) for o in offers] == [("ann", "declined"), ("bo", "timeout"),
                                                            ("cy", "timeout"), ("cy", "abandoned")]
    assert offers[1]["ring_s"] >= 0.3 and offers[0]["ring_s"] < 0.3 and offers[0]["queue"] == "address"
    record(store, "c1")  # the worker saves its copy of the record (which has no offers): they are kept
    assert len(store.get("c1")["offers"]) == 4  # type: ignore[index]
    stats = {k.decode(): v.decode() for k, v in (await redis.hgetall(acd.STATS_KEY)).items()}
    assert stats["ring_declined"] == "1" and stats["ring_timeout"] == "2"
    await desks.pubsub.aclose()
    store.close()


async def test_answered_offer_and_a_ring_left_by_the_desk(redis: aioredis.Redis, tmp_path: Path) -> None:
    agents = await staff(redis)
    store = SqliteCallStore(tmp_path / "calls.db")
    router = Acd(redis, agents, ring_timeout_s=30, store=store)
    await agents.set_state("ann", "available")
    time.sleep(0.01)
    await agents.set_state("bo", "available")
    record(store, "c1")
    await acd.enqueue(redis, "c1", "w1", "general", "general", 0, {"caller": "+441615550123"})
    await router.step()
    await agents.disconnected("ann")  # her desk closed while it rang: the next agent at once, not in 30 s
    await router.step()
    assert await ringing(redis) == {"c1": "bo"}
    assert (await router.answer("c1", "bo"))["worker"] == "w1"  # type: ignore[index]
    assert [(o["agent"], o["outcome"]) for o in store.get("c1")["offers"]] == [  # type: ignore[index]
        ("ann", "withdrawn"), ("bo", "answered")]
    store.close()


async def test_status_chosen_during_a_call_is_for_after_it(redis: aioredis.Redis) -> None:
    agents = await staff(redis)
    await agents.set_state("ann", "on_call", "c1")
    p = await agents.choose("ann", "away", "break")
    assert (p.state, p.call, p.next_state, p.reason) == ("on_call", "c1", "away", "break")
    p = await agents.wrap_up("ann", "c1")
    assert (p.state, p.next_state, p.reason) == ("wrap_up", "away", "break")
    p = await agents.after_call("ann")
    assert (p.state, p.next_state, p.reason) == ("away", "", "break")
    # available during a call: back to available after it; available while ringing keeps the ring
    await agents.set_state("ann", "wrap_up", "c2")
    assert (await agents.choose("ann", "available")).next_state == "available"
    assert (await agents.after_call("ann")).state == "available"
    await agents.set_state("ann", "ringing", "c3")
    p = await agents.choose("ann", "available")
    assert (p.state, p.call) == ("ringing", "c3")
    with pytest.raises(AgentError, match="reason must be one of"):
        await agents.choose("ann", "away", "nap")
    with pytest.raises(AgentError, match="state must be one of"):
        await agents.choose("ann", "not_responding")
    # not responding survives a reload of the desk; choosing available ends it
    await agents.set_state("bo", "not_responding")
    await agents.disconnected("bo")
    assert (await agents.reconnected("bo")).state == "not_responding"
    assert (await agents.choose("bo", "available")).state == "available"
    await agents.choose("bo", "away", "lunch")
    await agents.disconnected("bo")
    p = await agents.reconnected("bo")
    assert (p.state, p.reason) == ("away", "lunch")


def test_reason_in_words() -> None:
    assert acd.reason_in_words({"transfer_reason": "change_address", "problem": "damage"}) == "change of address"
    assert acd.reason_in_words({"problem": "not_received"}) == "parcel not received"
    assert acd.reason_in_words({"choice": "lost_keys"}) == "lost keys"
    assert acd.reason_in_words({"lang": "en"}) == ""
    assert acd.vip_level("none") == "" and acd.vip_level("gold") == "gold"


async def test_two_nodes_acds_take_turns_and_one_answer_wins(redis: aioredis.Redis) -> None:
    """Every node runs the ACD loop and any node's desk may answer: while another node holds the
    cluster-wide lock, a step waits; two nodes answering one ring give it to one agent only."""
    agents = await staff(redis)
    pool = redis.connection_pool  # another node: its own connections to the same server
    other = aioredis.Redis(connection_pool=aioredis.ConnectionPool(connection_class=pool.connection_class,
                                                                   **pool.connection_kwargs))
    node_a, node_b = Acd(redis, agents), Acd(other, AgentDirectory(other))
    held = other.lock(acd.ACD_LOCK_KEY, timeout=10)
    assert await held.acquire()
    step = asyncio.create_task(node_a.step())
    await asyncio.sleep(0.5)
    assert not step.done()  # waits for the other node's step
    await held.release()
    await asyncio.wait_for(step, 5)

    await agents.set_state("ann", "available")
    await acd.enqueue(redis, "c1", "b-w1", "general", "general", 0, {})
    await node_b.step()
    assert await ringing(redis) == {"c1": "ann"}
    both = await asyncio.gather(node_a.answer("c1", "ann"), node_b.answer("c1", "ann"))
    assert sum(entry is not None for entry in both) == 1, both
    assert [entry["worker"] for entry in both if entry] == ["b-w1"]
    await other.aclose()

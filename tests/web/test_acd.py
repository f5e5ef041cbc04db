"""ACD routing against a real redis-server: skills, longest idle, priority, ring timeout,
abandonment and overflow, with 3 agents and 6 callers in 2 queues."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from hotline.center import acd
from hotline.center.acd import Acd
from hotline.center.agents import Agent, AgentDirectory, hash_password, verify_password
from hotline.center.queueing import QueueDirectory, queue_announcement
from hotline.center.redis_server import EmbeddedRedis


@pytest.fixture
async def redis(tmp_path: Path, _tools_present: None) -> AsyncIterator[aioredis.Redis]:
    server = EmbeddedRedis(tmp_path)
    await server.start()
    client = aioredis.from_url(server.url)
    yield client
    await client.aclose()
    await server.stop()


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

    # ann answers c0; cy lets c1 ring out (it goes to nobody else free with the skill yet)
    assert (await router.answer("c0", "ann"))["worker"] == "w1"  # type: ignore[index]
    assert await router.answer("c0", "bo") is None  # not ringing bo
    await agents.set_state("ann", "on_call", "c0")
    time.sleep(0.35)
    await router.step()
    rung = await ringing(redis)
    assert rung["c1"] == "cy"  # everyone with the skill tried once: ring cy again
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

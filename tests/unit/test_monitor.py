"""Listen / whisper / barge: the per-frame mixer of the playout, and who hears whom in each mode, with
fake legs (a part of the call alone, then a whole call session with a queued caller and an agent).
Each party's audio is a constant sample value, so a mixed frame tells who is in it by its sum."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hotline.asr.vad import VadConfig
from hotline.center.call_deps import SessionDeps
from hotline.center.call_line import Disconnected
from hotline.center.monitor import Monitors, heard_by
from hotline.center.records import CallRecord
from hotline.ivr.actions import IvrEvent
from hotline.telephony.frames import FRAME_BYTES, FRAME_SAMPLES, AudioFrame
from hotline.telephony.playout import Playout, mix
from tests.unit.test_call_session import QUEUE_FLOW, Call, FakeLeg, MemoryPublisher, MemoryStore, OneQueue

CALLER, AGENT, SUPERVISOR = 1000, 2000, 300  # each party's (constant) sample value


def frame(value: int) -> bytes:
    return np.full(FRAME_SAMPLES, value, dtype=np.int16).tobytes()


def level(pcm: bytes | None) -> int | None:
    """The constant sample value of a frame (None: nothing played)."""
    if pcm is None:
        return None
    samples = np.frombuffer(pcm, dtype=np.int16)
    assert (samples == samples[0]).all()
    return int(samples[0])


def drain(playout: Playout) -> list[int | None]:
    out = []
    while (pcm := playout.next_frame()) is not None:
        out.append(level(pcm))
    return out


# --- the mixer ---------------------------------------------------------------------------------
def test_mix_sums_samples_and_clips_to_int16() -> None:
    t = np.arange(FRAME_SAMPLES)
    a = (8000 * np.sin(2 * np.pi * 440 * t / 16000)).astype(np.int16)
    b = (8000 * np.sin(2 * np.pi * 660 * t / 16000)).astype(np.int16)
    mixed = np.frombuffer(mix([a.tobytes(), b.tobytes()], FRAME_BYTES), dtype=np.int16)
    assert (mixed == a.astype(np.int32) + b).all()
    loud = np.frombuffer(mix([frame(30000), frame(20000)], FRAME_BYTES), dtype=np.int16)
    assert (loud == 32767).all()
    quiet = np.frombuffer(mix([frame(-30000), frame(-20000)], FRAME_BYTES), dtype=np.int16)
    assert (quiet == -32768).all()
    short = np.frombuffer(mix([frame(100), frame(5)[:100]], FRAME_BYTES), dtype=np.int16)
    assert (short[:50] == 105).all() and (short[50:] == 100).all()  # a short frame ends in silence
    assert mix([frame(7)], FRAME_BYTES) == frame(7)


def test_two_live_sources_are_mixed_frame_by_frame_not_interleaved() -> None:
    playout = Playout()
    for _ in range(3):
        playout.push_live(frame(CALLER), "caller")
    playout.push_live(frame(SUPERVISOR), "supervisor:sam")
    # one frame of each source per tick: the caller's backlog does not delay the supervisor
    assert drain(playout) == [CALLER + SUPERVISOR, CALLER, CALLER]
    assert playout.frames_played == 3


def test_a_source_s_backlog_is_bounded_and_dropped_on_leaving() -> None:
    playout = Playout()
    for _ in range(playout.live_max + 5):
        playout.push_live(frame(SUPERVISOR), "supervisor:sam")
    assert playout.live_dropped == 5
    playout.push_live(frame(CALLER), "caller")
    playout.drop_live("supervisor:sam")
    assert drain(playout) == [CALLER]


def test_a_prompt_plays_before_live_audio() -> None:
    playout = Playout()
    playout.push_live(frame(CALLER), "caller")
    playout.play("p", frame(5))
    assert drain(playout) == [5, CALLER]


# --- who hears whom, one part of the call with fakes ------------------------------------------------
def test_the_mode_rules() -> None:
    assert heard_by("listen") == frozenset()
    assert heard_by("whisper") == {"agent"}
    assert heard_by("barge") == {"agent", "caller"}
    assert heard_by("shout") == frozenset()


class FakeCall:
    """A `CallLine` with a caller's leg and a record; spawned work runs on the loop."""

    def __init__(self) -> None:
        self.leg = FakeLeg()
        self.record = CallRecord(id="c1", sip_call_id="s1", from_uri="sip:+15550100@test", to_uri="sip:hotline@test")
        self.started = 0.0
        self.tasks: list[asyncio.Task[None]] = []

    def post(self, event: IvrEvent | Disconnected) -> None:
        pass

    def spawn(self, coro: Coroutine[Any, Any, None], name: str | None = None) -> asyncio.Task[None]:
        task = asyncio.create_task(coro, name=name)
        self.tasks.append(task)
        return task


class FakeAgents:
    def __init__(self) -> None:
        self.leg: FakeLeg | None = FakeLeg()
        self.held = False


def part(tmp_path: Path) -> tuple[Monitors, FakeCall, FakeAgents, MemoryStore]:
    call, agents, store = FakeCall(), FakeAgents(), MemoryStore()
    deps = SessionDeps(flows=lambda: None, flow="main", recognizer=None, prompts=None,  # type: ignore[arg-type]
                       store=store, publisher=MemoryPublisher(), worker_id="w1", vad=VadConfig(),
                       data_dir=tmp_path)
    return Monitors(call=call, deps=deps, agents=agents), call, agents, store  # type: ignore[arg-type]


async def speak(leg: FakeLeg, value: int) -> None:
    """One frame from a supervisor's microphone, handed on by the monitor's pump."""
    leg.frames.put_nowait(AudioFrame(frame(value), 0))
    for _ in range(5):
        await asyncio.sleep(0)


async def test_listen_whisper_barge_and_leaving(tmp_path: Path) -> None:
    monitors, call, agents, store = part(tmp_path)
    agent = agents.leg
    assert agent is not None
    sam = FakeLeg()
    assert monitors.join(sam, "sam", "listen")
    assert not monitors.join(FakeLeg(), "kim", "shout")  # not a mode
    # listen: the supervisor hears the caller and the agent, mixed; nobody hears the supervisor
    monitors.caller_audio(frame(CALLER))
    monitors.agent_audio(frame(AGENT))
    assert drain(sam.playout) == [CALLER + AGENT]
    await speak(sam, SUPERVISOR)
    assert drain(agent.playout) == [] and drain(call.leg.playout) == []
    # whisper: only the agent
    assert monitors.set_mode("sam", "whisper")
    await speak(sam, SUPERVISOR)
    assert drain(agent.playout) == [SUPERVISOR] and drain(call.leg.playout) == []
    # barge: both; on hold the caller hears only the hold message
    assert monitors.set_mode("sam", "barge")
    await speak(sam, SUPERVISOR)
    assert drain(agent.playout) == [SUPERVISOR] and drain(call.leg.playout) == [SUPERVISOR]
    agents.held = True
    await speak(sam, SUPERVISOR)
    assert drain(agent.playout) == [SUPERVISOR] and drain(call.leg.playout) == []
    agents.held = False
    # back to listen: what was queued for the caller is dropped
    await speak(sam, SUPERVISOR)
    assert monitors.set_mode("sam", "listen")
    assert drain(call.leg.playout) == [] and drain(agent.playout) == []
    assert not monitors.set_mode("kim", "barge")  # not on the call
    entry = call.record.monitors[0]
    assert [m["mode"] for m in entry["modes"]] == ["listen", "whisper", "barge", "listen"]
    assert entry["supervisor"] == "sam" and entry["mode"] == "listen" and entry["left_at"] is None
    # the supervisor's browser leaves: so do they
    sam.hang_up_by_caller()
    await asyncio.wait_for(asyncio.gather(*call.tasks), 2.0)
    assert entry["left_at"] is not None and entry["left_at"] >= entry["at"] and not monitors.on
    assert store.records["c1"] is call.record


async def test_joining_again_replaces_the_leg_and_the_call_s_end_closes_every_entry(tmp_path: Path) -> None:
    monitors, call, _agents, _ = part(tmp_path)
    first, second, other = FakeLeg(), FakeLeg(), FakeLeg()
    assert monitors.join(first, "sam", "listen") and monitors.join(second, "sam", "whisper")
    assert first.disconnected.is_set() and not second.disconnected.is_set()
    assert monitors.join(other, "ada", "barge")
    monitors.close(at=1234.5)
    assert second.disconnected.is_set() and other.disconnected.is_set()
    assert [(m["supervisor"], m["mode"], m["left_at"] is not None) for m in call.record.monitors] == [
        ("sam", "listen", True), ("sam", "whisper", True), ("ada", "barge", True)]
    assert call.record.monitors[-1]["left_at"] == 1234.5
    call.leg.hangup_call()
    assert not monitors.join(FakeLeg(), "sam", "listen")  # the call is over
    await asyncio.wait_for(asyncio.gather(*call.tasks), 2.0)


# --- a whole call session: a queued caller, the agent, a supervisor ----------------------------------
@pytest.fixture
def queue_flow(tmp_path: Path) -> Path:
    path = tmp_path / "main.yaml"
    path.write_text(QUEUE_FLOW)
    return path


def talk(leg: FakeLeg, value: int, frames: int = 5) -> None:
    for _ in range(frames):
        leg.frames.put_nowait(AudioFrame(frame(value), leg._seq))
        leg._seq += 1


async def heard(call: Call, leg: FakeLeg, value: int, what: str) -> None:
    found: list[int | None] = []

    def check() -> bool:
        found.extend(drain(leg.playout))
        return value in found
    await call.until(check, f"{what} (heard {sorted(set(found), key=str)})")


async def test_a_supervisor_on_a_bridged_call_session(tmp_path: Path, queue_flow: Path) -> None:
    queue = OneQueue()
    call = Call(tmp_path, queue_flow, queues=queue)
    await call.hears("For an agent, press 0")
    call.leg.press("0")
    await call.until(lambda: bool(queue.waiting), "the caller queued")
    agent, sam = FakeLeg(), FakeLeg()
    assert call.session.attach_agent(agent, "alice")
    assert call.session.monitor(sam, "sam", "listen")
    talk(call.leg, CALLER)
    await heard(call, sam, CALLER, "the supervisor hears the caller")
    talk(agent, AGENT)
    await heard(call, sam, AGENT, "the supervisor hears the agent")
    assert call.session.monitor_mode("sam", "whisper")
    talk(sam, SUPERVISOR)
    await heard(call, agent, SUPERVISOR, "the agent hears the whisper")
    assert SUPERVISOR not in drain(call.leg.playout)
    assert call.session.monitor_mode("sam", "barge")
    talk(sam, SUPERVISOR)
    await heard(call, call.leg, SUPERVISOR, "the caller hears the barge")
    assert call.session.unmonitor("sam") and sam.disconnected.is_set()
    assert not call.session.unmonitor("sam")
    call.leg.hang_up_by_caller()
    rec = await call.ended()
    [entry] = rec.monitors
    assert entry["supervisor"] == "sam" and entry["left_at"] is not None
    assert [m["mode"] for m in entry["modes"]] == ["listen", "whisper", "barge"]
    assert set(rec.recordings) == {"caller", "agent"}  # nothing of the supervisor is recorded
    assert rec.to_dict()["monitors"] == rec.monitors and CallRecord.from_dict(rec.to_dict()).monitors == rec.monitors

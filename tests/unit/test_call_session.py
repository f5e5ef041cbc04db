"""A call session driven end to end with fakes: a leg whose prompts end at once, a recogniser that
hears what the test says, an in-memory record writer, publisher and ACD queue. What is asserted is
the sequence a caller lives through (prompts heard, path, record, events), as in the SIPp tests,
without the SIP stack."""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hotline.asr.recognizer import Hypothesis
from hotline.asr.vad import VadConfig
from hotline.center.bus import CallEvent
from hotline.center.call_deps import SessionDeps
from hotline.center.queueing import QueueConfig
from hotline.center.records import CallRecord
from hotline.center.session import CallSession
from hotline.ivr.actions import AnswerFound, FindAnswer, Transfer
from hotline.ivr.loader import load_flow
from hotline.ivr.model import FlowSet
from hotline.telephony.frames import (
    FRAME_BYTES,
    FRAME_SAMPLES,
    SAMPLE_RATE,
    AudioFrame,
    DtmfEvent,
    FrameQueue,
)
from hotline.telephony.playout import Playout
from hotline.telephony.sip.call import CallInfo

FLOWS = Path(__file__).resolve().parents[1] / "e2e" / "flows"  # the telephony tests' small flow


class FakeLeg:
    """A `CallLeg` whose prompts are heard to the end at once (unless `barge` is set)."""

    def __init__(self, caller: str = "sip:+15550100@test", transfer_code: int = 202) -> None:
        self.info = CallInfo("sip-1", caller, "sip:hotline@test")
        self.frames = FrameQueue(maxsize=1000)
        self.playout = Playout()
        self.dtmf: asyncio.Queue[DtmfEvent] = asyncio.Queue()
        self.disconnected = asyncio.Event()
        self.media_ready = asyncio.Event()
        self.media_ready.set()
        self.disconnect_reason = ""
        self.on_prompt_done: Callable[[str, bool], None] | None = None
        self.transfer_code = transfer_code
        self.transferred_to: list[str] = []
        self.played: list[str] = []
        self._seq = 0

    def play(self, prompt_id: str, pcm: bytes) -> None:
        self.played.append(prompt_id)
        if self.on_prompt_done is not None:
            asyncio.get_running_loop().call_soon(self.on_prompt_done, prompt_id, False)

    def stop_playback(self) -> None:
        self.playout.stop()

    def hangup_call(self) -> None:
        if not self.disconnected.is_set():
            self.disconnect_reason = self.disconnect_reason or "local_hangup"
            self.disconnected.set()
            self.frames.close()

    async def transfer(self, uri: str, timeout: float = 30.0) -> int:
        self.transferred_to.append(uri)
        return self.transfer_code

    # what the test does as the caller
    def press(self, keys: str) -> None:
        for key in keys:
            self.dtmf.put_nowait(DtmfEvent(key, "rfc4733", self._seq * 20))

    def speak(self, seconds: float = 0.8) -> None:
        """A crude vowel then silence: the VAD opens and closes one utterance."""
        t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
        voiced = sum(np.sin(2 * math.pi * 140 * k * t) / k for k in range(1, 12)) * 8000 / 3
        audio = np.concatenate([voiced * (0.6 + 0.4 * np.sin(2 * math.pi * 4 * t)), np.zeros(SAMPLE_RATE)])
        for i in range(len(audio) // FRAME_SAMPLES):
            chunk = audio[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES].astype(np.int16).tobytes()
            self.frames.put_nowait(AudioFrame(chunk, self._seq))
            self._seq += 1

    def hang_up_by_caller(self) -> None:
        self.disconnect_reason = "remote_bye"
        self.hangup_call()


class HeardPrompts:
    """Prompt audio of one frame per prompt; remembers the texts asked for, in order."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def pieces(self, text: str, voice: str | None = None) -> list[str]:
        return [text]

    async def get(self, text: str, voice: str | None = None) -> bytes:
        self.texts.append(text)
        return bytes(FRAME_BYTES)

    async def get_file(self, source: str) -> bytes:
        return await self.get(f"file:{source}")


class ScriptedStream:
    def __init__(self, said: deque[str]) -> None:
        self._said = said

    def accept(self, pcm: bytes) -> Hypothesis | None:
        return None

    def finish(self, segment_pcm: bytes) -> Hypothesis:
        return Hypothesis(self._said.popleft() if self._said else "", engine="scripted")

    def set_phrases(self, phrases: Sequence[str] | None) -> None:
        pass

    def set_language(self, language: str) -> bool:
        return True

    def close(self) -> None:
        pass


class ScriptedRecognizer:
    """Hears, utterance by utterance, what the test queued in `said`."""

    name, model, language, streaming, restricts_to_phrases = "scripted", "none", "en", False, False

    def __init__(self) -> None:
        self.said: deque[str] = deque()

    def open_stream(self, rate: int = 16000) -> ScriptedStream:
        return ScriptedStream(self.said)


class MemoryStore:
    def __init__(self) -> None:
        self.saves = 0
        self.records: dict[str, CallRecord] = {}

    def save(self, record: CallRecord) -> None:
        self.saves += 1
        self.records[record.id] = record

    async def settled(self, call_id: str) -> None:
        pass


class MemoryPublisher:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.live: dict[str, bool] = {}

    def publish(self, event: CallEvent) -> None:
        self.events.append((event.type, event.data()))

    def set_live(self, call_id: str, worker: str, live: bool) -> None:
        self.live[call_id] = live

    def types(self) -> list[str]:
        return [t for t, _ in self.events]


class OneQueue:
    """An ACD queue with agents at work; `answer` is how the test's agent picks the call up."""

    def __init__(self, staffed: bool = True) -> None:
        self._staffed = staffed
        self.waiting: list[tuple[str, str, dict[str, str]]] = []
        self.cancelled: list[str] = []

    def config(self, queue: str) -> QueueConfig:
        return QueueConfig(max_wait_s=5.0, announce_every_s=60.0)

    async def staffed(self, skill: str) -> bool:
        return self._staffed

    async def enqueue(self, call: str, worker: str, action: Transfer, context: dict[str, str],
                      agent: str = "") -> None:
        self.waiting.append((call, action.queue, context))

    async def position(self, call: str) -> int | None:
        return 1

    async def cancel(self, call: str, reason: str) -> None:
        self.cancelled.append(reason)


class Call:
    """One call under test: the session running, and the fakes around it."""

    def __init__(self, tmp_path: Path, flow: Path = FLOWS / "main.yaml", **overrides: Any) -> None:
        self.leg = FakeLeg(transfer_code=overrides.pop("transfer_code", 202))
        self.prompts, self.recognizer = HeardPrompts(), ScriptedRecognizer()
        self.store, self.publisher = MemoryStore(), MemoryPublisher()
        flows = FlowSet({"main": load_flow(flow)})
        deps = SessionDeps(flows=lambda: flows, flow="main", recognizer=self.recognizer, prompts=self.prompts,
                           store=self.store, publisher=self.publisher, worker_id="w1",
                           vad=VadConfig(hangover_ms=300), data_dir=tmp_path, **overrides)
        self.session = CallSession(self.leg, deps)
        self.task = asyncio.create_task(self.session.run())

    async def until(self, check: Callable[[], bool], what: str) -> None:
        for _ in range(500):
            if check():
                return
            if self.task.done():
                break
            await asyncio.sleep(0.01)
        assert check(), f"never: {what}; prompts heard {self.prompts.texts}"

    async def hears(self, words: str) -> None:
        await self.until(lambda: any(words in t for t in self.prompts.texts), f"a prompt with {words!r}")

    async def ended(self) -> CallRecord:
        return await asyncio.wait_for(self.task, 10.0)


async def test_a_menu_key_a_gathered_number_its_read_back_and_the_flow_hanging_up(tmp_path: Path) -> None:
    call = Call(tmp_path)
    await call.hears("To track a parcel, press 1")
    call.leg.press("1")
    await call.hears("key in your parcel number")
    call.leg.press("4711#")
    rec = await call.ended()
    assert call.prompts.texts[-1].startswith("You entered parcel number 4 7 1 1.")
    assert rec.ivr_path == ["greeting", "main_menu", "tracking_number", "tracking_readback"]
    assert rec.variables["parcel_number"] == "4711"
    assert [d.digit for d in rec.dtmf] == list("14711#")
    assert (rec.status, rec.outcome, rec.end_reason) == ("completed", "flow_end", "local_hangup")
    assert call.store.records[rec.id] is rec and rec.recordings["caller"].endswith(".caller.wav")
    types = call.publisher.types()
    assert types[0] == "call.started" and types[-1] == "call.ended" and types.count("dtmf") == 6
    assert call.publisher.live == {rec.id: False}


async def test_a_spoken_choice_is_transcribed_and_drives_the_menu(tmp_path: Path) -> None:
    call = Call(tmp_path)
    await call.hears("To track a parcel, press 1")
    call.recognizer.said.append("opening hours please")
    call.leg.speak()
    rec = await call.ended()
    assert rec.ivr_path[-1] == "hours" and call.prompts.texts[-1].startswith("You chose opening hours.")
    assert [(s.speaker, s.text) for s in rec.transcript] == [("caller", "opening hours please")]
    finals = [d for t, d in call.publisher.events if t == "transcript.final"]
    assert finals[0]["text"] == "opening hours please" and finals[0]["engine"] == "scripted"
    assert "speech.started" in call.publisher.types()


async def test_a_blind_transfer_to_a_sip_uri_is_recorded(tmp_path: Path) -> None:
    call = Call(tmp_path)
    await call.hears("To track a parcel, press 1")
    call.leg.press("0")
    await call.until(lambda: call.leg.transferred_to == ["sip:operator@127.0.0.1:5999"], "a REFER")
    await call.until(lambda: bool(call.session.record.transfers), "the transfer recorded")
    rec = await call.ended()  # the caller's phone calls the target itself: this call is over
    assert rec.transfers[0]["result"] == "transferred"
    assert (rec.outcome, rec.end_reason) == ("transferred", "local_hangup")


async def test_a_refused_transfer_takes_the_flows_unavailable_path(tmp_path: Path) -> None:
    call = Call(tmp_path, transfer_code=486)
    await call.hears("To track a parcel, press 1")
    call.leg.press("0")
    rec = await call.ended()
    assert rec.transfers[0]["result"] == "sip_486"
    assert rec.ivr_path[-2:] == ["agent", "agent_unavailable"]
    assert call.prompts.texts[-1].startswith("Sorry, the transfer did not work.")


QUEUE_FLOW = """\
flow: main
language: en
start: menu
nodes:
  menu:
    type: menu
    prompt: "For an agent, press 0."
    options:
      - {key: "0", label: agent, next: agent}
  agent:
    type: transfer
    prompt: "Please hold for an agent."
    queue: general
    skill: general
    on_unavailable: sorry
  sorry:
    type: hangup
    prompt: "Sorry, nobody is free."
"""


@pytest.fixture
def queue_flow(tmp_path: Path) -> Path:
    path = tmp_path / "main.yaml"
    path.write_text(QUEUE_FLOW)
    return path


async def test_a_queued_caller_is_bridged_to_the_agent_until_the_agent_hangs_up(tmp_path: Path,
                                                                              queue_flow: Path) -> None:
    queue = OneQueue()
    call = Call(tmp_path, queue_flow, queues=queue)
    await call.hears("For an agent, press 0")
    call.leg.press("0")
    await call.until(lambda: bool(queue.waiting), "the caller queued")
    assert queue.waiting[0][1] == "general" and queue.waiting[0][2]["caller"] == "sip:+15550100@test"
    agent = FakeLeg()
    assert call.session.attach_agent(agent, "alice")
    assert not call.session.attach_agent(FakeLeg(), "bob")  # one agent per call
    call.leg.speak(0.3)  # the caller's audio reaches the agent
    await call.until(lambda: agent.playout.next_frame() is not None, "the caller heard by the agent")
    agent.hang_up_by_caller()  # the agent's browser leaves
    rec = await call.ended()
    assert rec.agent == "alice" and rec.transfers[0]["result"] == "answered"
    assert rec.end_reason == "agent_hangup" and "agent" in rec.recordings
    assert "call.agent_connected" in call.publisher.types()


async def test_with_nobody_at_work_the_caller_is_not_queued(tmp_path: Path, queue_flow: Path) -> None:
    queue = OneQueue(staffed=False)
    call = Call(tmp_path, queue_flow, queues=queue)
    await call.hears("For an agent, press 0")
    call.leg.press("0")
    rec = await call.ended()
    assert queue.waiting == [] and rec.transfers[0]["result"] == "no_agents"
    assert call.prompts.texts[-1] == "Sorry, nobody is free."


async def test_the_caller_hanging_up_mid_menu_ends_and_saves_the_call(tmp_path: Path) -> None:
    call = Call(tmp_path)
    await call.hears("To track a parcel, press 1")
    call.leg.hang_up_by_caller()
    rec = await call.ended()
    assert (rec.outcome, rec.end_reason, rec.status) == ("caller_hangup", "remote_bye", "completed")
    assert rec.ivr_path == ["greeting", "main_menu"] and rec.ended_at is not None
    assert call.publisher.types()[-1] == "call.ended" and call.store.saves >= 2
    assert all(t.done() for t in call.session._tasks.tasks)  # nothing of the call left running


async def test_keys_at_a_sensitive_node_are_not_kept(tmp_path: Path) -> None:
    flow = tmp_path / "main.yaml"
    flow.write_text(Path(FLOWS / "main.yaml").read_text().replace(
        "    var: parcel_number\n", "    var: parcel_number\n    sensitive: true\n"))
    call = Call(tmp_path, flow)
    await call.hears("To track a parcel, press 1")
    call.leg.press("1")
    await call.hears("key in your parcel number")
    call.leg.press("4711#")
    rec = await call.ended()
    assert [d.digit for d in rec.dtmf] == ["1", "*", "*", "*", "*", "*"]
    assert rec.variables["parcel_number"] == "[redacted]"




BOT_FLOW = """\
flow: main
language: en
start: menu
nodes:
  menu:
    type: menu
    prompt: "For an agent, press 0, or ask your question."
    options:
      - {key: "0", label: agent, next: agent}
    on_other_speech: bot
  bot:
    type: answer
    question: "{utterance}"
    prompt: "What is your question?"
    confirm: "Did that answer your question?"
    no_answer: "Sorry, I have no answer to that."
    resolved: bye
    unresolved: agent
    on_no_match: bye
  agent:
    type: transfer
    prompt: "Please hold for an agent."
    queue: general
    skill: general
    on_unavailable: bye
  bye:
    type: hangup
    prompt: "Goodbye."
"""


class FakeAnswers:
    """The app's knowledge matcher, as a call sees it (`call_deps.Answers`)."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, FindAnswer]] = []

    async def find(self, call: str, action: FindAnswer) -> AnswerFound:
        self.asked.append((call, action))
        if "pickup" in action.question:
            return AnswerFound(action.token, "pickup-point", "Collect from a pickup point",
                               "Parcels wait seven days at the pickup point.", 0.91)
        return AnswerFound(action.token, error="timeout")


@pytest.fixture
def bot_flow(tmp_path: Path) -> Path:
    path = tmp_path / "main.yaml"
    path.write_text(BOT_FLOW)
    return path


async def test_a_question_answered_by_the_bot_then_no_reaches_the_queue_with_the_question(
        tmp_path: Path, bot_flow: Path) -> None:
    queue, answers = OneQueue(), FakeAnswers()
    call = Call(tmp_path, bot_flow, queues=queue, answers=answers)
    await call.hears("ask your question")
    call.recognizer.said.append("how long does the pickup point keep my parcel")
    call.leg.speak()
    await call.hears("Parcels wait seven days at the pickup point. Did that answer your question?")
    assert answers.asked[0][0] == call.session.record.id
    assert answers.asked[0][1].question == "how long does the pickup point keep my parcel"
    await call.until(lambda: bool(call.session.record.bot), "the question in the record")
    assert call.session.record.bot[0]["article"] == "pickup-point"  # kept while the call is live
    call.recognizer.said.append("no")
    call.leg.speak(0.4)
    await call.until(lambda: bool(queue.waiting), "the caller queued")
    context = queue.waiting[0][2]  # what the desk is shown
    assert context["bot.question"] == "how long does the pickup point keep my parcel"
    assert (context["bot.article"], context["bot.title"], context["bot.resolved"]) == (
        "pickup-point", "Collect from a pickup point", "no")
    call.leg.hang_up_by_caller()
    rec = await call.ended()
    [entry] = rec.bot
    assert {k: entry[k] for k in ("node", "question", "article", "score", "resolved", "outcome")} == {
        "node": "bot", "question": "how long does the pickup point keep my parcel", "article": "pickup-point",
        "score": 0.91, "resolved": "no", "outcome": "agent"}
    assert rec.variables["bot.article"] == "pickup-point" and rec.ivr_path == ["menu", "bot", "agent"]


async def test_no_answer_in_time_takes_the_no_match_path(tmp_path: Path, bot_flow: Path) -> None:
    call = Call(tmp_path, bot_flow, answers=FakeAnswers())
    await call.hears("ask your question")
    call.recognizer.said.append("what is the capital of france")
    call.leg.speak()
    rec = await call.ended()
    assert call.prompts.texts[-2:] == ["Sorry, I have no answer to that.", "Goodbye."]
    assert rec.bot[0]["article"] is None and rec.bot[0]["outcome"] == "no_match"
    assert rec.ivr_path == ["menu", "bot", "bye"]

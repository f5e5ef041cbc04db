"""The agent side of a call: waiting in an ACD queue (announcements, overflow), the agent's leg
bridged with the caller both ways and transcribed, hold, and transfers from the desk."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from hotline.asr.pipeline import SpeechPipeline
from hotline.center.bus import (
    AgentConnected,
    CallHeld,
    CallQueued,
    CallResumed,
    CallTransferred,
    TransferAttempted,
)
from hotline.center.call_deps import SessionDeps
from hotline.center.call_line import DISCONNECTED, CallLine
from hotline.center.queueing import queue_announcement
from hotline.ivr.actions import Transfer, TransferDone
from hotline.ivr.prompts import PromptError
from hotline.telephony.leg import CallLeg
from hotline.telephony.recorder import WavRecorder

log = logging.getLogger(__name__)

# the call's variables an agent sees on the desk (besides parcel.*)
AGENT_CONTEXT = ("lang", "parcel_number", "problem", "transfer_reason", "choice", "ticket.ref", "hours.open",
                 "bot.question", "bot.article", "bot.title", "bot.resolved")  # the voice bot's last question


class AgentSide:
    """Reaches the call only through `CallLine`: unit tests drive it with a fake call."""

    def __init__(self, *, call: CallLine, deps: SessionDeps) -> None:
        self.call, self.deps = call, deps
        self.leg: CallLeg | None = None
        self.name = ""
        self.ready = asyncio.Event()
        self.offset_ms = 0
        self.recorder: WavRecorder | None = None
        self.pipeline: SpeechPipeline | None = None
        self.held = False
        self.seen = 0
        self._hold_task: asyncio.Task[None] | None = None
        self._watch_task: asyncio.Task[None] | None = None
        self.listener: Callable[[bytes], None] | None = None  # the agent's audio, also to them (supervisors)

    def caller_audio(self, pcm: bytes) -> None:
        if self.leg is not None and not self.held:
            self.leg.playout.push_live(pcm, "caller")  # the caller, to the agent

    def _agent_audio(self, pcm: bytes) -> None:
        if self.recorder is not None:
            self.recorder.write(pcm)
        if not self.held:
            self.call.leg.playout.push_live(pcm, "agent")  # the agent, to the caller
        if self.listener is not None:
            self.listener(pcm)

    async def wait_for_agent(self, action: Transfer, target: str = "", from_desk: bool = False) -> None:
        """Queue for an agent: position announcements while waiting; overflow after the maximum wait.
        From the IVR a failure takes the flow's path; after a transfer from the desk the caller is
        told nobody can take the call and the call ends."""
        queues = self.deps.queues
        assert queues is not None
        rec = self.call.record
        config = queues.config(action.queue)
        queued_at = time.time()
        entry: dict[str, Any] = {"queue": action.queue, "skill": action.skill, "priority": action.priority,
                                 "at": queued_at}
        rec.transfers.append(entry)
        if not await queues.staffed(action.skill):  # nobody at work with that skill: no point waiting
            entry.update(result="no_agents", waited_s=0.0)
            self.deps.store.save(rec)
            self.deps.publisher.publish(TransferAttempted(call_id=rec.id, queue=action.queue, result="no_agents"))
            await self._no_agent(action, "no_agents", from_desk)
            return
        context = {k: v for k, v in action.context.items() if k in AGENT_CONTEXT or k.startswith("parcel.")}
        await queues.enqueue(rec.id, self.deps.worker_id, action, {**context, "caller": rec.from_uri}, target)
        self.deps.publisher.publish(CallQueued(call_id=rec.id, queue=action.queue, skill=action.skill))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + config.max_wait_s
        next_announcement = loop.time() + 1.0
        announced = 0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.ready.wait(), 0.5)
            if self.leg is not None:
                entry.update(result="answered", agent=self.name, waited_s=round(time.time() - queued_at, 1))
                self.deps.store.save(rec)
                self.call.post(TransferDone(action.token, True))
                return
            if self.call.leg.disconnected.is_set():
                entry.update(result="abandoned", waited_s=round(time.time() - queued_at, 1))
                self.deps.store.save(rec)
                await queues.cancel(rec.id, "abandoned")
                return
            if loop.time() >= deadline:
                entry.update(result="overflow", waited_s=round(time.time() - queued_at, 1))
                self.deps.store.save(rec)
                await queues.cancel(rec.id, "overflow")
                await self._no_agent(action, "max_wait", from_desk)
                return
            if loop.time() >= next_announcement and not self.call.leg.playout.playing:
                place = await queues.position(rec.id)
                if place is not None:
                    announced += 1
                    text = queue_announcement(self.call.language, place, place * config.average_handle_s)
                    try:
                        pcm = await self.deps.prompts.get(text, self.call.voice)
                        self.call.leg.play(f"hold-{announced}", pcm)
                    except PromptError:
                        log.exception("queue announcement unavailable", extra={"call": rec.id})
                next_announcement = loop.time() + config.announce_every_s

    async def _no_agent(self, action: Transfer, reason: str, from_desk: bool) -> None:
        if not from_desk:
            self.call.post(TransferDone(action.token, False, reason))
            return
        text = ("对不起，现在没有客服可以接听，请稍后再拨。再见。" if self.call.language.startswith("zh")
                else "Sorry, nobody can take your call right now. Please call again later. Goodbye.")
        try:
            pcm = await self.deps.prompts.get(text, self.call.voice)
            self.call.leg.play("no-agent", pcm)
        except PromptError:
            log.exception("prompt unavailable", extra={"call": self.call.record.id})
        self.call.hang_up_when_idle()  # after the apology (its PromptDone wakes the main loop)

    def attach(self, leg: CallLeg, agent: str) -> bool:
        """An agent's WebRTC leg for this call: bridge it with the caller (both ways) and transcribe it."""
        if self.leg is not None or self.call.leg.disconnected.is_set():
            return False
        self.leg, self.name = leg, agent
        self.call.record.agent = agent
        self.seen += 1
        self.offset_ms = int((time.monotonic() - self.call.started) * 1000)
        self.call.leg.stop_playback()
        party = "agent" if self.seen == 1 else f"agent-{self.seen}"
        rel = f"recordings/{time.strftime('%Y-%m-%d')}/{self.call.record.id}.{party}.wav"
        self.recorder = WavRecorder(self.deps.data_dir / rel, self.deps.rate)
        self.call.record.recordings[party] = rel
        self.call.record.recording_offsets[party] = self.offset_ms
        pipeline = self.pipeline = SpeechPipeline("agent", leg.frames, self.deps.recognizer, self.deps.vad,
                                                         self._agent_audio, self.deps.rate)
        pipeline.start()
        self.call.transcribe(pipeline, self.offset_ms)
        self._watch_task = self.call.spawn(self._watch(leg), name=f"agent-bye-{self.call.record.id}")
        self.deps.publisher.publish(AgentConnected(call_id=self.call.record.id, agent=agent))
        log.info("agent connected", extra={"call": self.call.record.id, "agent": agent})
        self.ready.set()
        return True

    def hold(self, on: bool) -> None:
        """The agent holds the caller (neither hears the other; the caller hears a hold message) or resumes."""
        if self.leg is None or on == self.held:
            return
        self.held = on
        holds = self.call.record.holds  # for the reports' hold time
        if on:
            holds.append({"agent": self.name, "at": round(time.time(), 3), "until": None})
        elif holds and holds[-1].get("until") is None:
            holds[-1]["until"] = round(time.time(), 3)
        if self._hold_task is not None:
            self._hold_task.cancel()
            self._hold_task = None
        self.call.leg.stop_playback()
        if on:
            self._hold_task = self.call.spawn(self._hold_messages(), name=f"hold-{self.call.record.id}")
        self.deps.publisher.publish((CallHeld if on else CallResumed)(call_id=self.call.record.id, agent=self.name))

    async def _hold_messages(self) -> None:
        text = ("请稍候，客服马上回来。" if self.call.language.startswith("zh")
                else "Please hold. Your agent will be back with you shortly.")
        n = 0
        while True:
            try:
                pcm = await self.deps.prompts.get(text, self.call.voice)
                n += 1
                self.call.leg.play(f"held-{n}", pcm)
            except PromptError:
                log.exception("hold message unavailable", extra={"call": self.call.record.id})
            await asyncio.sleep(15.0)

    async def transfer(self, queue: str, skill: str, agent: str = "") -> bool:
        """The agent passes the caller on (to a queue, or to one agent): the agent's leg is released,
        the caller waits in the queue again, and the next agent is bridged in."""
        old, watch = self.leg, self._watch_task
        if old is None or self.deps.queues is None:
            return False
        self.hold(False)
        if watch is not None:
            watch.cancel()  # this agent leaving does not end the call
        self.leg, self._watch_task = None, None
        self.ready.clear()
        old.hangup_call()
        if self.pipeline is not None:
            self.call.spawn(self.pipeline.aclose())  # its last words still reach the transcript
            self.pipeline = None
        if self.recorder is not None:
            self.recorder.close()
            self.recorder = None
        self.deps.publisher.publish(CallTransferred(call_id=self.call.record.id, by=self.name, queue=queue,
                                                    agent=agent))
        context = {k: str(v) for k, v in self.call.variables.items()}
        self.call.spawn(self.wait_for_agent(Transfer(-1, queue, skill, 0, "", context), target=agent,
                                               from_desk=True))
        return True

    async def _watch(self, leg: CallLeg) -> None:
        await leg.disconnected.wait()
        self.call.post(DISCONNECTED)  # the agent hung up: so does the call

    async def close(self) -> None:
        """The call is over: release the agent's leg and let its last words be transcribed."""
        if self.leg is not None:
            self.leg.hangup_call()
        if self.pipeline is not None:
            await self.pipeline.aclose()
        if self.recorder is not None:
            self.recorder.close()
            self.recorder = None

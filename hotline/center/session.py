"""One call, from answer to record: the caller's leg wired to the speech pipeline and the IVR engine.

The session is an inbox loop. Everything that happens to the call (a key, an utterance, a prompt's
end, a timer, a lookup's or a transfer's result, a hang-up) is an event in one queue; the engine
answers each with actions, which `CallActions` carries out. The agent's side of the call
(`AgentSide`), the supervisors listening in (`Monitors`), the transcript (`CallTranscript`) and what
may be kept (`CallPrivacy`) are parts the session wires together; they reach the call only through
`CallLine`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Coroutine, Mapping
from typing import Any

from hotline.asr.pipeline import SpeechPipeline
from hotline.center.agent_side import AgentSide
from hotline.center.bus import CallEnded, CallStarted, DtmfReceived
from hotline.center.call_actions import CallActions
from hotline.center.call_deps import SessionDeps
from hotline.center.call_line import DISCONNECTED, Disconnected
from hotline.center.call_privacy import CallPrivacy
from hotline.center.call_transcript import CallTranscript
from hotline.center.monitor import Monitors
from hotline.center.records import CallRecord, CallStatus, DtmfRecord
from hotline.ivr.actions import (
    CallerHungUp,
    CreateTicket,
    DigitPressed,
    IvrAction,
    IvrEvent,
    PromptDone,
    StopRecording,
)
from hotline.ivr.engine import IvrEngine
from hotline.system import metrics
from hotline.system.tasks import TaskGroupOwner
from hotline.telephony.leg import CallLeg
from hotline.telephony.recorder import WavRecorder

__all__ = ["CallSession", "SessionDeps"]

log = logging.getLogger(__name__)


class CallSession:
    def __init__(self, leg: CallLeg, deps: SessionDeps, channel: str = "sip") -> None:
        self.leg, self.deps = leg, deps
        flowset = deps.flows()
        self.record = CallRecord(
            id=uuid.uuid4().hex, sip_call_id=leg.info.call_id, from_uri=leg.info.from_uri, to_uri=leg.info.to_uri,
            channel=channel, worker=deps.worker_id, node=deps.node, flow=deps.flow, flow_version=flowset.version,
            asr_engine=deps.recognizer.name,
        )
        self.engine = IvrEngine(flowset, deps.flow, {"caller": leg.info.from_uri, "call_id": self.record.id},
                                now=deps.now)
        self.started = time.monotonic()
        self._inbox: asyncio.Queue[IvrEvent | Disconnected] = asyncio.Queue()
        self._tasks = TaskGroupOwner()  # every task of the call: held until done, cancelled at the end
        self._speech: list[asyncio.Task[None]] = []  # the speech pumps: their last finals are awaited
        self.agents = AgentSide(call=self, deps=deps)
        self.monitors = Monitors(call=self, deps=deps, agents=self.agents)
        self.agents.listener = self.monitors.agent_audio
        self.actions = CallActions(call=self, deps=deps, agents=self.agents)
        self.privacy = CallPrivacy(engine=self.engine, record=self.record, flows=flowset, redactor=deps.redactor,
                                   language=lambda: self.actions.language)
        self.transcript = CallTranscript(record=self.record, privacy=self.privacy, store=deps.store,
                                         publisher=deps.publisher, post=self.post,
                                         language=lambda: self.actions.language)
        self._recorder: WavRecorder | None = None

    # CallLine: what the parts of the call may ask of it
    def post(self, event: IvrEvent | Disconnected) -> None:
        self._inbox.put_nowait(event)

    def spawn(self, coro: Coroutine[Any, Any, None], name: str | None = None) -> asyncio.Task[None]:
        return self._tasks.spawn(coro, name=name)

    def transcribe(self, pipeline: SpeechPipeline, base_ms: int) -> None:
        self._speech.append(self._tasks.spawn(self.transcript.pump(pipeline, ivr=False, base_ms=base_ms),
                                              name=f"speech-{pipeline.speaker}-{self.record.id}"))

    def hang_up_when_idle(self) -> None:
        self.actions.hangup_when_idle = True

    @property
    def language(self) -> str:
        return self.engine.language

    @property
    def voice(self) -> str:
        return self.engine.flow.voice(self.engine.language)

    @property
    def variables(self) -> Mapping[str, str]:
        return self.engine.variables

    # what the worker asks of a call held here (the desk's requests)
    def attach_agent(self, leg: CallLeg, agent: str) -> bool:
        return self.agents.attach(leg, agent)

    def hold(self, on: bool) -> None:
        self.agents.hold(on)

    def monitor(self, leg: CallLeg, supervisor: str, mode: str) -> bool:
        return self.monitors.join(leg, supervisor, mode)

    def monitor_mode(self, supervisor: str, mode: str) -> bool:
        return self.monitors.set_mode(supervisor, mode)

    def unmonitor(self, supervisor: str) -> bool:
        return self.monitors.leave(supervisor)

    async def transfer_from_desk(self, queue: str, skill: str, agent: str = "") -> bool:
        return await self.agents.transfer(queue, skill, agent)

    @property
    def sensitive(self) -> bool:
        return self.privacy.sensitive

    async def run(self) -> CallRecord:
        rec, deps, leg = self.record, self.deps, self.leg
        rel = f"recordings/{time.strftime('%Y-%m-%d')}/{rec.id}.caller.wav"
        self._recorder = WavRecorder(deps.data_dir / rel, deps.rate)
        rec.recordings["caller"] = rel
        deps.store.save(rec)
        metrics.calls_active().labels(rec.channel).inc()
        log.info("call started", extra={"call": rec.id, "worker": deps.worker_id})
        deps.publisher.set_live(rec.id, deps.worker_id, True)
        deps.publisher.publish(CallStarted(call_id=rec.id, worker=deps.worker_id, flow=rec.flow))
        pipeline = self.actions.pipeline = SpeechPipeline("caller", leg.frames, deps.recognizer, deps.vad,
                                                          self._on_audio, deps.rate)
        pipeline.start()
        leg.on_prompt_done = lambda pid, interrupted: self.post(PromptDone(pid, interrupted))
        self._speech.append(self._tasks.spawn(self.transcript.pump(pipeline), name=f"speech-{rec.id}"))
        self._tasks.spawn(self._pump_dtmf(), name=f"dtmf-{rec.id}")
        self._tasks.spawn(self._watch_disconnect(), name=f"bye-{rec.id}")
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(leg.media_ready.wait(), 5.0)
            await self._apply(self.engine.start())
            while not isinstance(item := await self._inbox.get(), Disconnected):
                await self._apply(self.engine.handle(item))
                if self.actions.hangup_when_idle and not leg.playout.playing:
                    leg.hangup_call()
        finally:
            leg.hangup_call()
            hung_up_at = time.time()  # the call's end, however long its last words take to recognise
            self.monitors.close(hung_up_at)
            await self._wind_down(pipeline)
            self._finish_record(hung_up_at)
            deps.store.save(rec)
            metrics.calls_active().labels(rec.channel).dec()
            metrics.calls_total().labels(rec.channel, rec.outcome).inc()
            metrics.frames_dropped().inc(rec.frames_dropped)
            await deps.store.settled(rec.id)  # whoever reads the record on call.ended reads this one
            deps.publisher.publish(CallEnded(call_id=rec.id, reason=rec.end_reason, path=rec.ivr_path,
                                             dtmf_count=rec.dtmf_count))
            deps.publisher.set_live(rec.id, deps.worker_id, False)
            log.info("call ended", extra={"call": rec.id, "reason": rec.end_reason,
                                          "frames_dropped": rec.frames_dropped})
        return rec

    async def _apply(self, actions: list[IvrAction]) -> None:
        await self.actions.apply(actions)
        bot = self.privacy.bot_entries() if self.engine.bot else self.record.bot
        if len(self.engine.path) != len(self.record.ivr_path) or bot != self.record.bot:
            # the caller moved on, or the voice bot answered: keep the record current
            self.record.ivr_path = list(self.engine.path)
            self.record.variables = self.privacy.stored_variables()
            self.record.bot = bot
            self.deps.store.save(self.record)

    async def _wind_down(self, pipeline: SpeechPipeline) -> None:
        """After the hang-up: a message being recorded is kept (and its ticket made), recognition
        still queued finishes (finals are never dropped), the agent's leg is released."""
        self.actions.cancel_timers()
        for action in self.engine.handle(CallerHungUp()):
            if isinstance(action, StopRecording):
                for follow in self.engine.finish_voicemail(self.actions.stop_voicemail(action.token)):
                    if isinstance(follow, CreateTicket):
                        await self.actions.create_ticket(follow)
        await pipeline.aclose()
        await self.agents.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(asyncio.gather(*self._speech)), 5.0)
        await self._tasks.close()
        if self._recorder is not None:
            self._recorder.close()

    def _finish_record(self, hung_up_at: float) -> None:
        rec, leg = self.record, self.leg
        rec.ended_at = hung_up_at
        rec.status = CallStatus.COMPLETED
        rec.end_reason = leg.disconnect_reason or "hangup"
        agent = self.agents.leg
        if agent is not None and agent.disconnected.is_set() and rec.end_reason == "local_hangup":
            rec.end_reason = "agent_hangup"
        rec.ivr_path = list(self.engine.path)
        rec.variables = self.privacy.stored_variables()
        rec.bot = self.privacy.bot_entries()
        rec.outcome = self.engine.end_reason or "caller_hangup"
        rec.frames_received = leg.frames.received
        rec.frames_dropped = leg.frames.dropped

    def _on_audio(self, pcm: bytes) -> None:
        if self._recorder is not None:
            self._recorder.write(self.privacy.audio(pcm))
        self.actions.write(pcm)
        self.agents.caller_audio(pcm)
        self.monitors.caller_audio(pcm)

    async def _pump_dtmf(self) -> None:
        while True:
            event = await self.leg.dtmf.get()
            self.record.dtmf.append(DtmfRecord(self.privacy.digit(event.digit), event.method, event.offset_ms))
            self.deps.publisher.publish(DtmfReceived(call_id=self.record.id, method=event.method,
                                                     offset_ms=event.offset_ms))
            self.post(DigitPressed(event.digit))

    async def _watch_disconnect(self) -> None:
        await self.leg.disconnected.wait()
        self.post(DISCONNECTED)

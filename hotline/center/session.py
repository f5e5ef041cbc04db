"""Per-call composition root: wires a call leg to the speech pipeline, the IVR engine, the call
record and the event publisher, and owns every task it starts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from hotline.asr.events import RecognitionUnavailable, SpeechStarted, Transcript
from hotline.asr.pipeline import SpeechPipeline
from hotline.asr.recognizer import Recognizer
from hotline.asr.vad import VadConfig
from hotline.center.events import EventPublisher
from hotline.center.queueing import QueueDirectory, queue_announcement
from hotline.center.records import CallRecord, DtmfRecord, Segment
from hotline.center.store import CallStore
from hotline.center.voicemail import VoicemailRecorder, beep
from hotline.ivr.actions import (
    CallerHungUp,
    CallerSpeaking,
    CreateTicket,
    DigitPressed,
    Hangup,
    IvrAction,
    Listen,
    Lookup,
    LookupDone,
    Play,
    PromptDone,
    RecordingDone,
    SpeechHeard,
    SpeechUnavailable,
    StartRecording,
    StartTimer,
    StopPlayback,
    StopRecording,
    TicketDone,
    TimerFired,
    Transfer,
    TransferDone,
)
from hotline.ivr.engine import IvrEngine
from hotline.ivr.lookups import DataSource, LookupFailed
from hotline.ivr.model import FlowSet
from hotline.ivr.prompts import PromptCache, PromptError
from hotline.ivr.simulator import TicketSink
from hotline.telephony.frames import DtmfEvent
from hotline.telephony.leg import CallLeg
from hotline.telephony.recorder import WavRecorder

log = logging.getLogger(__name__)

_DISCONNECTED = object()
# the call's variables an agent sees on the desk (besides parcel.*)
_AGENT_CONTEXT = ("lang", "parcel_number", "problem", "transfer_reason", "choice", "ticket.ref", "hours.open")


@dataclass
class SessionDeps:
    flows: Callable[[], FlowSet]  # the active flow set; a call keeps the one it started with
    flow: str
    recognizer: Recognizer
    prompts: PromptCache
    store: CallStore
    publisher: EventPublisher
    worker_id: str
    vad: VadConfig
    data_dir: Path
    use_grammar: bool = True
    rate: int = 16000  # the media path's sample rate
    sources: Mapping[str, DataSource] = field(default_factory=dict)
    tickets: TicketSink | None = None
    now: Callable[[], datetime] | None = None
    queues: QueueDirectory | None = None  # ACD queues (agents); None: nobody can take a transfer


class CallSession:
    def __init__(self, leg: CallLeg, deps: SessionDeps, channel: str = "sip") -> None:
        self.leg = leg
        self.deps = deps
        flowset = deps.flows()
        self.record = CallRecord(
            id=uuid.uuid4().hex,
            sip_call_id=leg.info.call_id,
            from_uri=leg.info.from_uri,
            to_uri=leg.info.to_uri,
            channel=channel,
            worker=deps.worker_id,
            flow=deps.flow,
            flow_version=flowset.version,
            asr_engine=deps.recognizer.name,
        )
        caller = leg.info.from_uri
        self.engine = IvrEngine(flowset, deps.flow, {"caller": caller, "call_id": self.record.id}, now=deps.now)
        self._voicemail: VoicemailRecorder | None = None
        self._inbox: asyncio.Queue[object] = asyncio.Queue()
        self._timers: list[asyncio.TimerHandle] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._hangup_when_idle = False
        self._pipeline: SpeechPipeline | None = None
        self._listening: tuple[str, ...] | None = None
        self._language = deps.recognizer.language
        self.agent: CallLeg | None = None
        self.agent_name = ""
        self._agent_ready = asyncio.Event()
        self._agent_offset_ms = 0
        self._agent_recorder: WavRecorder | None = None
        self._agent_pipeline: SpeechPipeline | None = None
        self._started = time.monotonic()
        self._held = False
        self._hold_task: asyncio.Task[None] | None = None
        self._agent_watch: asyncio.Task[None] | None = None
        self._agents_seen = 0

    async def run(self) -> CallRecord:
        rec, deps, leg = self.record, self.deps, self.leg
        rel = f"recordings/{time.strftime('%Y-%m-%d')}/{rec.id}.caller.wav"
        recorder = WavRecorder(deps.data_dir / rel, deps.rate)
        rec.recordings["caller"] = rel
        deps.store.save(rec)
        log.info("call started", extra={"call": rec.id, "worker": deps.worker_id})
        deps.publisher.set_live(rec.id, deps.worker_id, True)
        deps.publisher.publish("call.started", rec.id, worker=deps.worker_id, flow=rec.flow)
        self._recorder = recorder
        pipeline = self._pipeline = SpeechPipeline("caller", leg.frames, deps.recognizer, deps.vad, self._on_audio,
                                                   deps.rate)
        pipeline.start()
        leg.on_prompt_done = lambda pid, interrupted: self._inbox.put_nowait(PromptDone(pid, interrupted))
        self._tasks = [
            asyncio.create_task(self._pump_speech(pipeline), name=f"speech-{rec.id}"),
            asyncio.create_task(self._pump_dtmf(), name=f"dtmf-{rec.id}"),
            asyncio.create_task(self._watch_disconnect(), name=f"bye-{rec.id}"),
        ]
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(leg.media_ready.wait(), 5.0)
            await self._apply(self.engine.start())
            while True:
                item = await self._inbox.get()
                if item is _DISCONNECTED:
                    break
                await self._apply(self.engine.handle(item))  # type: ignore[arg-type]
                if self._hangup_when_idle and not leg.playout.playing:
                    leg.hangup_call()
        finally:
            leg.hangup_call()
            for timer in self._timers:
                timer.cancel()
            await self._after_hangup()
            if self.agent is not None:
                self.agent.hangup_call()
            await pipeline.aclose()  # recognition still queued finishes: finals are never dropped
            if self._agent_pipeline is not None:
                await self._agent_pipeline.aclose()
            pumps = [t for t in self._tasks if "speech" in t.get_name()]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(asyncio.gather(*pumps)), 5.0)
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            recorder.close()
            if self._agent_recorder is not None:
                self._agent_recorder.close()
            rec.ended_at = time.time()
            rec.status = "completed"
            rec.end_reason = leg.disconnect_reason or "hangup"
            if self.agent is not None and self.agent.disconnected.is_set() and rec.end_reason == "local_hangup":
                rec.end_reason = "agent_hangup"
            rec.ivr_path = list(self.engine.path)
            rec.variables = dict(self.engine.variables)
            rec.outcome = self.engine.end_reason or "caller_hangup"
            rec.frames_received = leg.frames.received
            rec.frames_dropped = leg.frames.dropped
            deps.store.save(rec)
            deps.publisher.publish(
                "call.ended", rec.id, reason=rec.end_reason, path=rec.ivr_path, dtmf_count=rec.dtmf_count
            )
            deps.publisher.set_live(rec.id, deps.worker_id, False)
            log.info("call ended", extra={"call": rec.id, "reason": rec.end_reason,
                                          "frames_dropped": rec.frames_dropped})
        return rec

    def _on_audio(self, pcm: bytes) -> None:
        self._recorder.write(pcm)
        if self._voicemail is not None:
            self._voicemail.write(pcm)
        if self.agent is not None and not self._held:
            self.agent.playout.push_live(pcm)  # the caller, to the agent

    def _on_agent_audio(self, pcm: bytes) -> None:
        if self._agent_recorder is not None:
            self._agent_recorder.write(pcm)
        if not self._held:
            self.leg.playout.push_live(pcm)  # the agent, to the caller

    async def _wait_for_agent(self, action: Transfer, target: str = "", from_desk: bool = False) -> None:
        """Queue for an agent: position announcements while waiting; overflow after the maximum wait.
        From the IVR a failure takes the flow's path; after a transfer from the desk the caller is
        told nobody can take the call and the call ends."""
        queues = self.deps.queues
        assert queues is not None
        rec = self.record
        config = queues.config(action.queue)
        queued_at = time.time()
        entry: dict[str, Any] = {"queue": action.queue, "skill": action.skill, "priority": action.priority,
                                 "at": queued_at}
        rec.transfers.append(entry)
        if not await queues.staffed(action.skill):  # nobody at work with that skill: no point waiting
            entry.update(result="no_agents", waited_s=0.0)
            self.deps.publisher.publish("call.transfer", rec.id, queue=action.queue, result="no_agents")
            await self._no_agent(action, "no_agents", from_desk)
            return
        context = {k: v for k, v in action.context.items() if k in _AGENT_CONTEXT or k.startswith("parcel.")}
        await queues.enqueue(rec.id, self.deps.worker_id, action, {**context, "caller": rec.from_uri}, target)
        self.deps.publisher.publish("call.queued", rec.id, queue=action.queue, skill=action.skill)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + config.max_wait_s
        next_announcement = loop.time() + 1.0
        announced = 0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._agent_ready.wait(), 0.5)
            if self.agent is not None:
                entry.update(result="answered", agent=self.agent_name, waited_s=round(time.time() - queued_at, 1))
                self._inbox.put_nowait(TransferDone(action.token, True))
                return
            if self.leg.disconnected.is_set():
                entry.update(result="abandoned", waited_s=round(time.time() - queued_at, 1))
                await queues.cancel(rec.id, "abandoned")
                return
            if loop.time() >= deadline:
                entry.update(result="overflow", waited_s=round(time.time() - queued_at, 1))
                await queues.cancel(rec.id, "overflow")
                await self._no_agent(action, "max_wait", from_desk)
                return
            if loop.time() >= next_announcement and not self.leg.playout.playing:
                place = await queues.position(rec.id)
                if place is not None:
                    announced += 1
                    text = queue_announcement(self.engine.language, place, place * config.average_handle_s)
                    flow = self.engine.flow
                    try:
                        pcm = await self.deps.prompts.get(text, flow.voice(self.engine.language))
                        self.leg.play(f"hold-{announced}", pcm)
                    except PromptError:
                        log.exception("queue announcement unavailable", extra={"call": rec.id})
                next_announcement = loop.time() + config.announce_every_s

    async def _no_agent(self, action: Transfer, reason: str, from_desk: bool) -> None:
        if not from_desk:
            self._inbox.put_nowait(TransferDone(action.token, False, reason))
            return
        text = ("对不起，现在没有客服可以接听，请稍后再拨。再见。" if self.engine.language.startswith("zh")
                else "Sorry, nobody can take your call right now. Please call again later. Goodbye.")
        try:
            pcm = await self.deps.prompts.get(text, self.engine.flow.voice(self.engine.language))
            self.leg.play("no-agent", pcm)
        except PromptError:
            log.exception("prompt unavailable", extra={"call": self.record.id})
        self._hangup_when_idle = True  # after the apology (its PromptDone wakes the main loop)

    def attach_agent(self, leg: CallLeg, agent: str) -> bool:
        """An agent's WebRTC leg for this call: bridge it with the caller (both ways) and transcribe it."""
        if self.agent is not None or self.leg.disconnected.is_set():
            return False
        self.agent, self.agent_name = leg, agent
        self.record.agent = agent
        self._agents_seen += 1
        self._agent_offset_ms = int((time.monotonic() - self._started) * 1000)
        self.leg.stop_playback()
        party = "agent" if self._agents_seen == 1 else f"agent-{self._agents_seen}"
        rel = f"recordings/{time.strftime('%Y-%m-%d')}/{self.record.id}.{party}.wav"
        self._agent_recorder = WavRecorder(self.deps.data_dir / rel, self.deps.rate)
        self.record.recordings[party] = rel
        pipeline = self._agent_pipeline = SpeechPipeline("agent", leg.frames, self.deps.recognizer, self.deps.vad,
                                                         self._on_agent_audio, self.deps.rate)
        pipeline.start()
        self._tasks.append(asyncio.create_task(self._pump_speech(pipeline, ivr=False),
                                               name=f"agent-speech-{self.record.id}"))
        self._agent_watch = asyncio.create_task(self._watch_agent(leg), name=f"agent-bye-{self.record.id}")
        self._tasks.append(self._agent_watch)
        self.deps.publisher.publish("call.agent_connected", self.record.id, agent=agent)
        log.info("agent connected", extra={"call": self.record.id, "agent": agent})
        self._agent_ready.set()
        return True

    def hold(self, on: bool) -> None:
        """The agent holds the caller (neither hears the other; the caller hears a hold message) or resumes."""
        if self.agent is None or on == self._held:
            return
        self._held = on
        if self._hold_task is not None:
            self._hold_task.cancel()
            self._hold_task = None
        self.leg.stop_playback()
        if on:
            self._hold_task = asyncio.create_task(self._hold_messages(), name=f"hold-{self.record.id}")
            self._tasks.append(self._hold_task)
        self.deps.publisher.publish("call.hold" if on else "call.resumed", self.record.id, agent=self.agent_name)

    async def _hold_messages(self) -> None:
        text = ("请稍候，客服马上回来。" if self.engine.language.startswith("zh")
                else "Please hold. Your agent will be back with you shortly.")
        n = 0
        while True:
            try:
                pcm = await self.deps.prompts.get(text, self.engine.flow.voice(self.engine.language))
                n += 1
                self.leg.play(f"held-{n}", pcm)
            except PromptError:
                log.exception("hold message unavailable", extra={"call": self.record.id})
            await asyncio.sleep(15.0)

    async def transfer_from_desk(self, queue: str, skill: str, agent: str = "") -> bool:
        """The agent passes the caller on (to a queue, or to one agent): the agent's leg is released,
        the caller waits in the queue again, and the next agent is bridged in."""
        old, watch = self.agent, self._agent_watch
        if old is None or self.deps.queues is None:
            return False
        self.hold(False)
        if watch is not None:
            watch.cancel()  # this agent leaving does not end the call
        self.agent, self._agent_watch = None, None
        self._agent_ready.clear()
        old.hangup_call()
        if self._agent_pipeline is not None:
            self._spawn(self._agent_pipeline.aclose())
        if self._agent_recorder is not None:
            self._agent_recorder.close()
            self._agent_recorder = None
        self.deps.publisher.publish("call.transferred", self.record.id, by=self.agent_name, queue=queue, agent=agent)
        context = {k: str(v) for k, v in self.engine.variables.items()}
        self._spawn(self._wait_for_agent(Transfer(-1, queue, skill, 0, "", context), target=agent,
                                         from_desk=True))
        return True

    async def _watch_agent(self, leg: CallLeg) -> None:
        await leg.disconnected.wait()
        self._inbox.put_nowait(_DISCONNECTED)  # the agent hung up: so does the call

    async def _apply(self, actions: list[IvrAction]) -> None:
        loop = asyncio.get_running_loop()
        for action in actions:
            if isinstance(action, Play):
                try:
                    if action.file:
                        pcm = await self.deps.prompts.get_file(action.file)
                    else:
                        pcm = await self.deps.prompts.get(action.text, action.voice)
                except PromptError:
                    log.exception("prompt unavailable", extra={"call": self.record.id})
                    self._inbox.put_nowait(PromptDone(action.prompt_id, False))
                    continue
                self.leg.play(action.prompt_id, pcm)
            elif isinstance(action, StopPlayback):
                self.leg.stop_playback()
            elif isinstance(action, StartTimer):
                self._timers.append(loop.call_later(action.ms / 1000.0, self._inbox.put_nowait,
                                                    TimerFired(action.token)))
            elif isinstance(action, Listen):
                phrases = action.phrases if self.deps.use_grammar else None
                if not action.strict and self.deps.recognizer.restricts_to_phrases:
                    phrases = None  # hints for an open question would become a grammar
                if action.language != self._language and self._pipeline is not None:
                    self._language = action.language  # the caller chose another language
                    self._pipeline.set_language(action.language)
                if phrases != self._listening and self._pipeline is not None:
                    self._listening = phrases
                    self._pipeline.set_phrases(phrases)
            elif isinstance(action, Lookup):
                self._spawn(self._lookup(action))
            elif isinstance(action, CreateTicket):
                self._inbox.put_nowait(await self._create_ticket(action))
            elif isinstance(action, StartRecording):
                self._start_voicemail(action)
            elif isinstance(action, StopRecording):
                self._inbox.put_nowait(self._stop_voicemail(action.token))
            elif isinstance(action, Transfer):
                if action.uri:
                    self._spawn(self._transfer_to_uri(action))
                elif self.deps.queues is not None:
                    self._spawn(self._wait_for_agent(action))
                else:
                    self._inbox.put_nowait(self._transfer(action))
            elif isinstance(action, Hangup):
                if self.agent is None:  # with an agent on the line the call goes on until one side hangs up
                    self._hangup_when_idle = True
                self.record.end_reason = action.reason
        if len(self.engine.path) != len(self.record.ivr_path):  # the caller moved on: keep the record current
            self.record.ivr_path = list(self.engine.path)
            self.record.variables = dict(self.engine.variables)
            self.deps.store.save(self.record)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.append(task)

    async def _lookup(self, action: Lookup) -> None:
        source = self.deps.sources.get(action.source)
        started = time.monotonic()
        if source is None:
            result = LookupDone(action.token, None, "not_configured")
        else:
            try:
                result = LookupDone(action.token, await source.lookup(action.operation, action.params))
            except LookupFailed as exc:
                result = LookupDone(action.token, None, exc.reason)
        log.info("lookup", extra={"call": self.record.id, "source": action.source, "operation": action.operation,
                                  "ok": result.data is not None, "error": result.error,
                                  "ms": round((time.monotonic() - started) * 1000, 1)})
        self._inbox.put_nowait(result)

    async def _create_ticket(self, action: CreateTicket) -> TicketDone:
        tickets = self.deps.tickets
        if tickets is None:
            return TicketDone(action.token, "", "not_configured")
        fields = {**action.fields, "call_id": self.record.id, "caller": self.record.from_uri}
        try:
            ref = await asyncio.get_running_loop().run_in_executor(None, tickets.create_ticket, fields)
        except Exception as exc:  # noqa: BLE001 (the flow's error path tells the caller; the log keeps why)
            log.exception("ticket not created", extra={"call": self.record.id, "type": fields.get("type")})
            return TicketDone(action.token, "", type(exc).__name__)
        self.record.tickets.append(ref)
        self.deps.store.save(self.record)
        self.deps.publisher.publish("ticket.created", self.record.id, ref=ref, type=fields.get("type", ""))
        return TicketDone(action.token, ref)

    def _start_voicemail(self, action: StartRecording) -> None:
        rec = self.record
        rel = f"voicemail/{time.strftime('%Y-%m-%d')}/{rec.id}-{action.token}.wav"
        self._voicemail = VoicemailRecorder(self.deps.data_dir / rel, rel, self.deps.rate, action.token)
        self.leg.play(f"beep-{action.token}", beep(self.deps.rate))
        loop = asyncio.get_running_loop()
        self._timers.append(loop.call_later(action.max_ms / 1000.0 + 0.3, self._voicemail_timeout, action.token))

    def _voicemail_timeout(self, token: int) -> None:
        if self._voicemail is not None and self._voicemail.token == token:
            self._inbox.put_nowait(self._stop_voicemail(token))

    def _stop_voicemail(self, token: int) -> RecordingDone:
        voicemail, self._voicemail = self._voicemail, None
        if voicemail is None or voicemail.token != token:
            return RecordingDone(-1)
        voicemail.close()
        self.record.recordings[f"voicemail-{token}"] = voicemail.rel
        return RecordingDone(token, voicemail.rel, voicemail.duration_ms)

    def _transfer(self, action: Transfer) -> TransferDone:
        # Agents and ACD queues arrive with the agent desk; until then nobody can take the call and
        # the flow's `on_unavailable` path runs (voicemail in the demo).
        target = action.queue or action.uri
        self.record.transfers.append({"queue": action.queue, "uri": action.uri, "skill": action.skill,
                                      "priority": action.priority, "at": time.time(), "result": "no_agents"})
        self.deps.publisher.publish("call.transfer", self.record.id, queue=action.queue, skill=action.skill,
                                    priority=action.priority, result="no_agents")
        log.info("transfer not possible", extra={"call": self.record.id, "target": target, "reason": "no_agents"})
        return TransferDone(action.token, False, "no_agents")

    async def _transfer_to_uri(self, action: Transfer) -> None:
        """A blind transfer: the caller's phone is asked (REFER) to call the URI itself."""
        code = await self.leg.transfer(action.uri)
        ok = 200 <= code < 300
        result = "transferred" if ok else f"sip_{code}"
        self.record.transfers.append({"uri": action.uri, "at": time.time(), "result": result})
        self.deps.publisher.publish("call.transfer", self.record.id, uri=action.uri, result=result)
        log.info("transfer to a SIP URI", extra={"call": self.record.id, "status": code})
        self._inbox.put_nowait(TransferDone(action.token, ok, "" if ok else result))

    async def _after_hangup(self) -> None:
        """A message being recorded when the caller hung up is kept, and its ticket created."""
        actions = self.engine.handle(CallerHungUp())
        for action in actions:
            if isinstance(action, StopRecording):
                done = self._stop_voicemail(action.token)
                for follow in self.engine.finish_voicemail(done):
                    if isinstance(follow, CreateTicket):
                        await self._create_ticket(follow)

    async def _pump_speech(self, pipeline: SpeechPipeline, ivr: bool = True) -> None:
        rec = self.record
        base = 0 if ivr else self._agent_offset_ms  # the agent's leg starts when the agent answers
        async for event in pipeline:
            if isinstance(event, SpeechStarted):
                if ivr:
                    self._inbox.put_nowait(CallerSpeaking())  # barge-in as soon as the VAD hears speech
                self.deps.publisher.publish("speech.started", rec.id, speaker=event.speaker,
                                            offset_ms=event.offset_ms)
                continue
            if isinstance(event, RecognitionUnavailable):
                self.deps.publisher.publish("speech.unavailable", rec.id, speaker=event.speaker,
                                            start_ms=event.start_ms, end_ms=event.end_ms, reason=event.reason)
                if ivr:
                    self._inbox.put_nowait(SpeechUnavailable())
                continue
            assert isinstance(event, Transcript)
            payload = {"speaker": event.speaker, "text": event.text, "start_ms": event.start_ms + base,
                       "end_ms": event.end_ms + base, "engine": event.engine, "segment": event.segment,
                       "words": [[w.text, w.start_ms, w.end_ms, round(w.confidence, 3)] for w in event.words]}
            if event.final:
                rec.transcript.append(Segment(event.speaker, event.text, event.start_ms + base, event.end_ms + base,
                                              event.engine))
                self.deps.store.save(rec)  # a crash loses at most the utterance in progress
                self.deps.publisher.publish("transcript.final", rec.id, latency_ms=round(event.latency_ms, 1),
                                                  **payload)
                if ivr:
                    self._inbox.put_nowait(SpeechHeard(event.text))
            else:
                self.deps.publisher.publish("transcript.partial", rec.id, **payload)

    async def _pump_dtmf(self) -> None:
        while True:
            event: DtmfEvent = await self.leg.dtmf.get()
            self.record.dtmf.append(DtmfRecord(event.digit, event.method, event.offset_ms))
            self.deps.publisher.publish("dtmf", self.record.id, method=event.method, offset_ms=event.offset_ms)
            self._inbox.put_nowait(DigitPressed(event.digit))

    async def _watch_disconnect(self) -> None:
        await self.leg.disconnected.wait()
        self._inbox.put_nowait(_DISCONNECTED)


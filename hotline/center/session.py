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
from hotline.center.agent_side import DISCONNECTED, AgentSide
from hotline.center.events import EventPublisher
from hotline.center.privacy import UtteranceRedactor, default_redactor
from hotline.center.queueing import QueueDirectory
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
from hotline.ivr.lookups import DataSource, run_lookup
from hotline.ivr.model import FlowSet
from hotline.ivr.prompts import PromptCache, PromptError
from hotline.ivr.simulator import TicketSink
from hotline.qa.redact import RedactionConfig, Redactor
from hotline.system.tasks import TaskGroupOwner
from hotline.telephony.frames import DtmfEvent
from hotline.telephony.leg import CallLeg
from hotline.telephony.recorder import WavRecorder

log = logging.getLogger(__name__)



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
    redactor: Callable[[str], UtteranceRedactor] = field(default=default_redactor)  # per speaker, by language


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
        self._tasks = TaskGroupOwner()  # every task of the call: held until done, cancelled at the end
        self._speech: list[asyncio.Task[None]] = []  # the speech pumps: their last finals are awaited
        self._hangup_when_idle = False
        self._pipeline: SpeechPipeline | None = None
        self._listening: tuple[str, ...] | None = None
        self._language = deps.recognizer.language
        self.started = time.monotonic()
        self.agents = AgentSide(self)
        # what `sensitive` flow nodes collect (a card number...) never reaches the call record
        self._redactors: dict[str, UtteranceRedactor] = {}  # per speaker
        self._value_redactor = Redactor(RedactionConfig(phones=False, emails=False))  # the caller's own number stays
        self._last_segment: dict[str, int] = {}  # per speaker: index of the last final segment
        self._started_sensitive: dict[str, bool] = {}  # per speaker: the utterance began at a sensitive node
        self._sensitive_vars = {node.var for f in flowset.flows.values() for node in f.nodes.values()
                                if node.sensitive and node.var}

    @property
    def sensitive(self) -> bool:
        """The caller is at a `sensitive` node: no recording, no stored keys or words."""
        node = self.engine.node
        return node is not None and node.sensitive and not self.engine.finished

    def _stored_variables(self) -> dict[str, str]:
        """The flow's variables as kept: those sensitive nodes collect are withheld, card numbers in
        the others replaced by a marker (the flow itself keeps the real values)."""
        out: dict[str, str] = {}
        for key, value in self.engine.variables.items():
            if key in self._sensitive_vars:
                out[key] = "[redacted]"
            elif value.isdigit():
                out[key] = self._value_redactor.redact_digits(value).text
            else:
                out[key] = self._value_redactor.redact(value, self._language).text
        return out

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
        self._speech.append(self._tasks.spawn(self.pump_speech(pipeline), name=f"speech-{rec.id}"))
        self._tasks.spawn(self._pump_dtmf(), name=f"dtmf-{rec.id}")
        self._tasks.spawn(self._watch_disconnect(), name=f"bye-{rec.id}")
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(leg.media_ready.wait(), 5.0)
            await self._apply(self.engine.start())
            while True:
                item = await self._inbox.get()
                if item is DISCONNECTED:
                    break
                await self._apply(self.engine.handle(item))  # type: ignore[arg-type]
                if self._hangup_when_idle and not leg.playout.playing:
                    leg.hangup_call()
        finally:
            leg.hangup_call()
            hung_up_at = time.time()  # the call's end, however long its last words take to recognise
            for timer in self._timers:
                timer.cancel()
            await self._after_hangup()
            await pipeline.aclose()  # recognition still queued finishes: finals are never dropped
            await self.agents.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(asyncio.gather(*self._speech)), 5.0)
            await self._tasks.close()
            recorder.close()
            rec.ended_at = hung_up_at
            rec.status = "completed"
            rec.end_reason = leg.disconnect_reason or "hangup"
            agent = self.agents.leg
            if agent is not None and agent.disconnected.is_set() and rec.end_reason == "local_hangup":
                rec.end_reason = "agent_hangup"
            rec.ivr_path = list(self.engine.path)
            rec.variables = self._stored_variables()
            rec.outcome = self.engine.end_reason or "caller_hangup"
            rec.frames_received = leg.frames.received
            rec.frames_dropped = leg.frames.dropped
            deps.store.save(rec)
            await deps.store.settled(rec.id)  # whoever reads the record on call.ended reads this one
            deps.publisher.publish(
                "call.ended", rec.id, reason=rec.end_reason, path=rec.ivr_path, dtmf_count=rec.dtmf_count
            )
            deps.publisher.set_live(rec.id, deps.worker_id, False)
            log.info("call ended", extra={"call": rec.id, "reason": rec.end_reason,
                                          "frames_dropped": rec.frames_dropped})
        return rec

    def _on_audio(self, pcm: bytes) -> None:
        self._recorder.write(bytes(len(pcm)) if self.sensitive else pcm)  # silence while sensitive
        if self._voicemail is not None:
            self._voicemail.write(pcm)
        self.agents.caller_audio(pcm)

    # what the agent side (hotline.center.agent_side) needs from the session
    def post(self, event: object) -> None:
        self._inbox.put_nowait(event)

    def own(self, task: asyncio.Task[None], speech: bool = False) -> None:
        self._tasks.own(task)
        if speech:
            self._speech.append(task)

    def hang_up_when_idle(self) -> None:
        self._hangup_when_idle = True

    def attach_agent(self, leg: CallLeg, agent: str) -> bool:
        return self.agents.attach(leg, agent)

    def hold(self, on: bool) -> None:
        self.agents.hold(on)

    async def transfer_from_desk(self, queue: str, skill: str, agent: str = "") -> bool:
        return await self.agents.transfer(queue, skill, agent)

    async def _apply(self, actions: list[IvrAction]) -> None:
        loop = asyncio.get_running_loop()
        for action in actions:
            if isinstance(action, Play):
                await self._play(action)
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
                if self._pipeline is not None:  # a short answer ends at a short pause: the IVR answers sooner
                    vad = self.deps.vad
                    self._pipeline.set_hangover({"short": vad.short_hangover_ms, "open": vad.open_hangover_ms}
                                                .get(action.answer, vad.hangover_ms))
            elif isinstance(action, Lookup):
                self.spawn(self._lookup(action))
            elif isinstance(action, CreateTicket):
                self._inbox.put_nowait(await self._create_ticket(action))
            elif isinstance(action, StartRecording):
                self._start_voicemail(action)
            elif isinstance(action, StopRecording):
                self._inbox.put_nowait(self._stop_voicemail(action.token))
            elif isinstance(action, Transfer):
                if action.uri:
                    self.spawn(self._transfer_to_uri(action))
                elif self.deps.queues is not None:
                    self.spawn(self.agents.wait_for_agent(action))
                else:
                    self._inbox.put_nowait(self._transfer(action))
            elif isinstance(action, Hangup):
                if self.agents.leg is None:  # with an agent on the line the call goes on until one side hangs up
                    self._hangup_when_idle = True
                self.record.end_reason = action.reason
        if len(self.engine.path) != len(self.record.ivr_path):  # the caller moved on: keep the record current
            self.record.ivr_path = list(self.engine.path)
            self.record.variables = self._stored_variables()
            self.deps.store.save(self.record)

    async def _play(self, action: Play) -> None:
        """Start the prompt once its first part is rendered: a prompt with variables that is not
        cached plays its first sentence while the others are rendered (`_play_rest`)."""
        prompts = self.deps.prompts
        rest: list[str] = []
        try:
            if action.file:
                pcm = await prompts.get_file(action.file)
            else:
                first, *rest = prompts.pieces(action.text, action.voice)
                pcm = await prompts.get(first, action.voice)
        except PromptError:
            log.exception("prompt unavailable", extra={"call": self.record.id})
            self._inbox.put_nowait(PromptDone(action.prompt_id, False))
            return
        if rest:
            self.leg.playout.hold_open(action.prompt_id)
        self.leg.play(action.prompt_id, pcm)
        if rest:
            self.spawn(self._play_rest(action.prompt_id, rest, action.voice))

    async def _play_rest(self, prompt_id: str, pieces: list[str], voice: str) -> None:
        playout = self.leg.playout
        try:
            for piece in pieces:
                if not playout.append(prompt_id, await self.deps.prompts.get(piece, voice)):
                    return  # stopped (barge-in, hang-up): the rest is not wanted
        except PromptError:
            log.exception("prompt unavailable", extra={"call": self.record.id})
        finally:
            playout.finish(prompt_id)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self._tasks.spawn(coro)

    async def _lookup(self, action: Lookup) -> None:
        started = time.monotonic()
        result = await run_lookup(self.deps.sources, action)
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

    async def pump_speech(self, pipeline: SpeechPipeline, ivr: bool = True, base_ms: int = 0) -> None:
        rec = self.record
        base = base_ms  # the agent's leg starts when the agent answers: its times are shifted to the call's
        async for event in pipeline:
            if isinstance(event, SpeechStarted):
                # an utterance begun at a sensitive node stays sensitive, however late its final comes
                self._started_sensitive[event.speaker] = self.sensitive
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
            text, words = event.text, [[w.text, w.start_ms, w.end_ms, round(w.confidence, 3)] for w in event.words]
            stored = self._privacy_filter(event.speaker, text, event.final)
            if stored != text:
                words = []  # word timings carry the words themselves
            payload = {"speaker": event.speaker, "text": stored, "start_ms": event.start_ms + base,
                       "end_ms": event.end_ms + base, "engine": event.engine, "segment": event.segment,
                       "language": self._language, "words": words}
            if event.final:
                rec.transcript.append(Segment(event.speaker, stored, event.start_ms + base, event.end_ms + base,
                                              event.engine))
                self._last_segment[event.speaker] = len(rec.transcript) - 1
                self.deps.store.save(rec)  # a crash loses at most the utterance in progress
                self.deps.publisher.publish("transcript.final", rec.id, latency_ms=round(event.latency_ms, 1),
                                            **payload)
                if ivr:
                    self._inbox.put_nowait(SpeechHeard(text))  # the flow itself gets what was said
            else:
                self.deps.publisher.publish("transcript.partial", rec.id, **payload)

    def _privacy_filter(self, speaker: str, text: str, final: bool) -> str:
        """What may be kept and shown of an utterance: nothing at a sensitive node; card numbers,
        security codes, phone numbers and e-mail addresses replaced by markers elsewhere."""
        begun_sensitive = self._started_sensitive.get(speaker, False)
        if final:
            self._started_sensitive[speaker] = False
        if self.sensitive or begun_sensitive:
            return "[sensitive]"
        redactor = self._redactors.get(speaker)
        if redactor is None:
            redactor = self._redactors[speaker] = self.deps.redactor(self._language)
        if not final:
            return redactor.preview(text)
        current, previous = redactor.redact(text)
        index = self._last_segment.get(speaker)
        if previous is not None and index is not None:  # a card number split over two utterances
            self.record.transcript[index].text = previous.text
        return current.text

    async def _pump_dtmf(self) -> None:
        while True:
            event: DtmfEvent = await self.leg.dtmf.get()
            digit = "*" if self.sensitive else event.digit  # keys at a sensitive node: when, not which
            self.record.dtmf.append(DtmfRecord(digit, event.method, event.offset_ms))
            self.deps.publisher.publish("dtmf", self.record.id, method=event.method, offset_ms=event.offset_ms)
            self._inbox.put_nowait(DigitPressed(event.digit))

    async def _watch_disconnect(self) -> None:
        await self.leg.disconnected.wait()
        self._inbox.put_nowait(DISCONNECTED)


"""The IVR engine's actions carried out on a live call: prompts, timers, what to listen for,
lookups, tickets, voicemail and transfers. Results come back to the session's inbox as events."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol, assert_never

from hotline.asr.pipeline import SpeechPipeline
from hotline.center.bus import TicketCreated, TransferAttempted
from hotline.center.call_deps import SessionDeps
from hotline.center.call_line import CallLine
from hotline.center.voicemail import VoicemailRecorder, beep
from hotline.ivr.actions import (
    AnswerFound,
    CreateTicket,
    FindAnswer,
    Hangup,
    IvrAction,
    IvrEvent,
    Listen,
    Lookup,
    Play,
    PromptDone,
    RecordingDone,
    StartRecording,
    StartTimer,
    StopPlayback,
    StopRecording,
    TicketDone,
    TimerFired,
    Transfer,
    TransferDone,
)
from hotline.ivr.lookups import run_lookup
from hotline.ivr.prompts import PromptError
from hotline.telephony.leg import CallLeg

log = logging.getLogger(__name__)


class AgentBridge(Protocol):
    """What the executor needs of the agent side: whether an agent is on the line, and the queue."""

    leg: CallLeg | None

    async def wait_for_agent(self, action: Transfer, target: str = "", from_desk: bool = False) -> None: ...


class CallActions:
    def __init__(self, *, call: CallLine, deps: SessionDeps, agents: AgentBridge) -> None:
        self._call, self._deps, self._agents = call, deps, agents
        self.pipeline: SpeechPipeline | None = None  # the caller's, once the call runs
        self.language = deps.recognizer.language  # the caller's, as the flow last asked to listen
        self.hangup_when_idle = False
        self._listening: tuple[str, ...] | None = None
        self._timers: list[asyncio.TimerHandle] = []
        self._voicemail: VoicemailRecorder | None = None

    async def apply(self, actions: list[IvrAction]) -> None:
        call = self._call
        for action in actions:
            match action:
                case Play():
                    await self._play(action)
                case StopPlayback():
                    call.leg.stop_playback()
                case StartTimer():
                    self._later(action.ms / 1000.0, TimerFired(action.token))
                case Listen():
                    self._listen(action)
                case Lookup():
                    call.spawn(self._lookup(action))
                case FindAnswer():
                    call.spawn(self._find_answer(action))
                case CreateTicket():
                    call.post(await self.create_ticket(action))
                case StartRecording():
                    self._start_voicemail(action)
                case StopRecording():
                    call.post(self.stop_voicemail(action.token))
                case Transfer() if action.uri:
                    call.spawn(self._transfer_to_uri(action))
                case Transfer() if self._deps.queues is not None:
                    call.spawn(self._agents.wait_for_agent(action))
                case Transfer():
                    call.post(self._no_queues(action))
                case Hangup():
                    if self._agents.leg is None:  # with an agent on the line the call goes on until one side hangs up
                        self.hangup_when_idle = True
                    call.record.end_reason = action.reason
                case _:
                    assert_never(action)

    def cancel_timers(self) -> None:
        for timer in self._timers:
            timer.cancel()

    def _later(self, seconds: float, event: IvrEvent) -> None:
        self._timers.append(asyncio.get_running_loop().call_later(seconds, self._call.post, event))

    def _listen(self, action: Listen) -> None:
        pipeline = self.pipeline
        phrases = action.phrases if self._deps.use_grammar else None
        if not action.strict and self._deps.recognizer.restricts_to_phrases:
            phrases = None  # hints for an open question would become a grammar
        if action.language != self.language and pipeline is not None:
            self.language = action.language  # the caller chose another language
            pipeline.set_language(action.language)
        if phrases != self._listening and pipeline is not None:
            self._listening = phrases
            pipeline.set_phrases(phrases)
        if pipeline is not None:  # a short answer ends at a short pause: the IVR answers sooner
            vad = self._deps.vad
            pipeline.set_hangover({"short": vad.short_hangover_ms, "open": vad.open_hangover_ms}
                                  .get(action.answer, vad.hangover_ms))

    async def _play(self, action: Play) -> None:
        """Start the prompt once its first part is rendered: a prompt with variables that is not
        cached plays its first sentence while the others are rendered (`_play_rest`)."""
        prompts, leg = self._deps.prompts, self._call.leg
        rest: list[str] = []
        try:
            if action.file:
                pcm = await prompts.get_file(action.file)
            else:
                first, *rest = prompts.pieces(action.text, action.voice)
                pcm = await prompts.get(first, action.voice)
        except PromptError:
            log.exception("prompt unavailable", extra={"call": self._call.record.id})
            self._call.post(PromptDone(action.prompt_id, False))
            return
        if rest:
            leg.playout.hold_open(action.prompt_id)
        leg.play(action.prompt_id, pcm)
        if rest:
            self._call.spawn(self._play_rest(action.prompt_id, rest, action.voice))

    async def _play_rest(self, prompt_id: str, pieces: list[str], voice: str) -> None:
        playout = self._call.leg.playout
        try:
            for piece in pieces:
                if not playout.append(prompt_id, await self._deps.prompts.get(piece, voice)):
                    return  # stopped (barge-in, hang-up): the rest is not wanted
        except PromptError:
            log.exception("prompt unavailable", extra={"call": self._call.record.id})
        finally:
            playout.finish(prompt_id)

    async def _lookup(self, action: Lookup) -> None:
        started = time.monotonic()
        result = await run_lookup(self._deps.sources, action)
        log.info("lookup", extra={"call": self._call.record.id, "source": action.source,
                                  "operation": action.operation, "ok": result.data is not None,
                                  "error": result.error, "ms": round((time.monotonic() - started) * 1000, 1)})
        self._call.post(result)

    async def _find_answer(self, action: FindAnswer) -> None:
        """The voice bot's question goes to the app's matcher (`hotline.center.bot_answers`)."""
        answers = self._deps.answers
        if answers is None:
            self._call.post(AnswerFound(action.token, error="not_configured"))
            return
        self._call.post(await answers.find(self._call.record.id, action))

    async def create_ticket(self, action: CreateTicket) -> TicketDone:
        tickets, rec = self._deps.tickets, self._call.record
        if tickets is None:
            return TicketDone(action.token, "", "not_configured")
        fields = {**action.fields, "call_id": rec.id, "caller": rec.from_uri}
        try:
            ref = await asyncio.get_running_loop().run_in_executor(None, tickets.create_ticket, fields)
        except Exception as exc:  # noqa: BLE001 (the flow's error path tells the caller; the log keeps why)
            log.exception("ticket not created", extra={"call": rec.id, "type": fields.get("type")})
            return TicketDone(action.token, "", type(exc).__name__)
        rec.tickets.append(ref)
        self._deps.store.save(rec)
        self._deps.publisher.publish(TicketCreated(call_id=rec.id, ref=ref, ticket_type=fields.get("type", "")))
        return TicketDone(action.token, ref)

    # voicemail: the caller's audio (`write`) goes to the message being recorded, if any
    def write(self, pcm: bytes) -> None:
        if self._voicemail is not None:
            self._voicemail.write(pcm)

    def _start_voicemail(self, action: StartRecording) -> None:
        deps, rec = self._deps, self._call.record
        rel = f"voicemail/{time.strftime('%Y-%m-%d')}/{rec.id}-{action.token}.wav"
        self._voicemail = VoicemailRecorder(deps.data_dir / rel, rel, deps.rate, action.token)
        self._call.leg.play(f"beep-{action.token}", beep(deps.rate))
        loop = asyncio.get_running_loop()
        self._timers.append(loop.call_later(action.max_ms / 1000.0 + 0.3, self._voicemail_timeout, action.token))

    def _voicemail_timeout(self, token: int) -> None:
        if self._voicemail is not None and self._voicemail.token == token:
            self._call.post(self.stop_voicemail(token))

    def stop_voicemail(self, token: int) -> RecordingDone:
        voicemail, self._voicemail = self._voicemail, None
        if voicemail is None or voicemail.token != token:
            return RecordingDone(-1)
        voicemail.close()
        self._call.record.recordings[f"voicemail-{token}"] = voicemail.rel
        return RecordingDone(token, voicemail.rel, voicemail.duration_ms)

    def _no_queues(self, action: Transfer) -> TransferDone:
        """No ACD queues on this node: nobody can take the call, the flow's `on_unavailable` path runs."""
        rec = self._call.record
        rec.transfers.append({"queue": action.queue, "uri": action.uri, "skill": action.skill,
                              "priority": action.priority, "at": time.time(), "result": "no_agents"})
        self._deps.publisher.publish(TransferAttempted(call_id=rec.id, queue=action.queue, skill=action.skill,
                                                       priority=action.priority, result="no_agents"))
        log.info("transfer not possible", extra={"call": rec.id, "target": action.queue or action.uri,
                                                 "reason": "no_agents"})
        return TransferDone(action.token, False, "no_agents")

    async def _transfer_to_uri(self, action: Transfer) -> None:
        """A blind transfer: the caller's phone is asked (REFER) to call the URI itself."""
        rec = self._call.record
        code = await self._call.leg.transfer(action.uri)
        ok = 200 <= code < 300
        result = "transferred" if ok else f"sip_{code}"
        rec.transfers.append({"uri": action.uri, "at": time.time(), "result": result})
        self._deps.publisher.publish(TransferAttempted(call_id=rec.id, uri=action.uri, result=result))
        log.info("transfer to a SIP URI", extra={"call": rec.id, "status": code})
        self._call.post(TransferDone(action.token, ok, "" if ok else result))
